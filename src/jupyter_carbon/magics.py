"""``%%carbon`` and ``%carbon``.

``%%carbon`` is rewritten by an input transformer into a first-line call that sets this
cell's options; the cell body then runs as an ordinary cell. That is what makes its
exceptions, tracebacks (line numbers included), ``Out[n]`` value and KeyboardInterrupt
exactly what they are without the magic, and keeps one CSV row per cell.
"""
from __future__ import annotations

import argparse
import shlex
import time

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from .config import OPTIONS
from .errors import ConfigError
from .session import CarbonSession, CellOptions
from .summary import live_text
from .units import fmt_duration, fmt_energy_j, fmt_mass_g, fmt_power_w

CELL_MARK = "__cell__"
SUBCOMMANDS = ("status", "report", "sidebar", "widget", "config", "baseline", "pause", "resume", "off", "on")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as a one-line UsageError instead of exiting."""

    def error(self, message):
        raise UsageError(f"%{self.prog}: {message}")

    def exit(self, status=0, message=None):
        if message:
            raise UsageError(message.strip())
        raise UsageError(self.format_help())


def _cell_parser() -> _Parser:
    p = _Parser(prog="%carbon", add_help=False)
    p.add_argument("--label", default=None)
    p.add_argument("--country", default=None)
    p.add_argument("--intensity", default=None)
    p.add_argument("--pue", default=None)
    p.add_argument("--quiet", action="store_true")
    return p


def _config_parser() -> _Parser:
    p = _Parser(prog="carbon config", add_help=False)
    for name, opt in OPTIONS.items():
        flags = {f"--{name}", f"--{name.replace('_', '-')}"}
        p.add_argument(*sorted(flags), dest=name, default=None, help=opt.help)
    p.add_argument("--reset", action="append", default=[], metavar="NAME")
    return p


def split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"%carbon: cannot parse options ({exc})") from None


def parse_cell_options(line: str) -> tuple[CellOptions, bool]:
    """Validate ``%%carbon`` options; every error is one line, raised before the body runs."""
    a = _cell_parser().parse_args(split(line))
    try:
        from .intensity import lookup_country, validate_intensity, validate_pue

        country = lookup_country(a.country).country_iso if a.country else None
        intensity = validate_intensity(a.intensity) if a.intensity is not None else None
        pue = validate_pue(a.pue) if a.pue is not None else None
    except ConfigError as exc:
        raise UsageError(f"%%carbon: {exc}") from None
    return CellOptions(a.label, country, intensity, pue), a.quiet


def carbon_cell_transform(lines: list[str]) -> list[str]:
    """Rewrite a ``%%carbon`` first line into a call of ``%carbon __cell__`` (same line count)."""
    if lines:
        first = lines[0]
        head = first.lstrip()
        if head.startswith("%%carbon") and (len(head) == 8 or head[8] in " \t\r\n"):
            args = head[8:].strip()
            lines = [f"get_ipython().run_line_magic('carbon', {CELL_MARK + ' ' + args!r})\n", *lines[1:]]
    return lines


class LiveLine:
    """A line updated in place from the sampler thread (at most twice a second).

    Sends happen on the sampler thread; on ipykernel 7.0.x inside the cell's copied context
    (see ``kernel_compat``). After repeated failures it stops updating and the summary
    still replaces it when the cell ends.
    """

    PERIOD_S = 0.5
    MAX_FAILURES = 3

    def __init__(self, session: CarbonSession):
        from .kernel_compat import capture_context

        self.session = session
        self._last = 0.0
        self._failures = 0
        self._ctx = capture_context()
        self.handle = display(_Text(live_text(session.running_measurement())), display_id=True)
        session.meter.sampler.add_listener(self._on_sample)

    def _on_sample(self, sample) -> None:
        now = time.monotonic()
        if now - self._last < self.PERIOD_S or self.handle is None:
            return
        self._last = now
        m = self.session.running_measurement(sample)
        if m is None:
            return
        try:
            if self._ctx is not None:
                self._ctx.run(self.handle.update, _Text(live_text(m)))
            else:
                self.handle.update(_Text(live_text(m)))
            self._failures = 0
        except Exception:
            self._failures += 1
            if self._failures >= self.MAX_FAILURES:
                self.session.meter.sampler.remove_listener(self._on_sample)

    def finish(self, summary) -> None:
        self.session.meter.sampler.remove_listener(self._on_sample)
        if self.handle is not None:
            self.handle.update(summary)


class _Text:
    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.text)

    def _repr_html_(self) -> str:
        import html

        return f"<div style='font-size:12px;opacity:.85'>{html.escape(self.text)}</div>"


@magics_class
class CarbonMagics(Magics):
    def _session(self) -> CarbonSession:
        from .extension import get_session

        s = get_session(self.shell)
        if s is None:
            raise UsageError("jupyter-carbon is off; run %load_ext jupyter_carbon (or %carbon on)")
        return s

    @cell_magic("carbon")
    def carbon_cell(self, line: str, cell: str):
        """%%carbon [--label TEXT] [--country CC] [--intensity G] [--pue X] [--quiet]

        Measure this cell with a live line and a summary. (Normally handled by an input
        transformer; this path serves callers of ``run_cell_magic``.)"""
        self._cell_start(line)
        exec(compile(cell, "<%%carbon cell>", "exec"), self.shell.user_ns)  # noqa: S102

    def _cell_start(self, line: str) -> None:
        opts, quiet = parse_cell_options(line)
        session = self._session()
        cell = session.current or session.begin_cell(self.shell.execution_count, None, force=True)
        cell.options = opts
        cell.window.label = opts.label  # live views name the cell too
        cell.summary = not quiet
        if not quiet:
            try:
                cell.live = LiveLine(session)
            except Exception:
                cell.live = None

    @line_magic("carbon")
    def carbon_line(self, line: str = ""):
        """%carbon [status|report [--top N]|sidebar|widget|config [--NAME VALUE ...]|baseline [SECONDS]|pause|resume|off|on]"""
        words = split(line)
        cmd = words[0] if words else "status"
        rest = words[1:]
        if cmd == CELL_MARK:
            return self._cell_start(line.strip()[len(CELL_MARK):])
        if cmd not in SUBCOMMANDS:
            import difflib

            close = difflib.get_close_matches(cmd, SUBCOMMANDS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(f"%carbon: unknown subcommand {cmd!r}{hint}; "
                             f"use one of: {', '.join(SUBCOMMANDS)}")
        if cmd == "on":
            from .extension import load

            return load(self.shell)
        return getattr(self, f"_cmd_{cmd}")(rest)

    # --- subcommands -------------------------------------------------------------------
    def _no_args(self, cmd, rest):
        if rest:
            raise UsageError(f"%carbon {cmd}: takes no arguments, got {' '.join(rest)!r}")

    def _cmd_status(self, rest):
        self._no_args("status", rest)
        print(status_report(self._session()))

    def _cmd_pause(self, rest):
        self._no_args("pause", rest)
        s = self._session()
        s.paused = True
        print("jupyter-carbon: paused; cells are not logged until %carbon resume")

    def _cmd_resume(self, rest):
        self._no_args("resume", rest)
        s = self._session()
        s.paused = False
        print("jupyter-carbon: resumed; cells are measured and logged again")

    def _cmd_off(self, rest):
        self._no_args("off", rest)
        from .extension import unload

        s = self._session()
        path = s.log.path
        unload(self.shell)
        print(f"jupyter-carbon: off (sampler stopped, hooks removed); log kept at {path}; "
              f"%carbon on to start again")

    def _cmd_baseline(self, rest):
        if len(rest) > 1:
            raise UsageError("%carbon baseline: takes one optional number of seconds")
        try:
            seconds = float(rest[0]) if rest else 10.0
        except ValueError:
            raise UsageError(f"%carbon baseline: seconds must be a number, got {rest[0]!r}") from None
        if not 0.5 <= seconds <= 600:
            raise UsageError(f"%carbon baseline: seconds must be between 0.5 and 600, got {seconds:g}")
        s = self._session()
        print(f"jupyter-carbon: measuring idle power for {seconds:g} s; keep the machine quiet…")
        base = s.meter.measure_baseline(seconds)
        parts = ", ".join(f"{c} {fmt_power_w(w)}" for c, w in base.items())
        print(f"jupyter-carbon: idle baseline {parts}; later cells also report energy above idle")

    def _cmd_config(self, rest):
        s = self._session()
        a = _config_parser().parse_args(rest)
        changed = []
        try:
            for name in a.reset:
                if name not in OPTIONS:
                    raise ConfigError(f"unknown setting {name!r}; settings: {', '.join(OPTIONS)}")
                s.reset(name)
                changed.append(name)
            updates = {k: v for k, v in vars(a).items() if k != "reset" and v is not None}
            for name in updates:  # validate everything first: all or nothing
                OPTIONS[name].parse(updates[name])
            for name, raw in updates.items():
                s.configure(name, raw)
                changed.append(name)
        except ConfigError as exc:
            raise UsageError(f"%carbon config: {exc}") from None
        print(config_report(s, changed))

    def _cmd_report(self, rest):
        p = _Parser(prog="carbon report", add_help=False)
        p.add_argument("--top", type=int, default=10)
        a = p.parse_args(rest)
        if a.top < 1:
            raise UsageError("%carbon report: --top must be at least 1")
        from .report import show_report

        show_report(self._session(), top=a.top)

    def _cmd_widget(self, rest):
        self._no_args("widget", rest)
        from .widget import show_inline

        show_inline(self._session())

    def _cmd_sidebar(self, rest):
        self._no_args("sidebar", rest)
        from .widget import show_sidebar

        show_sidebar(self._session())


def status_report(s: CarbonSession) -> str:
    lines = [f"jupyter-carbon {'(paused) ' if s.paused else ''}— sampler every "
             f"{s.meter.sampler.interval:g} s, {s.meter.sampler.samples_taken} samples"]
    latest = s.meter.sampler.latest()
    for i, ch in enumerate(s.meter.channels):
        sensor = ch.sensor
        w = latest.watts[i] if latest is not None and i < len(latest.watts) else ch.watts
        state = f"FAILED ({ch.failed})" if ch.failed else fmt_power_w(w)
        lines.append(f"  {sensor.component:<4} {sensor.method:<12} {sensor.kind:<9} {state:>10}  {sensor.name}")
    for msg in s.setup.messages + s.setup.notes:
        lines.append(f"  note: {msg}")
    lines.append(f"  intensity: {s.intensity_line()} · PUE {s.pue:g}")
    if s.meter.baseline_w:
        lines.append("  idle baseline: " + ", ".join(f"{c} {fmt_power_w(w)}" for c, w in s.meter.baseline_w.items()))
    t = s.totals
    lines.append(f"  session: {t.cells} cells, {fmt_duration(t.duration_s)}, {fmt_energy_j(t.energy_j)}, "
                 f"{fmt_mass_g(t.emissions_kg * 1000)} CO2e")
    lines.append(f"  log: {s.log.path}")
    return "\n".join(lines)


def config_report(s: CarbonSession, changed: list[str]) -> str:
    lines = ["jupyter-carbon settings (value · from where):"]
    for name, value, source in s.settings.table():
        mark = "*" if name in changed else " "
        shown = "(auto)" if value is None else value
        lines.append(f" {mark}{name:<18} {shown!s:<24} {source}")
    pending = [n for n in changed if n in ("gpu", "cpu_tdp", "ram_w_per_gb", "tracking_mode")]
    if pending:
        lines.append("  (sensor settings apply when this cell ends)")
    return "\n".join(lines)

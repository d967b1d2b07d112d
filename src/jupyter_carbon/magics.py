"""``%%carbon`` and ``%carbon``, and the extension's entry points.

``%%carbon`` is an ordinary cell magic: it composes with other cell magics in either order,
dedents like IPython, is incomplete in a terminal until its body is typed, and runs its body
as a cell (``cellmagic.run_body``), so exceptions, tracebacks, ``Out[n]`` and
KeyboardInterrupt are what they would be without it. The magics instance holds the
extension object (``CarbonExtension``), so its state lives as long as the shell's magics.
"""
from __future__ import annotations

import argparse
import logging
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from .cellmagic import run_body
from .config import OPTIONS
from .errors import ConfigError
from .extension import CarbonExtension, in_kernel
from .hooks import status_of
from .session import CarbonSession, CellOptions
from .status import config_report, status_report
from .units import fmt_power_w

log = logging.getLogger(__name__)

EXTENSION = "jupyter_carbon"
SUBCOMMANDS = ("status", "report", "sidebar", "widget", "config", "baseline", "pause", "resume", "off", "on",
               "debug")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as a one-line UsageError instead of exiting."""

    def error(self, message: str) -> Any:
        raise UsageError(f"%{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        if message:
            raise UsageError(message.strip())
        raise UsageError(self.format_help())


def _cell_parser() -> _Parser:
    p = _Parser(prog="%carbon", add_help=False)
    for name in ("--label", "--country", "--intensity", "--pue"):
        p.add_argument(name, default=None)
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
        country = OPTIONS["country"].parse(a.country) if a.country is not None else None
        intensity = OPTIONS["intensity"].parse(a.intensity) if a.intensity is not None else None
        pue = OPTIONS["pue"].parse(a.pue) if a.pue is not None else None
        label = OPTIONS["project_name"].parse(a.label) if a.label is not None else None
    except ConfigError as exc:
        raise UsageError(f"%%carbon: {exc}") from None
    return CellOptions(label or None, country, intensity, pue), a.quiet


@magics_class
class CarbonMagics(Magics):
    shell: Any

    def __init__(self, shell: Any):
        super().__init__(shell)
        self.ext = CarbonExtension(shell)

    def _session(self) -> CarbonSession:
        s = self.ext.session
        if s is None or not s.running:
            raise UsageError("jupyter-carbon is off; run %load_ext jupyter_carbon (or %carbon on)")
        return s

    @cell_magic("carbon")  # type: ignore[arg-type]  # IPython types the decorator as taking Never
    def carbon_cell(self, line: str, cell: str) -> Any:
        """%%carbon [--label TEXT] [--country CC] [--intensity G] [--pue X] [--quiet]

        Measure this cell with a live line and a summary; the options apply to it alone."""
        __tracebackhide__ = True  # noqa: F841
        opts, quiet = parse_cell_options(line)
        first = f"%%carbon {line}".rstrip()
        session = self.ext.session if self.ext.active else None
        if session is None:
            print("jupyter-carbon: off, so this %%carbon cell ran unmeasured (%carbon on to measure)")
            return run_body(self.shell, first, cell)
        owned = session.current is None  # paused, or run outside a cell (run_cell_magic)
        running = session.current or session.begin_cell(self.shell.execution_count, None, force=True)
        if running is not None:
            running.options, running.summary = opts, not quiet
            running.window.label = opts.label  # live views name the cell too
            if not quiet and in_kernel(self.shell):
                from .outputs.live_line import LiveLine

                try:
                    running.live = LiveLine(session, self.shell)
                except Exception:
                    log.debug("no live line", exc_info=True)
        if not owned or (self.ext.hooks is not None and self.ext.hooks.depth > 0):
            return run_body(self.shell, first, cell)
        status = "ok"  # a window of our own: close it here, whatever the body does
        try:
            return run_body(self.shell, first, cell)
        except BaseException as exc:
            status = status_of(_Failed(exc))
            raise
        finally:
            session.end_cell(status)

    @line_magic("carbon")  # type: ignore[arg-type]
    def carbon_line(self, line: str = "") -> Any:
        """%carbon [status|report [--top N] [--all]|sidebar|widget|config [--NAME VALUE ...]|baseline [SECONDS]|pause|resume|off|on|debug [on|off]]"""
        words = split(line)
        cmd = words[0] if words else "status"
        rest = words[1:]
        if cmd not in SUBCOMMANDS:
            import difflib

            close = difflib.get_close_matches(cmd, SUBCOMMANDS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(f"%carbon: unknown subcommand {cmd!r}{hint}; "
                             f"use one of: {', '.join(SUBCOMMANDS)}")
        return getattr(self, f"_cmd_{cmd}")(rest)

    # --- subcommands -------------------------------------------------------------------
    def _no_args(self, cmd: str, rest: list[str]) -> None:
        if rest:
            raise UsageError(f"%carbon {cmd}: takes no arguments, got {' '.join(rest)!r}")

    def _cmd_status(self, rest: list[str]) -> None:
        self._no_args("status", rest)
        print(status_report(self._session(), self.ext.cell_log.path if self.ext.cell_log else None))

    def _cmd_pause(self, rest: list[str]) -> None:
        self._no_args("pause", rest)
        self._session().paused = True
        print("jupyter-carbon: paused; cells are not logged until %carbon resume")

    def _cmd_resume(self, rest: list[str]) -> None:
        self._no_args("resume", rest)
        self._session().paused = False
        print("jupyter-carbon: resumed; cells are measured and logged again")

    def _cmd_off(self, rest: list[str]) -> None:
        self._no_args("off", rest)
        self._session()
        path = self.ext.cell_log.path if self.ext.cell_log else None
        self.ext.stop()
        self.shell.extension_manager.loaded.discard(EXTENSION)  # so %load_ext starts it again
        print(f"jupyter-carbon: off (sampler stopped, hooks removed); log kept at {path}; "
              f"%carbon on to start again")

    def _cmd_on(self, rest: list[str]) -> None:
        self._no_args("on", rest)
        if self.ext.active:
            print("jupyter-carbon: already on")
            return
        self.shell.extension_manager.load_extension(EXTENSION)

    def _cmd_debug(self, rest: list[str]) -> None:
        from . import debuglog

        if len(rest) > 1 or (rest and rest[0] not in ("on", "off")):
            raise UsageError("%carbon debug: takes on or off")
        if rest:
            debuglog.enable(rest[0] == "on")
        print(f"jupyter-carbon: debug log {'on (stderr)' if debuglog.enabled() else 'off'}")

    def _cmd_baseline(self, rest: list[str]) -> None:
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
        base = s.measure_baseline(seconds)
        parts = ", ".join(f"{c} {fmt_power_w(w)}" for c, w in base.items())
        print(f"jupyter-carbon: idle baseline {parts}; later cells also report energy above idle")

    def _cmd_config(self, rest: list[str]) -> None:
        s = self._session()
        a = _config_parser().parse_args(rest)
        changed = []
        try:
            for name in a.reset:
                if name not in OPTIONS:
                    raise ConfigError(f"unknown setting {name!r}; settings: {', '.join(OPTIONS)}")
            updates = {k: v for k, v in vars(a).items() if k != "reset" and v is not None}
            for name in updates:  # validate everything first: all or nothing
                OPTIONS[name].parse(updates[name])
        except ConfigError as exc:
            raise UsageError(f"%carbon config: {exc}") from None
        for name in a.reset:
            s.reset(name)
            changed.append(name)
        for name, raw in updates.items():
            s.configure(name, raw)
            changed.append(name)
        print(config_report(s, changed))

    def _cmd_report(self, rest: list[str]) -> None:
        p = _Parser(prog="carbon report", add_help=False)
        p.add_argument("--top", type=int, default=10)
        p.add_argument("--all", action="store_true")
        a = p.parse_args(rest)
        if a.top < 1:
            raise UsageError("%carbon report: --top must be at least 1")
        from .report import show_report

        s = self._session()
        assert self.ext.cell_log is not None
        history = getattr(self.shell, "history_manager", None)
        sources = dict(getattr(history, "input_hist_raw_by_count", {}) or {}) if history else {}
        if not sources and history is not None:
            raw = getattr(history, "input_hist_raw", [])
            sources = dict(enumerate(raw))
        show_report(self.ext.cell_log.path, notebook=s.notebook, top=a.top,
                    session_id=None if a.all else s.session_id, sources=sources)

    def _cmd_widget(self, rest: list[str]) -> None:
        self._no_args("widget", rest)
        self._session()
        self.ext.widget_output().show_inline()

    def _cmd_sidebar(self, rest: list[str]) -> None:
        self._no_args("sidebar", rest)
        self._session()
        frontend = self.ext.frontend
        if frontend is not None and frontend.open_panel():
            print("jupyter-carbon: opened the Carbon panel in the right sidebar.")
            return
        self.ext.widget_output().show_sidebar()


class _Failed:
    def __init__(self, exc: BaseException):
        self.error_in_exec = exc


# --- the extension's entry points --------------------------------------------------------
def magics_of(shell: Any) -> CarbonMagics | None:
    """The shell's CarbonMagics (and so its extension object), if registered."""
    registry = getattr(getattr(shell, "magics_manager", None), "registry", {})
    m = registry.get(CarbonMagics.__name__)
    return m if hasattr(m, "ext") else None


def load(shell: Any) -> None:
    from . import debuglog

    debuglog.from_env()
    m = magics_of(shell)
    if m is None:
        m = CarbonMagics(shell)
        shell.register_magics(m)
    m.ext.start()


def unload(shell: Any) -> None:
    """End the session. The magics stay, so a ``%%carbon`` cell still runs (unmeasured)."""
    m = magics_of(shell)
    if m is not None:
        m.ext.close()

"""The table: console text and ``docs/benchmarks.md``, with the machine it was measured on."""
from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata

from ._util import Row

PACKAGES = ("jupyter-carbon", "codecarbon", "ipython", "ipykernel", "jupyter_client", "psutil",
            "ipywidgets", "anywidget", "traitlets", "pandas")
HEADER = ("#", "Benchmark", "jupyter-carbon", "No tracking / reference", "CodeCarbon", "Ratio",
          "Target", "Met")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, str]:
    import psutil

    facts = {
        "CPU": cpu_model(),
        "Cores": f"{os.cpu_count()} logical, {psutil.cpu_count(logical=False)} physical",
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": platform.platform(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
    }
    try:
        virt = "yes" if "hypervisor" in open("/proc/cpuinfo").read() else "no"
        facts["Virtual machine"] = virt
    except OSError:
        pass
    damon = damon_schemes()
    if damon:
        facts["Kernel memory monitor"] = (f"DAMON running, schemes: {', '.join(damon)} (memory left untouched "
                                          "for a while is cold again when a thread wakes: see the sampler-cost "
                                          "rows)")
    vers = []
    for p in PACKAGES:
        try:
            vers.append(f"{p} {metadata.version(p)}")
        except metadata.PackageNotFoundError:
            vers.append(f"{p} (not installed)")
    facts["Packages"] = ", ".join(vers)
    return facts


def damon_schemes() -> list[str]:
    """Actions of the running DAMON schemes (e.g. ``pageout``), which make idle memory cold."""
    from pathlib import Path

    out = []
    try:
        for kd in Path("/sys/kernel/mm/damon/admin/kdamonds").glob("[0-9]*"):
            if (kd / "state").read_text().strip() != "on":
                continue
            out += [(sc / "action").read_text().strip() for sc in kd.glob("contexts/*/schemes/[0-9]*")]
            out = out or ["monitoring only"]
    except OSError:
        pass
    return out


def sampler_md(facts: dict) -> str:
    """What the sampler-cost floors say about the budgets, from this run's figures."""
    f = facts.get("sampler_floor")
    if not f:
        return ""
    floor, read, ours, cc = f["floor_s"], f.get("read_s"), f["ours_s"], f["cc_s"]
    text = ("The budgets are stated as a share of one core at the default 1 s interval (one sample a "
            "second, so CPU seconds per sample = CPU seconds per second): **<= 0.03 % of a core "
            "headless** (no widget: 300 µs of CPU per second) and **<= 0.1 % of a core with the live "
            "widget attached** (1 ms per second). ")
    if "headless" in f:
        text += (f"This run: headless {f['headless'] * 100:.4f} %, widget attached "
                 f"{f['attached'] * 100:.4f} % of a core, against floors of {f['whole_noop_s'] * 100:.4f} % "
                 f"for a thread that wakes each second and does nothing, {f['whole_read_s'] * 100:.4f} % for "
                 f"one that reads `/proc/stat`, {f['whole_floor_s'] * 100:.4f} % for one that reads and parses it. ")
    text += (f"On this machine a thread that wakes once a second and does nothing but read and parse "
             f"`/proc/stat` (the one read a machine-wide CPU model needs on Linux) spends "
             f"**{floor * 1e6:.0f} µs** of CPU per tick at the median, against {f['hot_s'] * 1e6:.1f} µs for "
             "the same read in a hot loop: after a second of sleep, what the read touches is no longer in "
             "the CPU's caches. ")
    if read is not None:
        text += f"The read alone costs {read * 1e6:.0f} µs; the parse, {(floor - read) * 1e6:.0f} µs more. "
    text += f"CodeCarbon's {cc * 1e3:.2f} ms per 1 s sample is {cc / floor:.1f}x the floor"
    text += (", so no tracker reading and parsing machine-wide CPU time every second could be 10x cheaper "
             "than it here. " if cc / floor < 10 else f"; 10x cheaper than it means at most "
             f"{cc / 10 * 1e6:.0f} µs per tick. ")
    text += (f"jupyter-carbon's tick (every channel read, committed and kept) costs {ours * 1e6:.0f} µs, "
             f"{(ours - floor) * 1e6:.0f} µs above the read-and-parse floor. On a machine with RAPL the "
             "per-tick read is a sysfs counter instead of `/proc/stat`; run the benchmarks there, and on "
             "bare metal, to see how much of the floor belongs to this machine.")
    return text


def _met(m: bool | None) -> str:
    return "" if m is None else ("**met**" if m else "**NOT met**")


def _esc(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    section = None
    for i, r in enumerate(rows, 1):
        if r.section != section:
            section = r.section
            lines.append(f"| | **{_esc(section)}** |" + " |" * (len(HEADER) - 2))
        lines.append("| " + " | ".join(_esc(x) for x in (str(i), r.name, r.ours, r.base, r.peer, r.ratio,
                                                            r.target, _met(r.met))) + " |")
    return "\n".join(lines)


def notes(rows: list[Row]) -> str:
    return "\n".join(f"{i}. {_esc(r.note)}" for i, r in enumerate(rows, 1) if r.note)


def summary(rows: list[Row]) -> str:
    judged = [r for r in rows if r.met is not None]
    met = sum(1 for r in judged if r.met)
    missed = [f"#{i}" for i, r in enumerate(rows, 1) if r.met is False]
    s = f"{met} of {len(judged)} targets met"
    return s + (f" (not met: {', '.join(missed)})" if missed else "")


def console(rows: list[Row]) -> str:
    """Plain text for the terminal: the same table, columns padded."""
    body = [HEADER]
    for i, r in enumerate(rows, 1):
        body.append((str(i), r.name, r.ours, r.base, r.peer, r.ratio, r.target,
                     "" if r.met is None else ("met" if r.met else "NOT MET")))
    width = [min(70, max(len(row[c]) for row in body)) for c in range(len(HEADER))]
    out, section = [], None
    for j, row in enumerate(body):
        if j > 0 and rows[j - 1].section != section:
            section = rows[j - 1].section
            out.append(f"\n{section}")
        out.append("  ".join(cell[:w].ljust(w) if c == 1 else cell.ljust(w) for c, (cell, w) in
                             enumerate(zip(row, width))).rstrip())
        if j == 0:
            out.append("-" * min(200, sum(width) + 2 * len(width)))
    return "\n".join(out)


def breakdown_md(facts: dict) -> str:
    bd = facts.get("percell_breakdown") or {}
    if not any(bd.values()):
        return ""
    keys = list(dict.fromkeys(k for v in bd.values() for k in v))
    cols = list(bd)
    lines = ["| Step (timed in the kernel, hot loop, median) | " + " | ".join(cols) + " |",
             "|---|" + "---|" * len(cols)]
    for k in keys:
        vals = [f"{bd[c][k] * 1e6:.1f} µs" if k in bd[c] else "" for c in cols]
        lines.append(f"| {_esc(k)} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def exactness_md(facts: dict) -> str:
    ex = facts.get("exactness") or {}
    if not ex:
        return ""
    lines = ["| Trace | Windows | ours, counter mode | ours, power mode (1 s) | ours, power mode (0.1 s) | "
             "CodeCarbon task API |", "|---|---|---|---|---|---|"]
    for name, d in ex.items():
        e = d["errors"]
        lines.append(f"| {_esc(name)} | {d['windows']} | {max(map(abs, e['counter'])) * 100:.4f}% | "
                     f"{max(map(abs, e['power'])) * 100:.2f}% | {max(map(abs, e['power_0.1'])) * 100:.2f}% | "
                     f"{max(map(abs, e['cc'])) * 100:.2f}% |")
    return "\n".join(lines)


def markdown(rows: list[Row], facts: dict, *, quick: bool, elapsed_s: float, methods: list[tuple[str, str]],
             command: str) -> str:
    mf = machine_facts()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    net = facts.get("network", {})
    n_attempts = sum(len(v) for v in net.values())
    load = facts.get("loadavg")
    parts = [
        "# Benchmarks: jupyter-carbon vs CodeCarbon vs no tracking",
        "",
        f"Generated by `{command}` on {when} ({'quick smoke run' if quick else 'full run'}, "
        f"{elapsed_s:.0f} s). Every number below was measured in that run; each comparison was taken "
        "side by side (alternating A B A B runs or blocks in the same run) and is reported as a median. "
        "Nothing is hard-coded. Re-run it on your machine: numbers move with the hardware and with "
        "whatever else the machine is doing.",
        "",
        f"**{summary(rows)}.**",
        "",
        "## Machine",
        "",
        *[f"- **{k}:** {_esc(v)}" for k, v in mf.items()],
        f"- **Load average (1 min) at start / end:** {load[0]:.2f} / {load[1]:.2f} (other processes "
        "were running; that is why everything is paired and medianed)" if load else "",
        f"- **jupyter-carbon sensors:** {facts.get('sampler_sensors', 'n/a')}; **CodeCarbon hardware:** "
        f"{', '.join(facts.get('codecarbon_hardware', [])) or 'n/a'}",
        "- CodeCarbon ran as `OfflineEmissionsTracker(country_iso_code=\"FRA\", save_to_file=False, "
        "log_level=\"error\")`. Every benchmark process had non-loopback connections and DNS refused "
        f"and counted: **{n_attempts} network attempts** in this run.",
        "- Bytecode caches were warm for every process (as after `pip install`), kept in a separate "
        "`PYTHONPYCACHEPREFIX` tree.",
        "",
        "## Results",
        "",
        table(rows),
        "",
        "Notes by row:",
        "",
        notes(rows),
        "",
    ]
    sm = sampler_md(facts)
    if sm:
        parts += ["## Reading the sampler-cost rows", "", sm, ""]
    bd = breakdown_md(facts)
    if bd:
        parts += ["## Where the per-cell time goes", "",
                  "Each step of the extension's per-cell path timed on its own in the kernel (a hot loop, so "
                  "smaller than inside a real cell, where the caches are cold):", "", bd, ""]
    ex = exactness_md(facts)
    if ex:
        parts += ["## Exactness: largest absolute error over every window", "", ex, ""]
    parts += ["## How each benchmark works", ""]
    for name, doc in methods:
        parts += [f"### `benchmarks/{name}.py`", "", doc.strip(), ""]
    parts += ["## Running", "", "```",
              ".venv/bin/python -m benchmarks                           # full run (~19 min), writes docs/benchmarks.md",
              ".venv/bin/python -m benchmarks --quick --out /tmp/bq.md  # CI smoke run (~3 min), every benchmark",
              ".venv/bin/python -m benchmarks --only percell,memory     # a subset",
              "```", "", "`--quick` without `--out` writes to the temp directory, never over this file. The exit "
              "status is 1 only when a benchmark fails to run; a missed target is reported, not fatal.", ""]
    return "\n".join(p for p in parts if p is not None) + "\n"


def python_version() -> str:
    return sys.version.split()[0]

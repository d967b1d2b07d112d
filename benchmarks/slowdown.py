"""Slowdown of CPU-bound pure Python while a tracker's background threads run.

One fresh interpreter per configuration. Inside it, the same fixed amount of pure-Python work
runs in alternating segments with the tracker's threads running and stopped (none, on, on,
none, none, on, ...), so each "on" segment has a "none" neighbour taken under the same
background load. The slowdown is the median over pairs of on/none wall time.

Segments are short (0.1 s) and many (200 pairs): this virtual machine's speed drifts by several
percent within seconds, so a pair of 2 s segments scatters by +-10 % and nine of them cannot
tell 1 % from noise; short neighbours see the same drift, and 200 of them put the median within
about +-0.5 %. The tracker is started at the beginning of each "on" segment and takes its first
sample at once, so at 1 s a segment sees ten times the steady rate of samples plus a thread
start: the figure is an upper bound of the steady cost.

Configurations: jupyter-carbon's session (sampler + samples CSV) at 1 s and 0.1 s;
CodeCarbon ``OfflineEmissionsTracker.start()`` with ``measure_power_secs=1`` and the default 15
(both also run their fixed 1 s power-monitor timer). Pausing/resuming means stopping and
starting the threads (``sampler.stop()/start()``; CodeCarbon's two ``PeriodicScheduler``s).

A control arm runs a thread that wakes every 0.1 s and does nothing: its ratio is the noise
floor of the method on this machine (on a loaded machine, pairs scatter by several percent
either way; a ratio below 1 means "no slowdown this method can resolve").
"""
from __future__ import annotations

import statistics
import time

from ._util import Config, Row, bench_env, fmt_t, fmt_x, median, run_worker


def work(n: int) -> int:
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def calibrate(seconds: float) -> dict:
    work(200_000)
    n, t = 200_000, 0.0
    while t < 0.3:
        n *= 2
        t0 = time.perf_counter()
        work(n)
        t = time.perf_counter() - t0
    return {"iters": int(n * seconds / t)}


def segments(mode: str, interval: float, iters: int, pairs: int) -> dict:
    """Worker: alternate tracker-stopped / tracker-running segments of ``work(iters)``."""
    from . import _trackers

    if mode == "control":
        import threading

        ev = threading.Event()
        th: list = []
        ticks = [0]

        def loop():
            while not ev.wait(interval):
                ticks[0] += 1

        def on():
            ev.clear()
            th[:] = [threading.Thread(target=loop, daemon=True)]
            th[0].start()

        def off():
            ev.set()
            if th:
                th[0].join()
        count = lambda: ticks[0]  # noqa: E731
    elif mode == "ours":
        s = _trackers.carbon_session(interval)
        on, off = s.meter.sampler.start, s.meter.sampler.stop
        count = lambda: s.meter.sampler.samples_taken  # noqa: E731
    else:
        tr = _trackers.codecarbon(interval)
        tr.start()
        on, off = (lambda: _trackers.cc_resume(tr)), (lambda: _trackers.cc_pause(tr))
        calls = _trackers.cc_count_calls(tr)
        count = lambda: sum(calls.values())  # noqa: E731
    off()
    work(iters // 10)  # warm-up
    res = {"none": [], "on": [], "events": 0, "cpu_none": [], "cpu_on": []}
    order = []
    for p in range(pairs):
        order += ["none", "on"] if p % 2 == 0 else ["on", "none"]
    for arm in order:
        if arm == "on":
            on()
            c0 = count()
        c0_main, t0 = time.thread_time(), time.perf_counter()
        work(iters)
        dt = time.perf_counter() - t0
        res[f"cpu_{arm}"].append(time.thread_time() - c0_main)
        if arm == "on":
            res["events"] += count() - c0
            off()
        res[arm].append(dt)
    return res


def _spread(ratios: list[float]) -> str:
    """The middle half of the pairs' ratios: how much one pair scatters here."""
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return f"middle half {q1:.3f}-{q3:.3f}"


def _below_one(wall: float, cpu: float) -> str:
    if wall >= 0.99:
        return ""
    if cpu < 0.99:
        return ("; below 1 in wall and in the main thread's CPU time alike: this virtual machine ran the same "
                "work faster while the thread was running; read it as no measurable slowdown, not a speed-up")
    return "; below 1: within this machine's noise (see the control row)"


CONFIGS = [("ours", 1.0), ("ours", 0.1), ("cc", 1.0), ("cc", 15.0), ("control", 0.1)]


def run(cfg: Config) -> list[Row]:
    seg, pairs = cfg.pick((0.1, 200), (0.1, 20))
    env = bench_env(cfg.workdir / "slowdown")
    iters = run_worker("slowdown", "calibrate", {"seconds": seg}, env=env, cwd=cfg.workdir)["iters"]
    out = {}
    for mode, interval in CONFIGS:
        cfg.log(f"slowdown: {mode} at {interval:g} s, {pairs} pairs of {seg:g} s segments")
        r = run_worker("slowdown", "segments", {"mode": mode, "interval": interval, "iters": iters,
                                                "pairs": pairs}, env=env, cwd=cfg.workdir)
        cfg.note_network(f"slowdown:{mode}", r["network_attempts"])
        ratios = [a / b for a, b in zip(r["on"], r["none"])]
        cpu = median([a / b for a, b in zip(r["cpu_on"], r["cpu_none"])])
        out[(mode, interval)] = (median(ratios), median(r["none"]), r["events"], ratios, cpu)
    sec = "3. Slowdown of CPU-bound Python"
    rows = []
    for interval in (1.0, 0.1):
        ours, base, ev, ratios, cpu = out[("ours", interval)]
        cc = out.get(("cc", interval))
        rows.append(Row(
            sec, f"pure-Python loop, sampler at {interval:g} s (wall time with / without)",
            fmt_x(ours), base=fmt_t(base), peer=(f"{fmt_x(cc[0])} (measure_power_secs={interval:g})" if cc else ""),
            ratio="", target="<= 1.01" if interval == 1.0 else "", met=(ours <= 1.01) if interval == 1.0 else None,
            note=f"median of {len(ratios)} side-by-side pairs ({_spread(ratios)}); "
                 f"{ev} samples taken while running; the main thread's own CPU time for the same work: "
                 f"{cpu:.3f}x" + _below_one(ours, cpu)))
    cc15 = out[("cc", 15.0)]
    rows.append(Row(sec, "CodeCarbon at its default (measure_power_secs=15, 1 s monitor)", "",
                    base=fmt_t(cc15[1]), peer=fmt_x(cc15[0]),
                    note=f"median of {len(cc15[3])} pairs ({_spread(cc15[3])}); "
                         f"main-thread CPU time {cc15[4]:.3f}x"))
    ctl = out[("control", 0.1)]
    rows.append(Row(sec, "control: a do-nothing thread waking every 0.1 s (the method's noise floor)",
                    fmt_x(ctl[0]), base=fmt_t(ctl[1]),
                    note=f"median of {len(ctl[3])} pairs ({_spread(ctl[3])}); "
                         f"main-thread CPU time {ctl[4]:.3f}x"))
    return rows

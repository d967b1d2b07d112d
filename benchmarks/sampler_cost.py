"""Sampler cost: CPU seconds per sample and per hour, jupyter-carbon vs CodeCarbon.

Each configuration runs in a fresh interpreter that starts the tracker and then sleeps (an idle
kernel), so everything the process spends is the tracker's:

* live thread CPU: jupyter-carbon's ``sampler.cpu_s / samples_taken`` (``time.thread_time``
  around every tick, listeners included: the samples CSV); CodeCarbon's timer-thread runs
  wrapped the same way (each run = the scheduled function + creating the next ``Timer``);
* direct: ``time.thread_time`` around repeated ``sampler.sample_now()`` /
  ``_measure_power_and_energy()`` / ``_monitor_power()`` calls on the main thread;
* whole process: ``time.process_time()`` over the idle period, scaled to an hour.

A kernel run adds the cost per sample with the live widget attached (``%load_ext`` defaults).
"""
from __future__ import annotations

import time

from ._util import Config, Kernel, Row, bench_env, fmt_t, fmt_vs, fmt_x, median, run_worker


def idle(mode: str, interval: float, seconds: float, direct: int) -> dict:
    """Worker: start the tracker, sleep ``seconds``, report its CPU."""
    from . import _trackers

    res: dict = {"mode": mode, "interval": interval}
    if mode == "none":
        p0 = time.process_time()
        time.sleep(seconds)
        res["process_s"] = time.process_time() - p0
        res["wall_s"] = seconds
        return res
    if mode == "ours":
        s = _trackers.carbon_session(interval)
        sp = s.meter.sampler
        time.sleep(min(0.2, interval))  # past the first tick
        n0, c0, p0, w0 = sp.samples_taken, sp.cpu_s, time.process_time(), time.perf_counter()
        time.sleep(seconds)
        n1, c1, p1, w1 = sp.samples_taken, sp.cpu_s, time.process_time(), time.perf_counter()
        sp.stop()
        res.update(samples=n1 - n0, thread_s=c1 - c0, process_s=p1 - p0, wall_s=w1 - w0,
                   sensors=s.setup.describe())
        t = time.thread_time()
        for _ in range(direct):
            sp.sample_now()
        res["direct_per_sample_s"] = (time.thread_time() - t) / direct
        s.close()
        return res
    # CodeCarbon
    import threading

    tr = _trackers.codecarbon(interval)
    cpu = {"measure": [], "monitor": []}
    lock = threading.Lock()
    for key, sched in (("measure", tr._scheduler), ("monitor", tr._scheduler_monitor_power)):
        orig = sched._run

        def timed(_orig=orig, _key=key):
            c = time.thread_time()
            try:
                _orig()
            finally:
                with lock:
                    cpu[_key].append(time.thread_time() - c)

        sched._run = timed  # Timer(interval, self._run) picks up the instance attribute
    tr.start()
    time.sleep(0.2)
    with lock:
        for v in cpu.values():
            v.clear()
    p0, w0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    p1, w1 = time.process_time(), time.perf_counter()
    _trackers.cc_pause(tr)
    with lock:
        res.update(measure_runs=list(cpu["measure"]), monitor_runs=list(cpu["monitor"]))
    res.update(process_s=p1 - p0, wall_s=w1 - w0, hardware=[repr(h) for h in tr._hardware])
    for name, fn in (("direct_measure_s", tr._measure_power_and_energy), ("direct_monitor_s", tr._monitor_power)):
        t = time.thread_time()
        for _ in range(direct):
            fn()
        res[name] = (time.thread_time() - t) / direct
    tr.stop()
    return res


KERNEL_CODE = """
import time, json
get_ipython().run_line_magic('load_ext', 'jupyter_carbon')
from jupyter_carbon.extension import _SESSIONS
_s = next(iter(_SESSIONS.values()))[0]
_sp = _s.meter.sampler
_kr = {}
for _iv in (1.0, 0.1):
    _s.configure("interval", _iv)
    time.sleep(0.5)
    _n0, _c0 = _sp.samples_taken, _sp.cpu_s
    time.sleep(__SECONDS__)
    _kr[str(_iv)] = {"samples": _sp.samples_taken - _n0, "thread_s": _sp.cpu_s - _c0}
"""


def _kernel(cfg: Config, seconds: float) -> dict:
    """Per-sample cost in a real kernel with ``%load_ext`` defaults (live widget attached)."""
    env = bench_env(cfg.workdir / "sampler-kernel")
    with Kernel(env, cfg.workdir / "sampler-kernel") as k:
        k.execute("import benchmarks._nonet as _nn; _nn.install()")
        r = k.execute(KERNEL_CODE.replace("__SECONDS__", repr(seconds)), expressions={"r": "json.dumps(_kr)"},
                      timeout=2 * seconds + 120)["r"]
        cfg.note_network("sampler-kernel", k.execute("", expressions={"n": "json.dumps(_nn.attempts)"})["n"])
    return {float(k_): v for k_, v in r.items()}


CONFIGS = [("none", 1.0), ("ours", 1.0), ("ours", 0.1), ("cc", 1.0), ("cc", 15.0)]


def run(cfg: Config) -> list[Row]:
    seconds, rounds, direct = cfg.pick((15.0, 2, 2000), (2.5, 1, 200))
    env = bench_env(cfg.workdir / "sampler")
    res: dict = {c: [] for c in CONFIGS}
    for r in range(rounds):
        for i in range(len(CONFIGS)):
            mode, interval = CONFIGS[(i + r) % len(CONFIGS)]
            cfg.log(f"sampler cost: {mode} at {interval:g} s, idle {seconds:g} s (round {r + 1}/{rounds})")
            out = run_worker("sampler_cost", "idle", {"mode": mode, "interval": interval, "seconds": seconds,
                                                      "direct": direct if mode == "ours" else max(20, direct // 10)},
                             env=env, cwd=cfg.workdir)
            cfg.note_network(f"sampler:{mode}", out.pop("network_attempts"))
            res[(mode, interval)].append(out)
    cfg.log("sampler cost: in a kernel with the live widget, 1 s then 0.1 s")
    kern = _kernel(cfg, max(3.0, seconds / 2))

    def ours_per_sample(interval):
        runs = res[("ours", interval)]
        return median([o["thread_s"] / o["samples"] for o in runs if o["samples"]])

    def per_hour(mode, interval):
        return median([o["process_s"] / o["wall_s"] * 3600 for o in res[(mode, interval)]])

    def cc_runs(interval, key):
        return [x for o in res[("cc", interval)] for x in o[f"{key}_runs"]]

    none_h = per_hour("none", 1.0)
    o1, o01 = ours_per_sample(1.0), ours_per_sample(0.1)
    d1 = median([o["direct_per_sample_s"] for o in res[("ours", 1.0)]])
    cc_meas = median(cc_runs(1.0, "measure"))
    cc_mon = median(cc_runs(1.0, "monitor") + cc_runs(15.0, "monitor"))
    cc_dm = median([o["direct_measure_s"] for o in res[("cc", 1.0)]])
    cc_dmon = median([o["direct_monitor_s"] for o in res[("cc", 1.0)]])
    h_o1, h_o01 = per_hour("ours", 1.0), per_hour("ours", 0.1)
    h_cc1, h_cc15 = per_hour("cc", 1.0), per_hour("cc", 15.0)
    k1 = kern[1.0]["thread_s"] / max(1, kern[1.0]["samples"])
    k01 = kern[0.1]["thread_s"] / max(1, kern[0.1]["samples"])
    sensors = res[("ours", 1.0)][0]["sensors"]
    cfg.facts["sampler_sensors"] = sensors
    cfg.facts["codecarbon_hardware"] = res[("cc", 1.0)][0]["hardware"]
    sec = "4. Sampler cost"
    per_tick_cc = cc_meas + cc_mon
    return [
        Row(sec, f"CPU per sample, live sampler thread at 1 s ({sensors}; samples CSV listener)",
            fmt_t(o1), peer=f"{fmt_t(per_tick_cc)} per 1 s sample (measurement {fmt_t(cc_meas)} + "
                            f"power monitor {fmt_t(cc_mon)})",
            ratio=fmt_vs(per_tick_cc / o1), target="< 0.1 ms and >= 10x cheaper",
            met=o1 < 1e-4 and per_tick_cc / o1 >= 10,
            note="thread_time per timer-thread run; CodeCarbon at measure_power_secs=1 runs both of its timers "
                 f"every second; its measurement alone is {fmt_x(cc_meas / o1)} ours"),
        Row(sec, "CPU per sample, live sampler thread at 0.1 s", fmt_t(o01), target="< 0.1 ms", met=o01 < 1e-4),
        Row(sec, "CPU per sample, called directly on the main thread (thread_time)", fmt_t(d1),
            peer=f"measure {fmt_t(cc_dm)}, monitor {fmt_t(cc_dmon)}", ratio=fmt_vs(cc_dm / d1),
            note="no timer-thread start-up on either side"),
        Row(sec, "CPU per sample in a kernel, live widget attached (1 s / 0.1 s)",
            f"{fmt_t(k1)} / {fmt_t(k01)}",
            note=f"{kern[1.0]['samples']} / {kern[0.1]['samples']} samples; widget state sent at most 2/s"),
        Row(sec, "process CPU per hour of an idle session, tracker at 1 s", f"{h_o1:.2f} s",
            base=f"{none_h:.2f} s (sleeping interpreter)", peer=f"{h_cc1:.2f} s (measure_power_secs=1)",
            ratio=fmt_vs((h_cc1 - none_h) / max(h_o1 - none_h, 1e-9)),
            note=f"time.process_time over {seconds:g} s idle, x{rounds}"),
        Row(sec, "process CPU per hour, ours at 0.1 s vs CodeCarbon at its default 15 s", f"{h_o01:.2f} s",
            base=f"{none_h:.2f} s", peer=f"{h_cc15:.2f} s",
            ratio=fmt_vs((h_cc15 - none_h) / max(h_o01 - none_h, 1e-9)),
            note="ours takes 150x more samples (10 per second vs CodeCarbon's one measurement per 15 s "
                 "plus its 1 s monitor)"),
    ]

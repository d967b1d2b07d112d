"""Memory: RSS added by loading, and over a simulated day (86,400 samples + 10,000 cells).

jupyter-carbon: a real IPython ``InteractiveShell`` in a fresh interpreter; ``%load_ext
jupyter_carbon``; then the sampler is driven by hand with ``sampler.tick()`` (what the thread runs) on the real
discovered sensors, with the samples CSV's once-a-minute batch (``SamplesOutput.flush()``, the
sampler's chore) every 60 ticks, and cells are driven through
``CarbonSession.begin_cell/end_cell`` (window, events to every output: CSV row, history, totals),
one cell every 8.64 samples. RSS (after ``gc.collect()``) at 25/50/75/100 % of the day.

CodeCarbon, same host: import + ``OfflineEmissionsTracker(...)`` + ``start()``, then its
scheduled work driven by hand the way its timers would over the same day at its default
(``_monitor_power()`` every second, ``_measure_power_and_energy()`` every 15 s) and one
``start_task()/stop_task()`` pair per cell.

A kernel run adds what ``%load_ext`` costs with the live widget (ipywidgets, anywidget) vs
CodeCarbon's first start in the same kind of fresh kernel.
"""
from __future__ import annotations

import gc

from ._util import Config, Kernel, Row, bench_env, fmt_mb, median, rss_bytes, run_worker


def _rss() -> int:
    gc.collect()
    return rss_bytes()


def day(tracker: str, samples: int, cells: int) -> dict:
    """Worker: RSS before/after loading and along a simulated day."""
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_cell("x = 1")
    r0 = _rss()
    if tracker == "ours":
        from jupyter_carbon.magics import magics_of

        from ._trackers import samples_output

        sh.run_line_magic("load_ext", "jupyter_carbon")
        r1 = _rss()
        ext = magics_of(sh).ext
        s = ext.session
        samples_out = samples_output(ext.outputs)
        s.meter.sampler.stop()  # we drive it: one tick per simulated second, as the thread does
        sampler = s.meter.sampler
        n = i_tick = 0

        def tick():
            nonlocal i_tick
            i_tick += 1
            sampler.tick()
            if i_tick % 60 == 0:  # the samples log's batch, which the sampler runs once a minute
                samples_out.flush()

        def cell():
            nonlocal n
            n += 1
            s.begin_cell(n, f"cell-{n % 97}")
            s.end_cell("ok")
    else:
        from . import _trackers

        tr = _trackers.codecarbon(15.0)
        tr.start()
        r1 = _rss()
        _trackers.cc_pause(tr)
        i_tick = 0

        def tick():
            nonlocal i_tick
            i_tick += 1
            tr._monitor_power()
            if i_tick % 15 == 0:
                tr._measure_power_and_energy()

        def cell():
            tr.start_task()
            tr.stop_task()
    every = samples / cells
    marks, next_cell = {}, 0.0
    checkpoints = {samples * q // 4: q * 25 for q in (1, 2, 3, 4)}
    for i in range(1, samples + 1):
        tick()
        while next_cell <= i and next_cell < samples:
            cell()
            next_cell += every
        if i in checkpoints:
            marks[checkpoints[i]] = _rss()
    out = {"r0": r0, "r1": r1, "marks": marks}
    if tracker == "ours":
        out["buffer"] = len(s.meter.sampler.buffer)
        out["csv"] = str(ext.cell_log.path)
        out["samples_pending"] = len(s.meter.sampler.samples_after(samples_out._flushed_mono))
    return out


KERNEL_CODE = {
    "ours": "get_ipython().run_line_magic('load_ext', 'jupyter_carbon')",
    "cc": "from benchmarks import _trackers\n_tr = _trackers.codecarbon(15.0)\n_tr.start()",
}
RSS = "import gc, psutil; gc.collect(); _r = psutil.Process().memory_info().rss"


def _kernel(cfg: Config, arm: str) -> int:
    env = bench_env(cfg.workdir / "memory-kernel")
    with Kernel(env, cfg.workdir / "memory-kernel") as k:
        k.execute("import benchmarks._nonet as _nn; _nn.install(); import json")
        r0 = k.execute(RSS, expressions={"r": "json.dumps(_r)"})["r"]
        k.execute(KERNEL_CODE[arm], timeout=300)
        r1 = k.execute(RSS, expressions={"r": "json.dumps(_r)"})["r"]
        cfg.note_network(f"memory-kernel:{arm}", k.execute("", expressions={"n": "json.dumps(_nn.attempts)"})["n"])
    return r1 - r0


def run(cfg: Config) -> list[Row]:
    samples, cells = cfg.pick((86_400, 10_000), (21_600, 2_500))
    rounds = 1  # RSS is deterministic enough; the runs are long (CodeCarbon: ~1 min for a day)
    env = bench_env(cfg.workdir / "memory")
    res: dict = {"ours": [], "cc": []}
    kern: dict = {"ours": [], "cc": []}
    for r in range(rounds):
        for arm in (("ours", "cc") if r % 2 == 0 else ("cc", "ours")):
            cfg.log(f"memory: {arm}, {samples} samples + {cells} cells (round {r + 1}/{rounds})")
            out = run_worker("memory", "day", {"tracker": arm, "samples": samples, "cells": cells},
                             env=env, cwd=cfg.workdir)
            cfg.note_network(f"memory:{arm}", out.pop("network_attempts"))
            res[arm].append(out)
            kern[arm].append(_kernel(cfg, arm))

    def m(arm, f):
        return median([f(o) for o in res[arm]])

    load = {a: m(a, lambda o: o["r1"] - o["r0"]) for a in res}
    end = {a: m(a, lambda o: o["marks"]["100"] - o["r0"]) for a in res}
    growth = {a: m(a, lambda o: o["marks"]["100"] - o["marks"]["25"]) for a in res}
    curve = {a: " / ".join(fmt_mb(res[a][0]["marks"][q] - res[a][0]["r0"]) for q in ("25", "50", "75", "100"))
             for a in res}
    k = {a: median(v) for a, v in kern.items()}
    ours = res["ours"][0]
    hours = samples / 3600
    sec = "5. Memory"
    return [
        Row(sec, "RSS added by loading (IPython shell, no widget)", fmt_mb(load["ours"]),
            peer=fmt_mb(load["cc"]), target="< 30 MB", met=load["ours"] < 30 * 2**20,
            note="CodeCarbon: import + tracker + start()"),
        Row(sec, "RSS added by loading in a fresh kernel (widget on)", fmt_mb(k["ours"]), peer=fmt_mb(k["cc"]),
            target="< 30 MB", met=k["ours"] < 30 * 2**20, note="includes ipywidgets + anywidget for the widget"),
        Row(sec, f"RSS added after {hours:g} h of samples + {cells:,} cells", fmt_mb(end["ours"]),
            peer=fmt_mb(end["cc"]), target="< 30 MB", met=end["ours"] < 30 * 2**20,
            note=f"at 25/50/75/100 %: ours {curve['ours']}; CodeCarbon {curve['cc']}"),
        Row(sec, "growth from 25 % to 100 % of the run (ring buffer full from ~4,096 samples)",
            fmt_mb(growth["ours"]), peer=fmt_mb(growth["cc"]), target="none (< 1 MB)",
            met=growth["ours"] < 2**20,
            note=f"ring buffer holds {ours['buffer']} samples; {ours['samples_pending']} samples waiting for "
                 "the next batch write"),
    ]

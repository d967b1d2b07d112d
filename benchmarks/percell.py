"""Per-cell overhead: trivial cells in a real ipykernel, with and without the extension.

Inside one kernel, ``shell.run_cell("x = 1", store_history=True)`` is timed with
``time.perf_counter`` cell by cell, each a top-level cell (see ``_util.CELLS``), in
alternating blocks (rotated order each round):

* off   - extension not loaded (``%unload_ext`` before the block),
* ours  - ``%load_ext jupyter_carbon``: pre/post_run_cell hooks, a measurement window per
          cell and its CSV row written and flushed (the sampler runs in the background),
* cc    - CodeCarbon's task API driven the only way it can be per cell: ``start_task()`` in
          ``pre_run_cell`` and ``stop_task()`` in ``post_run_cell`` (tracker created once).

IPython's SQLite history writes are batched during the loop (for every arm): in a real notebook
they happen in IPython's own thread between cells, but in a tight loop of cells they contend for
a lock with the next cell and dominate the noise. The added cost per cell is the median over
rounds of (median cell time of the block minus the median of the "off" block of the same round).
The widget-off and ``tracking_mode=machine`` (no attribution) arms run in the same kernel, in the
same rotation, so every arm is compared with the same bare cell. Round trips (``execute_request``
to ``execute_reply`` through jupyter_client) are reported too, for scale; they are far noisier.
"""
from __future__ import annotations

import statistics

from ._util import CC_KW, CELLS, Config, Kernel, Row, bench_env, fmt_t, fmt_vs, fmt_x, median

SETUP = """
import time as _t, json as _j
import benchmarks._nonet as _nn; _nn.install()
# IPython writes each cell's input to its SQLite history from its own thread, holding a lock the
# next cell's store_inputs() waits on; in a tight loop of cells that contention (disk commits)
# swamps everything else. In a notebook it happens between cells; batch it here, for every arm.
get_ipython().history_manager.db_cache_size = 10**6
def _cc_setup():
    global _cc
    from codecarbon import OfflineEmissionsTracker
    _cc = OfflineEmissionsTracker(**__CC_KW__)
    _cc.start_task("warm-up"); _cc.stop_task()
def _cc_pre(info=None):
    _cc.start_task()
def _cc_post(result=None):
    _cc.stop_task()
def _breakdown(n):
    # median cost of each step of the per-cell path, timed in this kernel (diagnosis)
    from datetime import datetime, timezone
    import psutil
    from jupyter_carbon.events import CellEnded, CellStarted
    from jupyter_carbon.log.schema import CellInfo, make_row
    from jupyter_carbon.magics import magics_of
    from jupyter_carbon.measurement import Measurement
    ext = magics_of(get_ipython()).ext
    s = ext.session
    pc = _t.perf_counter
    def tm(f):
        xs = []
        for _ in range(n):
            t0 = pc(); f(); xs.append(pc() - t0)
        xs.sort(); return xs[len(xs) // 2]
    out = {}
    # (the hooks themselves would fold into this running cell: a nested run does nothing)
    out["a cell's whole path: session begin_cell + end_cell (CSV row included)"] = tm(
        lambda: (s.begin_cell(None, None, force=True), s.end_cell("ok")))
    out["meter.snapshot(edge=True) (x2 per cell)"] = tm(lambda: s.meter.snapshot(edge=True))
    for ch in s.meter.channels:
        out[f"  {ch.sensor.component} sensor read ({ch.sensor.method})"] = tm(lambda ch=ch: ch.sensor.read(0.0))
    if s.meter.attribution is not None:
        out["attribution mark() (kernel mode, x2 per cell)"] = tm(s.meter.attribution.mark)
    if s.meter.sync is not None:
        out["gpu_sync check (nothing initialised CUDA)"] = tm(s.meter.sync)
    out["  psutil.cpu_times(), for comparison (what the tdp-model read replaces)"] = tm(psutil.cpu_times)
    w = s.meter.begin(); end = s.meter.snapshot(edge=True); it = s.intensity_for(None)
    now = datetime.now(timezone.utc)
    out["Window -> Energy (no I/O)"] = tm(lambda: w._measure(end, now, None, None))
    e = w._measure(end, now, None, None)
    out["Energy -> Measurement (intensity, PUE, CO2e)"] = tm(lambda: Measurement.of(e, it, 1.0))
    out["intensity_for() (cached)"] = tm(lambda: s.intensity_for(None))
    m = Measurement.of(w.end(), it, 1.0)
    info = CellInfo("nb", s.session_id, 1, "", "", "ok", "p", s.run_id)
    host = ext.cell_log.host()
    out["make_row() (text for every column)"] = tm(lambda: make_row(m, info, host))
    row = make_row(m, info, host)
    out["CsvLog.append() (open, flock, fstat, pread, write, close)"] = tm(lambda: ext.cell_log.log.append(row))
    wd = ext.widget.widget if ext.widget is not None else None
    if wd is not None:
        out["widget _slow_state() (each time widget state is built)"] = tm(wd._slow_state)
    cell = s.begin_cell(None, None, force=True)
    out["CellStarted to its subscribers"] = tm(lambda: s.subscribers.emit(CellStarted(cell)))
    rec = s.end_cell("ok")
    others = [f for f in s.subscribers.handling(CellEnded) if f != ext.cell_log.handle]
    def ended(ev=CellEnded(rec, cell)):
        for f in others:
            f(ev)
    out["CellEnded to every subscriber but the cell CSV"] = tm(ended)
    return out
def _rendered():
    # What a browser's view of the widget does when it renders: it says hello. Without a
    # view (nbclient, a console) the extension also refreshes the widget's saved text/html
    # fallback at each cell end: the "headless" arm measures that case.
    from jupyter_carbon.magics import magics_of
    out = magics_of(get_ipython()).ext.widget
    for _ in range(500):
        if out is not None and out.widget is not None:
            break
        _t.sleep(0.01)
    out.widget._on_custom_msg(out.widget, {"type": "hello", "app": "benchmark"}, [])
def _rows():
    import csv, os
    p = os.environ["JPY_SESSION_NAME"].replace(".ipynb", ".carbon.csv")
    with open(p, newline="") as f:
        return sum(1 for _ in csv.DictReader(f))
"""
SETUP = SETUP.replace("__CC_KW__", repr(CC_KW))
LOAD = "get_ipython().run_line_magic('load_ext', 'jupyter_carbon')"
UNLOAD = "get_ipython().run_line_magic('unload_ext', 'jupyter_carbon')"
CC_ON = ("get_ipython().events.register('pre_run_cell', _cc_pre)\n"
         "get_ipython().events.register('post_run_cell', _cc_post)")
CC_OFF = ("get_ipython().events.unregister('pre_run_cell', _cc_pre)\n"
          "get_ipython().events.unregister('post_run_cell', _cc_post)")
# The kernel starts with the widget on (the default); these arms load with it off, and
# tracking_mode=machine (the whole machine charged, no attribution: the work the 148 µs budget of
# issue 13 was set on, before the kernel's share became the default) with it off too.
NOWIDGET_ON = "import os as _os; _os.environ['JUPYTER_CARBON_WIDGET'] = '0'\n" + LOAD
NOWIDGET_OFF = UNLOAD + "\n_os.environ['JUPYTER_CARBON_WIDGET'] = '1'"
MACHINE_ON = ("import os as _os; _os.environ.update(JUPYTER_CARBON_WIDGET='0', "
              "JUPYTER_CARBON_TRACKING_MODE='machine')\n" + LOAD)
MACHINE_OFF = UNLOAD + "\n_os.environ.pop('JUPYTER_CARBON_TRACKING_MODE', None); _os.environ['JUPYTER_CARBON_WIDGET'] = '1'"
# Issue 13's budget, "no worse than today's": 147.5 µs added to a trivial cell that took 88.1 µs
# alone, in the run of 2026-12-01 21:07. This machine's speed moves by up to 2x from one hour to
# the next (the bare cell has measured 88 to 185 µs here), so the budget is kept as that ratio to
# the bare cell measured side by side in the same run; the absolute figure is shown beside it.
PER_CELL_BUDGET = 147.5 / 88.1  # x the cell alone
ON = {"off": None, "ours": LOAD, "cc": CC_ON, "headless": LOAD, "nowidget": NOWIDGET_ON, "machine": MACHINE_ON}
OFF = {"off": None, "ours": UNLOAD, "cc": CC_OFF, "headless": UNLOAD, "nowidget": NOWIDGET_OFF,
       "machine": MACHINE_OFF}
ARMS = ["off", "ours", "cc", "headless", "nowidget", "machine"]
TRIP_ARMS = ["off", "ours", "cc"]


def _in_kernel(cfg: Config, rounds: int, block: int, trips: int = 0) -> dict:
    where = cfg.workdir / "percell"
    env = bench_env(where, JUPYTER_CARBON_WIDGET=1)
    out: dict = {"blocks": {a: [] for a in ARMS}, "trips": {a: [] for a in TRIP_ARMS}, "breakdown": {}}
    with Kernel(env, where) as k:
        k.execute(CELLS + SETUP)
        k.execute("_cc_setup()", timeout=300)
        k.cells(50)  # warm-up: history DB, first compile
        for r in range(rounds):
            for i in range(len(ARMS)):
                arm = ARMS[(i + r) % len(ARMS)]
                if ON[arm]:
                    k.execute(ON[arm])
                if arm == "ours":
                    k.execute("_rendered()")
                res = k.cells(block)
                if OFF[arm]:
                    k.execute(OFF[arm])
                out["blocks"][arm].append(res)
        k.execute(LOAD)
        k.execute("_rendered()")  # the breakdown's widget column: shown, as in the "ours" arm
        out["csv_rows"] = k.execute("", expressions={"n": "_j.dumps(_rows())"})["n"]
        out["breakdown"]["widget on"] = k.execute("_bd = _breakdown(300)", expressions={"b": "_j.dumps(_bd)"})["b"]
        k.execute(UNLOAD)
        k.execute(NOWIDGET_ON)
        out["breakdown"]["widget off"] = k.execute("_bd = _breakdown(300)", expressions={"b": "_j.dumps(_bd)"})["b"]
        k.execute(NOWIDGET_OFF)
        # round trips: what a front-end waits for, per cell (noisy; for scale)
        per = max(1, trips // 10) if trips else 0
        for r in range(10 if trips else 0):
            for i in range(len(TRIP_ARMS)):
                arm = TRIP_ARMS[(i + r) % len(TRIP_ARMS)]
                if ON[arm]:
                    k.execute(ON[arm])
                out["trips"][arm] += [k.roundtrip("x = 1") for _ in range(per)]
                if OFF[arm]:
                    k.execute(OFF[arm])
        out["net"] = k.execute("", expressions={"n": "_j.dumps(_nn.attempts)"})["n"]
    return out


def _added(blocks: dict, arm: str) -> tuple[float, float, float]:
    """(median added per cell, mean added per cell, median cell time of the arm)."""
    diffs = [median(b) - median(o) for b, o in zip(blocks[arm], blocks["off"])]
    means = [statistics.fmean(b) - statistics.fmean(o) for b, o in zip(blocks[arm], blocks["off"])]
    flat = [x for b in blocks[arm] for x in b]
    return median(diffs), median(means), median(flat)


def run(cfg: Config) -> list[Row]:
    rounds, block = cfg.pick((20, 50), (4, 40))  # many short alternating blocks: the VM drifts
    trips = cfg.pick(200, 30)
    n = rounds * block
    cfg.log(f"per-cell: {n} cells per arm, six arms in one kernel (widget on and off, machine mode, "
            "CodeCarbon tasks)")
    a = _in_kernel(cfg, rounds, block, trips)
    cfg.note_network("percell", a["net"])

    off = median([x for blk in a["blocks"]["off"] for x in blk])
    ours, ours_mean, ours_cell = _added(a["blocks"], "ours")
    cc, cc_mean, cc_cell = _added(a["blocks"], "cc")
    nw, nw_mean, _ = _added(a["blocks"], "nowidget")
    mm, mm_mean, _ = _added(a["blocks"], "machine")
    hl, hl_mean, _ = _added(a["blocks"], "headless")
    cfg.facts["percell_breakdown"] = a["breakdown"]
    sec = "2. Per-cell overhead"

    def budget(added: float, cell: float) -> dict:
        return {"target": f"<= {PER_CELL_BUDGET:.2f}x the cell alone ({fmt_t(PER_CELL_BUDGET * cell)} in this run)",
                "met": added <= PER_CELL_BUDGET * cell}

    def value(added: float, cell: float) -> str:
        return f"{fmt_t(added)} = {added / cell:.2f}x the cell"

    rows = [
        Row(sec, f"added per trivial cell, in-kernel `run_cell` x {n} per arm (widget on and shown "
                 "in a front-end, CSV row written and flushed)", value(ours, off), base=f"cell alone: {fmt_t(off)}",
            peer=f"{fmt_t(cc)} (start_task/stop_task per cell)",
            ratio=fmt_vs(cc / ours) if ours > 0 else "n/a", **budget(ours, off),
            note=f"means: ours {fmt_t(ours_mean)}, CodeCarbon {fmt_t(cc_mean)}; "
                 f"{a.get('csv_rows', 0)} CSV rows written; the budget: 148 µs added to an 88 µs cell "
                 "when it was set (2026-12-01), kept as a ratio since this machine's speed moves"),
        Row(sec, "same, widget on but shown by no front-end (nbclient, a console): its saved "
                 "text/html fallback refreshed at each cell end", fmt_t(hl), note=f"mean {fmt_t(hl_mean)}"),
        Row(sec, "same, widget off", value(nw, off), **budget(nw, off), note=f"mean {fmt_t(nw_mean)}"),
        Row(sec, "same, widget off, `tracking_mode=machine` (no attribution: the work the 148 µs "
                 "budget was first set on)", value(mm, off), **budget(mm, off),
            note=f"mean {fmt_t(mm_mean)}; the default kernel mode adds the attribution's edge marks "
                 "and shares (section 8)"),
    ]
    if trips:
        t = {k: median(v) for k, v in a["trips"].items()}
        rows.append(Row(sec, f"round trip execute_request -> execute_reply via jupyter_client "
                             f"({len(a['trips']['off'])} per arm)", fmt_t(t["ours"]), base=fmt_t(t["off"]),
                        peer=fmt_t(t["cc"]), ratio=f"ours {fmt_x(t['ours'] / t['off'])} of no tracking",
                        note="front-end view; dominated by ZeroMQ and the other load on the machine"))
    return rows

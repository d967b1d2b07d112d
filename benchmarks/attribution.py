"""Cost of the attribution rules (issue 15): trivial cells in a real ipykernel, side by side.

One kernel (with ``torch`` imported but CUDA not initialised, as in a CPU notebook that
uses PyTorch) times trivial top-level cells (``_util.CELLS``): the hooks, edge snapshots, the
attribution marks, the between-cells window, the embodied share, the CSV row written and
flushed, every subscriber; in alternating blocks, order rotated each round (the CSV's row
count is checked).

* off     - extension not loaded,
* kernel  - ``tracking_mode=kernel`` (the default): a mark of the process tree's CPU time and
            the machine's busy time at each edge, the between-cells window, embodied share,
            ``gpu_sync`` on,
* machine - ``tracking_mode=machine``, ``gpu_sync`` on,
* nosync  - ``tracking_mode=kernel`` with ``gpu_sync`` off.

Cost per cell = median over rounds of (median cell time of the block - median of the
"off" block of the same round). ``gpu_sync`` idle cost = kernel - nosync, and the direct
median of the check itself. The sampler's extra chore (finding the tree's processes, its
memory and GPU shares, at the period the attribution asks) is timed directly and given as a
share of one core.
"""
from __future__ import annotations

from ._util import CELLS, Config, Kernel, Row, bench_env, fmt_t, fmt_x, median

SETUP = """
import time as _t, json as _j
import benchmarks._nonet as _nn; _nn.install()
import torch  # imported, CUDA never initialised
get_ipython().history_manager.db_cache_size = 10**6
def _rows():
    import csv, os
    p = os.environ["JPY_SESSION_NAME"].replace(".ipynb", ".carbon.csv")
    with open(p, newline="") as f:
        return sum(1 for _ in csv.DictReader(f))
def _direct(n=2000):
    from jupyter_carbon.magics import magics_of
    s = magics_of(get_ipython()).ext.session
    pc = _t.perf_counter
    def tm(f, k=n):
        xs = []
        for _ in range(k):
            t0 = pc(); f(); xs.append(pc() - t0)
        xs.sort(); return xs[len(xs) // 2]
    from jupyter_carbon.gpusync import sync_devices
    a = s.meter.attribution
    return {"sync": tm(sync_devices), "mark": tm(a.mark) if a else None,
            "refresh": tm(a.refresh, 200) if a else None,
            "refresh_every": a.refresh_every if a else None}
"""
LOAD = "get_ipython().run_line_magic('load_ext', 'jupyter_carbon')"
UNLOAD = "get_ipython().run_line_magic('unload_ext', 'jupyter_carbon')"


def _mode(mode: str, sync: bool) -> str:
    return (f"{LOAD}\nget_ipython().run_line_magic('carbon', 'config --tracking_mode {mode}')\n"
            f"get_ipython().run_line_magic('carbon', 'config --gpu_sync {'on' if sync else 'off'}')")


ON = {"off": UNLOAD, "kernel": _mode("kernel", True), "machine": _mode("machine", True),
      "nosync": _mode("kernel", False)}


# Issue 15's budget: the default rules must add under 300 µs to a trivial cell. It was set when
# such a cell took 88.1 µs here (``percell``'s reference run of 2026-12-01 21:07; this
# section's first figures, added to it on 2026-12-02, were 192 µs kernel, 161 µs machine).
# This machine's speed has since moved by up to 4x between runs (the same cell has
# taken 88 to 376 µs), so like ``percell`` the budget is kept as that ratio to the cell alone
# measured in the same rounds; the absolute figure is shown beside it.
KERNEL_MODE_BUDGET = 300 / 88.1  # x the cell alone


def run(cfg: Config) -> list[Row]:
    rounds, block = cfg.pick((10, 100), (4, 40))
    arms = ["off", "kernel", "machine", "nosync"]
    env = bench_env(cfg.workdir / "attribution", JUPYTER_CARBON_WIDGET=0)
    blocks: dict[str, list] = {a: [] for a in arms}
    cfg.log(f"attribution: {rounds * block} cells per arm (kernel / machine / no gpu_sync / off)")
    with Kernel(env, cfg.workdir / "attribution") as k:
        k.execute(CELLS + SETUP, timeout=300)
        k.cells(50)
        for r in range(rounds):
            for i in range(len(arms)):
                arm = arms[(i + r) % len(arms)]
                k.execute(ON[arm], store_history=True)
                k.execute("pass", store_history=True)  # a sensor setting applies when a cell ends
                blocks[arm].append(k.cells(block))
        k.execute(ON["kernel"], store_history=True)
        k.execute("pass", store_history=True)
        n_rows = k.execute("", expressions={"n": "_j.dumps(_rows())"})["n"]
        direct = k.execute("_d = _direct()", expressions={"d": "_j.dumps(_d)"})["d"]
        cfg.note_network("attribution", k.execute("", expressions={"n": "_j.dumps(_nn.attempts)"})["n"])

    def added(arm: str) -> float:
        return median([median(b) - median(o) for b, o in zip(blocks[arm], blocks["off"])])

    kern, mach, nosync = added("kernel"), added("machine"), added("nosync")
    alone = median([median(o) for o in blocks["off"]])
    budget = KERNEL_MODE_BUDGET * alone
    sync_cost = max(kern - nosync, 0.0)
    sec = "8. Attribution rules (issue 15)"
    refresh = direct.get("refresh") or 0.0
    every = direct.get("refresh_every") or 1.0
    return [
        Row(sec, "added per trivial cell, tracking_mode=kernel (default, gpu_sync on)",
            f"{fmt_t(kern)} = {kern / alone:.2f}x the cell",
            base=f"cell alone: {fmt_t(alone)}; machine mode adds {fmt_t(mach)}",
            ratio=f"kernel {fmt_x(kern / mach) if mach > 0 else 'n/a'} of machine",
            target=f"<= {KERNEL_MODE_BUDGET:.2f}x the cell alone ({fmt_t(budget)} in this run)", met=kern <= budget,
            note=f"whole per-cell path with the CSV row; edge marks, between-cells window, embodied share; "
                 f"{n_rows} CSV rows written; the budget: 300 µs added to an 88 µs cell when it was set "
                 f"(2026-12-02), kept as a ratio since this machine's speed moves"),
        Row(sec, "gpu_sync idle cost per cell (torch imported, CUDA not initialised)", fmt_t(sync_cost),
            base=f"kernel mode without gpu_sync: {fmt_t(nosync)}",
            ratio=f"direct check: {fmt_t(direct['sync'])}", target="< 100 µs", met=direct["sync"] < 100e-6,
            note="the side-by-side difference is within noise; the direct median is the check's own cost"),
        Row(sec, "attribution mark at one window edge (direct median)", fmt_t(direct.get("mark") or 0.0),
            note="two per cell; the end mark of a cell starts the between-cells window"),
        Row(sec, f"sampler chore: process tree, memory and GPU shares (every {every:g} s: 1 s where NVML "
                 "attributes GPUs, 5 s otherwise)", fmt_t(refresh),
            ratio=f"{refresh / every * 100:.4f}% of one core", target="<= 0.1% of a core with the rest",
            met=refresh / every <= 1e-3 * 0.5, note="timed in a hot loop; on the sampler thread, after "
                                                     "seconds of sleep, it costs about twice that"),
    ]

"""Start-up: ``%load_ext jupyter_carbon`` in a fresh kernel, ``import jupyter_carbon`` and the
first ``jc.track()`` window in a fresh interpreter, vs CodeCarbon's first start
(import + ``OfflineEmissionsTracker(...)`` + ``start()``) in the same kinds of fresh process.

Every repetition is a new process (a new kernel for the kernel rows), arms alternate within a
repetition (A B C, B C A, ...), and the medians are compared.
"""
from __future__ import annotations

from ._util import (CC_KW, Config, Kernel, Row, bench_env, fmt_t, fmt_x, median, pair_ratios,
                    run_code)

GUARD = "import benchmarks._nonet as _nn; _nn.install()\n"
EXPR = {"r": "__import__('json').dumps({'dt': _dt, 'net': _nn.attempts})"}

KERNEL_CODE = {
    "ours": "import time as _t\n_t0 = _t.perf_counter()\n"
            "get_ipython().run_line_magic('load_ext', 'jupyter_carbon')\n"
            "_dt = _t.perf_counter() - _t0\n",
    "cc": "import time as _t\n_t0 = _t.perf_counter()\n"
          "from codecarbon import OfflineEmissionsTracker\n"
          f"_tr = OfflineEmissionsTracker(**{CC_KW!r})\n"
          "_tr.start()\n"
          "_dt = _t.perf_counter() - _t0\n"
          "_tr.stop()\n",
}

INTERP_CODE = {
    "ipython": "import IPython",
    "import": "import jupyter_carbon",
    "first": "import jupyter_carbon as jc\nwith jc.track('first'):\n    pass",
    "cc": "from codecarbon import OfflineEmissionsTracker\n"
          f"tr = OfflineEmissionsTracker(**{CC_KW!r})\ntr.start()",
}


# Issue 13's load budget: no worse than the 36.8 ms `%load_ext` took beside IPython's 55.8 ms import
# in the run of 2026-12-01 21:07 (the run its per-cell budget comes from too). This machine's
# speed moves by up to 2x from one hour to the next (IPython's import has taken 46 to 160 ms
# here), so the budget is kept as that ratio to IPython's import measured in the same
# repetitions; the absolute figure is shown beside it.
LOAD_BUDGET = 36.8 / 55.8  # x IPython's import


def _interp(arm: str, cfg: Config) -> float:
    body = "\n".join("    " + line for line in INTERP_CODE[arm].splitlines())
    code = (GUARD + "import time, json\n"
            "def _f():\n" + body + "\n    return locals()\n"
            "t0 = time.perf_counter(); _keep = _f(); dt = time.perf_counter() - t0\n"
            "print('\\n@@BENCH-RESULT@@ ' + json.dumps({'dt': dt, 'net': _nn.attempts}), flush=True)\n"
            "import os; os._exit(0)\n")  # skip interpreter teardown (CodeCarbon's atexit output)
    res = run_code(code, env=bench_env(cfg.workdir / "interp"), cwd=cfg.workdir)
    cfg.note_network(f"startup:{arm}", res["net"])
    return res["dt"]


def _kernel(arm: str, cfg: Config, widget: bool = True) -> float:
    env = bench_env(cfg.workdir / "kernel", JUPYTER_CARBON_WIDGET="1" if widget else "0")
    with Kernel(env, cfg.workdir / "kernel") as k:
        k.execute(GUARD)
        res = k.execute(KERNEL_CODE[arm], expressions=EXPR, timeout=300)["r"]
    cfg.note_network(f"startup-kernel:{arm}", res["net"])
    return res["dt"]


def run(cfg: Config) -> list[Row]:
    # One fresh kernel's load moves by up to 20 % here and one IPython import by up to 50 %
    # (90 to 165 ms in nine rounds): fifteen rounds keep the median ratio within a few percent.
    reps = cfg.pick(15, 2)
    kernel_arms = [("ours", True), ("ours", False), ("cc", True)]
    interp_arms = ["ipython", "import", "first", "cc"]
    k: dict[tuple, list[float]] = {a: [] for a in kernel_arms}
    p: dict[str, list[float]] = {a: [] for a in interp_arms}
    for rep in range(reps):
        cfg.log(f"startup: repetition {rep + 1}/{reps}")
        for i in range(len(kernel_arms)):
            arm = kernel_arms[(i + rep) % len(kernel_arms)]
            k[arm].append(_kernel(arm[0], cfg, widget=arm[1]))
        for i in range(len(interp_arms)):
            arm = interp_arms[(i + rep) % len(interp_arms)]
            p[arm].append(_interp(arm, cfg))

    load, load_nw, cc_k = median(k[("ours", True)]), median(k[("ours", False)]), median(k[("cc", True)])
    ratio_k = median(pair_ratios(k[("cc", True)], k[("ours", True)]))
    ratio_k_nw = median(pair_ratios(k[("cc", True)], k[("ours", False)]))
    first, cc_p = median(p["first"]), median(p["cc"])
    ratio_p = median(pair_ratios(p["cc"], p["first"]))
    ipy, imp = median(p["ipython"]), median(p["import"])
    # per repetition, the load beside IPython's import taken in the same round
    vs_ipy = median(pair_ratios(k[("ours", True)], p["ipython"]))
    vs_ipy_nw = median(pair_ratios(k[("ours", False)], p["ipython"]))
    target = f"<= {LOAD_BUDGET:.2f}x IPython's import ({fmt_t(LOAD_BUDGET * ipy)} in this run)"
    sec = "1. Start-up"
    n = f"median of {reps} fresh processes each"
    return [
        Row(sec, "`%load_ext jupyter_carbon` in a fresh kernel (widget on, the default)",
            f"{fmt_t(load)} = {vs_ipy:.2f}x IPython's import", base=f"IPython import: {fmt_t(ipy)}",
            target=target, met=vs_ipy <= LOAD_BUDGET,
            note=f"time.perf_counter around run_line_magic in the kernel; {n}; the ratio is the median "
                 "of each repetition's load over its IPython import"),
        Row(sec, "same, widget off (`JUPYTER_CARBON_WIDGET=0`)", f"{fmt_t(load_nw)} = {vs_ipy_nw:.2f}x IPython's import",
            base=f"IPython import: {fmt_t(ipy)}", target=target, met=vs_ipy_nw <= LOAD_BUDGET),
        Row(sec, "first start in a fresh kernel: `%load_ext` vs CodeCarbon import + tracker + `start()`",
            fmt_t(load), peer=fmt_t(cc_k), ratio=f"{fmt_x(ratio_k)} faster",
            target=">= 20x faster", met=ratio_k >= 20,
            note=f"widget off: {fmt_x(ratio_k_nw)} faster"),
        Row(sec, "`import jupyter_carbon` in a fresh interpreter", fmt_t(imp),
            base=f"`import IPython`: {fmt_t(ipy)}", ratio=f"{fmt_x(imp / ipy)} of IPython's",
            note="lazy package: no thread, no NVML, no network at import"),
        Row(sec, "first start in a fresh interpreter: import + first `jc.track()` window vs "
                 "CodeCarbon import + tracker + `start()`", fmt_t(first), peer=fmt_t(cc_p),
            ratio=f"{fmt_x(ratio_p)} faster", target=">= 20x faster", met=ratio_p >= 20),
    ]

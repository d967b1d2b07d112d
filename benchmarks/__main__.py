"""``python -m benchmarks [--quick] [--out PATH] [--only NAME,...]``

Runs every benchmark (each in its own fresh interpreters and kernels, one after the other so
they do not disturb each other), prints one table and writes it as markdown (default
``docs/benchmarks.md``; with ``--quick`` a file in the temp directory, so a smoke run never
replaces the published full run). Exit status 0 when every benchmark ran, whether or not its target was
met (targets depend on the machine); 1 when a benchmark failed to run.
"""
from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from ._util import REPO, Config, Kernel, Row, bench_env, run_code
from .report import console, markdown, summary

BENCHMARKS = ["startup", "percell", "slowdown", "sampler_cost", "memory", "exactness", "cluster", "attribution"]

WARM = """
import IPython, psutil, jupyter_carbon, jupyter_carbon.extension, jupyter_carbon.session
import jupyter_carbon.magics, jupyter_carbon.tracking, jupyter_carbon.widget.live
import jupyter_carbon.sensors.discover, jupyter_carbon.sensors.replay, jupyter_carbon.log.csvlog
import codecarbon, codecarbon.emissions_tracker, codecarbon.core.resource_tracker
import benchmarks._trackers, benchmarks._nonet
from IPython.core.interactiveshell import InteractiveShell
print('\\n@@BENCH-RESULT@@ {}')
"""


def warm_up(cfg: Config) -> None:
    """Fill the bytecode cache and the OS file cache once, so the first measured repetition
    is not the one that compiles or reads everything from disk."""
    cfg.log("warm-up: bytecode caches, one kernel with the extension and CodeCarbon")
    env = bench_env(cfg.workdir / "warm")
    run_code(WARM, env=env, cwd=cfg.workdir)
    with Kernel(env, cfg.workdir / "warm") as k:
        k.execute("get_ipython().run_line_magic('load_ext', 'jupyter_carbon')\n"
                  "from benchmarks import _trackers\n_t = _trackers.codecarbon(15.0)\n_t.start(); _t.stop()",
                  timeout=300)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer repetitions (about 3 minutes)")
    ap.add_argument("--out", default=None, help="markdown output path (default: docs/benchmarks.md; "
                                                 "with --quick: jupyter-carbon-benchmarks-quick.md in the temp dir)")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or BENCHMARKS
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    cfg = Config(quick=args.quick, verbose=not args.quiet)
    try:
        return _run(args, names, cfg)
    finally:
        shutil.rmtree(cfg.workdir, ignore_errors=True)  # kernels' CSVs, the simulated day's logs


def _run(args, names: list[str], cfg: Config) -> int:
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    warm_up(cfg)
    rows: list[Row] = []
    methods: list[tuple[str, str]] = []
    failed = []
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        methods.append((name, mod.__doc__ or ""))
        t = time.perf_counter()
        try:
            rows += mod.run(cfg)
        except Exception as exc:  # report it in the table and carry on with the others
            failed.append(name)
            traceback.print_exc()
            rows.append(Row(name, f"{name} failed to run", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                            met=False))
        cfg.log(f"{name}: {time.perf_counter() - t:.0f} s")
    elapsed = time.perf_counter() - t0
    if load0 is not None:
        cfg.facts["loadavg"] = (load0, os.getloadavg()[0])

    print()
    print(console(rows))
    print()
    print(summary(rows) + f"; {elapsed:.0f} s in all")
    net = sum(len(v) for v in cfg.facts.get("network", {}).values())
    print(f"network attempts refused: {net}")
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if args.only else "")
    md = markdown(rows, cfg.facts, quick=args.quick, elapsed_s=elapsed, methods=methods, command=command)
    out = Path(args.out) if args.out else (
        Path(tempfile.gettempdir()) / "jupyter-carbon-benchmarks-quick.md" if args.quick
        else REPO / "docs" / "benchmarks.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md, encoding="utf-8")
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""How much Python the extension runs per cell, counted, not timed.

    python tools/cell_bytecodes.py [--mode kernel|machine|process] [--cells 100] [--top 25]

Wall-clock per-cell figures on a shared 2-vCPU VM move by ±20 % from one run to the next, more
than most changes to the per-cell path. This counts the bytecodes the two cell hooks run
(``sys.settrace`` with opcode events), which does not move with the machine: compare it before
and after a change, then confirm with ``python -m benchmarks --only percell``. It runs the
hooks on their own, in a real IPython shell with the extension loaded (widget off, the CSV on
disk), and prints the count per cell and the functions that run the most (self and inclusive).
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile


def count(mode: str, cells: int) -> tuple[float, collections.Counter, collections.Counter]:
    """(bytecodes per cell, self counts, inclusive counts), per ``(file, function)``."""
    os.chdir(tempfile.mkdtemp(prefix="jc-bytecodes-"))
    os.environ.update(JUPYTER_CARBON_WIDGET="0", JUPYTER_CARBON_TRACKING_MODE=mode,
                      JUPYTER_CARBON_INTERVAL="60")  # no sampler tick inside the count
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "jupyter_carbon")
    from jupyter_carbon.magics import magics_of

    hooks = magics_of(shell).ext.hooks

    def one_cell() -> None:
        hooks.pre_run_cell(None)
        hooks.post_run_cell(None)

    for _ in range(20):  # first rows, caches, the CSV's header
        one_cell()
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            own[_key(frame)] += 1
            seen = set()
            while frame is not None:
                k = _key(frame)
                if k not in seen:
                    seen.add(k)
                    inclusive[k] += 1
                frame = frame.f_back
        return tracer

    sys.settrace(tracer)
    try:
        for _ in range(cells):
            one_cell()
    finally:
        sys.settrace(None)
    total = inclusive[("cell_bytecodes.py", "one_cell")]
    shell.run_line_magic("unload_ext", "jupyter_carbon")
    return total / cells, own, inclusive


def _key(frame) -> tuple[str, str]:
    return os.path.basename(frame.f_code.co_filename), frame.f_code.co_name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", default="kernel", choices=("kernel", "machine", "process"))
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    per_cell, own, inclusive = count(args.mode, args.cells)
    print(f"tracking_mode={args.mode}: {per_cell:,.0f} bytecodes per cell (the two hooks, {args.cells} cells)")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n{title}, per cell:")
        for (file, name), n in counter.most_common(args.top):
            if file != "cell_bytecodes.py":
                print(f"  {n / args.cells:8,.0f}  {file}:{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

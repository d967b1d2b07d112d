"""One command on a GPU machine: does the CSV's per-cell GPU energy match NVML's own counter?

    python tools/gpu_check.py [--size full|small] [--cells 300] [--out docs/gpu-check.md]

1. Runs examples/gpt_training.ipynb (``JC_EXAMPLE_SIZE``, default full) on CUDA in a real
   kernel with the extension loaded (``tracking_mode=kernel``, ``gpu_sync`` on). Beside it, a
   reference registered *before* the extension reads NVML's total-energy counter of every
   visible GPU itself around each cell, after ``torch.cuda.synchronize()``.
2. Compares each cell's ``machine_gpu_energy`` (the whole GPU) and ``gpu_energy`` (this
   kernel's share) in the CSV with the reference; cells of at least ``--min-joules`` must agree
   within 1 %.
3. Times the session's per-cell path (``begin_cell`` + ``end_cell``, the CSV row included) around a
   trivial body with ``gpu_sync`` on and off, in alternating blocks, CUDA initialised. Those
   extra rows have no execution count and are not compared.
4. Prints a markdown table (and writes it to ``--out``), with the GPU's name. Exit status 1
   if a compared cell disagrees by more than 1 %.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOLERANCE = 0.01

REFERENCE = r'''
import json as _json, torch as _torch, pynvml as _nv
_nv.nvmlInit()
_vis = [int(x) for x in __import__("os").environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if x.strip().isdigit()]
_h = [_nv.nvmlDeviceGetHandleByIndex(i) for i in (_vis or range(_nv.nvmlDeviceGetCount()))]
_ref, _open = {}, {}
def _read():
    if _torch.cuda.is_initialized():
        _torch.cuda.synchronize()
    return [_nv.nvmlDeviceGetTotalEnergyConsumption(h) for h in _h]
def _ref_pre(info=None):
    _open["e"] = _read()
def _ref_post(result=None):
    e = _read()
    _ref[str(result.execution_count)] = sum(b - a for a, b in zip(_open.get("e", e), e)) / 1000.0
get_ipython().events.register("pre_run_cell", _ref_pre)
get_ipython().events.register("post_run_cell", _ref_post)
_gpu_name = _nv.nvmlDeviceGetName(_h[0]); _gpu_name = _gpu_name.decode() if isinstance(_gpu_name, bytes) else _gpu_name
'''

OVERHEAD = r'''
import time as _t
from jupyter_carbon.magics import magics_of as _mo
_s = _mo(get_ipython()).ext.session
def _cells(n):
    # the session's whole per-cell path (a nested run_cell would be folded into this cell)
    out = []
    for _ in range(n):
        t0 = _t.perf_counter(); _s.begin_cell(None, None); _x = 1; _s.end_cell("ok"); out.append(_t.perf_counter() - t0)
    out.sort(); return out[len(out) // 2]
_torch.ones(1, device="cuda").sum().item()  # CUDA initialised: gpu_sync really synchronises
_over = {"on": [], "off": []}
for _r in range(6):
    for _arm in (("on", "off") if _r % 2 == 0 else ("off", "on")):
        get_ipython().run_line_magic("carbon", f"config --gpu_sync {_arm}")
        _over[_arm].append(_cells(__N__ // 6))
'''


def compare(reference: dict[str, float], rows: list[dict[str, str]], min_joules: float) -> list[dict]:
    """Per cell: the reference joules, the CSV's machine and kernel GPU joules, relative error."""
    out = []
    for r in rows:
        n = r.get("execution_count", "")
        if n not in reference or not r.get("machine_gpu_energy"):
            continue
        ref = reference[n]
        machine = float(r["machine_gpu_energy"]) * 3.6e6
        kernel = float(r["gpu_energy"] or 0) * 3.6e6
        err = (machine - ref) / ref if ref > 0 else float("nan")
        out.append({"cell": n, "label": r.get("label", ""), "duration_s": float(r["duration"]), "ref_j": ref,
                    "machine_j": machine, "kernel_j": kernel, "err": err, "synced": r.get("gpu_synced", ""),
                    "compared": ref >= min_joules, "ok": ref < min_joules or abs(err) <= TOLERANCE})
    return out


def markdown(gpu: str, cells: list[dict], overhead: dict[str, list[float]] | None, size: str) -> str:
    lines = [f"## GPU check on {gpu} (GPT example, size {size})", "",
             "| cell | label | duration | NVML reference | CSV machine_gpu_energy | error | CSV gpu_energy (kernel) "
             "| gpu_synced | compared |", "|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        lines.append(f"| {c['cell']} | {c['label']} | {c['duration_s']:.2f} s | {c['ref_j']:.2f} J | "
                     f"{c['machine_j']:.2f} J | {c['err'] * 100:+.3f}% | {c['kernel_j']:.2f} J | {c['synced']} | "
                     f"{'yes' if c['compared'] else 'no (too small)'}{'' if c['ok'] else ' **FAIL**'} |")
    compared = [c for c in cells if c["compared"]]
    worst = max((abs(c["err"]) for c in compared), default=float("nan"))
    lines += ["", f"{len(compared)} cells compared; worst error {worst * 100:.3f}% (limit {TOLERANCE * 100:.0f}%)."]
    if overhead:
        on, off = statistics.median(overhead["on"]), statistics.median(overhead["off"])
        lines += ["", "| trivial cell, CUDA initialised | median |", "|---|---|",
                  f"| gpu_sync on | {on * 1e6:.1f} µs |", f"| gpu_sync off | {off * 1e6:.1f} µs |",
                  f"| cost of gpu_sync | {(on - off) * 1e6:+.1f} µs |"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="full", choices=["full", "small"])
    ap.add_argument("--cells", type=int, default=300, help="trivial cells per gpu_sync arm")
    ap.add_argument("--min-joules", type=float, default=50.0, help="smaller cells are listed, not compared")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import nbformat
    from nbclient import NotebookClient

    work = Path(tempfile.mkdtemp(prefix="jc-gpu-check-"))
    nb = nbformat.read(REPO / "examples" / "gpt_training.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(REFERENCE))
    nb.cells.append(nbformat.v4.new_code_cell(OVERHEAD.replace("__N__", str(args.cells))))
    nb.cells.append(nbformat.v4.new_code_cell("print(_json.dumps({'ref': _ref, 'over': _over, 'gpu': _gpu_name}))"))
    path = work / "gpu_check.ipynb"
    nbformat.write(nb, path)
    env = {"JC_EXAMPLE_SIZE": args.size, "JUPYTER_CARBON_WIDGET": "0", "JUPYTER_CARBON_GPU_SYNC": "1",
           "JUPYTER_CARBON_TRACKING_MODE": "kernel", "JPY_SESSION_NAME": str(path)}
    os.environ.update(env)
    NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    out = json.loads(next(o["text"] for o in nb.cells[-1].outputs if o.get("name") == "stdout"))
    with open(work / "gpu_check.carbon.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    cells = compare(out["ref"], rows, args.min_joules)
    md = markdown(out["gpu"], cells, out["over"], args.size)
    print(md)
    if args.out:
        Path(args.out).write_text(md, encoding="utf-8")
    if not any(c["compared"] for c in cells):
        print("no cell was large enough to compare", file=sys.stderr)
        return 1
    return 0 if all(c["ok"] for c in cells) else 1


if __name__ == "__main__":
    sys.exit(main())

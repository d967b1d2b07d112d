"""Shared plumbing: rows of the table, statistics, fresh interpreters and fresh kernels."""
from __future__ import annotations

import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MARK = "@@BENCH-RESULT@@ "
# Bytecode caches for every benchmark process, as after any ``pip install`` (which compiles
# .pyc files): with PYTHONDONTWRITEBYTECODE set and no cache, every import would compile from
# source and start-up numbers would measure the compiler. A separate tree keeps the repo clean.
PYCACHE_PREFIX = Path(tempfile.gettempdir()) / "jupyter-carbon-bench-pycache"

# CodeCarbon, as the brief requires: offline, no file output, quiet.
CC_KW = dict(country_iso_code="FRA", save_to_file=False, log_level="error")


@dataclass
class Row:
    """One line of the table. ``ours``/``base``/``peer`` are already formatted with units."""

    section: str
    name: str
    ours: str
    base: str = ""  # no tracking / reference
    peer: str = ""  # CodeCarbon
    ratio: str = ""
    target: str = ""
    met: bool | None = None  # None: informational, no target
    note: str = ""


@dataclass
class Config:
    quick: bool = False
    verbose: bool = True
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jc-bench-")))
    facts: dict = field(default_factory=dict)  # extra facts for the report (network attempts, ...)

    def pick(self, full, quick):
        return quick if self.quick else full

    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def note_network(self, where: str, attempts: Sequence[str]) -> None:
        self.facts.setdefault("network", {}).setdefault(where, []).extend(attempts)


# --- statistics and formatting -----------------------------------------------------------------
def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def pair_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Per-round ratios a[i] / b[i] of runs taken side by side."""
    return [x / y for x, y in zip(a, b) if y > 0]


def fmt_t(seconds: float) -> str:
    s = abs(seconds)
    if s >= 1:
        return f"{seconds:.2f} s"
    if s >= 1e-3:
        return f"{seconds * 1e3:.1f} ms" if s >= 0.01 else f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_x(r: float) -> str:
    if r != r:
        return "n/a"
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.3f}x" if r < 2 else f"{r:.2f}x"


def fmt_vs(r: float, better: str = "cheaper", worse: str = "costlier") -> str:
    """``r`` = theirs / ours: "12.3x cheaper" when ours wins, "2.10x costlier" when it loses."""
    if r != r or r <= 0:
        return "n/a"
    return f"{fmt_x(r)} {better}" if r >= 1 else f"{fmt_x(1 / r)} {worse}"


def fmt_mb(b: float) -> str:
    return f"{b / 2**20:+.1f} MB" if abs(b) >= 0.1 * 2**20 else f"{b / 2**10:+.0f} kB"


def fmt_pct(x: float) -> str:
    if x != x:
        return "n/a"
    a = abs(x)
    if a < 1e-6:
        return "0.0000%"
    if a < 0.01:
        return f"{x * 100:+.4f}%"
    return f"{x * 100:+.2f}%"


# --- environments ------------------------------------------------------------------------------
def bench_env(workdir: Path, **extra: str) -> dict[str, str]:
    """Environment for workers and kernels: no stray JUPYTER_CARBON_* settings, the repo on
    sys.path, a notebook path so the CSV lands in ``workdir``, a fixed country (offline)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_CARBON_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    workdir.mkdir(parents=True, exist_ok=True)
    nb = workdir / "bench.ipynb"
    if not nb.exists():
        nb.write_text("{}")
    env["JPY_SESSION_NAME"] = str(nb)
    env["JUPYTER_CARBON_COUNTRY"] = "FR"
    env.pop("PYTHONSTARTUP", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_PREFIX)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _parse(out: str, err: str, what: str) -> dict:
    for line in reversed(out.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"{what} produced no result.\n--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}")


def run_worker(module: str, func: str, args: dict | None = None, *, env: dict, cwd: Path,
               timeout: float = 900) -> dict:
    """Run ``benchmarks.<module>.<func>(**args)`` in a fresh interpreter and return its result."""
    cmd = [sys.executable, "-m", "benchmarks._worker", module, func, json.dumps(args or {})]
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"worker {module}.{func} failed (rc {p.returncode}):\n{p.stderr[-4000:]}")
    return _parse(p.stdout, p.stderr, f"worker {module}.{func}")


def run_code(code: str, *, env: dict, cwd: Path, flags: Sequence[str] = (), timeout: float = 300) -> dict:
    """Run ``python [flags] -c code``; the code prints ``MARK + json`` as its last word."""
    p = subprocess.run([sys.executable, *flags, "-c", code], env=env, cwd=cwd, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"python -c failed (rc {p.returncode}):\n{p.stderr[-4000:]}")
    res = _parse(p.stdout, p.stderr, "python -c")
    res["_stderr"] = p.stderr
    return res


# --- a real Jupyter kernel ------------------------------------------------------------------------
# Timed blocks of trivial cells. A cell run inside another cell is folded into it (one row per
# top-level cell), so a block runs after the cell that asks for it, from the kernel's event loop
# on the main thread: each ``run_cell`` there is a top-level cell, as a notebook's cells are.
CELLS = """
import asyncio as _aio, json as _jcells, time as _tcells
def _cells(n, code="x = 1"):
    sh = get_ipython(); pc = _tcells.perf_counter; rc = sh.run_cell; out = []
    for _ in range(n):
        t0 = pc(); rc(code, store_history=True); out.append(pc() - t0)
    return out
def _cells_later(n, code="x = 1"):
    global _cells_out
    _cells_out = None
    def go():
        global _cells_out
        _cells_out = _cells(n, code)
    _aio.get_event_loop().call_soon(go)
"""


class Kernel:
    """A fresh ipykernel (the venv's python) driven through jupyter_client."""

    def __init__(self, env: dict, cwd: Path):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env, cwd=str(cwd), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def execute(self, code: str, *, expressions: dict | None = None, timeout: float = 900,
                store_history: bool = False) -> dict:
        """Run ``code``; return the evaluated ``expressions`` (each must evaluate to a JSON string)."""
        msg_id = self.kc.execute(code, store_history=store_history, user_expressions=expressions or {})
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") == msg_id:
                break
        content = msg["content"]
        if content["status"] != "ok":
            tb = "\n".join(content.get("traceback", []))
            raise RuntimeError(f"kernel error {content.get('ename')}: {content.get('evalue')}\n{tb}")
        out = {}
        for name, r in content.get("user_expressions", {}).items():
            if r.get("status") != "ok":
                raise RuntimeError(f"user expression {name} failed: {r.get('ename')}: {r.get('evalue')}")
            out[name] = json.loads(ast.literal_eval(r["data"]["text/plain"]))
        return out

    def cells(self, n: int, code: str = "x = 1", timeout: float = 900) -> list[float]:
        """Seconds of each of ``n`` top-level cells running ``code`` (needs ``CELLS`` run first)."""
        self.execute(f"_cells_later({n}, {code!r})")
        out = self.execute("", expressions={"b": "_jcells.dumps(_cells_out)"}, timeout=timeout)["b"]
        if out is None:
            raise RuntimeError("the block of cells did not run (see the kernel's log)")
        return out

    def roundtrip(self, code: str, timeout: float = 60) -> float:
        """Seconds from sending ``execute_request`` to receiving its reply (as a front-end sees)."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code, store_history=True)
        while True:
            msg = self.kc.get_shell_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") == msg_id:
                return time.perf_counter() - t0

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss

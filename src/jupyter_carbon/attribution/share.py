"""This kernel's share of each component over a window, and the window's devices scaled by it.

The rule (docs/attribution.md):

* CPU: the tree's busy CPU seconds over every program's busy CPU seconds in the window
  (Scaphandre's rule). The whole CPU energy, idle power included, is split by it: idle power
  is shared in proportion to use among the programs using the machine; when nothing used
  the CPU at all, nobody is charged and the ``machine_*`` columns keep it. A window with
  under 0.05 CPU-seconds of busy time anywhere (a trivial cell: ``/proc/stat`` counts in
  10 ms ticks) adds the sampler's latest period to both sides, so its share is not noise.
* RAM: the tree's resident memory over the memory in use, time-weighted (refreshed by the
  sampler; kept while the tree is quiet, see ``QUIET_CPU_SHARE``).
* GPU: see ``attribution.gpu``, time-weighted per GPU.

Edges read only the CPU clocks (microseconds); memory and GPU shares come from the sampler's
chore, accumulated as share x seconds so a window's share is exact in time between refreshes.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .gpu import GpuUsers
from .machine import MachineUsage
from .tree import ProcessTree

log = logging.getLogger(__name__)

MIN_BUSY_S = 0.05
#: How often the sampler's chore refreshes the shares: each second where NVML can tell who
#: uses each GPU (GPU use moves fast), every 5 s otherwise: finding the tree's processes and
#: reading /proc/meminfo cost ~250 µs of CPU, most of the sampler's budget if done each second;
#: memory moves slowly, and a descendant's CPU time is counted whenever it is found.
REFRESH_S = 5.0
REFRESH_GPU_S = 1.0
#: A tree that used under 1 % of a core since the chore's last look, and whose processes are
#: the same, cannot have grown its memory (touching memory takes CPU): its memory share is then
#: kept, and read again at least every 30 s (other programs' memory moves the machine's side).
#: Not where NVML attributes GPUs: a GPU works while its caller's CPU waits.
QUIET_CPU_SHARE = 0.01
QUIET_REFRESH_S = 30.0
#: The live views of one sample ask for the weights more than once (its watts, the running
#: cell's energy; the widget and the lab extension's comm): one read of the clocks serves them.
LIVE_REUSE_S = 0.05


class Mark(NamedTuple):
    mono: float
    tree_cpu: float
    machine_cpu: float
    ram_s: float  # cumulative RAM share x seconds
    gpu_s: tuple[float, ...]  # per GPU, cumulative share x seconds


class KernelShare:
    """What the meter's windows ask at their edges (``engine.window.Attribution``)."""

    def __init__(self, components: Sequence[str], gpus: GpuUsers | None = None, *,
                 tree: ProcessTree | None = None, machine: MachineUsage | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.components = tuple(components)  # one per channel, in channel order
        self.n_gpu = sum(1 for c in self.components if c == "gpu")
        self.gpus = gpus
        self.tree = tree or ProcessTree()
        self.machine = machine or MachineUsage()
        self.clock = clock
        self._lock = threading.Lock()
        self._t = clock()
        self._ram = self._ram_fraction()
        self._gpu = self._gpu_fractions()
        self._ram_acc = 0.0
        self._gpu_acc = [0.0] * self.n_gpu
        self._recent = (0.0, 0.0)  # (tree, machine) busy seconds over the last refresh period
        self._prev = (self.tree.cpu_seconds(), self.machine.busy_seconds())
        self._checked = self._t  # when the chore last took the CPU figures
        self._live: tuple[float, tuple[float, ...]] | None = None  # (clock, weights) last given

    # --- the sampler's chore ------------------------------------------------------------
    @property
    def refresh_every(self) -> float:
        return REFRESH_GPU_S if self.gpus is not None else REFRESH_S

    def refresh(self) -> None:
        """Find the tree's processes, its CPU figures, and its memory and GPU shares unless
        the tree is quiet (``QUIET_CPU_SHARE``) (sampler thread)."""
        same_processes = not self.tree.refresh()
        cpu = (self.tree.cpu_seconds(), self.machine.busy_seconds())
        now = self.clock()
        if (same_processes and self.gpus is None and now - self._t < QUIET_REFRESH_S
                and cpu[0] - self._prev[0] < QUIET_CPU_SHARE * (now - self._checked)):
            with self._lock:
                self._take_cpu(cpu, now)
            return
        ram, gpu = self._ram_fraction(), self._gpu_fractions()
        with self._lock:
            dt = max(now - self._t, 0.0)
            self._ram_acc += self._ram * dt
            for i, g in enumerate(self._gpu):
                self._gpu_acc[i] += g * dt
            self._t, self._ram, self._gpu = now, ram, gpu
            self._take_cpu(cpu, now)

    def _take_cpu(self, cpu: tuple[float, float], now: float) -> None:
        """(tree, machine) busy seconds since the chore's last look (caller holds the lock)."""
        self._recent = (max(cpu[0] - self._prev[0], 0.0), max(cpu[1] - self._prev[1], 0.0))
        self._prev, self._checked = cpu, now

    def _ram_fraction(self) -> float:
        try:
            return min(self.tree.rss_bytes() / self.machine.used_memory_bytes(), 1.0)
        except Exception:
            log.debug("memory share unavailable", exc_info=True)
            return 0.0

    def _gpu_fractions(self) -> tuple[float, ...]:
        if self.n_gpu == 0:
            return ()
        if self.gpus is None or len(self.gpus.handles) != self.n_gpu:
            return (1.0,) * self.n_gpu  # GPUs NVML cannot attribute: charged whole
        try:
            return self.gpus.shares(self.tree.pids)
        except Exception:
            log.debug("GPU shares unavailable", exc_info=True)
            return (1.0,) * self.n_gpu

    # --- window edges ------------------------------------------------------------------
    def mark(self) -> Mark:
        tree_cpu, machine_cpu = self.tree.cpu_seconds(), self.machine.busy_seconds()
        now = self.clock()
        with self._lock:
            dt = max(now - self._t, 0.0)
            return Mark(now, tree_cpu, machine_cpu, self._ram_acc + self._ram * dt,
                        tuple(a + g * dt for a, g in zip(self._gpu_acc, self._gpu)))

    def shares(self, start: Mark, end: Mark) -> dict[str, Any]:
        dt = end.mono - start.mono
        tree = max(end.tree_cpu - start.tree_cpu, 0.0)
        busy = max(end.machine_cpu - start.machine_cpu, 0.0)
        if busy < MIN_BUSY_S:
            rt, rm = self._recent
            tree, busy = tree + rt, busy + rm
        cpu = min(tree / busy, 1.0) if busy > 0 else 0.0
        if dt > 0:
            ram = (end.ram_s - start.ram_s) / dt
            gpu = tuple((b - a) / dt for a, b in zip(start.gpu_s, end.gpu_s))
        else:
            ram, gpu = self._ram, self._gpu
        return {"cpu": _unit(cpu), "ram": _unit(ram), "gpu": tuple(_unit(g) for g in gpu)}

    def weights(self, shares: dict[str, Any]) -> tuple[float, ...]:
        """Per channel, the kernel's share of it."""
        gpu, out, g = shares.get("gpu", ()), [], 0
        for c in self.components:
            if c == "gpu":
                out.append(gpu[g] if g < len(gpu) else 1.0)
                g += 1
            else:
                out.append(shares.get(c, 1.0))
        return tuple(out)

    def live_weights(self) -> tuple[float, ...]:
        """Per channel, the latest share, for live views between edges.

        CPU: over the time since the last refresh, read now (the tree's CPU clocks; the
        machine's figure is the sampler's latest /proc/stat read), so a cell that starts
        working after an idle spell shows its share at the next sample, not at the next
        refresh up to 5 s later; the period before is added while too little has run to
        tell. Memory and GPU: as last refreshed.
        """
        now, live = self.clock(), self._live
        if live is not None and 0.0 <= now - live[0] < LIVE_REUSE_S:
            return live[1]
        tree, machine = self.tree.cpu_seconds(), self.machine.busy_seconds()
        with self._lock:
            (pt, pm), (rt, rm) = self._prev, self._recent
        t, m = max(tree - pt, 0.0), max(machine - pm, 0.0)
        if m < MIN_BUSY_S:
            t, m = t + rt, m + rm
        weights = self.weights({"cpu": _unit(t / m) if m > 0 else 0.0, "ram": self._ram, "gpu": self._gpu})
        self._live = (now, weights)
        return weights

    def close(self) -> None:
        self.tree.close()
        self.machine.close()


def _unit(x: float) -> float:
    return min(max(x, 0.0), 1.0)

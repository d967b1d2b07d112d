"""Who uses each GPU, from NVML: this kernel's tree's share of one GPU.

Asked on the sampler thread only (two NVML calls per GPU every refresh, never at a cell
edge). The rule, per GPU:

* by SM utilisation when NVML has per-process samples since the last look
  (``nvmlDeviceGetProcessUtilization``): the tree's sum over everyone's;
* else by memory held (``nvmlDeviceGetComputeRunningProcesses``): the tree's bytes over
  everyone's — a GPU (or MIG instance) only this kernel holds is wholly its own, idle or not;
* no process on it: nobody's (0), the machine columns keep its energy;
* processes none of which this kernel can see (a container whose PID namespace hides the
  host's pids): wholly this kernel's if it has initialised CUDA, else nobody's.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)


class GpuUsers:
    def __init__(self, nvml: Any, handles: Sequence[Any], cuda_active: Callable[[], bool] | None = None,
                 proc: str = "/proc"):
        self.nvml = nvml
        self.handles = list(handles)
        self.cuda_active = cuda_active or (lambda: False)
        self.proc = proc
        self._since = [0] * len(self.handles)

    def shares(self, pids: set[int]) -> tuple[float, ...]:
        return tuple(self._share(i, h, pids) for i, h in enumerate(self.handles))

    def _share(self, i: int, h: Any, pids: set[int]) -> float:
        nv = self.nvml
        try:
            procs = {int(p.pid): int(p.usedGpuMemory or 0) for p in nv.nvmlDeviceGetComputeRunningProcesses(h)}
        except Exception:
            log.debug("no process list for GPU %d", i, exc_info=True)
            procs = {}
        util: dict[int, int] = {}
        try:
            samples = nv.nvmlDeviceGetProcessUtilization(h, self._since[i])
            for s in samples:
                util[int(s.pid)] = util.get(int(s.pid), 0) + int(s.smUtil)
                self._since[i] = max(self._since[i], int(s.timeStamp))
        except Exception:  # NVML_ERROR_NOT_FOUND: no sample since the last look
            log.debug("no utilisation samples for GPU %d", i, exc_info=True)
        users = set(procs) | set(util)
        if not users:
            return 0.0
        if not any(p in pids or os.path.exists(f"{self.proc}/{p}") for p in users):
            return 1.0 if self.cuda_active() else 0.0
        total_util = sum(util.values())
        if total_util > 0:
            return sum(v for p, v in util.items() if p in pids) / total_util
        total_mem = sum(procs.values())
        if total_mem > 0:
            return sum(v for p, v in procs.items() if p in pids) / total_mem
        mine = sum(1 for p in users if p in pids)
        return mine / len(users)

"""Modelled sensors for machines without energy counters; always marked *estimated*.

CPU: TDP x utilisation, computed as a counter (TDP x busy CPU-seconds / logical CPUs) so
a window's share is exact at its edges rather than sampled. One class per way of reading
busy time. RAM: a fixed power per GB (3 W per 8 GB by default, the figure CodeCarbon and
Green Algorithms use).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable

from ..hardware import procfs
from .base import CPU, RAM, Reading, Sensor

DEFAULT_RAM_W_PER_GB = 3.0 / 8.0


class CpuTdpModel(Sensor):
    """Joules = TDP / logical CPUs x busy CPU-seconds; subclasses say whose busy time."""

    component = CPU
    method = "tdp-model"
    measured = False

    def __init__(self, tdp_w: float, name: str, *, ncpu: int | None = None):
        self.tdp_w = float(tdp_w)
        self.name = name
        self.ncpu = ncpu or procfs.logical_cpus()
        self.j_per_busy_s = self.tdp_w / self.ncpu

    def busy_seconds(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, now: float) -> Reading:
        return self.j_per_busy_s * self.busy_seconds(), None


class ProcStatCpuSensor(CpuTdpModel):
    """The whole machine from /proc/stat's first line, read with one pread on a descriptor
    kept open: user + nice + system + irq + softirq (``hardware.procfs``)."""

    def __init__(self, tdp_w: float, name: str, *, ncpu: int | None = None, path: str = "/proc/stat"):
        super().__init__(tdp_w, name, ncpu=ncpu)
        #: (monotonic time, busy seconds) of the latest read: the attribution's machine
        #: figure at the same window edge reuses it instead of reading /proc/stat again.
        self.last_read: tuple[float, float] | None = None
        self._fd: int | None = procfs.open_readonly(path)
        try:
            self.busy_seconds()
        except Exception:
            self.close()
            raise

    def busy_seconds(self) -> float:
        fd = self._fd
        if fd is None:
            raise OSError("sensor closed")
        busy = procfs.busy_seconds(os.pread(fd, procfs.STAT_HEAD, 0))
        self.last_read = (time.monotonic(), busy)
        return busy

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class PsutilCpuSensor(CpuTdpModel):
    """The whole machine through psutil, where /proc/stat is not there."""

    def busy_seconds(self) -> float:
        return procfs.psutil_busy_seconds()


class CpuTimesSensor(CpuTdpModel):
    """Busy seconds from a given function (another source of CPU time, or a test's)."""

    def __init__(self, tdp_w: float, name: str, busy: Callable[[], float], *, ncpu: int | None = None):
        super().__init__(tdp_w, name, ncpu=ncpu)
        self._busy = busy

    def busy_seconds(self) -> float:
        return float(self._busy())


def cpu_tdp_sensor(tdp_w: float, name: str, *, ncpu: int | None = None,
                   proc_stat: str = "/proc/stat") -> CpuTdpModel:
    """The machine's CPU model for this platform: /proc/stat, else psutil."""
    try:
        return ProcStatCpuSensor(tdp_w, name, ncpu=ncpu, path=proc_stat)
    except (OSError, ValueError, AttributeError):
        return PsutilCpuSensor(tdp_w, name, ncpu=ncpu)


class RamModelSensor(Sensor):
    """The machine's RAM at a fixed power per GB of installed memory."""

    component = RAM
    method = "ram-model"
    measured = False

    def __init__(self, w_per_gb: float = DEFAULT_RAM_W_PER_GB, *, total_bytes: int | None = None):
        self.w_per_gb = float(w_per_gb)
        total = total_bytes if total_bytes is not None else procfs.total_memory_bytes()
        self.total_gb = total / 1e9
        self.name = f"RAM {self.total_gb:.0f} GB"

    def read(self, now: float) -> Reading:
        return None, self.total_gb * self.w_per_gb

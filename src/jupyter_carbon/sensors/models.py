"""Modelled sensors for machines without energy counters; always marked *estimated*.

CPU: TDP x utilisation, computed as a counter (TDP x busy CPU-seconds / logical CPUs) so
a window's share is exact at its edges rather than sampled. One class per way of reading
busy time. RAM: a fixed power per GB (3 W per 8 GB by default, the figure CodeCarbon and
Green Algorithms use).
"""
from __future__ import annotations

import os
from collections.abc import Callable

import psutil

from .base import CPU, RAM, Reading, Sensor

DEFAULT_RAM_W_PER_GB = 3.0 / 8.0
# Bytes of /proc/stat read per sample: its first 8 numbers fit even at 20 digits each.
PROC_STAT_HEAD = 256


class CpuTdpModel(Sensor):
    """Joules = TDP / logical CPUs x busy CPU-seconds; subclasses say whose busy time."""

    component = CPU
    method = "tdp-model"
    measured = False

    def __init__(self, tdp_w: float, name: str, *, ncpu: int | None = None):
        self.tdp_w = float(tdp_w)
        self.name = name
        self.ncpu = ncpu or psutil.cpu_count() or os.cpu_count() or 1
        self.j_per_busy_s = self.tdp_w / self.ncpu

    def busy_seconds(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, now: float) -> Reading:
        return Reading(self.j_per_busy_s * self.busy_seconds(), None)


class ProcStatCpuSensor(CpuTdpModel):
    """The whole machine from /proc/stat's first line, read with one pread on a descriptor
    kept open: user + nice + system + irq + softirq (psutil's busy figure less idle,
    iowait and steal)."""

    def __init__(self, tdp_w: float, name: str, *, ncpu: int | None = None, path: str = "/proc/stat"):
        super().__init__(tdp_w, name, ncpu=ncpu)
        self._tick_s = 1.0 / os.sysconf("SC_CLK_TCK")
        self._fd: int | None = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            self.busy_seconds()
        except Exception:
            self.close()
            raise

    def busy_seconds(self) -> float:
        fd = self._fd
        if fd is None:
            raise OSError("sensor closed")
        f = os.pread(fd, PROC_STAT_HEAD, 0).split(None, 8)
        if f[0] != b"cpu" or len(f) < 9:
            raise ValueError("unexpected /proc/stat layout")
        return self._tick_s * (int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7]))

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class PsutilCpuSensor(CpuTdpModel):
    """The whole machine through psutil, where /proc/stat is not there."""

    def busy_seconds(self) -> float:
        t = psutil.cpu_times()
        # idle and iowait are idle time; steal is time the hypervisor gave to someone else
        return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0) \
            - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class ProcessCpuSensor(CpuTdpModel):
    """This process: user + system time, its own and its waited-for children's."""

    def busy_seconds(self) -> float:
        t = os.times()
        return t[0] + t[1] + t[2] + t[3]


class CpuTimesSensor(CpuTdpModel):
    """Busy seconds from a given function (another source of CPU time, or a test's)."""

    def __init__(self, tdp_w: float, name: str, busy: Callable[[], float], *, ncpu: int | None = None):
        super().__init__(tdp_w, name, ncpu=ncpu)
        self._busy = busy

    def busy_seconds(self) -> float:
        return float(self._busy())


def cpu_tdp_sensor(tdp_w: float, name: str, *, process: bool = False, ncpu: int | None = None,
                   proc_stat: str = "/proc/stat") -> CpuTdpModel:
    """The CPU model for this platform: this process, else /proc/stat, else psutil."""
    if process:
        return ProcessCpuSensor(tdp_w, name, ncpu=ncpu)
    try:
        return ProcStatCpuSensor(tdp_w, name, ncpu=ncpu, path=proc_stat)
    except (OSError, ValueError, AttributeError):
        return PsutilCpuSensor(tdp_w, name, ncpu=ncpu)


class RamModelSensor(Sensor):
    """The machine's (or this process's) RAM at a fixed power per GB."""

    component = RAM
    method = "ram-model"
    measured = False

    def __init__(self, w_per_gb: float = DEFAULT_RAM_W_PER_GB, *, process: bool = False,
                 total_bytes: int | None = None):
        self.w_per_gb = float(w_per_gb)
        self.process = process
        total = total_bytes if total_bytes is not None else psutil.virtual_memory().total
        self.total_gb = total / 1e9
        self.name = f"RAM {self.total_gb:.0f} GB"
        self._proc = psutil.Process() if process else None

    def read(self, now: float) -> Reading:
        gb = self._proc.memory_info().rss / 1e9 if self._proc is not None else self.total_gb
        return Reading(None, gb * self.w_per_gb)

"""Modelled sensors for machines without energy counters; always marked *estimated*.

CPU: TDP x utilisation, computed as a counter (TDP x busy CPU-seconds / logical CPUs) so
a window's share is exact at its edges rather than sampled. RAM: a fixed power per GB
(3 W per 8 GB by default, the figure CodeCarbon and Green Algorithms use).
"""
from __future__ import annotations

import os

import psutil

from .base import CPU, RAM, Reading, Sensor

DEFAULT_RAM_W_PER_GB = 3.0 / 8.0
# Bytes of /proc/stat read per tick: its first 8 numbers fit even at 20 digits each, and a
# small read copies less and stays a small object (a few µs a tick; see benchmarks).
PROC_STAT_HEAD = 256


class CpuTdpSensor(Sensor):
    component = CPU
    method = "tdp-model"
    measured = False

    def __init__(self, tdp_w: float, name: str, *, process: bool = False,
                 ncpu: int | None = None, cpu_times=None, proc_stat: str = "/proc/stat"):
        self.tdp_w = float(tdp_w)
        self.name = name
        self.ncpu = ncpu or psutil.cpu_count() or os.cpu_count() or 1
        self.process = process
        self._j_per_busy_s = self.tdp_w / self.ncpu
        self._stat_fd: int | None = None
        if cpu_times is not None:
            self._busy = cpu_times
        elif process:  # user + system, own and waited-for children's: one times(2) call
            self._busy = lambda _times=os.times: sum(_times()[:4])
        else:
            self._busy = _system_busy_seconds
            self._stat_fd = _open_proc_stat(proc_stat)
            if self._stat_fd is not None:
                self._j_per_tick = self._j_per_busy_s / os.sysconf("SC_CLK_TCK")
                self.read = self._read_proc_stat

    def read(self, now: float) -> Reading:
        return self._j_per_busy_s * self._busy(), None  # per tick: a plain pair, see Reading

    def _read_proc_stat(self, now: float, _pread=os.pread) -> Reading:
        """The machine-wide busy time from /proc/stat's first line, in one frame.

        Busy is user + nice + system + irq + softirq: psutil's figure less idle, iowait and
        steal, at a fraction of its cost (one pread on a descriptor kept open, no
        open/read/close and no parse of the other lines). This is the sampler's whole
        per-tick work on a machine without counters; see benchmarks, "Sampler cost".
        """
        fd = self._stat_fd
        if fd is None:
            raise OSError("sensor closed")
        f = _pread(fd, PROC_STAT_HEAD, 0).split(None, 8)
        if f[0] != b"cpu":
            raise ValueError("unexpected /proc/stat layout")
        return self._j_per_tick * (int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7])), None

    def close(self) -> None:
        fd, self._stat_fd = self._stat_fd, None
        if fd is not None:
            os.close(fd)


def _open_proc_stat(path: str) -> int | None:
    """A descriptor on /proc/stat whose first line parses, else None (psutil is used)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (OSError, AttributeError):
        return None
    try:
        f = os.pread(fd, PROC_STAT_HEAD, 0).split(None, 8)
        if f[0] == b"cpu" and len(f) > 8:
            int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7])
            return fd
    except (OSError, ValueError):
        pass
    os.close(fd)
    return None


def _system_busy_seconds() -> float:
    t = psutil.cpu_times()
    # idle and iowait are idle time; steal is time the hypervisor gave to someone else
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0) \
        - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class RamModelSensor(Sensor):
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
        if not process:  # the whole machine's RAM: a constant, integrated without reads
            self.constant_w = self.total_gb * self.w_per_gb

    def read(self, now: float) -> Reading:
        gb = self._proc.memory_info().rss / 1e9 if self._proc is not None else self.total_gb
        return None, gb * self.w_per_gb

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
    deferred = True  # busy CPU-seconds only grow: the tick keeps the raw read (see Sensor)

    def __init__(self, tdp_w: float, name: str, *, process: bool = False,
                 ncpu: int | None = None, cpu_times=None, proc_stat: str = "/proc/stat"):
        self.tdp_w = float(tdp_w)
        self.name = name
        self.ncpu = ncpu or psutil.cpu_count() or os.cpu_count() or 1
        self.process = process
        self._j_per_busy_s = self.tdp_w / self.ncpu
        self._stat_fd: int | None = None
        if cpu_times is not None:  # busy seconds from a given function (tests, other platforms)
            self.fetch, self.decode = cpu_times, self._decode_seconds
        elif process:  # user + system, own and waited-for children's: one times(2) call
            self.fetch, self.decode = os.times, self._decode_times
        else:
            self._stat_fd = _open_proc_stat(proc_stat)
            if self._stat_fd is not None:
                self._j_per_tick = self._j_per_busy_s / os.sysconf("SC_CLK_TCK")
                self.fetch, self.decode = self._fetch_proc_stat, self._decode_proc_stat
            else:
                self.fetch, self.decode = _system_busy_seconds, self._decode_seconds

    def read(self, now: float) -> Reading:
        return self.decode(self.fetch()), None  # per read: a plain pair, see Reading

    def _fetch_proc_stat(self, _pread=os.pread) -> bytes:
        """The head of /proc/stat: one pread on a descriptor kept open, nothing parsed.

        This is the sampler's whole per-tick work on a machine without counters (see
        benchmarks, "Sampler cost"); the parse waits until someone looks at the sample.
        """
        fd = self._stat_fd
        if fd is None:
            raise OSError("sensor closed")
        return _pread(fd, PROC_STAT_HEAD, 0)

    def _decode_proc_stat(self, raw: bytes) -> float:
        """Joules from /proc/stat's first line: user + nice + system + irq + softirq.

        psutil's busy figure less idle, iowait and steal, without parsing the other lines.
        """
        f = raw.split(None, 8)
        if f[0] != b"cpu":
            raise ValueError("unexpected /proc/stat layout")
        return self._j_per_tick * (int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7]))

    def _decode_times(self, t) -> float:
        return self._j_per_busy_s * (t[0] + t[1] + t[2] + t[3])

    def _decode_seconds(self, busy_s: float) -> float:
        return self._j_per_busy_s * busy_s

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

"""The machine's totals the kernel's share is taken of: busy CPU seconds of every program
(``/proc/stat``, one ``pread`` on a descriptor kept open) and the memory in use."""
from __future__ import annotations

import logging
import os

import psutil

log = logging.getLogger(__name__)

_HEAD = 256


class MachineUsage:
    def __init__(self, proc_stat: str = "/proc/stat"):
        self._tick_s = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
        try:
            self._fd: int | None = os.open(proc_stat, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            self._fd = None

    def busy_seconds(self) -> float:
        """CPU seconds every program has used (user + nice + system + irq + softirq)."""
        fd = self._fd
        if fd is not None:
            try:
                f = os.pread(fd, _HEAD, 0).split(None, 8)
                if f[0] == b"cpu":
                    return self._tick_s * (int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7]))
            except (OSError, ValueError, IndexError):
                log.debug("/proc/stat unreadable; using psutil", exc_info=True)
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0) \
            - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)

    @staticmethod
    def used_memory_bytes() -> int:
        vm = psutil.virtual_memory()
        return max(int(vm.total - vm.available), 1)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

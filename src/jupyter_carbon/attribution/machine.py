"""The machine's totals the kernel's share is taken of: busy CPU seconds of every program
(``/proc/stat``, one ``pread`` on a descriptor kept open; parsed by ``hardware.procfs``) and
the memory in use."""
from __future__ import annotations

import logging
import os

import psutil

from ..hardware import procfs

log = logging.getLogger(__name__)


class MachineUsage:
    def __init__(self, proc_stat: str = "/proc/stat"):
        try:
            self._fd: int | None = procfs.open_readonly(proc_stat)
        except OSError:
            self._fd = None

    def busy_seconds(self) -> float:
        """CPU seconds every program has used (user + nice + system + irq + softirq)."""
        fd = self._fd
        if fd is not None:
            try:
                return procfs.busy_seconds(os.pread(fd, procfs.STAT_HEAD, 0))
            except (OSError, ValueError):
                log.debug("/proc/stat unreadable; using psutil", exc_info=True)
        return procfs.psutil_busy_seconds()

    @staticmethod
    def used_memory_bytes() -> int:
        vm = psutil.virtual_memory()
        return max(int(vm.total - vm.available), 1)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

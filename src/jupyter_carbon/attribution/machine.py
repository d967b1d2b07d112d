"""The machine's totals the kernel's share is taken of: busy CPU seconds of every program
(``/proc/stat``, one ``pread`` on a descriptor kept open; parsed by ``hardware.procfs``) and
the memory in use."""
from __future__ import annotations

import logging
import os
import time
from typing import Any

from ..hardware import procfs

log = logging.getLogger(__name__)


#: A /proc/stat read the CPU sensor made this recently is the same instant for our purpose
#: (the counts move in 10 ms ticks): a window edge reads the file once, not twice.
REUSE_S = 0.002


class MachineUsage:
    """``shared``: the CPU sensor that reads /proc/stat too (its ``last_read``), or None."""

    def __init__(self, proc_stat: str = "/proc/stat", *, shared: Any = None, meminfo: str = "/proc/meminfo"):
        self.shared = shared
        self._fd = _open_or_none(proc_stat)
        self._mem_fd = _open_or_none(meminfo)

    def busy_seconds(self) -> float:
        """CPU seconds every program has used (user + nice + system + irq + softirq)."""
        last = self.shared.last_read if self.shared is not None else None
        if last is not None and time.monotonic() - last[0] < REUSE_S:
            return last[1]
        fd = self._fd
        if fd is not None:
            try:
                return procfs.busy_seconds(os.pread(fd, procfs.STAT_HEAD, 0))
            except (OSError, ValueError):
                log.debug("/proc/stat unreadable; using psutil", exc_info=True)
        return procfs.psutil_busy_seconds()

    def used_memory_bytes(self) -> int:
        """Memory in use by every program (total - available), at least 1."""
        fd = self._mem_fd
        if fd is not None:
            try:
                return max(procfs.used_memory(os.pread(fd, procfs.MEMINFO_HEAD, 0)), 1)
            except (OSError, ValueError):
                log.debug("/proc/meminfo unreadable; using psutil", exc_info=True)
        return max(procfs.psutil_used_memory(), 1)

    def close(self) -> None:
        for name in ("_fd", "_mem_fd"):
            fd = getattr(self, name)
            setattr(self, name, None)
            if fd is not None:
                os.close(fd)


def _open_or_none(path: str) -> int | None:
    try:
        return procfs.open_readonly(path)
    except OSError:
        return None

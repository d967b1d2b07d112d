"""CPU seconds a host's meter reads beside its energy: the host's busy time, and the
Dask worker processes' own CPU time, the two terms of the share rule (docs/cluster.md).

Both are cumulative counters read from procfs with one ``pread`` each on descriptors kept
open (psutil where procfs is missing), so a report costs a few microseconds per worker.
"""
from __future__ import annotations

import logging
import os

from ..hardware import procfs
from .identity import process_start

log = logging.getLogger(__name__)


class HostLoad:
    """Busy CPU seconds of the machine and CPU seconds of a set of processes."""

    def __init__(self, proc: str = "/proc"):
        self._proc = proc
        self._stat = _open(f"{proc}/stat")
        self._pids: dict[int, int | None] = {}  # pid -> open descriptor (None: not readable)
        self._last: dict[int, float] = {}  # pid -> its CPU seconds at the last read
        self._acc = 0.0  # CPU seconds gained by watched processes since the meter started

    def busy_s(self) -> float:
        """user + nice + system + irq + softirq of every CPU, as the TDP model counts it."""
        fd = self._stat
        if fd is not None:
            try:
                return procfs.busy_seconds(os.pread(fd, procfs.STAT_HEAD, 0))
            except (OSError, ValueError, IndexError):
                log.debug("reading /proc/stat failed; using psutil", exc_info=True)
        return procfs.psutil_busy_seconds()

    def watch(self, procs: list[tuple[int, int | None]]) -> int:
        """Follow these (pid, start time) processes from now on; returns how many are
        readable here. A pid whose start time differs lives in another pid namespace
        (another container): it is not read, and the share falls back to task time."""
        wanted = {pid for pid, _ in procs}
        for pid in list(self._pids):
            if pid not in wanted:
                _close(self._pids.pop(pid))
                self._last.pop(pid, None)
        for pid, started in procs:
            if pid in self._pids:
                continue
            ok = started is None or process_start(pid) == started
            self._pids[pid] = _open(f"{self._proc}/{pid}/stat") if ok else None
        return sum(fd is not None for fd in self._pids.values())

    def procs_s(self) -> tuple[float, int]:
        """(CPU seconds the watched processes gained since they were first read, how many
        were read). Cumulative and never decreasing: a process that ends or stops being
        watched keeps what it had added, so a window's difference stays right."""
        n = 0
        for pid, fd in list(self._pids.items()):
            if fd is None:
                continue
            try:
                now = procfs.process_seconds(os.pread(fd, 1024, 0))
            except (OSError, ValueError, IndexError):  # the process ended
                log.debug("reading CPU time of pid %s failed", pid, exc_info=True)
                _close(fd)
                self._pids[pid] = None
                continue
            last = self._last.get(pid)
            if last is not None and now > last:
                self._acc += now - last
            self._last[pid] = now
            n += 1
        return self._acc, n

    @property
    def watched(self) -> int:
        return len(self._pids)

    def close(self) -> None:
        _close(self._stat)
        self._stat = None
        for fd in self._pids.values():
            _close(fd)
        self._pids.clear()
        self._last.clear()


def _open(path: str) -> int | None:
    try:
        return procfs.open_readonly(path)
    except OSError:
        log.debug("cannot open %s", path, exc_info=True)
        return None


def _close(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            log.debug("closing fd %s failed", fd, exc_info=True)

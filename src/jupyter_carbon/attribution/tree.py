"""The kernel's process tree: the kernel and its descendants (DataLoader workers, joblib,
subprocesses), their cumulative CPU time and their resident memory.

Finding the descendants is the expensive part (a walk of ``/proc``): it runs on the sampler
thread every second or two (``refresh``) and is cached. Reading the CPU time of the tree at a
window edge is cheap: this process's own clock plus one ``pread`` of ``/proc/<pid>/stat`` on a
descriptor kept open per known descendant. A descriptor stays bound to its process, so a
reused pid is never read by mistake.

The tree's CPU time is kept continuous across processes ending: a descendant's own time and
the time of its reaped children are counted while it lives (``utime+stime+cutime+cstime``),
and when it is reaped its parent's ``cutime``/``cstime`` take them over.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from ..hardware.procfs import PAGE, open_readonly, process_tree_stat

log = logging.getLogger(__name__)

PROC = "/proc"
_STAT_READ = 1024
MAX_DESCENDANTS = 256  # a fork bomb is not followed further (and is said in the docs)


def children_of(pid: int, proc: str = PROC) -> list[int]:
    """Direct children of ``pid`` from ``/proc/<pid>/task/*/children`` (no walk of /proc)."""
    out: list[int] = []
    try:
        tids = os.listdir(f"{proc}/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            fd = os.open(f"{proc}/{pid}/task/{tid}/children", os.O_RDONLY)
        except OSError:
            continue
        try:
            out.extend(int(x) for x in os.read(fd, 65536).split())
        except (OSError, ValueError):
            continue
        finally:
            os.close(fd)
    return out


def has_children() -> bool:
    """Has this process a child (running, or ended and not yet reaped)? One ``waitid`` that
    reaps nothing (``WNOWAIT``): most kernels have none, and then the walk of their threads'
    ``children`` files is skipped. True where it cannot tell."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # ECHILD: no child at all
        return False
    except (AttributeError, OSError):
        return True
    return True


def _has_children_files(proc: str = PROC) -> bool:
    return os.path.exists(f"{proc}/self/task/{threading.get_native_id()}/children")


class ProcessTree:
    """This process and its descendants; ``refresh`` on the sampler thread, the rest anywhere."""

    def __init__(self, proc: str = PROC, *, children: bool = True):
        self.pid = os.getpid()
        self.proc = proc
        self.children = children  # False: this process alone (``tracking_mode=process``)
        self._fast = _has_children_files(proc)
        self._lock = threading.Lock()  # guards the descriptors against a refresh closing them
        self._fds: dict[int, int] = {}
        self._offset = 0.0  # keeps the tree's CPU time monotonic when a process vanishes unseen
        self._last = 0.0
        try:
            self._statm: int | None = open_readonly(f"{proc}/{self.pid}/statm")
        except OSError:
            self._statm = None
        self.refresh()

    @property
    def pids(self) -> set[int]:
        return {self.pid, *self._fds}

    def descendants(self) -> list[int]:
        if not self.children:
            return []
        if not self._fast:
            try:
                import psutil

                return [p.pid for p in psutil.Process(self.pid).children(recursive=True)][:MAX_DESCENDANTS]
            except Exception:
                log.debug("no descendants from psutil", exc_info=True)
                return []
        if self.proc == PROC and self.pid == os.getpid() and not has_children():
            return []
        found: list[int] = []
        todo = [self.pid]
        while todo and len(found) < MAX_DESCENDANTS:
            for c in children_of(todo.pop(), self.proc):
                if c not in found:
                    found.append(c)
                    todo.append(c)
        return found[:MAX_DESCENDANTS]

    def refresh(self) -> bool:
        """Find the descendants again (the sampler's chore): open new ones, close gone ones.
        True when the set changed."""
        now = set(self.descendants())
        with self._lock:
            old = set(self._fds)
        if now == old:
            return False
        opened: dict[int, int] = {}
        for pid in now - old:
            try:
                opened[pid] = open_readonly(f"{self.proc}/{pid}/stat")
            except OSError:
                continue
        with self._lock:
            gone = [self._fds.pop(p) for p in old - now if p in self._fds]
            self._fds.update(opened)
        for fd in gone:
            _close(fd)
        return True

    def cpu_seconds(self) -> float:
        """Cumulative CPU seconds of the tree (monotonic)."""
        t = os.times()
        total = time.process_time() + t[2] + t[3]
        dead: list[int] = []
        with self._lock:
            for pid, fd in self._fds.items():
                try:
                    total += process_tree_stat(os.pread(fd, _STAT_READ, 0))[0]
                except (OSError, IndexError, ValueError):
                    dead.append(pid)
            for pid in dead:
                _close(self._fds.pop(pid))
            total += self._offset
            if total < self._last:  # a descendant ended and was reaped outside the tree
                self._offset += self._last - total
                total = self._last
            self._last = total
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the tree (shared pages counted once per process, as ``ps``)."""
        try:
            total = int(os.pread(self._statm, 256, 0).split()[1]) * PAGE if self._statm is not None else 0
        except (OSError, IndexError, ValueError):
            total = 0
        with self._lock:
            for fd in self._fds.values():
                try:
                    total += process_tree_stat(os.pread(fd, _STAT_READ, 0))[1]
                except (OSError, IndexError, ValueError):
                    continue
        return total

    def close(self) -> None:
        with self._lock:
            fds, self._fds = list(self._fds.values()), {}
            if self._statm is not None:
                fds.append(self._statm)
                self._statm = None
        for fd in fds:
            _close(fd)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        log.debug("closing a /proc descriptor failed", exc_info=True)

"""An exclusive lock on an open log file, taken with a bounded wait.

Another process may hold the lock for as long as it likes (a kernel stopped with SIGSTOP
while writing, a hung network file system), so a blocking ``flock`` could hold the user's
cell forever. Here the lock is tried without blocking, a few times over at most ``wait``
seconds, and the caller keeps its rows when it is not granted.
"""
from __future__ import annotations

import logging
import os
import sys
import time

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_WAIT", "try_lock", "unlock"]

DEFAULT_WAIT = 0.005  # a writer holds the lock for tens of microseconds; 5 ms is plenty

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _LOCK_AT = 2**31 - 2  # lock a byte far past the data so readers are never blocked

    def _try_once(fd: int) -> bool:
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, _LOCK_AT, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
        finally:
            os.lseek(fd, pos, os.SEEK_SET)

    def unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_AT, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import errno
    import fcntl

    _BUSY = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EINTR}

    def _try_once(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise  # ENOLCK and the like: not a busy lock, a file system that cannot lock

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def try_lock(fd: int, wait: float = DEFAULT_WAIT) -> bool:
    """True once the lock is held; False if it stayed busy for ``wait`` seconds."""
    if _try_once(fd):
        return True
    deadline = time.monotonic() + max(wait, 0.0)
    pause = 0.0005
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause *= 2
        if _try_once(fd):
            return True

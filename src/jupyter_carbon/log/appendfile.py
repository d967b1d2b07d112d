"""Append bytes to a shared CSV file whole or not at all, under a lock with a bounded wait.

One call opens the file, locks it (:mod:`filelock`), checks its header, writes the batch with
one ``write`` and closes. The file is never left with part of a batch: a short write (disk
full, ``RLIMIT_FSIZE``, a quota) is cut back to the size the file had before it.
"""
from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

from .filelock import try_lock

log = logging.getLogger(__name__)

__all__ = ["Busy", "HeaderMismatch", "Left", "append_whole"]

# O_NONBLOCK: opening a FIFO put where the log should be must not wait for a reader.
_O_FLAGS = (os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
            | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
_PARITY_SCAN_MAX = 64 << 20


class HeaderMismatch(Exception):
    """The file starts with another header: not ours to append to."""


class Busy(Exception):
    """Another process held the lock for the whole wait."""


#: A file as this process left it after its last append: (device, inode, size, mtime in ns).
Left = tuple[int, int, int, int]


def append_whole(path: Path, data: bytes, header: bytes, lock_wait: float, fsync: bool = False,
                 left: Left | None = None) -> Left:
    """Append ``data`` (whole CSV records) to ``path``, writing ``header`` first into an empty
    file. Raises :class:`Busy`, :class:`HeaderMismatch` or ``OSError``; on any of them the
    file is as it was. Returns the file as left, for ``left`` at the next call: a file still
    exactly so (same inode, size and modification time: nobody wrote it since) skips the
    header and last-line checks."""
    fd = os.open(path, _O_FLAGS, 0o666)
    try:
        if not try_lock(fd, lock_wait):  # a FIFO or a device locks too, without blocking
            raise Busy(str(path))
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # a FIFO, a device: could block or eat rows
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        size = st.st_size
        if size == 0:
            data = header + data
        elif left != (st.st_dev, st.st_ino, size, st.st_mtime_ns):
            if not header_ok(fd, header):  # a file changed by someone else: a hand edit is seen at once
                raise HeaderMismatch(str(path))
            if read_at(fd, 1, size - 1) != b"\n":  # a hand-edited or torn last line
                data = _closing(fd, size) + data
        if data:
            _write_whole(fd, data, size)
        if fsync:
            try:
                os.fsync(fd)
            except OSError:  # the bytes are in the file; retrying would duplicate them
                log.debug("fsync failed", exc_info=True)
        st = os.fstat(fd)
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
    finally:
        os.close(fd)  # also releases the lock


def header_ok(fd: int, header: bytes) -> bool:
    n = len(header)
    return read_at(fd, n + 1, 0).replace(b"\r\n", b"\n")[:n] == header


def _write_whole(fd: int, data: bytes, size: int) -> None:
    """All of ``data`` or nothing: a short write is cut back to ``size``, the file's size
    before it, so no half row is ever left behind."""
    view = memoryview(data)
    done = 0
    try:
        while done < len(data):
            n = os.write(fd, view[done:])  # one call unless the kernel writes less
            if n <= 0:
                raise OSError(errno.EIO, "write made no progress")
            done += n
    except OSError:
        if done:
            try:
                if os.fstat(fd).st_size == size + done:  # only our bytes: cut them back
                    os.ftruncate(fd, size)
            except OSError:
                log.debug("could not cut back a short write", exc_info=True)
        raise


def _closing(fd: int, size: int) -> bytes:
    """What to write before our rows when the file does not end with a line break: the line
    break, and a closing quote first if the last record stopped inside a quoted field (a torn
    row), so it cannot swallow ours. Readers then skip the torn record."""
    if size > _PARITY_SCAN_MAX:
        return b"\n"
    return b'"\n' if read_at(fd, size, 0).count(b'"') % 2 else b"\n"


def read_at(fd: int, n: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    pos = os.lseek(fd, 0, os.SEEK_CUR)  # pragma: no cover - Windows
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, n)
    finally:
        os.lseek(fd, pos, os.SEEK_SET)

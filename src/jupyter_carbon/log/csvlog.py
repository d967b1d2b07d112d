"""Append-only CSV logs that several kernels can share and that never lose, tear or clobber a row.

Each write opens the file in append mode, takes an exclusive lock with a bounded wait, checks
the header, writes the whole batch with one ``write`` and closes (which releases the lock).
Opening per write costs tens of microseconds and means a file that was moved, deleted or
replaced between cells is simply picked up again; nothing is held open for the life of the
kernel. Nothing here waits long: a lock another process keeps (a stopped kernel, a hung file
server) leaves the rows pending in memory, written at the next append, at ``retry_pending()``
or at ``close()`` (which, if the lock is still held, writes them to the fallback directory).
A short write (disk full, a file size limit) is cut back to the previous size, so the file
only ever holds whole rows, and the rows go to the fallback directory or stay pending.
"""
from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .appendfile import Busy, HeaderMismatch, Left, append_whole
from .csvtext import encode_row
from .filelock import DEFAULT_WAIT
from .reader import _suffixed, log_path_for, read_log
from .schema import COLUMNS, fmt

log = logging.getLogger(__name__)

__all__ = ["CsvLog", "log_path_for", "read_log", "user_data_dir"]

APP = "jupyter-carbon"
_MUTEX_WAIT = 0.005  # another thread of this kernel writing the same log: seconds to wait for it
_BUSY_SAY_AFTER = 1.0  # say so once the lock has been busy at two attempts this far apart


def user_data_dir() -> Path:
    """Where rows go when the notebook's directory is not writable (no platformdirs needed)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    elif sys.platform == "darwin":
        base = os.path.join(os.path.expanduser("~"), "Library", "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or ""
        if not os.path.isabs(base):  # the XDG spec: a relative value is ignored
            base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / APP


class CsvLog:
    """The per-notebook cell log: ``append(row)`` writes one flushed line under a lock.

    Never raises into the caller and never waits more than a few milliseconds: a foreign
    header moves rows to ``<name>-2.csv`` (the first free or compatible suffix), an unwritable
    directory or a full disk moves them to ``fallback_dir`` (default ``user_data_dir()``), a
    lock held by another process keeps them pending, and if nothing can be written they wait
    in memory for the next append, ``retry_pending()`` or ``close()`` (also run at exit).
    Each such event is reported once through ``announce``.
    """

    def __init__(self, path, columns: Sequence[str] = COLUMNS, *, fallback_dir=None,
                 announce: Callable[[str], object] | None = print, fsync: bool = False,
                 max_pending: int | None = None, lock_wait: float = DEFAULT_WAIT):
        self.requested = Path(path)
        self.columns = tuple(columns)
        self.fallback_dir = Path(fallback_dir) if fallback_dir is not None else None
        self.fsync = fsync
        self.max_pending = max_pending  # None: keep every row (the cell log's promise)
        self.lock_wait = lock_wait
        self._announce = announce
        self._announced: set[str] = set()
        self._header = encode_row(self.columns)
        self._dir_idx = 0  # 0: the requested directory, 1: the fallback directory
        self._n = 1  # suffix number within the directory
        self._moved: Path | None = None  # a new path asked for by move_to, applied under the mutex
        self._pending: list[bytes] = []  # appended from any thread; removed under the mutex
        self._mutex = threading.Lock()  # the sampler's flush and the cell's append may overlap
        self._busy_since: float | None = None
        self._exit_hook: Callable[[], None] | None = None
        self._path: tuple[tuple[Path, int, int], Path] | None = None  # (location, its path)
        self._left: Left | None = None  # the file as the last append left it (see append_whole)
        self.dropped = 0

    # -- public -------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """Where the next row goes (after any foreign-header or fallback switch)."""
        if self._moved is not None:
            return self._moved
        key = (self.requested, self._dir_idx, self._n)
        made = self._path
        if made is None or made[0] != key:  # made once per location, not at every row
            made = self._path = (key, _suffixed(self._dir() / self.requested.name, self._n))
        return made[1]

    @property
    def pending(self) -> int:
        """Rows kept in memory because no location could be written (or the lock was busy)."""
        return len(self._pending)

    def append(self, row: dict) -> bool:
        """Write one row (missing keys are empty). True when it (and any backlog) reached disk."""
        try:
            values: list[Any] = list(row.values()) if tuple(row) == self.columns else [row.get(c) for c in self.columns]
            try:
                line = encode_row(values)  # text already, as make_row's rows are
            except TypeError:  # a value that is not text yet
                line = encode_row([v if type(v) is str else fmt(v) for v in values])
        except Exception as exc:  # a row we cannot even format: say so, keep going
            log.debug("could not format a log row", exc_info=True)
            self._say("encode", f"jupyter-carbon: could not format a log row ({exc!r})")
            return False
        self._pending.append(line)
        return self._drain()

    def flush(self) -> bool:
        """Retry rows kept in memory; True when nothing is pending."""
        return self._drain()

    def retry_pending(self) -> bool:
        """Write the rows still pending, if the file can be locked now (any thread; cheap when
        nothing is pending). For a periodic background chore. True when nothing is pending."""
        return True if not self._pending else self._drain()

    def open(self) -> bool:
        """Create the file with its header now (or find the fallback), so that ``path`` is
        where rows will really go before the first row is written."""
        return self._drain(create=True)

    def move_to(self, path) -> None:
        """Send later rows (and any pending) to ``path``, e.g. beside a renamed notebook.
        The old file is left as it is."""
        self._moved = Path(path)
        self._drain()

    def close(self, wait: float = 0.5) -> bool:
        """A last attempt to write pending rows, waiting at most about ``wait`` seconds for the
        lock; if another process still holds it, the rows go to the fallback directory.
        The log stays usable. True when nothing is left pending."""
        return self._drain(lock_wait=wait, final=True, mutex_wait=wait)

    # -- internals ----------------------------------------------------------------------
    def _dir(self) -> Path:
        if self._dir_idx == 0:
            return self.requested.parent
        return self.fallback_dir if self.fallback_dir is not None else user_data_dir()

    def _say(self, key: str, msg: str) -> None:
        if key in self._announced or self._announce is None:
            return
        self._announced.add(key)
        try:
            self._announce(msg)
        except Exception:
            log.debug("announce failed", exc_info=True)

    def _drain(self, *, create: bool = False, final: bool = False, lock_wait: float | None = None,
               mutex_wait: float = _MUTEX_WAIT) -> bool:
        if not self._mutex.acquire(timeout=mutex_wait):
            self._hook_exit()
            return False  # another thread is writing; it, the next call or close() takes ours
        try:
            if self._moved is not None:
                self.requested, self._moved = self._moved, None
                self._dir_idx, self._n = 0, 1
            for _ in range(8):  # rows another thread added meanwhile; bounded
                n = len(self._pending)
                if not n and not create:
                    break
                if not self._write_locked(n, create, final, lock_wait):
                    break
                create = False
        finally:
            self._mutex.release()
        if self._pending:
            self._hook_exit()
            return False
        if self._exit_hook is not None:
            self._unhook_exit()
        return True

    def _write_locked(self, n: int, create: bool, final: bool, lock_wait: float | None) -> bool:
        data = b"".join(self._pending[:n])
        foreign: Path | None = None
        unwritable: tuple[Path, str] | None = None
        busy: Path | None = None
        for _ in range(64):  # bounded: suffixes and directories are finite
            try:
                path = self.path
                if self._dir_idx == 1:
                    path.parent.mkdir(parents=True, exist_ok=True)
                self._left = append_whole(path, data, self._header,
                                          self.lock_wait if lock_wait is None else lock_wait, self.fsync,
                                          self._left)
            except Busy:
                if not final:
                    self._note_busy()
                    self._trim()
                    return False
                busy = busy or self.path  # closing: do not leave rows behind a held lock
                if self._dir_idx == 0:
                    self._dir_idx, self._n = 1, 1
                else:
                    self._n += 1
                continue
            except HeaderMismatch:
                foreign = foreign or self.path
                self._n += 1
                continue
            except OSError as exc:
                log.debug("cannot write %s", self.path, exc_info=True)
                reason = exc.strerror or str(exc)
                if self._dir_idx == 0:
                    unwritable = (self.path, reason)
                    self._dir_idx, self._n = 1, 1
                    continue
                where = f"{unwritable[0]} ({unwritable[1]}) nor " if unwritable else ""
                self._say("memory", f"jupyter-carbon: cannot write {where}{self.path} ({reason}); "
                                    "keeping rows in memory and retrying at the next cell")
                self._dir_idx, self._n = 0, 1  # next time, from the top
                break
            except Exception as exc:  # never into the caller
                log.debug("log write failed", exc_info=True)
                self._say("error", f"jupyter-carbon: log write failed ({exc!r}); rows kept in memory")
                break
            del self._pending[:n]
            self._busy_since = None
            if busy:
                self._say("busy-final", f"jupyter-carbon: {busy} stayed locked by another process; "
                                        f"{n} row(s) written to {self.path} instead")
            elif unwritable:
                self._say("fallback", f"jupyter-carbon: cannot write {unwritable[0]} ({unwritable[1]}); "
                                      f"logging to {self.path} instead")
            elif foreign:
                self._say("header", f"jupyter-carbon: {foreign} has a different header and is left "
                                    f"as it is; logging to {self.path}")
            return True
        self._trim()
        return False

    def _note_busy(self) -> None:
        now = time.monotonic()
        if self._busy_since is None:
            self._busy_since = now
        elif now - self._busy_since >= _BUSY_SAY_AFTER:
            self._say("busy", f"jupyter-carbon: {self.path} is locked by another process; rows are "
                              "kept in memory and written when it is free")

    def _trim(self) -> None:
        if self.max_pending is not None and len(self._pending) > self.max_pending:
            drop = len(self._pending) - self.max_pending
            del self._pending[:drop]
            self.dropped += drop

    def _hook_exit(self) -> None:
        """Pending rows get a last chance at interpreter exit. The hook holds the log alive
        while rows are pending, so dropping the log does not drop them; it is removed once
        they are written."""
        if self._exit_hook is not None:
            return
        self._exit_hook = self._at_exit
        atexit.register(self._at_exit)

    def _at_exit(self) -> None:
        if self._pending:
            self.close()

    def _unhook_exit(self) -> None:
        hook, self._exit_hook = self._exit_hook, None
        if hook is not None:
            atexit.unregister(hook)


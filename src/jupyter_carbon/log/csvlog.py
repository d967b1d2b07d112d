"""Append-only CSV logs that several kernels can share and that never lose or clobber a row.

Each append opens the file in append mode, takes an exclusive lock, checks the header, writes
the whole batch with one ``write`` and closes (which releases the lock). Opening per write
costs tens of microseconds and means a file that was moved, deleted or replaced between cells
is simply picked up again; nothing is held open for the life of the kernel.
"""
from __future__ import annotations

import csv
import io
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from .schema import COLUMNS, fmt

__all__ = ["SAMPLE_COLUMNS", "CsvLog", "SamplesLog", "log_path_for", "read_log", "user_data_dir"]

APP = "jupyter-carbon"
SAMPLE_COLUMNS = ("timestamp", "session_id", "execution_count", "elapsed_s",
                  "cpu_power", "gpu_power", "ram_power", "total_power")

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _LOCK_AT = 2**31 - 2  # lock a byte far past the data so readers are never blocked

    def _lock(fd: int) -> None:
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, _LOCK_AT, os.SEEK_SET)
        try:
            for attempt in range(6):  # LK_LOCK itself retries for ~10 s
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    if attempt == 5:
                        raise
        finally:
            os.lseek(fd, pos, os.SEEK_SET)

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_AT, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

_O_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def user_data_dir() -> Path:
    """Where rows go when the notebook's directory is not writable (no platformdirs needed)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    elif sys.platform == "darwin":
        base = os.path.join(os.path.expanduser("~"), "Library", "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / APP


def _suffixed(path: Path, n: int) -> Path:
    """``a.carbon.csv`` -> ``a.carbon-2.csv``; any other ``x.csv`` -> ``x-2.csv``."""
    name = path.name
    if n <= 1:
        return path
    for ext in (".carbon.csv", ".csv"):
        if name.endswith(ext):
            return path.with_name(f"{name[:-len(ext)]}{ext[:-4]}-{n}.csv")
    return path.with_name(f"{name}-{n}")


def _encode(rows: Iterable[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


class _HeaderMismatch(Exception):
    pass


class CsvLog:
    """The per-notebook cell log: ``append(row)`` writes one flushed line under a lock.

    Never raises into the caller: a foreign header moves rows to ``<name>-2.csv`` (the first
    free or compatible suffix), an unwritable directory moves them to ``fallback_dir`` (default
    ``user_data_dir()``), and if that fails too the rows wait in memory for the next append.
    Each such event is reported once through ``announce``.
    """

    def __init__(self, path, columns: Sequence[str] = COLUMNS, *, fallback_dir=None,
                 announce: Callable[[str], object] | None = print, fsync: bool = False,
                 max_pending: int | None = None):
        self.requested = Path(path)
        self.columns = tuple(columns)
        self.fallback_dir = Path(fallback_dir) if fallback_dir is not None else None
        self.fsync = fsync
        self.max_pending = max_pending  # None: keep every row (the cell log's promise)
        self._announce = announce
        self._announced: set[str] = set()
        self._header = _encode([self.columns])
        self._dir_idx = 0  # 0: the requested directory, 1: the fallback directory
        self._n = 1  # suffix number within the directory
        self._ino: tuple[int, int] | None = None  # (dev, ino) whose header we checked
        self._pending: list[bytes] = []
        self._mutex = threading.Lock()  # the sampler's flush and the cell's append may overlap
        self.dropped = 0

    # -- public -------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """Where the next row goes (after any foreign-header or fallback switch)."""
        return _suffixed(self._dir() / self.requested.name, self._n)

    @property
    def pending(self) -> int:
        """Rows kept in memory because no location could be written."""
        return len(self._pending)

    def append(self, row: dict) -> bool:
        """Write one row (missing keys are empty). True when it (and any backlog) reached disk."""
        try:
            line = _encode([[v if isinstance(v, str) else fmt(v) for v in map(row.get, self.columns)]])
        except Exception as exc:  # a row we cannot even format: say so, keep going
            self._say("encode", f"jupyter-carbon: could not format a log row ({exc!r})")
            return False
        return self._write_lines([line])

    def flush(self) -> bool:
        """Retry rows kept in memory; True when nothing is pending."""
        return self._write_lines([])

    def open(self) -> bool:
        """Create the file with its header now (or find the fallback), so that ``path`` is
        where rows will really go before the first row is written."""
        with self._mutex:
            return self._write_locked([], create=True)

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
            pass

    def _write_lines(self, lines: list[bytes]) -> bool:
        with self._mutex:
            return self._write_locked(lines)

    def _write_locked(self, lines: list[bytes], create: bool = False) -> bool:
        self._pending.extend(lines)
        if not self._pending and not create:
            return True
        data = b"".join(self._pending)
        foreign: Path | None = None
        unwritable: tuple[Path, str] | None = None
        for _ in range(64):  # bounded: suffixes and directories are finite
            try:
                self._write_once(data)
            except _HeaderMismatch:
                foreign = foreign or self.path
                self._n, self._ino = self._n + 1, None
                continue
            except OSError as exc:
                reason = exc.strerror or str(exc)
                if self._dir_idx == 0:
                    unwritable = (self.path, reason)
                    self._dir_idx, self._n, self._ino = 1, 1, None
                    continue
                where = f"{unwritable[0]} ({unwritable[1]}) nor " if unwritable else ""
                self._say("memory", f"jupyter-carbon: cannot write {where}{self.path} ({reason}); "
                                    "keeping rows in memory and retrying at the next cell")
                self._dir_idx, self._n, self._ino = 0, 1, None  # next time, from the top
                break
            except Exception as exc:  # never into the caller
                self._say("error", f"jupyter-carbon: log write failed ({exc!r}); rows kept in memory")
                break
            self._pending.clear()
            if unwritable:
                self._say("fallback", f"jupyter-carbon: cannot write {unwritable[0]} ({unwritable[1]}); "
                                      f"logging to {self.path} instead")
            elif foreign:
                self._say("header", f"jupyter-carbon: {foreign} has a different header and is left "
                                    f"as it is; logging to {self.path}")
            return True
        self._trim()
        return False

    def _trim(self) -> None:
        if self.max_pending is not None and len(self._pending) > self.max_pending:
            drop = len(self._pending) - self.max_pending
            del self._pending[:drop]
            self.dropped += drop

    def _write_once(self, data: bytes) -> None:
        path = self.path
        if self._dir_idx == 1:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, _O_FLAGS, 0o666)
        try:
            _lock(fd)
            st = os.fstat(fd)
            if st.st_size == 0:
                data = self._header + data
            else:
                if (st.st_dev, st.st_ino) != self._ino and not self._header_ok(fd):
                    raise _HeaderMismatch
                if _read_at(fd, 1, st.st_size - 1) != b"\n":  # a hand-edited last line
                    data = b"\n" + data
            self._ino = (st.st_dev, st.st_ino)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)  # also releases the lock

    def _header_ok(self, fd: int) -> bool:
        n = len(self._header)
        return _read_at(fd, n + 1, 0).replace(b"\r\n", b"\n")[:n] == self._header


def _read_at(fd: int, n: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    pos = os.lseek(fd, 0, os.SEEK_CUR)  # pragma: no cover - Windows
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, n)
    finally:
        os.lseek(fd, pos, os.SEEK_SET)


class SamplesLog(CsvLog):
    """``<notebook>.carbon-samples.csv``: the sampler's watts, buffered and written in batches.

    ``add`` only appends to a list (it runs on the sampler's schedule); ``flush`` writes the
    batch with the cell log's locking. A row is a dict keyed by column name; ``timestamp``
    may be a UTC datetime or epoch seconds; missing keys are written empty. If nothing can be
    written, at most ``max_pending`` samples are kept, so a day-long session stays bounded.
    """

    def __init__(self, path, components: Sequence[str] = ("cpu", "gpu", "ram"),
                 devices: Sequence[str] = (), *, fallback_dir=None,
                 announce: Callable[[str], object] | None = print, max_pending: int = 100_000):
        comps = dict.fromkeys(c for c in ("cpu", "gpu", "ram") if c in components)  # stable order,
        comps.update(dict.fromkeys(components))  # one column per component however many devices
        cols = list(SAMPLE_COLUMNS[:4]) + [f"{c}_power" for c in comps] + ["total_power"]
        cols += [f"{_slug(d)}_power" for d in devices]
        super().__init__(path, cols, fallback_dir=fallback_dir, announce=announce,
                         max_pending=max_pending)
        self._rows: list[dict] = []

    def add(self, sample_row: dict) -> None:
        self._rows.append(sample_row)

    def __len__(self) -> int:
        return len(self._rows)

    def flush(self) -> bool:
        rows, self._rows = self._rows, []
        try:  # one bytes object per sample, so that a bounded backlog drops whole samples
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            cols = self.columns
            lines = []
            for r in rows:
                w.writerow([_sample_value(c, r.get(c)) for c in cols])
                lines.append(buf.getvalue().encode("utf-8"))
                buf.seek(0)
                buf.truncate()
        except Exception as exc:
            self._say("encode", f"jupyter-carbon: could not format samples ({exc!r})")
            return False
        return self._write_lines(lines)


def _sample_value(col: str, v) -> str:
    if col == "timestamp" and isinstance(v, (int, float)) and not isinstance(v, bool):
        v = datetime.fromtimestamp(v, timezone.utc)  # epoch seconds: %.7g would drop the time
    return fmt(v)


def _slug(name: str) -> str:
    """A device name made safe as a column stem: ``NVIDIA H100 #1`` -> ``nvidia_h100_1``."""
    out = "".join(ch if ch.isalnum() else "_" for ch in str(name).strip().lower())
    return "_".join(p for p in out.split("_") if p) or "device"


def log_path_for(path) -> Path:
    """A notebook path maps to its log (``x.ipynb`` -> ``x.carbon.csv``); a CSV maps to itself."""
    p = Path(path)
    if p.suffix.lower() == ".ipynb":
        base = p.with_name(p.stem + ".carbon.csv")
        # A foreign file there means our rows went to the first suffixed file with our header.
        header = _encode([COLUMNS])
        for n in range(1, 64):
            cand = _suffixed(base, n)
            try:
                with open(cand, "rb") as f:
                    if f.read(len(header) + 1).replace(b"\r\n", b"\n")[:len(header)] == header:
                        return cand
            except OSError:
                break
        return base
    return p


_FLOAT_COLS = {"duration", "emissions", "emissions_rate", "energy_consumed", "ram_total_size",
               "pue", "intensity", "energy_above_idle", "elapsed_s"}
_INT_COLS = {"cpu_count", "gpu_count", "execution_count"}
_TIME_COLS = {"timestamp", "started_at", "ended_at"}


def read_log(path):
    """A jupyter-carbon CSV (or a notebook's, given the ``.ipynb``) as a typed DataFrame.

    floats for quantities, ``Int64`` for counts, ``datetime64[ns, UTC]`` for times,
    ``boolean`` for ``*_measured``, ``string`` for text; empty cells are missing values.
    """
    import pandas as pd

    df = pd.read_csv(log_path_for(path), dtype=str, keep_default_na=False, na_values=[""])
    for col in df.columns:
        s = df[col]
        if col in _FLOAT_COLS or col.endswith(("_power", "_energy")):
            df[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif col in _INT_COLS:
            df[col] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        elif col in _TIME_COLS:
            df[col] = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce").astype("datetime64[ns, UTC]")
        elif col.endswith("_measured"):
            df[col] = s.str.lower().map({"true": True, "false": False}).astype("boolean")
        else:
            df[col] = s.astype("string")
    return df

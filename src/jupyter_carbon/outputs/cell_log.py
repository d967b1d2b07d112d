"""The per-cell CSV: one row per ended cell, written and flushed at the cell end."""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..events import CellEnded, Event, MeterStarted, SettingsChanged
from ..log.csvlog import CsvLog
from ..log.paths import log_paths, samples_path_for
from ..log.schema import CellInfo, HostInfo, fmt, make_row
from ..session import CarbonSession

log = logging.getLogger(__name__)

RETRY_S = 5.0
LATE_WAIT_S = 3.0  # at close, what rows waiting for a late part may wait in all


def configured_paths(session: CarbonSession) -> tuple[Path, Path, str | None]:
    """(cell log, samples log, a note to say once): the ``log`` setting, else beside the
    notebook (or ``jupyter-carbon-<kernel>.csv`` in the working directory)."""
    configured = session.settings["log"]
    if configured:
        csv_path = Path(os.path.expanduser(configured))
        return csv_path, samples_path_for(csv_path), None
    return log_paths(session.notebook, session.kernel_id, Path.cwd())


class CellLog:
    def __init__(self, session: CarbonSession):
        self.session = session
        self.log: CsvLog
        self._host: HostInfo | None = None
        self._follower: Any = None
        self._late: set[LateRow] = set()  # rows waiting for their late parts
        if session.kernel_id and not session.settings["log"]:
            from ..log.follow import NotebookFollower

            self._follower = NotebookFollower(session.kernel_id)
        self._open()
        atexit.register(self.finish_late)  # before the CSV's own exit hook (atexit is LIFO)
        session.subscribe(self.handle, events=(CellEnded, MeterStarted, SettingsChanged))
        session.add_chore(self.retry, RETRY_S)  # a row kept pending (a lock held elsewhere)

    @property
    def path(self) -> Path:
        return self.log.path

    def _open(self) -> None:
        s = self.session
        csv_path, _samples, note = configured_paths(s)
        if note:
            s.say_once(note)
        old = getattr(self, "log", None)
        if old is not None:
            old.move_to(csv_path)  # pending rows follow; the old file is kept as it is
            return
        self.log = CsvLog(csv_path, announce=s.say_once)
        self.log.open()  # the status line then names the file rows really go to

    def host(self) -> HostInfo:
        if self._host is None:
            meter = self.session.meter
            self._host = HostInfo.collect(meter.sensors if meter else (), self.session.settings["tracking_mode"])
        return self._host

    def handle(self, event: Event) -> None:
        if isinstance(event, CellEnded):
            self.write(event)
            self._follow_rename()
        elif isinstance(event, MeterStarted):
            self._host = None  # other sensors (a sensor setting changed)
        elif isinstance(event, SettingsChanged) and event.name in ("log", "notebook"):
            self._open()

    def _follow_rename(self) -> None:
        """A renamed notebook: later rows go beside its new name (the old file is kept)."""
        f = self._follower
        if f is None or self.session.settings["log"]:
            return
        try:
            new = f.renamed(self.session.notebook)
        except Exception:
            log.debug("rename check failed", exc_info=True)
            return
        if new is not None:
            self.session.notebook_renamed(new)

    def write(self, event: CellEnded) -> None:
        s, rec = self.session, event.record
        try:
            before = rec.between
            info = CellInfo(str(s.notebook) if s.notebook else "", s.session_id, rec.execution_count,
                            rec.cell_id or "", rec.label or "", rec.status, s.settings["project_name"],
                            s.run_id, before.energy_kwh if before is not None else None,
                            before.embodied_kg if before is not None else None)
            row = make_row(rec.measurement, info, self.host())
        except Exception as exc:  # the log must never break the user's cell
            log.debug("making the cell row failed", exc_info=True)
            s.say_once(f"could not write the carbon log row: {exc}")
            return
        if rec.late:  # parts completed after the cell (a cluster's energy): written then
            late = LateRow(self, row, rec)
            self._late.add(late)
            late.wait()
        else:
            self.append(row)

    def append(self, row: dict[str, str]) -> None:
        try:
            self.log.append(row)
        except Exception as exc:
            log.debug("writing the cell row failed", exc_info=True)
            self.session.say_once(f"could not write the carbon log row: {exc}")

    def retry(self) -> None:
        """Write rows left pending (the sampler's chore: never on the user's thread)."""
        self.log.retry_pending()

    def finish_late(self, wait_s: float = LATE_WAIT_S) -> None:
        """Write every row still waiting for a late part, waiting at most ``wait_s`` in all
        (at close and at interpreter exit): no row is lost for a part that did not come."""
        deadline = time.monotonic() + wait_s
        for late in list(self._late):
            for fut in list(late.record.late):
                try:
                    fut.result(timeout=max(deadline - time.monotonic(), 0.0))
                except Exception:
                    log.debug("a late part did not complete in time", exc_info=True)
            late.write()

    def close(self) -> None:
        self.finish_late()
        atexit.unregister(self.finish_late)
        self.session.remove_chore(self.retry)
        self.session.unsubscribe(self.handle)
        try:
            self.log.close()
        except Exception:
            log.debug("closing the cell log failed", exc_info=True)


class LateRow:
    """A row written when every late part of its record has completed (on the thread that
    completes the last one), or at close with the parts that did; a part that failed leaves
    the row as it was, logged."""

    def __init__(self, out: CellLog, row: dict[str, str], record: Any):
        self.out, self.row, self.record = out, row, record
        self._left = len(record.late)
        self._lock = threading.Lock()
        self._written = False

    def wait(self) -> None:
        for fut in list(self.record.late):
            fut.add_done_callback(self._done)

    def _done(self, _fut: Any) -> None:
        with self._lock:
            self._left -= 1
            if self._left:
                return
        self.write()

    def write(self) -> None:
        with self._lock:
            if self._written:
                return
            self._written = True
        row: dict[str, Any] = dict(self.row)
        for fut in self.record.late:
            if not fut.done():
                continue
            try:
                row = fut.result()(row, self.record)
            except Exception:
                log.debug("a late part of a row failed", exc_info=True)
        self.out.append({k: fmt(v) for k, v in row.items()})
        self.out._late.discard(self)

"""The per-cell CSV: one row per ended cell, written and flushed at the cell end."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..events import CellEnded, Event, MeterStarted, SettingsChanged
from ..log.csvlog import CsvLog
from ..log.paths import log_paths
from ..log.schema import CellInfo, HostInfo, make_row
from ..session import CarbonSession

log = logging.getLogger(__name__)

RETRY_S = 5.0


def configured_paths(session: CarbonSession) -> tuple[Path, Path, str | None]:
    """(cell log, samples log, a note to say once): the ``log`` setting, else beside the
    notebook (or ``jupyter-carbon-<kernel>.csv`` in the working directory)."""
    configured = session.settings["log"]
    if configured:
        csv_path = Path(os.path.expanduser(configured))
        return csv_path, csv_path.with_name(csv_path.name.replace(".csv", "") + "-samples.csv"), None
    return log_paths(session.notebook, session.kernel_id, Path.cwd())


class CellLog:
    def __init__(self, session: CarbonSession):
        self.session = session
        self.log: CsvLog
        self._host: HostInfo | None = None
        self._follower: Any = None
        if session.kernel_id and not session.settings["log"]:
            from ..log.follow import NotebookFollower

            self._follower = NotebookFollower(session.kernel_id)
        self._open()
        session.subscribe(self.handle)
        session.add_chore(self.retry, RETRY_S)  # a row kept pending (a lock held elsewhere)

    @property
    def path(self) -> Path:
        return self.log.path

    def _open(self) -> None:
        s = self.session
        csv_path, _samples, note = configured_paths(s)
        if note:
            s.say_once(note)
        self.log = CsvLog(csv_path, announce=s.say_once)
        self.log.open()  # the status line then names the file rows really go to

    def host(self) -> HostInfo:
        if self._host is None:
            from ..hardware.cpuinfo import cpu_model_name

            meter = self.session.meter
            self._host = HostInfo.collect(meter.sensors if meter else (), self.session.settings["tracking_mode"],
                                          cpu_model_name())
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
            info = CellInfo(str(s.notebook) if s.notebook else "", s.session_id, rec.execution_count,
                            rec.cell_id or "", rec.label or "", rec.status, s.settings["project_name"],
                            s.run_id)
            self.log.append(make_row(rec.measurement, info, self.host()))
        except Exception as exc:  # the log must never break the user's cell
            log.debug("writing the cell row failed", exc_info=True)
            s.say_once(f"could not write the carbon log row: {exc}")

    def retry(self) -> None:
        """Write rows left pending (the sampler's chore: never on the user's thread)."""
        self.log.retry_pending()

    def close(self) -> None:
        self.session.remove_chore(self.retry)
        self.session.unsubscribe(self.handle)
        try:
            self.log.close()
        except Exception:
            log.debug("closing the cell log failed", exc_info=True)

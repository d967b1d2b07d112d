"""The samples CSV: the sampler's watts per component, written once a minute (and when a
meter stops, and at interpreter exit) from the sampler's ring buffer, so the ticks in
between do nothing for it. Each sample carries the count of the cell it fell in."""
from __future__ import annotations

import atexit
import logging
import math
import threading
from collections import deque
from typing import Any

from ..engine.meter import Meter
from ..engine.sample import Sample
from ..events import CellEnded, CellStarted, Event, MeterStarted, MeterStopping, SettingsChanged
from ..log.samples import SamplesLog, _slug
from ..session import CarbonSession
from .cell_log import configured_paths

log = logging.getLogger(__name__)

BATCH_S = 60.0


class SamplesOutput:
    def __init__(self, session: CarbonSession):
        self.session = session
        self.log: SamplesLog | None = None
        self._flushed_mono = -math.inf  # samples up to here are in the log
        self._lock = threading.Lock()  # one batch writer at a time; nobody waits on it
        # [start, end, execution count] of recent cells; pruned at each batch
        self._spans: deque[list] = deque(maxlen=1024)
        self._t0: float | None = None
        session.subscribe(self.handle, events=(CellStarted, CellEnded, MeterStopping, MeterStarted, SettingsChanged))
        session.add_chore(self.flush, BATCH_S)
        atexit.register(self.flush)  # the kernel's last batch
        if session.meter is not None:
            self._open(session.meter)

    def _open(self, meter: Meter) -> None:
        s = self.session
        if not s.settings["samples"]:
            self.log = None
            return
        _csv, path, _note = configured_paths(s)
        if self.log is not None:
            self.log.close()  # a final bounded attempt at what the old file kept pending
        sensors = meter.sensors
        self.log = SamplesLog(path, [x.component for x in sensors],
                              [x.name for x in sensors if x.component == "gpu"], announce=s.say_once)
        self._t0 = meter.clock()
        self._flushed_mono = -math.inf

    def handle(self, event: Event) -> None:
        if isinstance(event, CellStarted):
            self._spans.append([event.cell.window.start.mono, math.inf, event.cell.execution_count])
        elif isinstance(event, CellEnded):
            span, start = (self._spans[-1] if self._spans else None), event.cell.window.start.mono
            if span is not None and span[0] == start:  # the post hook's count wins
                span[1], span[2] = start + event.record.duration_s, event.record.execution_count
        elif isinstance(event, MeterStopping):
            self.flush(event.meter)
        elif isinstance(event, MeterStarted):
            self._open(event.meter)
        elif isinstance(event, SettingsChanged) and event.name in ("log", "samples", "notebook"):
            self.flush()
            if self.session.meter is not None:
                self._open(self.session.meter)

    def flush(self, meter: Meter | None = None) -> None:
        """Write the samples taken since the last batch (a sampler chore; never waits)."""
        meter = meter or self.session.meter
        sl = self.log
        if sl is None or meter is None or not self._lock.acquire(blocking=False):
            return
        try:
            samples = meter.sampler.samples_after(self._flushed_mono)
            if not samples:
                return
            samples.reverse()
            self._flushed_mono = samples[-1].mono
            spans, j = list(self._spans), 0
            for sample in samples:
                while j < len(spans) and spans[j][1] < sample.mono:
                    j += 1
                count = spans[j][2] if j < len(spans) and spans[j][0] <= sample.mono else None
                sl.add(self._row(meter, sample, count))
            while self._spans and self._spans[0][1] < self._flushed_mono:
                self._spans.popleft()
            sl.flush()
        except Exception as exc:
            log.debug("writing the samples log failed", exc_info=True)
            self.session.say_once(f"could not write the samples log: {exc}")
        finally:
            self._lock.release()

    def _row(self, meter: Meter, sample: Sample, count: int | None) -> dict[str, Any]:
        row: dict[str, Any] = {"timestamp": sample.wall, "session_id": self.session.session_id,
                               "elapsed_s": sample.mono - (self._t0 or 0.0), "execution_count": count}
        total = 0.0
        for ch, w in zip(meter.channels, sample.watts):
            comp = ch.sensor.component
            if ch.failed:  # unknown, not 0 W
                row.setdefault(f"{comp}_power", None)
                continue
            key = f"{comp}_power"
            row[key] = (row.get(key) or 0.0) + w
            total += w
            if comp == "gpu":
                row[f"{_slug(ch.sensor.name)}_power"] = w
        row["total_power"] = total
        return row

    def close(self) -> None:
        self.flush()
        if self.log is not None:
            self.log.close()
        atexit.unregister(self.flush)
        self.session.remove_chore(self.flush)
        self.session.unsubscribe(self.handle)

"""The samples CSV: the sampler's watts per component, written once a minute (and when a
meter stops, and at interpreter exit) from the sampler's ring buffer, so the ticks in
between do nothing for it. Each sample carries the count of the cell it fell in."""
from __future__ import annotations

import atexit
import logging
import math
import threading
from collections import deque

from ..engine.meter import Meter
from ..engine.sample import Sample
from ..events import CellEnded, CellStarted, Event, MeterStarted, MeterStopping, SettingsChanged
from ..log.samples import FIRST_POWER_COLUMN, SamplesLog, _slug, sample_texts
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
        #: (meter, total_power's index, per channel: its component's index and its own or None)
        #: among the log's power columns; made when a meter's first batch is written.
        self._plan: tuple[Meter, int, list[tuple[int, int | None]]] | None = None
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
        self._plan = None
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
                sl.add_texts(sample_texts(sample.wall, self.session.session_id, count,
                                          sample.mono - (self._t0 or 0.0), self._watts(sl, meter, sample)))
            while self._spans and self._spans[0][1] < self._flushed_mono:
                self._spans.popleft()
            sl.flush()
        except Exception as exc:
            log.debug("writing the samples log failed", exc_info=True)
            self.session.say_once(f"could not write the samples log: {exc}")
        finally:
            self._lock.release()

    def _columns(self, samples_log: SamplesLog, meter: Meter) -> tuple[int, list[tuple[int, int | None]]]:
        """Where ``meter``'s watts go among the log's power columns (the components', then
        total_power, then one per GPU); ValueError if the meter does not fit the log."""
        if self._plan is None or self._plan[0] is not meter:
            power = samples_log.columns[FIRST_POWER_COLUMN:]
            self._plan = (meter, power.index("total_power"), [
                (power.index(f"{ch.sensor.component}_power"),
                 power.index(f"{_slug(ch.sensor.name)}_power") if ch.sensor.component == "gpu" else None)
                for ch in meter.channels])
        return self._plan[1], self._plan[2]

    def _watts(self, samples_log: SamplesLog, meter: Meter, sample: Sample) -> list[float | None]:
        """The power columns of one sample: each component's sum, the total, each GPU's own.
        A channel that had failed when the sample was taken adds nothing: a component whose
        every device had failed is unknown, not 0 W."""
        total_at, plan = self._columns(samples_log, meter)
        watts: list[float | None] = [None] * (len(samples_log.columns) - FIRST_POWER_COLUMN)
        total = 0.0
        for (comp, own), ch, w in zip(plan, meter.channels, sample.watts):
            last = ch.last_read_at
            if ch.failed is not None and (last is None or sample.mono > last):
                continue
            watts[comp] = (watts[comp] or 0.0) + w
            total += w
            if own is not None:
                watts[own] = w
        watts[total_at] = total
        return watts

    def close(self) -> None:
        self.flush()
        if self.log is not None:
            self.log.close()
        atexit.unregister(self.flush)
        self.session.remove_chore(self.flush)
        self.session.unsubscribe(self.handle)

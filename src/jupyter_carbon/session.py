"""One kernel's tracking state, coordinated: settings, the meter's lifecycle, the running
cell's window and the totals. It emits typed events (``events.py``) and knows no output:
the CSV, the samples log, the summary printer and the widget are subscribers.

Everything on the per-cell path is cheap and never raises into the user's cell.
"""
from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .announce import Announcer
from .cells import BetweenCells, CellOptions, CellRecord, RunningCell, Totals
from .config import SENSOR_OPTIONS, Settings
from .engine.meter import Meter
from .engine.sample import Sample
from .engine.window import Window
from .events import (CellEnded, CellEnding, CellStarted, Event, MeterStarted, MeterStopping, SessionClosing,
                     SettingsChanged, Subscribers)
from .intensity.model import Intensity
from .intensity.policy import IntensityPolicy
from .measurement import Measurement
from .sensors.discover import SensorSetup

log = logging.getLogger(__name__)

HISTORY = 50

#: Builds the meter (and says which sensors it found) from the settings.
MeterFactory = Callable[[Settings], tuple[Meter, SensorSetup]]


class CarbonSession:
    def __init__(self, settings: Settings, make_meter: MeterFactory, *, notebook: Path | None = None,
                 kernel_id: str | None = None, announce: Callable[[str], None] = print):
        self.settings = settings
        self.make_meter = make_meter
        self.notebook = notebook
        self.kernel_id = kernel_id
        self.session_id = uuid.uuid4().hex[:12]
        self.run_id = str(uuid.uuid4())
        self.announcer = Announcer(announce)
        self.policy = IntensityPolicy(settings, self.say_once)
        self.current: RunningCell | None = None
        self.totals = Totals()
        self.history: deque[CellRecord] = deque(maxlen=HISTORY)
        #: Live figures of the running cell that subscribers add (``cluster_w``: the cluster's
        #: watts), read by live views; each returns a number or None, without I/O.
        self.running_extras: dict[str, Callable[[], float | None]] = {}
        self.paused = False
        self.closed = False
        self.baseline_w: dict[str, float] | None = None
        self.subscribers = Subscribers()
        self._chores: list[tuple[Callable[[], None], float]] = []
        self._told_failed: set[int] = set()
        self._rebuild_pending = False
        self.meter: Meter | None = None
        self.setup: SensorSetup | None = None
        self._between: Window | None = None  # from the last cell's end to the next one's start
        self._embodied: Any = False  # False: not built yet; None: off

    # --- the meter's lifecycle -----------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.meter is not None

    def start(self) -> CarbonSession:
        """Discover the sensors and start the sampler (again, after ``stop``)."""
        if self.meter is not None:
            return self
        self.meter, self.setup = self.make_meter(self.settings)
        self.meter.baseline_w = self.baseline_w
        for fn, every in self._chores:
            self.meter.sampler.add_chore(fn, every)
        self._listen_to_samples()
        self.meter.start()
        self._told_failed.clear()
        for msg in self.setup.messages:
            self.say_once(msg)
        self.subscribers.emit(MeterStarted(self.meter))
        return self

    def stop(self) -> None:
        """Stop the sampler and release the sensors; settings, totals and history stay."""
        meter, setup = self.meter, self.setup
        if meter is None:
            return
        self.current = None
        self._between = None
        self._embodied = False
        self.subscribers.emit(MeterStopping(meter))
        meter.sampler.remove_listener(self.subscribers.emit_sample)
        meter.close()
        if setup is not None:
            setup.close()
        self.meter = None

    def close(self) -> None:
        if self.closed:
            return
        self.stop()
        self.subscribers.emit(SessionClosing())
        self.policy.close()
        self.closed = True
        self.subscribers.clear()

    def measure_baseline(self, seconds: float) -> dict[str, float]:
        meter = self._meter()
        self.baseline_w = meter.measure_baseline(seconds)
        return self.baseline_w

    def add_chore(self, fn: Callable[[], None], every_s: float) -> None:
        """Run ``fn`` on the sampler thread every ``every_s`` s, across meter rebuilds."""
        self._chores.append((fn, every_s))
        if self.meter is not None:
            self.meter.sampler.add_chore(fn, every_s)

    def remove_chore(self, fn: Callable[[], None]) -> None:
        self._chores = [(f, e) for f, e in self._chores if f != fn]
        if self.meter is not None:
            self.meter.sampler.remove_chore(fn)

    def _meter(self) -> Meter:
        if self.meter is None:
            raise RuntimeError("jupyter-carbon is off")
        return self.meter

    # --- intensity -------------------------------------------------------------------------
    def intensity_for(self, opts: CellOptions | None = None) -> Intensity:
        return self.policy.for_cell(opts)

    def pue_for(self, opts: CellOptions | None = None) -> float:
        return self.policy.pue_for(opts)

    @property
    def intensity(self) -> Intensity:
        return self.intensity_for(self.current.options if self.current else None)

    @property
    def pue(self) -> float:
        return self.pue_for(self.current.options if self.current else None)

    # --- cells -------------------------------------------------------------------------------
    def begin_cell(self, execution_count: int | None, cell_id: str | None,
                   force: bool = False) -> RunningCell | None:
        if self.meter is None or (self.paused and not force):
            self.current = None
            self._between = None  # an unmeasured cell: the next row's "before" starts after it
            return None
        edge = self.meter.edge()
        between, self._between = self._between, None
        before = None
        if between is not None:
            try:
                span = between.span(edge)
                before = BetweenCells.of(span, self.intensity, self.pue, self._embodied_kg(span.duration_s, span.shares))
            except Exception:
                log.debug("between-cells window failed", exc_info=True)
        self.current = RunningCell(self.meter.begin(start=edge), execution_count, cell_id, between=before)
        self.subscribers.emit(CellStarted(self.current))
        return self.current

    def end_cell(self, status: str) -> CellRecord | None:
        cell, self.current = self.current, None
        if cell is None:
            return None
        opts = cell.options
        cell.window.label = opts.label
        energy = cell.window.end()
        m = Measurement.of(energy, self.intensity_for(opts), self.pue_for(opts),
                           self._embodied_kg(energy.duration_s, energy.shares))
        rec = CellRecord(cell.execution_count, cell.cell_id, opts.label, status, m, between=cell.between)
        self.totals.add(m, cell.between)
        if self.meter is not None and cell.window.end_edge is not None:
            self._between = self.meter.begin("between cells", start=cell.window.end_edge)
        self.history.append(rec)
        self.subscribers.emit(CellEnding(rec))
        self.subscribers.emit(CellEnded(rec, cell))
        self._tell_failures()
        self.announcer.flush()
        if self._rebuild_pending:
            self._rebuild_pending = False
            self.stop()
            self.baseline_w = None  # other sensors: the old idle baseline no longer applies
            self.start()
        return rec

    # --- embodied emissions ----------------------------------------------------------------
    def _embodied_kg(self, duration_s: float, shares: dict[str, Any] | None) -> float | None:
        emb = self._embodied_model()
        if emb is None:
            return None
        return emb.window_kg(duration_s, shares, emb.hardware.gpus)

    def _embodied_model(self) -> Any:
        if self._embodied is False:
            from .attribution.embodied import from_setting

            gpus = sum(1 for c in (self.meter.channels if self.meter else ()) if c.sensor.component == "gpu")
            self._embodied = from_setting(self.settings["embodied"], gpus)
        return self._embodied

    def _tell_failures(self) -> None:
        """A sensor that failed is said once, at the cell end after it failed."""
        if self.meter is None:
            return
        for i, ch in enumerate(self.meter.channels):
            if ch.failed and i not in self._told_failed:
                self._told_failed.add(i)
                s = ch.sensor
                self.say_once(f"{s.component} sensor {s.name!r} ({s.method}) failed: {ch.failed}; "
                              f"its energy is left empty from now on (the other sensors carry on)")

    def running_figures(self, sample: Sample | None = None) -> tuple[float, float, float, float] | None:
        """(seconds, device joules, g CO₂e/kWh, PUE) of the running cell, or None: the live
        views' figures, without building a Measurement."""
        cell = self.current
        if cell is None:
            return None
        seconds, joules = cell.window.so_far(sample)
        return seconds, joules, self.intensity_for(cell.options).g_per_kwh, self.pue_for(cell.options)

    def running_measurement(self, sample: Sample | None = None) -> Measurement | None:
        cell = self.current
        if cell is None:
            return None
        return Measurement.of(cell.window.peek(sample), self.intensity_for(cell.options),
                              self.pue_for(cell.options))

    # --- settings ------------------------------------------------------------------------------
    def configure(self, key: str, raw: Any) -> Any:
        value = self.settings.set(key, raw)
        self._apply(key)
        return value

    def reset(self, key: str) -> None:
        self.settings.reset(key)
        self._apply(key)

    def notebook_renamed(self, path: Path) -> None:
        """The notebook was renamed: outputs that follow it move with it."""
        self.notebook = path
        self.subscribers.emit(SettingsChanged("notebook"))

    def _apply(self, key: str) -> None:
        if key == "interval" and self.meter is not None:
            self.meter.sampler.interval = self.settings[key]
        elif key == "gpu_sync" and self.meter is not None:
            from .runtime import set_sync

            set_sync(self.meter, self.settings[key])
        elif key == "embodied":
            self._embodied = False
        elif key in SENSOR_OPTIONS:
            self._rebuild_pending = True  # applied when the current cell ends
        self.policy.changed()
        self.subscribers.emit(SettingsChanged(key))

    # --- subscribers and messages ------------------------------------------------------------
    def subscribe(self, handler: Callable[[Event], None], *, events: Iterable[type] | None = None,
                  samples: bool = False) -> None:
        """``handler(event)`` for the events of the types in ``events`` (every type when
        None); ``samples``: also ``SampleTaken`` on the sampler thread (``events.Subscribers``)."""
        self.subscribers.subscribe(handler, events=events, samples=samples)
        self._listen_to_samples()

    def unsubscribe(self, handler: Callable[[Event], None]) -> None:
        self.subscribers.unsubscribe(handler)
        self._listen_to_samples()

    def _listen_to_samples(self) -> None:
        """The sampler calls the subscribers on each sample only while one of them wants
        samples: headless, a tick ends with the sample kept, nothing called."""
        meter = self.meter
        if meter is None:
            return
        if self.subscribers.sample_handlers:
            meter.sampler.add_listener(self.subscribers.emit_sample)
        else:
            meter.sampler.remove_listener(self.subscribers.emit_sample)

    def say_once(self, message: str) -> None:
        self.announcer.say_once(message)

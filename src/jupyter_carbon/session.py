"""One kernel's tracking state: the meter, the running cell, totals, history, the logs.

The IPython hooks (``extension.py``) and magics (``magics.py``) drive it; the widget
listens to it. Everything on the per-cell path is cheap and never raises into the user's
cell: failures turn into one announced line.
"""
from __future__ import annotations

import atexit
import math
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import SENSOR_OPTIONS, Settings
from .engine.measurement import Measurement
from .engine.meter import Meter, Window
from .engine.sample import Sample
from .intensity.model import Intensity
from .log.csvlog import _slug as slug

HISTORY = 50
SAMPLES_BATCH_S = 60.0  # the samples log is written once a minute (and at unload and exit)


@dataclass
class CellOptions:
    """Per-cell overrides set by ``%%carbon`` (they win over every other layer)."""

    label: str | None = None
    country: str | None = None
    intensity: float | None = None
    pue: float | None = None


@dataclass
class RunningCell:
    window: Window
    execution_count: int | None
    cell_id: str | None
    options: CellOptions = field(default_factory=CellOptions)
    summary: bool | None = None  # %%carbon: True shows a summary at the end; False is --quiet
    live: Any = None  # the %%carbon live line, finished when the cell ends

    @property
    def label(self) -> str | None:
        return self.options.label


@dataclass(frozen=True)
class CellRecord:
    execution_count: int | None
    label: str | None
    status: str
    duration_s: float
    energy_j: float
    energy_kwh: float
    emissions_kg: float
    ended_at: datetime
    measurement: Measurement


@dataclass
class Totals:
    cells: int = 0
    energy_j: float = 0.0
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0
    duration_s: float = 0.0

    def add(self, m: Measurement) -> None:
        self.cells += 1
        self.energy_j += m.energy_j
        self.energy_kwh += m.energy_kwh
        self.emissions_kg += m.emissions_kg
        self.duration_s += m.duration_s


class CarbonSession:
    def __init__(self, settings: Settings, *, notebook: Path | None = None, kernel_id: str | None = None,
                 announce: Callable[[str], None] = print, powercap_root: str | None = None, nvml=None):
        self.settings = settings
        self.announce = announce
        self.notebook = notebook
        self.kernel_id = kernel_id
        self.session_id = uuid.uuid4().hex[:12]
        self.run_id = str(uuid.uuid4())
        self._discover_kwargs = {k: v for k, v in (("powercap_root", powercap_root), ("nvml", nvml)) if v}
        self.current: RunningCell | None = None
        self.totals = Totals()
        self.history: deque[CellRecord] = deque(maxlen=HISTORY)
        self.paused = False
        self.closed = False
        self._listeners: list[Callable[[str, Any], None]] = []
        self.samples_log = None
        self._samples_flushed_mono = -math.inf  # samples up to here are in the samples log
        self._samples_lock = threading.Lock()  # one batch writer at a time; nobody waits on it
        # [start, end, execution count] of recent cells, for the samples log; pruned at each batch
        self._cell_spans: deque[list] = deque(maxlen=1024)
        self._said: set[str] = set()
        self._deferred: list[str] = []  # said by background threads, shown at the next cell end
        self._rebuild_pending = False
        self._live = None
        self._intensity_cache: tuple | None = None
        self.meter: Meter
        self.setup = None
        self._build_meter()
        self._open_logs()
        atexit.register(self._flush_samples)  # the kernel's last batch of samples

    # --- sensors and meter -------------------------------------------------------------
    def _build_meter(self) -> None:
        from .sensors.discover import discover

        s = self.settings
        self.setup = discover(gpu=s["gpu"], cpu_tdp_w=s["cpu_tdp"], ram_w_per_gb=s["ram_w_per_gb"],
                              tracking_mode=s["tracking_mode"], **self._discover_kwargs)
        self.meter = Meter(self.setup.sensors, interval=s["interval"])
        self.meter.sampler.add_chore(self._flush_samples, SAMPLES_BATCH_S)
        self.meter.start()
        from . import runtime

        runtime.adopt(self.meter, lambda: (self.intensity_for(None), self.pue_for(None)))
        for msg in self.setup.messages:
            self.say_once(msg)

    def _rebuild_meter(self) -> None:
        old_meter, old_setup = self.meter, self.setup
        old_meter.sampler.remove_chore(self._flush_samples)
        old_meter.sampler.stop()
        self._flush_samples()  # from the old meter's buffer and channels
        old_setup.close()
        from . import runtime

        runtime.release(old_meter)
        self._build_meter()  # a fresh meter: the old idle baseline no longer applies
        self._notify("config", None)

    def close(self) -> None:
        self.closed = True
        atexit.unregister(self._flush_samples)
        self.meter.sampler.remove_chore(self._flush_samples)
        self.meter.sampler.stop()
        self.setup.close()
        from . import runtime

        runtime.release(self.meter)
        if self._live is not None:
            self._live.stop()
        self._flush_samples()

    # --- intensity ---------------------------------------------------------------------
    def intensity_for(self, opts: CellOptions | None = None) -> Intensity:
        from .intensity import resolve

        s = self.settings
        explicit = opts.intensity if opts and opts.intensity is not None else s["intensity"]
        country = opts.country if opts and opts.country else s["country"]
        key = (explicit, country, s["region"], s["live"])
        live = self._live_provider()
        if live is None and self._intensity_cache and self._intensity_cache[0] == key:
            return self._intensity_cache[1]
        value = resolve(intensity=explicit, country=country, region=s["region"], live=live)
        if live is None:
            self._intensity_cache = (key, value)
        return value

    @property
    def intensity(self) -> Intensity:
        return self.intensity_for(self.current.options if self.current else None)

    def pue_for(self, opts: CellOptions | None = None) -> float:
        return opts.pue if opts and opts.pue is not None else self.settings["pue"]

    @property
    def pue(self) -> float:
        return self.pue_for(self.current.options if self.current else None)

    def _live_provider(self):
        """The started live provider when one is configured; a bad setup is said once."""
        s = self.settings
        name = s["live"]
        want = None if name is None else (name, s["zone"] or s["country"])
        if self._live is not None and (want is None or self._live_key != want):
            self._live.stop()
            self._live = None
        if want is None or self._live is not None:
            return self._live
        from .errors import ConfigError
        from .intensity import LiveIntensity

        try:
            self._live = LiveIntensity(name, zone=want[1]).start()
            self._live_key = want
        except ConfigError as exc:
            self.say_once(f"live intensity off: {exc}")
            self.settings.reset("live")
        return self._live

    def intensity_line(self) -> str:
        """``56 gCO2e/kWh (FR from time zone Europe/Paris, table:Ember/OWID 2023)``"""
        from .intensity import describe, resolve_detailed

        s = self.settings
        try:
            r = resolve_detailed(intensity=s["intensity"], country=s["country"], region=s["region"],
                                 live=self._live_provider())
            line = describe(r.intensity, via=r.country_via)
        except Exception:
            line = describe(self.intensity)
        live = self._live
        if live is not None and live.last_error:
            line += f" · live provider: {live.last_error}"
        return line

    # --- logs --------------------------------------------------------------------------
    def _open_logs(self) -> None:
        from .log.csvlog import CsvLog, SamplesLog
        from .log.paths import log_paths
        from .log.schema import HostInfo

        configured = self.settings["log"]
        if configured:
            csv_path = Path(os.path.expanduser(configured))
            samples_path = csv_path.with_name(csv_path.name.replace(".csv", "") + "-samples.csv")
            note = None
        else:
            csv_path, samples_path, note = log_paths(self.notebook, self.kernel_id, Path.cwd())
        if note:
            self.say_once(note)
        self.log = CsvLog(csv_path, announce=self.say_once)
        self.log.open()  # the status line then names the file rows really go to
        sensors = self.meter.sensors
        self.samples_log = SamplesLog(
            samples_path, [s.component for s in sensors],
            [s.name for s in sensors if s.component == "gpu"], announce=self.say_once,
        ) if self.settings["samples"] else None
        self._t0 = self.meter.clock()
        from .hardware.cpuinfo import cpu_model_name

        self.host = HostInfo.collect(self.meter.sensors, self.settings["tracking_mode"], cpu_model_name())

    def _sample_row(self, sample: Sample, execution_count: int | None, channels) -> dict[str, Any]:
        row: dict[str, Any] = {"timestamp": sample.wall, "session_id": self.session_id,
                               "elapsed_s": sample.mono - self._t0, "execution_count": execution_count}
        total = 0.0
        for ch, w in zip(channels, sample.watts):
            comp = ch.sensor.component
            key = f"{comp}_power"
            row[key] = row.get(key, 0.0) + w
            total += w
            if comp == "gpu":
                row[f"{slug(ch.sensor.name)}_power"] = w
        row["total_power"] = total
        return row

    def _flush_samples(self) -> None:
        """Write the samples taken since the last batch, read back from the sampler's buffer.

        A sampler chore once a minute, and at unload, meter rebuild and interpreter exit: the
        ticks in between do nothing for this log. The ring buffer holds minutes of samples at
        the shortest interval, so a batch is never lost between two writes. Each sample gets
        the execution count of the cell it fell in.
        """
        sl = self.samples_log
        if sl is None or not self._samples_lock.acquire(blocking=False):
            return  # another thread is writing this batch
        try:
            samples = self.meter.sampler.samples_after(self._samples_flushed_mono)
            if not samples:
                return
            samples.reverse()
            self._samples_flushed_mono = samples[-1].mono
            spans, channels, j = list(self._cell_spans), self.meter.channels, 0
            for sample in samples:
                while j < len(spans) and spans[j][1] < sample.mono:
                    j += 1
                count = spans[j][2] if j < len(spans) and spans[j][0] <= sample.mono else None
                sl.add(self._sample_row(sample, count, channels))
            while self._cell_spans and self._cell_spans[0][1] < self._samples_flushed_mono:
                self._cell_spans.popleft()
            sl.flush()
        except Exception as exc:
            self.say_once(f"could not write the samples log: {exc}")
        finally:
            self._samples_lock.release()

    # --- cells -------------------------------------------------------------------------
    def begin_cell(self, execution_count: int | None, cell_id: str | None,
                   force: bool = False) -> RunningCell | None:
        if self.paused and not force:
            self.current = None
            return None
        self.current = RunningCell(self.meter.begin(), execution_count, cell_id)
        self._cell_spans.append([self.current.window.start.mono, math.inf, execution_count])
        self._notify("cell_start", self.current)
        return self.current

    def end_cell(self, status: str) -> CellRecord | None:
        cell, self.current = self.current, None
        if cell is None:
            return None
        opts = cell.options
        m = cell.window.end(self.intensity_for(opts), self.pue_for(opts))  # labelled by %%carbon
        span = self._cell_spans[-1] if self._cell_spans else None
        if span is not None and span[0] == cell.window.start.mono:  # the post hook's count wins
            span[1], span[2] = cell.window.start.mono + m.duration_s, cell.execution_count
        self._log_row(m, cell, status)
        rec = CellRecord(cell.execution_count, opts.label, status, m.duration_s, m.energy_j,
                         m.energy_kwh, m.emissions_kg, m.ended_at, m)
        self.totals.add(m)
        self.history.append(rec)
        self._notify("cell_end", rec)
        self._say_deferred()
        if self._rebuild_pending:
            self._rebuild_pending = False
            self._rebuild_meter()
        return rec

    def _log_row(self, m: Measurement, cell: RunningCell, status: str) -> None:
        from .log.schema import CellInfo, make_row

        try:
            info = CellInfo(str(self.notebook) if self.notebook else "", self.session_id,
                            cell.execution_count, cell.cell_id or "", cell.options.label or "", status,
                            self.settings["project_name"], self.run_id)
            self.log.append(make_row(m, info, self.host))
        except Exception as exc:  # the log must never break the user's cell
            self.say_once(f"could not write the carbon log row: {exc}")

    # --- settings changes ----------------------------------------------------------------
    def configure(self, key: str, raw) -> Any:
        value = self.settings.set(key, raw)
        self._apply(key)
        return value

    def reset(self, key: str) -> None:
        self.settings.reset(key)
        self._apply(key)

    def _apply(self, key: str) -> None:
        value = self.settings[key]
        if key == "interval":
            self.meter.sampler.interval = value
        elif key in SENSOR_OPTIONS:
            self._rebuild_pending = True  # applied when the current cell ends
        elif key == "log":
            self._flush_samples()
            self._open_logs()
        self._intensity_cache = None
        self._notify("config", None)

    # --- listeners and messages ---------------------------------------------------------
    def add_listener(self, fn: Callable[[str, Any], None]) -> None:
        if fn not in self._listeners:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[str, Any], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self, event: str, payload) -> None:
        for fn in list(self._listeners):
            try:
                fn(event, payload)
            except Exception:
                pass

    def say_once(self, message: str) -> None:
        """Announce a message once. From another thread (the sampler's samples log, the
        widget builder) it waits for the next cell end: background threads never print."""
        message = message.removeprefix("jupyter-carbon: ")
        if message in self._said:
            return
        self._said.add(message)
        if threading.current_thread() is not threading.main_thread():
            self._deferred.append(message)
            return
        self._announce(message)

    def _announce(self, message: str) -> None:
        try:
            self.announce(f"jupyter-carbon: {message}")
        except Exception:
            pass

    def _say_deferred(self) -> None:
        while self._deferred:
            self._announce(self._deferred.pop(0))

    def running_figures(self, sample: Sample | None = None) -> tuple[float, float, float, float] | None:
        """(seconds, device joules, gCO2e/kWh, PUE) of the running cell, or None: the widget's
        live figures, cheaper than ``running_measurement`` (see ``Window.so_far``)."""
        cell = self.current
        if cell is None:
            return None
        seconds, joules = cell.window.so_far(sample)
        return seconds, joules, self.intensity_for(cell.options).g_per_kwh, self.pue_for(cell.options)

    def running_measurement(self, sample: Sample | None = None) -> Measurement | None:
        cell = self.current
        if cell is None:
            return None
        return cell.window.peek(sample, self.intensity_for(cell.options), self.pue_for(cell.options))


"""The meter: a set of sensors, their channels, one sampler, and measurement windows.

Windows snapshot every channel synchronously at begin and end on the caller's thread, so
a 50 ms cell gets its exact share of a counter whatever the sampling interval; the
sampler only adds the points in between (for live views and power integration).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from ..intensity.model import WORLD_AVERAGE, Intensity
from ..sensors.base import Sensor
from .channel import Channel
from .measurement import DeviceEnergy, Measurement
from .sample import Sample
from .sampler import DEFAULT_INTERVAL_S, Sampler


class Meter:
    def __init__(self, sensors: list[Sensor], *, interval: float = DEFAULT_INTERVAL_S,
                 clock=time.perf_counter, buffer: int | None = None):
        self.sensors = list(sensors)
        self.channels = [Channel(s) for s in self.sensors]
        self.clock = clock
        self.baseline_w: dict[str, float] | None = None
        # Anchor every channel so the first window starts from a real read, and before the
        # sampler composes its tick, which integrates anchored constant channels inline.
        self.snapshot()
        self.sampler = Sampler(self, interval, **({"buffer": buffer} if buffer else {}))

    def snapshot(self, _new=tuple.__new__) -> Sample:
        wall = time.time()
        mono = self.clock()
        joules, watts = [], []
        for ch in self.channels:  # one timestamp for all: energies agree with durations
            j, w = ch.sample(mono)
            joules.append(j)
            watts.append(w)
        # Sample(...) without its Python-level __new__: this runs at both edges of every cell
        return _new(Sample, (wall, mono, tuple(joules), tuple(watts)))

    def begin(self, label: str | None = None) -> Window:
        return Window(self, label)

    def start(self) -> Meter:
        self.sampler.start()
        return self

    def close(self) -> None:
        self.sampler.stop()
        for s in self.sensors:
            try:
                s.close()
            except Exception:
                pass

    def measure_baseline(self, seconds: float) -> dict[str, float]:
        """Mean power per component over ``seconds`` of (supposedly) idle time."""
        w = self.begin("baseline")
        time.sleep(seconds)
        m = w.end()
        self.baseline_w = {c: e.power_w for c, e in m.by_component.items()}
        return self.baseline_w

    def failed(self) -> list[tuple[Sensor, str]]:
        return [(c.sensor, c.failed) for c in self.channels if c.failed]


class Window:
    """An open measurement; ``end()`` closes it, ``peek()`` reads it live without I/O."""

    __slots__ = ("meter", "label", "started_at", "start")

    def __init__(self, meter: Meter, label: str | None = None):
        self.meter = meter
        self.label = label
        self.started_at = datetime.now(timezone.utc)
        self.start = meter.snapshot()

    def end(self, intensity: Intensity = WORLD_AVERAGE, pue: float = 1.0) -> Measurement:
        return self._measure(self.meter.snapshot(), intensity, pue, datetime.now(timezone.utc))

    def peek(self, sample: Sample | None = None, intensity: Intensity = WORLD_AVERAGE,
             pue: float = 1.0) -> Measurement:
        """The window so far, from the latest sampler point (or one given): no hardware read."""
        s = sample or self.meter.sampler.latest()
        if s is None or s.mono < self.start.mono:
            s = self.start
        return self._measure(s, intensity, pue, datetime.fromtimestamp(s.wall, timezone.utc))

    def so_far(self, sample: Sample | None = None) -> tuple[float, float]:
        """(seconds, joules of every device) up to the latest sampler point (or one given).

        The two figures of ``peek(sample)`` a live view shows twice a second, without
        building a Measurement (dates, per-device records, per-component sums): on a
        sampler thread that wakes with cold caches, that cost ~100 µs a message.
        """
        s = sample or self.meter.sampler.latest()
        start = self.start
        if s is None or s.mono <= start.mono:
            return 0.0, 0.0
        joules = 0.0
        for now, then in zip(s.joules, start.joules):
            if now > then:
                joules += now - then
        return s.mono - start.mono, joules

    def _measure(self, end: Sample, intensity, pue, ended_at) -> Measurement:
        start = self.start
        dur = max(end.mono - start.mono, 0.0)
        devs = []
        for i, ch in enumerate(self.meter.channels):
            e = max(end.joules[i] - start.joules[i], 0.0)
            s = ch.sensor
            devs.append(DeviceEnergy(s.name, s.component, s.method, s.measured, e,
                                     e / dur if dur > 0 else end.watts[i], ch.failed))
        return Measurement(self.label, self.started_at, ended_at, dur, tuple(devs),
                           intensity, pue, self.meter.baseline_w)

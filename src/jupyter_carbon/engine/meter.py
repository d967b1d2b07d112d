"""The meter: a set of sensors, their channels, one sampler, and measurement windows."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from ..sensors.base import Sensor
from .channel import Channel, read_channels
from .sample import Sample
from .sampler import DEFAULT_INTERVAL_S, Sampler
from .window import Attribution, Edge, Window, take_edge

log = logging.getLogger(__name__)


class Meter:
    def __init__(self, sensors: Sequence[Sensor], *, interval: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], float] = time.perf_counter, buffer: int | None = None):
        self.sensors = list(sensors)
        self.channels = [Channel(s) for s in self.sensors]
        self.clock = clock
        self.baseline_w: dict[str, float] | None = None
        #: This kernel's share of the machine (``tracking_mode=kernel``), or None: windows
        #: then report the sensors as they are (the machine, or the process in process mode).
        self.attribution: Attribution | None = None
        #: Called before a window's end snapshot (``gpu_sync``: synchronise the GPUs the
        #: kernel initialised); returns True/False (synchronised or not), or None.
        self.sync: Callable[[], bool | None] | None = None
        self.snapshot()  # anchor every channel, so the first window starts from a real read
        self.sampler = Sampler(self.channels, clock, interval, **({"buffer": buffer} if buffer else {}))

    def snapshot(self, *, edge: bool = False) -> Sample:
        """Every channel now; ``edge``: on the user's thread, each blocking sensor within a
        small time budget (see ``engine.guard``)."""
        return read_channels(self.channels, self.clock, time.time, edge=edge)

    def latest(self) -> Sample | None:
        return self.sampler.latest()

    def begin(self, label: str | None = None, before_end: Callable[[], object] | None = None,
              start: Edge | None = None) -> Window:
        return Window(self, label, before_end, start)

    def edge(self) -> Edge:
        """A window edge now (to end one window and start the next at the same instant)."""
        return take_edge(self)

    def start(self) -> Meter:
        self.sampler.start()
        return self

    def close(self) -> None:
        self.sampler.stop()
        close = getattr(self.attribution, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.debug("closing the attribution failed", exc_info=True)
        for s in self.sensors:
            try:
                s.close()
            except Exception:
                log.debug("closing %r failed", s, exc_info=True)

    def measure_baseline(self, seconds: float) -> dict[str, float]:
        """Mean power per component over ``seconds`` of (supposedly) idle time."""
        w = self.begin("baseline")
        time.sleep(seconds)
        e = w.end(sync=False)
        self.baseline_w = {c: x.power_w for c, x in e.machine.items()}  # the machine's idle power
        return self.baseline_w

    def failed(self) -> list[tuple[Sensor, str]]:
        return [(c.sensor, c.failed) for c in self.channels if c.failed]

"""Cumulative energy for one sensor, safe to read from two threads at once.

The hardware read happens outside the lock; the lock only guards a few float operations,
so the user's thread never waits on I/O the sampler started (and vice versa). Reads are
committed in timestamp order: a read stamped earlier than the last committed one is
dropped, which keeps wrap detection and integration correct under races.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from ..sensors.base import Reading, Sensor
from .guard import EDGE_BUDGET_S, HUNG_AFTER_S, EdgeGuard, Slow
from .sample import Sample

log = logging.getLogger(__name__)

# Below this interval a counter delta is too coarse to turn into watts; keep the last.
_MIN_DT_FOR_WATTS = 0.02


class Channel:
    """One sensor's cumulative joules and current watts.

    Counters (RAPL, NVML energy, the CPU model's busy time) give joules as a difference of
    reads, with wrap-around; power-only sensors are integrated by the trapezoid rule
    between committed reads.
    """

    __slots__ = ("sensor", "_lock", "_t", "_raw", "_j", "_w", "failed", "_guard")

    def __init__(self, sensor: Sensor):
        self.sensor = sensor
        self._lock = threading.Lock()
        self._t: float | None = None
        self._raw: float | None = None
        self._j = 0.0
        self._w = 0.0
        self.failed: str | None = None
        self._guard = EdgeGuard(sensor) if sensor.may_block else None

    def read(self, now: float) -> tuple[float, float]:
        """Read the sensor at ``now``: (cumulative joules, watts)."""
        if self.failed is not None:
            return self._j, 0.0
        try:
            reading = self.sensor.read(now)
        except Exception as exc:  # a sensor must never take the kernel down
            self.fail(exc)
            return self._j, 0.0
        return self.commit(now, reading)

    def read_edge(self, now: float, budget_s: float = EDGE_BUDGET_S) -> tuple[float, float, bool]:
        """Like ``read`` for a window's edge on the user's thread: a sensor that may block
        gets ``budget_s``; past it, the latest committed point and True (approximated)."""
        guard = self._guard
        if guard is None or self.failed is not None:
            return (*self.read(now), False)
        try:
            reading = guard.read(now, budget_s)
        except Slow as slow:
            if guard.hung_for() >= HUNG_AFTER_S:
                self.fail(TimeoutError(f"the sensor stopped answering ({slow})"))
            return self._j, self._w, True
        except Exception as exc:
            self.fail(exc)
            return self._j, 0.0, False
        return (*self.commit(now, reading), False)

    def commit(self, now: float, reading: Reading) -> tuple[float, float]:
        raw, watts = reading
        with self._lock:
            t = self._t
            if t is None:  # the first read anchors the channel
                self._t, self._raw = now, raw
                self._w = max(watts, 0.0) if watts is not None else 0.0
                return self._j, self._w
            if now <= t:  # a later read was already committed by the other thread
                return self._j, self._w
            dt = now - t
            if raw is not None:
                delta = self._counter_delta(raw)
                j = self._j + delta
                if watts is not None:
                    w = max(watts, 0.0)
                elif dt >= _MIN_DT_FOR_WATTS:
                    w = max(delta / dt, 0.0)
                else:
                    w = self._w
            else:
                w = max(watts, 0.0) if watts is not None else 0.0
                j = self._j + 0.5 * (self._w + w) * dt  # trapezoid between committed reads
            self._j, self._w, self._t = j, w, now
            return j, w

    def fail(self, exc: BaseException) -> None:
        if self.failed is None:
            log.debug("sensor %r failed", self.sensor, exc_info=exc)
        self.failed = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        self._w = 0.0

    def _counter_delta(self, raw: float) -> float:
        prev = self._raw
        if prev is None:
            self._raw = raw
            return 0.0
        delta = raw - prev
        if delta >= 0:
            self._raw = raw
            return delta
        wrap = self.sensor.wrap_j
        if wrap and -delta > wrap / 2:  # a genuine wrap-around of the hardware counter
            self._raw = raw
            return delta + wrap
        if wrap is None and raw < prev / 2:  # counter reset (driver reload): restart from here
            self._raw = raw
        # else: a read that raced behind the committed one; keep the higher raw value
        return 0.0

    @property
    def watts(self) -> float:
        return self._w

    @property
    def last_read_at(self) -> float | None:
        """Clock time of the last committed read: once the channel has failed, its figures in
        samples taken after this are not readings (unknown, not 0 W)."""
        return self._t


def read_channels(channels: Sequence[Channel], clock: Callable[[], float], wall: Callable[[], float],
                  *, edge: bool = False) -> Sample:
    """One Sample of every channel at one timestamp (energies agree with durations).

    The sampler thread and window edges both read through here; ``edge`` bounds the wait
    on sensors that may block (see ``engine.guard``).
    """
    w, mono = wall(), clock()
    joules, watts, approx = [], [], []
    for i, ch in enumerate(channels):
        if edge:
            j, p, late = ch.read_edge(mono)
            if late:
                approx.append(i)
        else:
            j, p = ch.read(mono)
        joules.append(j)
        watts.append(p)
    return Sample(w, mono, tuple(joules), tuple(watts), tuple(approx))

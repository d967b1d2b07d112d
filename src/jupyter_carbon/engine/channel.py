"""Cumulative energy for one sensor, safe to sample from two threads at once.

The hardware read happens outside the lock; the lock only guards a few float operations,
so the user's thread never waits on I/O the sampler started (and vice versa). Samples are
committed in timestamp order: a read stamped earlier than the last committed one is
dropped, which keeps wrap detection and integration correct under races.
"""
from __future__ import annotations

import threading

from ..sensors.base import Sensor

# Below this interval a counter delta is too coarse to turn into watts; keep the last.
_MIN_DT_FOR_WATTS = 0.02


class Channel:
    __slots__ = ("sensor", "_read", "_decode", "_const", "_lock", "_t", "_raw", "_z", "_j", "_w",
                 "failed")

    def __init__(self, sensor: Sensor):
        self.sensor = sensor
        self._read = sensor.read
        self._decode = sensor.decode if sensor.deferred else None
        self._const = sensor.constant_w
        self._lock = threading.Lock()
        self._t: float | None = None
        self._raw: float | None = None
        self._z: float | None = None  # a deferred counter's value at the anchor
        self._j = 0.0
        self._w = self._const or 0.0
        self.failed: str | None = None

    def sample(self, now: float) -> tuple[float, float]:
        """Read the sensor at ``now`` and return (cumulative joules, watts).

        The tick's path when a sensor is neither constant nor deferred, so the common path
        is one function: no helper calls, no objects beyond the returned pair.
        """
        const = self._const
        if const is not None:  # a constant model: energy is power x time, nothing to read
            t0 = self._t
            if t0 is None:  # the meter anchors every channel once, before any thread starts
                self._t = t0 = now
            return (const * (now - t0) if now > t0 else 0.0), const
        if self.failed is not None:
            return self._j, 0.0
        try:
            raw, watts = self._read(now)
        except Exception as exc:  # a sensor must never take the kernel down
            self.fail(exc)
            return self._j, 0.0
        with self._lock:
            t = self._t
            if t is None:
                self._t, self._raw = now, raw
                if self._decode is not None:
                    self._z = raw
                self._w = max(watts, 0.0) if watts is not None else 0.0
                return self._j, self._w
            if now <= t:  # a later read was already committed by the other thread
                return self._j, self._w
            dt = now - t
            if raw is not None:
                if self._z is not None:  # deferred: since the anchor, as decode_at computes it
                    j = raw - self._z
                    delta = j - self._j
                else:
                    prev = self._raw
                    if prev is not None and raw >= prev:
                        delta = raw - prev
                        self._raw = raw
                    else:
                        delta = self._counter_delta(raw)
                    j = self._j + delta
                if watts is not None:
                    w = watts if watts > 0.0 else 0.0
                elif dt >= _MIN_DT_FOR_WATTS:
                    w = delta / dt if delta > 0.0 else 0.0
                else:
                    w = self._w
            else:
                w = watts if watts is not None and watts > 0.0 else 0.0
                j = self._j + 0.5 * (self._w + w) * dt  # trapezoid between committed reads
            self._j, self._w, self._t = j, w, now
            return j, w

    def decode_at(self, now: float, raw, ref_t: float, ref_raw) -> tuple[float, float]:
        """(cumulative joules, watts) of a deferred sensor's raw data fetched at ``now``.

        Watts are the mean over the interval since an earlier fetch ``ref_raw`` at
        ``ref_t``. Joules are on the scale ``sample`` commits, so a window may start from
        one path and end on the other. Raw data that does not decode counts as nothing new.
        """
        try:
            dec, z = self._decode, self._z
            j = dec(raw) - z
            dt = now - ref_t
            if dt < _MIN_DT_FOR_WATTS:
                return j, self._w
            delta = j - (dec(ref_raw) - z)
            return j, (delta / dt if delta > 0.0 else 0.0)
        except Exception:
            return self._j, 0.0

    def settle(self, now: float, raw) -> None:
        """Commit a deferred fetch the tick kept, as ``sample`` would have: before the
        sensor is marked failed, so the channel keeps all it had measured."""
        try:
            j = self._decode(raw) - self._z
        except Exception:
            return
        with self._lock:
            t = self._t
            if t is None or now <= t:
                return
            delta, dt = j - self._j, now - t
            if dt >= _MIN_DT_FOR_WATTS:
                self._w = delta / dt if delta > 0.0 else 0.0
            self._j, self._t = j, now

    def fail(self, exc: BaseException) -> None:
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

    def constant(self) -> tuple[float, float] | None:
        """(watts, anchor time) for a constant model already anchored, else None.

        Lets the sampler's tick integrate it inline (see engine/tick.py): its energy at
        ``now`` is watts x (now - anchor), exactly what ``sample`` returns.
        """
        if self._const is None or self._t is None:
            return None
        return self._const, self._t

    def deferred(self) -> bool:
        """True when the tick may keep this channel's raw data (see ``Sensor.deferred``):
        a deferred sensor that is anchored and has not failed."""
        return self._z is not None and self.failed is None

    @property
    def watts(self) -> float:
        return self._w

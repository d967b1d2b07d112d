"""A recorded power trace played back as a sensor: the basis of exact accuracy tests.

``mode="counter"`` behaves like RAPL/NVML energy counters (cumulative joules are the
exact integral of the trace); ``mode="power"`` behaves like a power-only sensor (the
channel integrates sampled watts). The trace is piecewise linear between points and
constant after the last one; ``energy(t0, t1)`` is the analytic integral to compare with.
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence

from .base import CPU, Reading, Sensor


class PowerTrace:
    def __init__(self, points: Sequence[tuple[float, float]]):
        pts = sorted((float(t), float(w)) for t, w in points)
        if not pts:
            raise ValueError("a power trace needs at least one (t, watts) point")
        self.t = [p[0] for p in pts]
        self.w = [p[1] for p in pts]
        # cumulative energy at each point, for O(log n) integrals
        self._cum = [0.0]
        for i in range(1, len(pts)):
            self._cum.append(self._cum[-1] + 0.5 * (self.w[i] + self.w[i - 1]) * (self.t[i] - self.t[i - 1]))

    def power(self, t: float) -> float:
        ts, ws = self.t, self.w
        if t <= ts[0]:
            return ws[0]
        if t >= ts[-1]:
            return ws[-1]
        i = bisect.bisect_right(ts, t) - 1
        f = (t - ts[i]) / (ts[i + 1] - ts[i])
        return ws[i] + f * (ws[i + 1] - ws[i])

    def cumulative(self, t: float) -> float:
        ts = self.t
        if t <= ts[0]:
            return self.w[0] * (t - ts[0])  # negative before the start: constant extension
        if t >= ts[-1]:
            return self._cum[-1] + self.w[-1] * (t - ts[-1])
        i = bisect.bisect_right(ts, t) - 1
        return self._cum[i] + 0.5 * (self.w[i] + self.power(t)) * (t - ts[i])

    def energy(self, t0: float, t1: float) -> float:
        return self.cumulative(t1) - self.cumulative(t0)


class ReplaySensor(Sensor):
    def __init__(self, trace: PowerTrace, *, t0: float = 0.0, component: str = CPU,
                 mode: str = "counter", name: str = "replay"):
        if mode not in ("counter", "power"):
            raise ValueError("mode must be 'counter' or 'power'")
        self.trace = trace
        self.t0 = t0  # clock value at which the trace's t=0 plays
        self.component = component
        self.mode = mode
        self.method = f"replay-{mode}"
        self.measured = True
        self.name = name

    def read(self, now: float) -> Reading:
        t = now - self.t0
        if self.mode == "counter":
            return self.trace.cumulative(t), self.trace.power(t)
        return None, self.trace.power(t)

"""A measurement window: a synchronous snapshot at begin and end on the caller's thread.

So a 50 ms cell gets its exact share of a counter whatever the sampling interval; the
sampler only adds the points in between (for live views and power integration).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Protocol

from .channel import Channel
from .energy import DeviceEnergy, Energy
from .sample import Sample


class Source(Protocol):
    """What a window reads: the meter, seen from here."""

    @property
    def channels(self) -> Sequence[Channel]: ...
    @property
    def baseline_w(self) -> dict[str, float] | None: ...

    def snapshot(self, *, edge: bool = False) -> Sample: ...
    def latest(self) -> Sample | None: ...


class Window:
    """An open measurement; ``end()`` closes it, ``peek()`` reads it live without I/O.

    ``before_end`` (e.g. synchronising the GPUs) runs just before the end snapshot.
    """

    __slots__ = ("source", "label", "started_at", "start", "before_end")

    def __init__(self, source: Source, label: str | None = None,
                 before_end: Callable[[], object] | None = None):
        self.source = source
        self.label = label
        self.before_end = before_end
        self.started_at = datetime.now(timezone.utc)
        self.start = source.snapshot(edge=True)

    def end(self) -> Energy:
        if self.before_end is not None:
            self.before_end()
        return self._measure(self.source.snapshot(edge=True), datetime.now(timezone.utc))

    def peek(self, sample: Sample | None = None) -> Energy:
        """The window so far, from the latest sampler point (or one given): no hardware read."""
        s = sample or self.source.latest()
        if s is None or s.mono < self.start.mono:
            s = self.start
        return self._measure(s, datetime.fromtimestamp(s.wall, timezone.utc))

    def so_far(self, sample: Sample | None = None) -> tuple[float, float]:
        """(seconds, joules of every device) up to the latest sampler point (or one given):
        the two figures a live view shows, without building an Energy."""
        s = sample or self.source.latest()
        start = self.start
        if s is None or s.mono <= start.mono:
            return 0.0, 0.0
        joules = sum(max(now - then, 0.0) for now, then in zip(s.joules, start.joules))
        return s.mono - start.mono, joules

    def _measure(self, end: Sample, ended_at: datetime) -> Energy:
        start = self.start
        dur = max(end.mono - start.mono, 0.0)
        late = set(start.approx) | set(end.approx)
        devs = []
        for i, ch in enumerate(self.source.channels):
            e = max(end.joules[i] - start.joules[i], 0.0)
            s = ch.sensor
            devs.append(DeviceEnergy(s.name, s.component, s.method, s.measured, e,
                                     e / dur if dur > 0 else end.watts[i], ch.failed, i in late))
        return Energy(self.label, self.started_at, ended_at, dur, tuple(devs), self.source.baseline_w)

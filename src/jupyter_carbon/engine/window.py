"""A measurement window: a synchronous snapshot at begin and end on the caller's thread.

So a 50 ms cell gets its exact share of a counter whatever the sampling interval; the
sampler only adds the points in between (for live views and power integration).

When the meter has an ``attribution`` (``tracking_mode=kernel``), each edge also takes a
mark of what this kernel's process tree used, and the window's devices are the kernel's
share of the machine's energy; the machine's own figures stay in ``machine_devices``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol

from .channel import Channel
from .energy import DeviceEnergy, Energy
from .sample import Sample

_LIVE = threading.Lock()  # live views may read a window from two threads at once


class Attribution(Protocol):
    """This kernel's share of the machine (``jupyter_carbon.attribution``), seen from here."""

    def mark(self) -> Any: ...
    def shares(self, start: Any, end: Any) -> dict[str, Any]: ...
    def weights(self, shares: dict[str, Any]) -> tuple[float, ...]: ...


class Edge(NamedTuple):
    """One edge of a window: every channel's reading and, with an attribution, its mark."""

    sample: Sample
    mark: Any = None
    at: datetime | None = None


class Span(NamedTuple):
    """A closed window's totals only: what the time between two cells is charged with,
    without a record per device (``Window.span``)."""

    duration_s: float
    joules: float  # the kernel's share (the machine's outside kernel mode)
    machine_joules: float
    shares: dict[str, Any] | None


class Source(Protocol):
    """What a window reads: the meter, seen from here."""

    @property
    def channels(self) -> Sequence[Channel]: ...
    @property
    def baseline_w(self) -> dict[str, float] | None: ...
    @property
    def attribution(self) -> Attribution | None: ...
    @property
    def sync(self) -> Callable[[], bool | None] | None: ...

    def snapshot(self, *, edge: bool = False) -> Sample: ...
    def latest(self) -> Sample | None: ...


def take_edge(source: Source) -> Edge:
    """A window edge now: the channels (within the edge budget), then the attribution mark."""
    sample = source.snapshot(edge=True)
    attr = source.attribution
    return Edge(sample, attr.mark() if attr is not None else None, datetime.now(timezone.utc))


class Window:
    """An open measurement; ``end()`` closes it, ``peek()`` reads it live without I/O.

    ``before_end`` (default: the meter's ``sync``, which synchronises the GPUs the kernel
    initialised) runs just before the end snapshot; what it returns (True: synchronised,
    False: nothing to synchronise, None: not asked) is kept as ``Energy.gpu_synced``.
    ``start`` may be an edge already taken (the end of the previous window).
    """

    __slots__ = ("source", "label", "started_at", "start", "start_edge", "before_end", "end_edge", "_live")

    def __init__(self, source: Source, label: str | None = None,
                 before_end: Callable[[], object] | None = None, start: Edge | None = None):
        self.source = source
        self.label = label
        self.before_end = before_end
        edge = start if start is not None else take_edge(source)
        self.start_edge = edge
        self.start = edge.sample
        self.started_at = edge.at or datetime.now(timezone.utc)
        self.end_edge: Edge | None = None
        self._live: tuple[float, Sequence[float], float] | None = None  # (mono, joules, kernel's J)

    def end(self, at: Edge | None = None, *, sync: bool = True) -> Energy:
        """Close the window (at an edge already taken, or now)."""
        synced: bool | None = None
        if at is None and sync:
            fn = self.before_end if self.before_end is not None else self.source.sync
            if fn is not None:
                r = fn()
                synced = r if isinstance(r, bool) else None
        edge = at if at is not None else take_edge(self.source)
        self.end_edge = edge
        return self._measure(edge.sample, edge.at or datetime.now(timezone.utc), edge.mark, synced)

    def span(self, at: Edge) -> Span:
        """Close the window at an edge already taken, giving its totals only (``end`` gives
        the full record)."""
        self.end_edge = at
        start, end = self.start, at.sample
        deltas = [max(now - then, 0.0) for now, then in zip(end.joules, start.joules)]
        machine = sum(deltas)
        attr = self.source.attribution
        if attr is None or self.start_edge.mark is None or at.mark is None:
            return Span(max(end.mono - start.mono, 0.0), machine, machine, None)
        shares = attr.shares(self.start_edge.mark, at.mark)
        kernel = sum([d * w for d, w in zip(deltas, attr.weights(shares))])
        return Span(max(end.mono - start.mono, 0.0), kernel, machine, shares)

    def peek(self, sample: Sample | None = None) -> Energy:
        """The window so far, from the latest sampler point (or one given): no hardware read."""
        s = sample or self.source.latest()
        if s is None or s.mono < self.start.mono:
            s = self.start
        attr = self.source.attribution
        mark = attr.mark() if attr is not None and self.start_edge.mark is not None else None
        return self._measure(s, datetime.fromtimestamp(s.wall, timezone.utc), mark, None)

    def so_far(self, sample: Sample | None = None) -> tuple[float, float]:
        """(seconds, joules of every device) up to the latest sampler point (or one given):
        the two figures a live view shows, without building an Energy. With an
        attribution, each sampler period's energy is weighted by the kernel's share in that
        period and added up, so the live figure never goes down as the share moves."""
        s = sample or self.source.latest()
        start = self.start
        if s is None or s.mono <= start.mono:
            return 0.0, 0.0
        attr = self.source.attribution
        weights = getattr(attr, "live_weights", None) if attr is not None else None
        w = weights() if weights is not None else None
        if w is None or len(w) != len(s.joules):
            return s.mono - start.mono, sum(max(now - then, 0.0) for now, then in zip(s.joules, start.joules))
        with _LIVE:
            mono, last, acc = self._live or (start.mono, start.joules, 0.0)
            if s.mono > mono:
                acc += sum(max(now - then, 0.0) * x for now, then, x in zip(s.joules, last, w))
                self._live = (s.mono, s.joules, acc)
        return s.mono - start.mono, acc

    def _measure(self, end: Sample, ended_at: datetime, end_mark: Any, synced: bool | None) -> Energy:
        start = self.start
        dur = max(end.mono - start.mono, 0.0)
        late = set(start.approx) | set(end.approx) if start.approx or end.approx else ()
        attr = self.source.attribution
        shares: dict[str, Any] | None = None
        weights: tuple[float, ...] = ()
        if attr is not None and self.start_edge.mark is not None and end_mark is not None:
            shares = attr.shares(self.start_edge.mark, end_mark)
            weights = attr.weights(shares)  # per channel: the kernel's part of the machine's
        machine, kernel = [], []
        for i, ch in enumerate(self.source.channels):
            e = max(end.joules[i] - start.joules[i], 0.0)
            w = e / dur if dur > 0 else end.watts[i]
            s = ch.sensor
            machine.append(DeviceEnergy(s.name, s.component, s.method, s.measured, e, w, ch.failed, i in late))
            if weights:
                f = weights[i]
                kernel.append(DeviceEnergy(s.name, s.component, s.method, s.measured, e * f, w * f, ch.failed,
                                           i in late))
        devices = tuple(machine)
        return Energy(self.label, self.started_at, ended_at, dur, tuple(kernel) if weights else devices,
                      self.source.baseline_w, machine_devices=devices if attr is not None else None,
                      shares=shares, gpu_synced=synced)

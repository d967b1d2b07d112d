"""``jc.track()``: measure a block or a function, in a notebook or a plain script."""
from __future__ import annotations

import functools
from concurrent.futures import Future

from .cluster import track as cluster_track
from .cluster.part import ClusterPart
from .engine.energy import Energy
from .engine.window import Window
from .measurement import Measurement


class track:
    """Context manager and decorator measuring energy and CO₂e of what runs inside.

    >>> with track("train") as m:
    ...     fit()
    >>> m.energy_kwh, m.emissions_kg, m.by_component, m.duration_s

    Inside the block the attributes read the window so far; after it, the final result.
    As a decorator, each call is measured and the last result is ``wrapper.last``.
    Windows nest: a ``track`` inside another (or inside a measured cell) is exact too.
    Around code that uses a Dask cluster, the cluster's part is included, as in a cell's
    row (``m.cluster`` holds it); reading the figures after the block waits for it, at
    most a few seconds (see ``cluster/track.py``).
    """

    def __init__(self, label: str | None = None, *, country: str | None = None,
                 intensity: float | None = None, pue: float | None = None, meter=None):
        from .intensity import resolve, validate_pue
        from .runtime import session_defaults

        self.label = label
        # Inside a notebook with the extension loaded, unset options follow its settings.
        defaults = session_defaults()
        if defaults is not None and intensity is None and country is None:
            self._intensity = defaults[0]
        else:
            self._intensity = resolve(intensity=intensity, country=country)
        self._pue = validate_pue(pue) if pue is not None else (defaults[1] if defaults else 1.0)
        self._meter = meter
        self._window: Window | None = None
        self._span = None  # the block's window on a Dask cluster, when a client is active
        self._local: Energy | None = None
        self._cluster_part: Future | None = None
        self.cluster: ClusterPart | None = None
        self.result: Measurement | None = None

    def __enter__(self) -> track:
        if self._meter is None:
            from .runtime import get_meter

            self._meter = get_meter()
        self.result, self.cluster, self._cluster_part = None, None, None
        self._window = self._meter.begin(self.label)
        self._span = cluster_track.open_span()
        return self

    def __exit__(self, *exc) -> None:
        if self._window is not None:
            energy = self._local = self._window.end()
            if self._span is not None:
                self._cluster_part = self._span.end(energy.ended_at.timestamp())
                self._span = None
            self.result = Measurement.of(energy, self._intensity, self._pue)
            self._window = None

    def measurement(self) -> Measurement:
        if self._cluster_part is not None and self._local is not None:
            fut, self._cluster_part = self._cluster_part, None
            self.cluster = cluster_track.settle(fut)
            if self.cluster is not None:
                self.result = Measurement.of(cluster_track.with_cluster(self._local, self.cluster),
                                             self._intensity, self._pue)
        if self.result is not None:
            return self.result
        if self._window is not None:
            return Measurement.of(self._window.peek(), self._intensity, self._pue)
        raise RuntimeError("track() has not started: use it in a `with` block or as a decorator")

    def __getattr__(self, name):  # energy_kwh, emissions_kg, by_component, duration_s, ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.measurement(), name)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t = track(self.label or fn.__qualname__, meter=self._meter)
            t._intensity, t._pue = self._intensity, self._pue
            with t:
                out = fn(*args, **kwargs)
            wrapper.last = t.measurement()
            return out

        wrapper.last = None
        return wrapper

    def __repr__(self) -> str:
        if self.result is None and self._window is None:
            return f"<track {self.label!r} (not started)>"
        return repr(self.measurement())

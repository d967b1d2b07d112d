"""The widget's state as plain, JSON-ready dicts, computed from a session and a sample.

No widget library here: the model (``live.py``), the text/html fallback
(``fallback.py``) and the tests all use these functions. Numbers are rounded to a few
significant digits so an unchanged figure compares equal and is not re-sent.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..units import J_PER_KWH

log = logging.getLogger(__name__)


SPARK_SPAN_S = 300.0  # the sparkline covers the last five minutes
SPARK_POINTS = 120  # at most this many buckets go to the browser
RECENT_CELLS = 5




def r(x: float | None, digits: int = 4) -> float | None:
    """Round to ``digits`` significant digits (None and non-finite values pass as None)."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


# --- sensors, power, sparkline ---------------------------------------------------------

def sensors_state(meter) -> list[dict[str, Any]]:
    out = []
    for ch in getattr(meter, "channels", ()):
        s = ch.sensor
        out.append({"component": s.component, "method": s.method, "measured": bool(s.measured),
                    "name": s.name or "", "failed": ch.failed})
    return out


def power_state(meter, sample) -> dict[str, Any]:
    """``total_w`` and ``by``: this kernel's watts (its share in kernel mode);
    ``machine_w``: the whole machine's, shown beside them."""
    if sample is None:
        return {}
    weights_of = getattr(getattr(meter, "attribution", None), "live_weights", None)
    weights = weights_of() if weights_of is not None else None
    if weights is None or len(weights) != len(sample.watts):
        weights = (1.0,) * len(sample.watts)
    by: dict[str, float] = {}
    machine = 0.0
    for ch, w, f in zip(meter.channels, sample.watts, weights):
        c = ch.sensor.component
        by[c] = by.get(c, 0.0) + (w or 0.0) * f
        machine += w or 0.0
    return {"total_w": r(sum(by.values()), 3), "by": {c: r(w, 3) for c, w in by.items()},
            "machine_w": r(machine, 3)}


def spark_state(samples: Sequence, now_wall: float | None, interval: float,
                span_s: float = SPARK_SPAN_S, points: int = SPARK_POINTS) -> dict[str, Any]:
    """Mean total watts per time bucket over the last ``span_s`` seconds.

    Buckets are aligned to absolute time (``floor(wall / bucket_s)``) so they do not
    shift between updates; an empty bucket (a gap in sampling) is None.
    """
    if now_wall is None:
        return {"bucket_s": 0, "w": []}
    bucket, first, last = _buckets(now_wall, interval, span_s, points)
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    _fold(reversed(samples), bucket, first, last, sums, counts)
    return _render(bucket, sums, counts, last)


def _buckets(now_wall: float, interval: float, span_s: float, points: int) -> tuple[float, int, int]:
    """Bucket width and the first and last bucket of the span ending at ``now_wall``."""
    bucket = max(float(interval), span_s / points)
    return bucket, math.floor((now_wall - span_s) / bucket) + 1, math.floor(now_wall / bucket)


def _fold(samples, bucket: float, first: int, last: int, sums: dict, counts: dict):
    """Add samples (newest first) to the bucket sums; the newest one taken, or None.

    Samples after bucket ``last`` are skipped; the walk stops at the first before ``first``.
    """
    newest = None
    for s in samples:
        k = math.floor(s.wall / bucket)
        if k > last:
            continue
        if newest is None:
            newest = s
        if k < first:
            break
        sums[k] = sums.get(k, 0.0) + sum(w or 0.0 for w in s.watts)
        counts[k] = counts.get(k, 0) + 1
    return newest


def _render(bucket: float, sums: dict, counts: dict, last: int, cache: dict | None = None) -> dict[str, Any]:
    """The buckets as rounded means; ``cache`` keeps each bucket's (count, sum, mean) so an
    update rounds only the buckets that changed (one or two), not all 120."""
    if not counts:
        return {"bucket_s": r(bucket, 3), "w": []}
    w: list[float | None] = []
    for k in range(min(counts), last + 1):
        n = counts.get(k)
        if n is None:
            w.append(None)
            continue
        total = sums[k]
        hit = cache.get(k) if cache is not None else None
        if hit is not None and hit[0] == n and hit[1] == total:
            w.append(hit[2])
            continue
        mean = r(total / n, 3)
        if cache is not None:
            cache[k] = (n, total, mean)
        w.append(mean)
    return {"bucket_s": r(bucket, 3), "w": w}


class Sparkline:
    """``spark_state`` kept up to date incrementally, for the live widget.

    Recomputing the sparkline walks five minutes of samples (3,000 at 0.1 s) on every
    update; this keeps the bucket sums and folds in only the samples newer than the last
    call (one or a few), then drops the buckets that left the span. The result is the same
    as ``spark_state`` over the same buffer (tested).
    """

    def __init__(self, span_s: float = SPARK_SPAN_S, points: int = SPARK_POINTS):
        self.span_s, self.points = float(span_s), int(points)
        self._bucket = 0.0
        self._seen_mono = -math.inf  # samples up to this monotonic time are folded in
        self._sums: dict[int, float] = {}
        self._counts: dict[int, int] = {}
        self._means: dict[int, tuple[int, float, float | None]] = {}
        self._sent: tuple[float, int] | None = None  # (bucket width, newest bucket) last given by moved()

    def moved(self, newer: Callable[[float], list], now_wall: float | None,
              interval: float) -> dict[str, Any] | None:
        """``state(...)`` when a new bucket has begun since the last call (every 2.5 s at the
        1 s interval), else None: the live widget sends the 120 points when the line moves
        on, not at every sample; the newest, still filling bucket waits for the next."""
        if now_wall is None:
            return None
        bucket, _first, last = _buckets(now_wall, interval, self.span_s, self.points)
        if self._sent == (bucket, last):
            return None
        self._sent = (bucket, last)
        return self.state(newer, now_wall, interval)

    def state(self, newer: Callable[[float], list], now_wall: float | None,
              interval: float) -> dict[str, Any]:
        """``newer(mono)``: the samples taken after ``mono``, newest first
        (``Sampler.samples_after``)."""
        if now_wall is None:
            return {"bucket_s": 0, "w": []}
        bucket, first, last = _buckets(now_wall, interval, self.span_s, self.points)
        if bucket != self._bucket:  # a new interval: buckets of another size, start over
            self._bucket, self._seen_mono = bucket, -math.inf
            self._sums, self._counts, self._means = {}, {}, {}
        sums, counts = self._sums, self._counts
        # samples after ``now_wall`` (appended meanwhile) are not taken: the next call takes them
        newest = _fold(newer(self._seen_mono), bucket, first, last, sums, counts)
        if newest is not None:
            self._seen_mono = newest.mono
        for k in [k for k in counts if k < first]:
            del sums[k], counts[k]
            self._means.pop(k, None)
        return _render(bucket, sums, counts, last, self._means)


class LiveFeed:
    """The fast-changing state one live view sends per sample (the widget, the lab extension's
    comm): watts, the running cell, status, and the sparkline when it moves on by a bucket (the
    view keeps the last one). The sparkline starts afresh with a rebuilt meter."""

    def __init__(self) -> None:
        self._spark, self._meter = Sparkline(), None

    def state(self, session, sample) -> dict[str, Any]:
        meter = session.meter
        if self._meter is not meter:
            self._spark, self._meter = Sparkline(), meter
        state = {"power": power_state(meter, sample), "running": running_state(session, sample),
                 "status": status_state(session)}
        spark = self._spark.moved(meter.sampler.samples_after, sample.wall if sample is not None else None,
                                  meter.sampler.interval)
        if spark is not None:
            state["spark"] = spark
        return state


# --- cells, totals, intensity -----------------------------------------------------------

def running_state(session, sample) -> dict[str, Any]:
    """The running cell so far (no hardware read), or {} when none runs."""
    cell = getattr(session, "current", None)
    figures = session.running_figures(sample) if cell is not None else None
    if figures is None:  # none runs, or the cell ended between our two reads
        return {}
    seconds, joules, g_per_kwh, pue = figures
    kwh = joules / J_PER_KWH * pue
    out = {
        "n": getattr(cell, "execution_count", None),
        "label": getattr(cell, "label", None),
        "elapsed_s": r(seconds, 3),
        "energy_wh": r(kwh * 1000.0),
        "co2_g": r(kwh * g_per_kwh),
        "power_w": r(joules / seconds if seconds > 0 else 0.0, 3),
    }
    for name, figure in dict(getattr(session, "running_extras", {})).items():
        try:
            value = figure()
        except Exception:  # a live view never fails on an extra figure
            log.debug("live figure %r failed", name, exc_info=True)
            value = None
        if value is not None:
            out[name] = r(value, 3)
    return out


def totals_state(session) -> dict[str, Any]:
    t = getattr(session, "totals", None)
    if t is None:
        return {"cells": 0, "energy_wh": 0.0, "co2_g": 0.0, "duration_s": 0.0, "between_wh": 0.0,
                "embodied_g": 0.0}
    return {"cells": int(t.cells), "energy_wh": r(t.energy_kwh * 1000.0),
            "co2_g": r(t.emissions_kg * 1000.0), "duration_s": r(t.duration_s, 3),
            "between_wh": r(getattr(t, "between_kwh", 0.0) * 1000.0),
            "embodied_g": r(getattr(t, "embodied_kg", 0.0) * 1000.0)}


def record_state(rec) -> dict[str, Any]:
    return {"n": rec.execution_count, "label": rec.label, "status": rec.status,
            "duration_s": r(rec.duration_s, 3), "energy_wh": r(rec.energy_kwh * 1000.0),
            "co2_g": r(rec.emissions_kg * 1000.0)}


def recent_state(session, n: int = RECENT_CELLS) -> list[dict[str, Any]]:
    history = list(getattr(session, "history", ()) or ())
    return [record_state(rec) for rec in history[-n:]]


def intensity_state(session) -> dict[str, Any]:
    i = getattr(session, "intensity", None)
    pue = getattr(session, "pue", 1.0)
    if i is None:
        return {}
    return {"g_per_kwh": r(i.g_per_kwh), "source": i.source, "country_iso": i.country_iso,
            "country_name": i.country_name, "region": i.region, "pue": r(pue, 3)}


def status_state(session) -> dict[str, Any]:
    meter = getattr(session, "meter", None)
    sampler = getattr(meter, "sampler", None)
    if getattr(session, "paused", False):
        state = "paused"
    elif sampler is not None and not sampler.running:
        state = "stopped"
    else:
        state = "live"
    return {"state": state, "interval_s": r(sampler.interval, 3) if sampler is not None else None}


def full_state(session, sample=None) -> dict[str, Any]:
    """Every synced trait of the widget, computed now."""
    meter = session.meter
    if sample is None:
        sample = meter.sampler.latest()
    # only the sparkline's span is decoded, not the whole ring buffer
    since = sample.mono - SPARK_SPAN_S - 2 * meter.sampler.interval if sample is not None else -math.inf
    samples = meter.sampler.samples_after(since)[::-1]
    now_wall = sample.wall if sample is not None else None
    return {
        "sensors": sensors_state(meter),
        "power": power_state(meter, sample),
        "spark": spark_state(samples, now_wall, meter.sampler.interval),
        "running": running_state(session, sample),
        "totals": totals_state(session),
        "intensity": intensity_state(session),
        "recent": recent_state(session),
        "status": status_state(session),
    }

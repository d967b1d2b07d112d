"""The sampler's tick, composed once per meter from its channels, and its decoder.

After a second of sleep the CPU's caches hold nothing of the tick, so its cost is set by
how much code and how many objects it touches, not by how much it computes (see
benchmarks, "Reading the sampler-cost rows"). So the tick is one function written for this
meter's channels:

* a constant-power channel becomes an inline product, never a read;
* a deferred channel (``Sensor.deferred``: a counter that only grows, like the CPU model's
  busy time) is fetched and its raw data kept, with the fetch before it: parsing it would
  cost the tick a third more, and most samples are only ever read in a batch (the samples
  log once a minute), where the parse runs with warm caches. Such a tick makes a
  ``RawSample``; ``decode`` turns it into a Sample on the reader's side;
* every other channel is one call of its ``Channel.sample``.

``Meter.snapshot`` stays the generic path for windows on the user's thread; both paths
agree on every channel's joules (tested).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .sample import RawSample, Sample

if TYPE_CHECKING:
    from .meter import Meter


def compose_tick(meter: Meter, append: Callable[[Sample], None], count: list[int],
                 listeners: dict, notify: Callable[[Sample], None], decode: Callable[[Sample], Sample],
                 fallback: Callable[[BaseException, tuple], Sample]) -> Callable[[], Sample]:
    """A function that takes one record of every channel, appends it, and returns it.

    ``count[0]`` is incremented per sample; ``notify`` runs, with the record decoded by
    ``decode`` (``compose_decode``), only when ``listeners`` is not empty. A fetch that
    raises hands over to ``fallback`` with the last good fetch of each deferred channel,
    ``((index, (time, raw)), ...)``: it takes the sample on the generic path (marking the
    sensor failed) and recomposes.
    Constant channels must already be anchored (``Meter`` anchors all at creation).
    """
    ns: dict = {"_time": time.time, "_clock": meter.clock, "_append": append,
                "_new": tuple.__new__, "_count": count, "_listeners": listeners,
                "_notify": notify, "_decode": decode, "_fallback": fallback}
    body, joules, watts, deferred = [], [], [], []
    for i, ch in enumerate(meter.channels):
        const = ch.constant()
        if const is not None:
            ns[f"_w{i}"], ns[f"_t{i}"] = const
            joules.append(f"(_w{i} * (mono - _t{i}) if mono > _t{i} else 0.0)")
            watts.append(f"_w{i}")
            continue
        first = _first_fetch(meter, ch) if ch.deferred() else None
        if first is not None:
            ns[f"_f{i}"], ns[f"_p{i}"] = ch.sensor.fetch, [first]
            body.append(f"        r{i} = _f{i}()")
            joules.append(f"r{i}")
            watts.append(f"p{i}")
            deferred.append(i)
            continue
        ns[f"_s{i}"] = ch.sample
        body.append(f"        j{i}, w{i} = _s{i}(mono)")
        joules.append(f"j{i}")
        watts.append(f"w{i}")
    ns["_Rec"] = RawSample if deferred else Sample
    src = "\n".join([
        "def tick():",
        "    wall = _time()",
        "    mono = _clock()",
        "    try:",
        *(body or ["        pass"]),
        "    except Exception as exc:",
        f"        return _fallback(exc, ({''.join(f'({i}, _p{i}[0]), ' for i in deferred)}))",
        # the fetch before this one, and this one for the next record
        *[f"    p{i} = _p{i}[0]\n    _p{i}[0] = (mono, r{i})" for i in deferred],
        # the record without its Python-level __new__
        f"    s = _new(_Rec, (wall, mono, ({''.join(j + ', ' for j in joules)}), "
        f"({''.join(w + ', ' for w in watts)})))",
        "    _append(s)",
        "    _count[0] += 1",
        "    if _listeners:",
        "        _notify(_decode(s))",
        "    return s",
    ])
    exec(compile(src, f"<jupyter-carbon tick: {len(meter.channels)} channels>", "exec"), ns)
    return ns["tick"]


def _first_fetch(meter: Meter, ch) -> tuple[float, object] | None:
    """(time, raw data) of a fetch now: where the first record's watts start from."""
    try:
        return meter.clock(), ch.sensor.fetch()
    except Exception:  # the channel's own read will fail too, and mark it failed
        return None


def compose_decode(meter: Meter) -> Callable[[Sample], Sample]:
    """``decode(record)``: the Sample a buffer record stands for (the record itself when
    nothing in it is raw). It serves the records of every tick composed for this meter:
    a slot is raw where its watts are a ``(time, raw data)`` pair, so records taken before a
    sensor failed decode as well as those after."""
    slots = [(i, ch.decode_at) for i, ch in enumerate(meter.channels) if ch.sensor.deferred]
    if not slots:
        return lambda s: s

    def decode(s: Sample, _new=tuple.__new__) -> Sample:
        if type(s) is not RawSample:
            return s
        wall, mono, joules, watts = s
        joules, watts = list(joules), list(watts)
        for i, decode_at in slots:
            ref = watts[i]
            if type(ref) is tuple:
                joules[i], watts[i] = decode_at(mono, joules[i], ref[0], ref[1])
        return _new(Sample, (wall, mono, tuple(joules), tuple(watts)))

    return decode

"""The sampler's tick, composed once per meter from its channels.

After a second of sleep the CPU's caches hold nothing of the tick, so its cost is set by
how much code and how many objects it touches, not by how much it computes (see
benchmarks, "Reading the sampler-cost rows"). The generic path (``Sampler`` calling
``Meter.snapshot`` looping over channels into lists) touched three frames and two lists
more than needed. Here the tick is one function written for this meter's channels: a
constant-power channel becomes an inline product, every other channel one call of its
``Channel.sample``, and the sample is appended directly. ``Meter.snapshot`` stays the
generic path for windows on the user's thread; both commit through the same channels.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .sample import Sample

if TYPE_CHECKING:
    from .meter import Meter


def compose_tick(meter: Meter, append: Callable[[Sample], None], count: list[int],
                 listeners: dict, notify: Callable[[Sample], None]) -> Callable[[], Sample]:
    """A function that takes one sample of every channel, appends it, and returns it.

    ``count[0]`` is incremented per sample; ``notify`` runs only when ``listeners`` is not
    empty. Constant channels must already be anchored (``Meter`` anchors all at creation).
    """
    ns: dict = {"_time": time.time, "_clock": meter.clock, "_append": append,
                "_new": tuple.__new__, "_Sample": Sample, "_count": count,
                "_listeners": listeners, "_notify": notify}
    body, joules, watts = [], [], []
    for i, ch in enumerate(meter.channels):
        const = ch.constant()
        if const is not None:
            ns[f"_w{i}"], ns[f"_t{i}"] = const
            joules.append(f"(_w{i} * (mono - _t{i}) if mono > _t{i} else 0.0)")
            watts.append(f"_w{i}")
        else:
            ns[f"_s{i}"] = ch.sample
            body.append(f"    j{i}, w{i} = _s{i}(mono)")
            joules.append(f"j{i}")
            watts.append(f"w{i}")
    src = "\n".join([
        "def tick():",
        "    wall = _time()",
        "    mono = _clock()",
        *body,
        # Sample(...) without its Python-level __new__
        f"    s = _new(_Sample, (wall, mono, ({''.join(j + ', ' for j in joules)}), "
        f"({''.join(w + ', ' for w in watts)})))",
        "    _append(s)",
        "    _count[0] += 1",
        "    if _listeners:",
        "        _notify(s)",
        "    return s",
    ])
    exec(compile(src, f"<jupyter-carbon tick: {len(meter.channels)} channels>", "exec"), ns)
    return ns["tick"]

"""Scheduler side: which client's tasks ran where and when, for the share rule.

``update_graph`` tells which client submitted which keys; a ``processing -> memory|erred``
transition carries the worker and the task's compute start/stop, already in the
scheduler's clock (Dask corrects workers' stamps by their measured delay). Task time is
kept per host and per client until the next publish: a task shorter than a bin goes into
fixed bins (at most two, so a million tiny tasks cost a few numbers), a longer one keeps
its exact interval (at most one per bin width per worker thread). A task submitted by
several clients is split between them.
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

Activity = list  # [bins {index: seconds}, intervals [[start, stop], ...]]


def _new() -> Activity:
    return [defaultdict(float), []]


class TaskLedger:
    def __init__(self, bin_s: float):
        self.bin_s = float(bin_s)
        self.owners: dict[Any, Any] = {}  # key -> client id, or a tuple of ids when shared
        # client -> host -> Activity, and the same for every client together
        self.by_client: dict[str, dict[str, Activity]] = defaultdict(lambda: defaultdict(_new))
        self.every: dict[str, Activity] = defaultdict(_new)
        self.ran_on: dict[str, set] = defaultdict(set)  # host -> clients (None: unknown) since the last drain
        self.tasks = 0

    def submitted(self, client: str, keys: Iterable) -> None:
        owners = self.owners
        for k in keys:
            prev = owners.get(k)
            if prev is None:
                owners[k] = client
            elif prev != client and not (isinstance(prev, tuple) and client in prev):
                owners[k] = (prev if isinstance(prev, tuple) else (prev,)) + (client,)

    def forgotten(self, key) -> None:
        self.owners.pop(key, None)

    def finished(self, key, host: str, startstops) -> None:
        """A task ran on ``host``: add its compute time to its client(s) and to everyone's."""
        owner = self.owners.get(key)
        owners = owner if isinstance(owner, tuple) else ((owner,) if owner is not None else (None,))
        ran = self.ran_on[host]
        ran.update(owners)
        w = 1.0 / len(owners)
        for ss in startstops or ():
            if ss.get("action") != "compute":
                continue
            a, b = float(ss["start"]), float(ss["stop"])
            if not b > a:
                continue
            self.tasks += 1
            self._add(self.every[host], a, b, 1.0)
            for c in owners:
                if c is not None:
                    self._add(self.by_client[c][host], a, b, w)

    def _add(self, act: Activity, a: float, b: float, weight: float) -> None:
        bw = self.bin_s
        if b - a > bw:
            act[1].append([a, b] if weight == 1.0 else [a, b, weight])
            return
        bins = act[0]
        i, j = math.floor(a / bw), math.floor(b / bw)
        if i == j:
            bins[i] += (b - a) * weight
        else:  # spans one bin edge
            edge = j * bw
            bins[i] += (edge - a) * weight
            bins[j] += (b - edge) * weight

    def drain(self, clients: Iterable[str]) -> dict[str, tuple[dict, dict]]:
        """Per client: (its ``{host: [bins, intervals]}``, everyone's on the hosts where
        someone else ran tasks too); then start afresh. Bins go out as
        ``[[index, seconds], ...]``: msgpack-able, and short."""
        packed = {h: _pack(a) for h, a in self.every.items()}
        out = {}
        for c in clients:
            acts = self.by_client.get(c) or {}
            ours = {h: _pack(a) for h, a in acts.items()}
            others = {h: packed[h] for h, who in self.ran_on.items() if who != {c}}
            out[c] = (ours, others)
        self.by_client.clear()
        self.every.clear()
        self.ran_on.clear()
        return out


def _pack(act: Activity) -> list:
    return [[[k, round(v, 6)] for k, v in act[0].items()], act[1]]


def overlap(act: list, bin_s: float, s0: float, s1: float) -> float:
    """Seconds of a packed activity inside [s0, s1] (bins pro rata, intervals exactly)."""
    total = 0.0
    for k, secs in act[0]:
        a = k * bin_s
        o = min(a + bin_s, s1) - max(a, s0)
        if o > 0:
            total += secs * min(o / bin_s, 1.0)
    for iv in act[1]:
        o = min(iv[1], s1) - max(iv[0], s0)
        if o > 0:
            total += o * (iv[2] if len(iv) > 2 else 1.0)
    return total

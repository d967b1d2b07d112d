"""One window's cluster energy, accumulated as reports arrive (client side, no I/O).

Times are in the scheduler's clock. A host's cumulative figures (energy per component,
busy CPU seconds, the worker processes' CPU seconds) are interpolated linearly between
its reports at the window's start and end; a meter that changes mid-window (its worker
left, another took over) closes one segment and opens the next, and the window is marked
partial. Only a few numbers per host are kept, however long the window.

The share rule (docs/cluster.md): of a host's CPU and RAM energy, this client is charged
``min(1, workers' CPU s / host busy CPU s) x (its task s / every client's task s)``; of
its GPU energy, ``its task s / every client's task s``. The kernel's own host is charged
nothing here when ``skip_local`` (its energy is already in the kernel's local row).
"""
from __future__ import annotations

import math
from collections import defaultdict

from .part import ClusterPart, HostShare
from .protocol import BUSY_S, CPU_J, GPU_J, PROCS_S, RAM_J, WIDTH
from .tasks import overlap

WAIT, RUN, DONE = 0, 1, 2


def _vals(rep: list) -> list[float]:
    return [float(x) if x is not None else 0.0 for x in rep[2:2 + WIDTH]]


def _interp(t0: float, v0: list[float], t1: float, v1: list[float], t: float) -> list[float]:
    if t1 <= t0:
        return list(v1)
    f = min(max((t - t0) / (t1 - t0), 0.0), 1.0)
    return [a + (b - a) * f for a, b in zip(v0, v1)]


class HostAcc:
    __slots__ = ("state", "meter", "seg", "acc", "pt", "pt2", "restarted", "late", "n")

    def __init__(self) -> None:
        self.state = WAIT
        self.meter = None
        self.seg: list[float] = [0.0] * WIDTH  # the current segment's values at its start
        self.acc: list[float] = [0.0] * WIDTH  # closed segments
        self.pt: tuple | None = None  # (t, meter, values): the latest point
        self.pt2: tuple | None = None  # the one before
        self.restarted = False
        self.late = False
        self.n = (0, 0)  # worker processes read / watched, at the latest report

    def add_segment(self, end: list[float]) -> None:
        self.acc = [a + max(e - s, 0.0) for a, e, s in zip(self.acc, end, self.seg)]

    def total(self) -> list[float]:
        if self.state == RUN and self.pt is not None:  # unfinished: up to the latest report
            return [a + max(e - s, 0.0) for a, e, s in zip(self.acc, self.pt[2], self.seg)]
        return self.acc


class ClusterWindow:
    """Fed by the collector (under its lock); ``part()`` builds the result."""

    def __init__(self, s0: float, start_wall: float, known: dict[str, int], local: str | None,
                 skip_local: bool, unmetered: tuple[int, int] = (0, 0)):
        self.s0, self.s1 = s0, math.inf
        self.start_wall, self.end_wall = start_wall, math.nan
        self.closed = False
        self.unanchored = False  # opened before the clock offset was known: s0 is local time
        self.local, self.skip_local = local, skip_local
        self.hosts: dict[str, HostAcc] = {}
        self.ours: dict[str, float] = defaultdict(float)
        self.every: dict[str, float] = defaultdict(float)
        self.workers = sum(known.values()) + unmetered[0]
        self.seen_hosts = {h for h, n in known.items() if n > 0}
        self.unmetered_hosts = unmetered[1]  # machines of workers without a meter (by IP)
        self.host_workers = dict(known)  # the most workers seen on each host
        self.reasons: list[str] = []
        self.left: list[tuple[str, str]] = []  # workers that left during the window
        self.last_publish = -math.inf

    # --- feeding ----------------------------------------------------------------------
    def on_report(self, host: str, rep: list, prev: list | None, known_before: bool) -> None:
        acc = self.hosts.get(host)
        if acc is None:
            acc = self.hosts[host] = HostAcc()
        t, meter, v = float(rep[1]), rep[0], _vals(rep)
        acc.n = (int(rep[2 + WIDTH]), int(rep[3 + WIDTH])) if len(rep) >= 4 + WIDTH else (0, 0)
        if acc.state == DONE or t < self.s0:
            return
        if acc.state == WAIT:
            if prev is not None and prev[0] == meter and float(prev[1]) < self.s0:
                start = _interp(float(prev[1]), _vals(prev), t, v, self.s0)
                acc.pt = (self.s0, meter, start)
            else:  # no earlier report of this meter: measured from its first report on
                start = v
                acc.late = known_before
                acc.pt = (t, meter, v)
            acc.state, acc.meter, acc.seg = RUN, meter, start
        elif meter != acc.meter:  # another worker measures the host now
            if acc.pt is not None:
                acc.add_segment(acc.pt[2])
            acc.meter, acc.seg, acc.restarted = meter, v, True
            acc.pt2, acc.pt = None, (t, meter, v)
        if acc.pt is None or t > acc.pt[0]:
            acc.pt2, acc.pt = acc.pt, (t, meter, v)
        self._maybe_end(acc)

    def _maybe_end(self, acc: HostAcc) -> None:
        pt, pt2 = acc.pt, acc.pt2
        if acc.state != RUN or pt is None or pt[0] < self.s1:
            return
        if pt2 is not None and pt2[1] == pt[1] and pt2[0] < self.s1:
            end = _interp(pt2[0], pt2[2], pt[0], pt[2], self.s1)
        else:
            end = pt[2]
        acc.add_segment(end)
        acc.state = DONE

    def on_tasks(self, bw: float, ours: dict, others: dict) -> None:
        for h, act in ours.items():
            o = overlap(act, bw, self.s0, self.s1)
            self.ours[h] += o
            if h not in others:
                self.every[h] += o
        for h, act in others.items():
            self.every[h] += overlap(act, bw, self.s0, self.s1)

    def on_publish(self, t: float, counts: dict[str, int], removed: list,
                   unmetered: tuple[int, int] = (0, 0)) -> None:
        if t <= self.s1:
            self.workers = max(self.workers, sum(counts.values()) + unmetered[0])
            self.unmetered_hosts = max(self.unmetered_hosts, unmetered[1])
            self.seen_hosts.update(h for h, n in counts.items() if n > 0)
            for h, n in counts.items():
                if n > self.host_workers.get(h, 0):
                    self.host_workers[h] = n
            if unmetered[0]:
                self._reason(f"{unmetered[0]} worker(s) run no jupyter-carbon meter "
                             "(is jupyter-carbon installed on every worker?)")
        for rt, worker, host in removed:
            if self.s0 <= rt <= self.s1 and (worker, host) not in self.left:
                self.left.append((worker, host))
        self.last_publish = max(self.last_publish, t)

    def close(self, s1: float, end_wall: float) -> None:
        self.s1, self.end_wall, self.closed = s1, end_wall, True
        for acc in self.hosts.values():
            self._maybe_end(acc)

    def _reason(self, text: str) -> None:
        if text not in self.reasons:
            self.reasons.append(text)

    # --- results ----------------------------------------------------------------------
    def waiting_for(self, metered: set[str]) -> list[str]:
        """Hosts whose report past the window's end has not arrived (the local host, when
        it is skipped, is not waited for), plus "scheduler" until a publish covers it."""
        out = [h for h in metered if h not in (self.local if self.skip_local else None,)
               and (h not in self.hosts or self.hosts[h].state != DONE)]
        if self.last_publish < self.s1:
            out.append("scheduler")
        return out

    def part(self, descriptors: dict[str, dict], metered: set[str], final: bool,
             extra: list[str] | None = None) -> ClusterPart:
        reasons = list(self.reasons) + list(extra or ())
        if self.left:
            (w0, h0), more = self.left[0], len(self.left) - 1
            reasons.append(f"worker {w0} on host {h0}" + (f" and {more} more" if more else "")
                           + " left during the window")
        details, charged = [], {"cpu": 0.0, "gpu": 0.0, "ram": 0.0}
        problems: dict[str, list[str]] = {}
        for h in sorted(self.seen_hosts | set(self.hosts)):
            acc = self.hosts.get(h)
            local = h == self.local and self.skip_local
            ok = acc is not None and acc.state == DONE and not acc.restarted and not acc.late
            if not local and not ok:
                why = ("no meter reported" if acc is None else "its meter restarted" if acc.restarted
                       else "its meter started during the window" if acc.late
                       else "no report after the window ended")
                problems.setdefault(why, []).append(h)
            v = acc.total() if acc is not None else [0.0] * WIDTH
            details.append(self._share(h, v, acc, local, ok))
            for c, j in details[-1].charged_j.items():
                charged[c] += j
        for why, which in problems.items():  # one clause per kind, however many hosts
            also = f" and {len(which) - 2} more" if len(which) > 2 else ""
            reasons.append(f"host {', '.join(which[:2])}{also}: {why}")
        methods, measured = _methods(descriptors, [d.host for d in details if not d.local])
        if final and self.last_publish < self.s1:
            reasons.append("the scheduler did not answer in time")
        by_comp = {c: j for c, j in charged.items() if c in methods or j > 0}
        n_hosts = len(self.seen_hosts | set(self.hosts)) + self.unmetered_hosts
        return ClusterPart(n_hosts, self.workers, by_comp, methods,
                           measured, not reasons, "; ".join(reasons) or None, tuple(details),
                           self.start_wall, self.end_wall)

    def _share(self, h: str, v: list[float], acc: HostAcc | None, local: bool, ok: bool) -> HostShare:
        ours, every = self.ours.get(h, 0.0), self.every.get(h, 0.0)
        every = max(every, ours)
        f = ours / every if every > 0 else 0.0
        busy = v[BUSY_S]
        n_read, n_watched = acc.n if acc is not None else (0, 0)
        procs: float | None = None
        if n_read > 0:
            procs = v[PROCS_S] * (n_watched / n_read if n_watched > n_read else 1.0)
        cpu_time = procs if procs is not None else every  # task time stands in, see docs
        cpu_share = min(1.0, cpu_time / busy) * f if busy > 0 else 0.0
        energy = {"cpu": v[CPU_J], "gpu": v[GPU_J], "ram": v[RAM_J]}
        charged = {"cpu": 0.0, "gpu": 0.0, "ram": 0.0} if local else {
            "cpu": energy["cpu"] * cpu_share, "gpu": energy["gpu"] * f,
            "ram": energy["ram"] * cpu_share}
        return HostShare(h, self.host_workers.get(h, 0), energy, busy, procs, ours, every,
                         cpu_share, f, charged, local, ok)


def _methods(descriptors: dict[str, dict], hosts: list[str]) -> tuple[dict[str, str], dict[str, bool]]:
    methods: dict[str, list[str]] = {}
    measured: dict[str, bool] = {}
    for h in hosts:
        d = descriptors.get(h) or {}
        for c in ("cpu", "gpu", "ram"):
            if c in d:
                ms = methods.setdefault(c, [])
                for m in str(d[c][0]).split("+"):
                    if m not in ms:
                        ms.append(m)
                measured[c] = measured.get(c, True) and bool(d[c][1])
    return {c: "+".join(m) for c, m in methods.items()}, measured

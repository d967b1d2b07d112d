"""The client side: connects a Dask client to the cluster's meters and turns their reports
into each window's cluster part.

Nothing here runs on the user's thread except ``open``/``close`` (a few microseconds: no
I/O, no round trip, no lock; they queue the edge for the other threads). Connecting
(registering the plugins, measuring the clock offset to the scheduler) runs on a helper
thread; messages arrive on the Dask client's event-loop thread; a finisher thread completes
each closed window when every metered host has reported past its end, or at its deadline
(``interval + grace_s`` after the end) as partial, and runs the callbacks there.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Callable

from .clock import Offset
from .identity import host_id
from .part import ClusterPart
from .protocol import client_gone, client_topic, one_line, with_host_names
from .window import ClusterWindow

log = logging.getLogger(__name__)

INSTALL_HINT = "install jupyter-carbon in the cluster's environment to measure its energy"


class ClusterCollector:
    def __init__(self, client, *, interval: float = 1.0, gpu: bool = True, skip_local: bool = True,
                 grace_s: float = 2.0, say: Callable[[str], None] | None = None,
                 local_host: str | None = None):
        self.client, self.client_id = client, client.id
        self.interval, self.gpu, self.grace_s, self.skip_local = float(interval), gpu, float(grace_s), skip_local
        self.local = local_host or host_id()
        self.say = say or (lambda msg: log.warning("jupyter-carbon: %s", msg))
        self.state = "new"  # new, connecting, ready, failed, closed
        self.problem: str | None = None  # why it failed
        self.retryable = False  # failed for a passing reason: the next window tries again
        self.offset: Offset | None = None
        self.descriptors: dict[str, dict] = {}
        self.counts: dict[str, int] = {}
        self.unmetered = (0, 0)  # workers without a meter plugin, and their machines
        self.last: dict[str, list] = {}  # host -> its latest report (scheduler clock)
        self._names: dict[int, str] = {}  # the scheduler's host numbers
        self._watts: dict[str, float] = {}  # host -> whole-host power between its last reports
        self.messages, self.handler_cpu_s = 0, 0.0
        self._cond = threading.Condition(threading.Lock())
        self._early: list[dict] = []  # messages before the clock offset is known
        self._open: list[ClusterWindow] = []
        self._pending: list[tuple[float, ClusterWindow, Future]] = []
        self._edges: deque = deque()  # (window, end or None, Future): the user's thread appends
        self._wake = threading.Event()  # the finisher's: a closed window, a message, a stop
        self._idle = True  # the finisher sleeps without a deadline (no pending window)
        self._host_said: set[str] = set()  # hosts, and messages, said once
        self._said: set[str] = set()
        self._missing_said = False
        self._finisher: threading.Thread | None = None
        self._stopped = False  # the finisher has ended (set under the lock)
    # --- connecting (helper thread) -------------------------------------------------
    def start(self) -> ClusterCollector:
        if self.state == "new":
            self.state = "connecting"
            self._finisher = threading.Thread(target=self._finish_loop, daemon=True,
                                              name="jupyter-carbon-cluster")
            self._finisher.start()
            threading.Thread(target=self._connect, daemon=True, name="jupyter-carbon-connect").start()
        return self

    def _connect(self) -> None:
        from .scheduler import ClusterSchedulerPlugin, subscribe
        from .worker import HostMeterPlugin

        c = self.client
        info = None
        for _ in range(20):  # a plugin left by a client that just closed may still be leaving
            try:
                c.register_plugin(ClusterSchedulerPlugin(self.interval))
            except Exception as exc:
                return self._fail(f"the Dask scheduler cannot run jupyter-carbon's plugin "
                                  f"({one_line(exc)}); {INSTALL_HINT}", exc)
            try:
                c.subscribe_topic(client_topic(self.client_id), self._on_event)
                t0 = time.time()
                info = c.run_on_scheduler(subscribe, client=self.client_id)
                t1 = time.time()
            except Exception as exc:
                return self._fail(f"could not subscribe to the cluster's meters ({one_line(exc)})", exc)
            if info or self.state != "connecting":
                break
            time.sleep(0.1)
        if not info:
            self.retryable = True
            return self._fail("the cluster's jupyter-carbon plugin did not accept this client")
        with self._cond:
            off = self.offset = Offset.from_roundtrip(t0, info["time"], t1)
            for w in self._open + [p[1] for p in self._pending]:
                if w.unanchored:
                    w.s0, w.unanchored = off.to_remote(w.start_wall), False
                    if w.closed:
                        w.s1 = off.to_remote(w.end_wall)
            self._take_edges()
            early, self._early = self._early, []
            for msg in early:
                self._apply(msg)
        try:
            c.register_plugin(HostMeterPlugin(self.interval, self.gpu))
        except Exception as exc:  # typically: jupyter_carbon not importable on the workers
            self._missing_said = True
            self._say(f"the Dask workers cannot run jupyter-carbon's meter ({one_line(exc)}); "
                      f"{INSTALL_HINT}", exc)
        if self.state == "connecting":
            self.state = "ready"

    def _fail(self, problem: str, exc: BaseException | None = None) -> None:
        self.state, self.problem = "failed", problem
        self._say(problem, exc)
        self._wake.set()

    def _say(self, msg: str, exc: BaseException | None = None) -> None:
        log.debug("cluster: %s", msg, exc_info=exc)
        if msg not in self._said:
            self._said.add(msg)
            try:
                self.say(msg)
            except Exception:
                log.debug("saying %r failed", msg, exc_info=True)

    # --- messages (the Dask client's event-loop thread) -----------------------------
    def _on_event(self, event) -> None:
        c0 = time.thread_time()
        try:
            msg = event[1]
            with self._cond:
                if self.offset is None:
                    self._early.append(msg)
                    return
                self._take_edges()
                self._apply(msg)
                if self._pending:
                    self._wake.set()
        except Exception:
            log.debug("jupyter-carbon: bad cluster message", exc_info=True)
        finally:
            self.handler_cpu_s += time.thread_time() - c0

    def _apply(self, msg: dict) -> None:
        self.messages += 1
        msg = with_host_names(msg, self._names)
        windows = self._open + [p[1] for p in self._pending]
        for h, d in (msg.get("d") or {}).items():
            self.descriptors[h] = d
            for m in d.get("messages") or ():
                if m not in self._host_said:  # once per kind, not once per host
                    self._host_said.add(m)
                    self._say(f"on cluster host {h} (and any like it): {m}")
        if "w" in msg:
            self.counts = msg["w"]
        for h, reps in msg.get("r", {}).items():
            for rep in reps:
                prev = self.last.get(h)
                for w in windows:
                    w.on_report(h, rep, prev, prev is not None)
                self.last[h] = rep
                if prev is not None and prev[0] == rep[0] and rep[1] > prev[1]:
                    joules = sum((a or 0.0) - (b or 0.0) for a, b in zip(rep[2:5], prev[2:5]))
                    self._watts[h] = max(joules, 0.0) / (rep[1] - prev[1])
        bw, ours, others = msg.get("bw", 0.1), msg.get("o", {}), msg.get("a", {})
        u = msg.get("u") or [0, 0]
        self.unmetered = (int(u[0]), int(u[1]))
        for w in windows:
            w.on_tasks(bw, ours, others)
            w.on_publish(float(msg["t"]), self.counts, msg.get("x", []), self.unmetered)
        if u[0] and not self._missing_said:  # said once, whichever way it showed first
            self._missing_said = True
            self._say(f"{u[0]} Dask worker(s) run no jupyter-carbon meter; {INSTALL_HINT}")

    # --- windows (the user's thread: no I/O, no lock, no waiting) ---------------------
    def open(self, start_wall: float | None = None) -> ClusterWindow:
        start = time.time() if start_wall is None else start_wall
        off = self.offset
        w = ClusterWindow(off.to_remote(start) if off is not None else start, start, self.counts,
                          self.local, self.skip_local, self.unmetered)
        if off is None:
            w.unanchored = True
            w.reasons.append("jupyter-carbon was still connecting to the cluster")
        self._edges.append((w, None, None))  # taken in by the next message or finisher wake
        return w

    def close(self, w: ClusterWindow, end_wall: float | None = None) -> Future:
        """End the window; the Future gets its ClusterPart when complete or at the deadline."""
        fut: Future = Future()
        self._edges.append((w, time.time() if end_wall is None else end_wall, fut))
        if self._idle:  # the finisher sleeps with no deadline: it must learn of this one
            self._wake.set()
        if self.state in ("closed", "failed"):  # the finisher may have ended: finish it here
            with self._cond:
                done = self._settle()[0] if self._stopped else []
            _resolve(done)
        return fut

    def _take_edges(self) -> None:
        """Windows opened and closed since the last look (under the lock)."""
        off = self.offset
        while self._edges:
            w, end, fut = self._edges.popleft()
            if w.unanchored and off is not None:
                w.s0, w.unanchored = off.to_remote(w.start_wall), False
            if end is None:
                self._open.append(w)
                continue
            if w in self._open:
                self._open.remove(w)
            w.close(off.to_remote(end) if off is not None and not w.unanchored else end, end)
            self._pending.append((end + self.interval + self.grace_s, w, fut))

    def so_far(self, w: ClusterWindow) -> ClusterPart:
        """The window up to the latest reports, for live views (no waiting)."""
        with self._cond:
            self._take_edges()
            return w.part(self.descriptors, self._metered(), False)

    def watts(self) -> float:
        """Power of the metered hosts (whole hosts, not this client's share), from their
        last two reports: what a live view shows as cluster watts. The kernel's own host is
        left out when its row already has it."""
        return sum(w for h, w in self._watts.items() if not (self.skip_local and h == self.local))

    # --- finishing (the finisher thread) ---------------------------------------------
    def _metered(self) -> set[str]:
        return {h for h, n in self.counts.items() if n > 0 and h in self.descriptors}

    def _finish_loop(self) -> None:
        while True:
            with self._cond:
                if self.state != "closed" and client_gone(self.client):
                    self.state = "closed"  # the user closed the client: nothing more will come
                    self.problem = self.problem or "the Dask client closed"
                done, keep = self._settle()
                # once stopped, ``close`` finishes late windows itself (under this lock)
                stop = self._stopped = self.state in ("closed", "failed") and not keep
                # asleep until a window closes, a message comes, or the nearest deadline
                wait = min(d for d, _, _ in keep) - time.time() if keep else None
            _resolve(done)
            if stop:
                return
            if not done:
                self._idle = wait is None
                if not self._edges:  # (close appends, then looks at _idle: one of us sees the other)
                    self._wake.wait(None if wait is None else max(wait, 0.01))
                self._wake.clear()
                self._idle = False

    def _settle(self) -> tuple[list[tuple[Future, ClusterPart]], list]:
        """Windows whose part is known (all reports in, deadline passed, or the collector
        closed), and those still waiting (under the lock)."""
        self._take_edges()
        now, closed = time.time(), self.state in ("closed", "failed")
        extra = [self.problem or "the Dask client closed"] if closed else []
        done, keep, metered = [], [], self._metered()
        for deadline, w, fut in self._pending:
            if closed or now >= deadline or not w.waiting_for(metered):
                final = closed or now >= deadline
                done.append((fut, w.part(self.descriptors, metered, final, extra)))
            else:
                keep.append((deadline, w, fut))
        self._pending = keep
        return done, keep

    # --- closing ----------------------------------------------------------------------
    def detach(self) -> None:
        """Stop collecting: unsubscribe (the scheduler plugin removes itself and the
        workers' meters when no client is left) and finish pending windows as partial."""
        if self.state == "closed":
            return
        self.problem = self.problem or "jupyter-carbon detached from the cluster"
        was = self.state
        self.state = "closed"
        self._wake.set()
        if was in ("ready", "connecting") and not client_gone(self.client):
            threading.Thread(target=self._unsubscribe, daemon=True).start()

    def _unsubscribe(self) -> None:
        from .scheduler import unsubscribe

        try:
            self.client.unsubscribe_topic(client_topic(self.client_id))
            self.client.run_on_scheduler(unsubscribe, client=self.client_id)
        except Exception:
            log.debug("jupyter-carbon: unsubscribing failed", exc_info=True)


def _resolve(done: list[tuple[Future, ClusterPart]]) -> None:
    for fut, part in done:
        try:
            fut.set_result(part)
        except Exception:
            log.debug("a cluster part callback failed", exc_info=True)

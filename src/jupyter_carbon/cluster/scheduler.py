"""The scheduler side: elects one meter per host, keeps task time per client, and sends
each subscribed client one message per interval.

Workers register (host identity, pid) over an rpc handler; the first worker of a host is
its meter, and when it leaves the next one is told to take over. Host reports arrive
through Dask's event channel (``Worker.log_event``) and are forwarded, with this client's
task time, to each subscribed client through the same channel (``Scheduler.log_event`` to
a per-client topic). The events' history is dropped after each publish so the scheduler's
memory does not grow. When the last subscribed client leaves, the plugin removes the
worker plugin from every worker and then itself.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from .protocol import (DEFAULT_BIN_S, ELECT_HANDLER, REGISTER_HANDLER, REPORT_TOPIC,
                       SCHEDULER_PLUGIN, WORKER_PLUGIN, client_topic)
from .tasks import TaskLedger

log = logging.getLogger(__name__)

UNREGISTERED_AFTER = 3.0  # intervals a worker may take to register before it counts as unmetered


class ClusterSchedulerPlugin(SchedulerPlugin):
    idempotent = True
    name = SCHEDULER_PLUGIN

    def __init__(self, interval: float = 1.0, bin_s: float = DEFAULT_BIN_S):
        self.interval = float(interval)
        self.bin_s = float(bin_s)
        self.scheduler: Any = None
        self.closing = False
        self.hosts: dict[str, dict[str, tuple]] = {}  # host -> {worker: (pid, start)}
        self.meters: dict[str, str] = {}  # host -> the worker measuring it
        self.host_of: dict[str, str] = {}  # worker -> host
        self.descriptors: dict[str, dict] = {}
        self.subscribers: dict[str, bool] = {}  # client -> wants every descriptor again
        self.ledger = TaskLedger(self.bin_s)
        self._reports: dict[str, list] = defaultdict(list)
        self._removed: list[list] = []
        self._seen: dict[str, float] = {}
        self._meter_ix: dict[str, int] = {}  # meter id -> a short number for the messages
        self._host_ix: dict[str, int] = {}  # host -> its number in the messages (ids are long)
        self._new_names: dict[int, str] = {}  # numbers given since the last publish
        self._counts: dict[int, int] | None = None  # workers per host number, as last published
        self._pc: Any = None
        self._bg: set[asyncio.Future] = set()
        self.publishes = 0
        self.publish_cpu_s = 0.0
        self.hook_cpu_s = 0.0  # report and task hooks
        self.sizes: dict[str, list[int]] = {"report": [], "publish": []}  # first 50 of each, msgpack bytes

    def __getstate__(self) -> dict:
        return {"interval": self.interval, "bin_s": self.bin_s}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["interval"], state["bin_s"])  # type: ignore[misc]

    # --- lifecycle ------------------------------------------------------------------
    async def start(self, scheduler) -> None:
        from tornado.ioloop import PeriodicCallback

        self.scheduler = scheduler
        now = time.time()
        self._seen = {w: now for w in scheduler.workers}
        scheduler.handlers[REGISTER_HANDLER] = self._register
        self._pc = PeriodicCallback(self._publish, self.interval * 1000.0)
        self._pc.start()

    async def close(self) -> None:
        self._stop()

    def _stop(self) -> None:
        self.closing = True
        if self._pc is not None:
            self._pc.stop()
        s = self.scheduler
        if s is not None and s.handlers.get(REGISTER_HANDLER) == self._register:
            del s.handlers[REGISTER_HANDLER]

    async def _teardown(self) -> None:
        """The last client left: every worker drops its meter, then this plugin goes."""
        self._stop()
        s = self.scheduler
        try:
            if WORKER_PLUGIN in s.worker_plugins:
                await s.unregister_worker_plugin(comm=None, name=WORKER_PLUGIN)
        except Exception:
            log.debug("jupyter-carbon: removing the worker plugin failed", exc_info=True)
        if s.plugins.get(SCHEDULER_PLUGIN) is self:
            s.remove_plugin(name=SCHEDULER_PLUGIN)
        self._truncate(REPORT_TOPIC)

    def _background(self, coro) -> None:
        fut = asyncio.ensure_future(coro)
        self._bg.add(fut)
        fut.add_done_callback(self._bg.discard)

    # --- clients --------------------------------------------------------------------
    def subscribe(self, client: str) -> dict | None:
        if self.closing:
            return None
        self.subscribers[client] = True
        return {"time": time.time(), "interval": self.interval, "bin_s": self.bin_s}

    def unsubscribe(self, client: str) -> None:
        if self.subscribers.pop(client, None) is not None:
            self._truncate(client_topic(client))
            if not self.subscribers and not self.closing:
                self.closing = True  # from now on a new client waits for a fresh plugin
                self._background(self._teardown())

    def remove_client(self, scheduler, client: str) -> None:
        self.unsubscribe(client)

    # --- workers --------------------------------------------------------------------
    def _register(self, address: str = "", host: str = "", pid: int | None = None,
                  start: int | None = None) -> dict | None:
        """rpc from a worker's plugin: record it; the first of a host measures it."""
        if self.closing or address not in self.scheduler.workers:
            return None
        self.host_of[address] = host
        self.number(host)
        workers = self.hosts.setdefault(host, {})
        workers[address] = (pid, start)
        procs = [[p, s] for p, s in workers.values() if p is not None]
        meter = self.meters.get(host)
        if meter is None:
            self.meters[host] = address
            return {"elected": True, "time": time.time(), "procs": procs}
        self._background(self._tell(meter, procs))  # the meter follows the new process too
        return {"elected": False, "time": time.time()}

    def number(self, host: str) -> int:
        n = self._host_ix.get(host)
        if n is None:
            n = self._host_ix[host] = len(self._host_ix)
            self._new_names[n] = host
        return n

    async def _tell(self, worker: str, procs: list) -> None:
        try:
            await getattr(self.scheduler.rpc(worker), ELECT_HANDLER)(procs=procs)
        except Exception:
            log.debug("jupyter-carbon: telling %s to measure failed", worker, exc_info=True)

    def add_worker(self, scheduler, worker: str) -> None:
        self._seen[worker] = time.time()

    def remove_worker(self, scheduler, worker: str, *, stimulus_id: str = "", **kwargs) -> None:
        self._seen.pop(worker, None)
        host = self.host_of.pop(worker, None)
        if host is None:
            return
        self._removed.append([time.time(), worker, host])
        workers = self.hosts.get(host, {})
        workers.pop(worker, None)
        if self.meters.get(host) != worker:
            meter = self.meters.get(host)
            if meter is not None:
                self._background(self._tell(meter, [[p, s] for p, s in workers.values()]))
            return
        del self.meters[host]
        if workers:  # the next worker of the host takes over
            nxt = next(iter(workers))
            self.meters[host] = nxt
            self._background(self._tell(nxt, [[p, s] for p, s in workers.values()]))
        else:
            self.hosts.pop(host, None)

    # --- hooks ----------------------------------------------------------------------
    def log_event(self, topic: str, msg: Any) -> None:
        if topic != REPORT_TOPIC or not isinstance(msg, dict):
            return
        c0 = time.thread_time()
        host, worker = msg.get("h"), msg.get("worker")
        if host is not None and self.meters.get(host) == worker:  # a deposed meter is ignored
            ix = self._meter_ix.setdefault(msg["m"], len(self._meter_ix))
            row = [ix, msg["t"], *msg["v"], *msg.get("n", (0, 0))]
            self._reports[host].append(row)
            if "d" in msg:
                self.descriptors[host] = msg["d"]
                for c in self.subscribers:
                    self.subscribers[c] = True
        self.hook_cpu_s += time.thread_time() - c0
        if len(self.sizes["report"]) < 50:  # as the worker sent it (the scheduler adds "worker")
            self.sizes["report"].append(_size({k: v for k, v in msg.items() if k != "worker"}))

    def update_graph(self, scheduler, *, client: str, keys, tasks=None, **kwargs) -> None:
        c0 = time.thread_time()
        self.ledger.submitted(client, tasks if tasks is not None else keys)
        self.hook_cpu_s += time.thread_time() - c0

    def transition(self, key, start, finish, *args, stimulus_id: str = "", **kwargs) -> None:
        if start != "processing":
            if finish == "forgotten":
                self.ledger.forgotten(key)
            return
        if finish != "memory" and finish != "erred":
            return
        c0 = time.thread_time()
        host = self.host_of.get(kwargs.get("worker", ""))
        if host is not None:
            self.ledger.finished(key, host, kwargs.get("startstops"))
        self.hook_cpu_s += time.thread_time() - c0

    # --- publishing -----------------------------------------------------------------
    def _publish(self) -> None:
        if not self.subscribers or self.closing:
            return
        c0 = time.thread_time()
        try:
            now = time.time()
            num = self.number
            reports = {num(h): rows for h, rows in self._reports.items()}
            self._reports = defaultdict(list)
            removed = [[t, w, num(h)] for t, w, h in self._removed]
            self._removed = []
            counts = {num(h): len(w) for h, w in self.hosts.items()}
            changed = counts != self._counts
            self._counts = counts
            late = now - UNREGISTERED_AFTER * self.interval
            lost = [ws for w, ws in self.scheduler.workers.items()
                    if w not in self.host_of and self._seen.get(w, now) < late]
            unmetered = [len(lost), len({ws.host for ws in lost})]  # workers, machines (by IP)
            tasks = self.ledger.drain(self.subscribers)
            names, self._new_names = self._new_names, {}
            for client, full in list(self.subscribers.items()):
                ours, others = tasks[client]
                msg: dict[str, Any] = {"t": now, "bw": self.bin_s, "r": reports,
                                       "o": {num(h): a for h, a in ours.items()},
                                       "a": {num(h): a for h, a in others.items()},
                                       "x": removed, "u": unmetered}
                if full or changed:  # worker counts only when they change
                    msg["w"] = counts
                if full:
                    msg["hn"] = {n: h for h, n in self._host_ix.items()}
                    msg["d"] = {num(h): d for h, d in self.descriptors.items()}
                    self.subscribers[client] = False
                elif names:
                    msg["hn"] = names
                self.scheduler.log_event(client_topic(client), msg)
                self._truncate(client_topic(client))
                if len(self.sizes["publish"]) < 50:  # a sample of sizes, for docs/cluster.md
                    self.sizes["publish"].append(_size(msg))
            self._truncate(REPORT_TOPIC)
            self.publishes += 1
        except Exception:
            log.debug("jupyter-carbon: publish failed", exc_info=True)
        finally:
            self.publish_cpu_s += time.thread_time() - c0

    def _truncate(self, topic: str) -> None:
        """Drop a topic's stored history: clients get each event once; keeping them would
        grow the scheduler's memory by every report (Dask keeps 100,000 per topic)."""
        broker = getattr(self.scheduler, "_broker", None)
        try:
            if broker is not None:
                broker.truncate(topic)
        except Exception:
            log.debug("jupyter-carbon: truncating %s failed", topic, exc_info=True)

    def stats(self) -> dict:
        return {"publishes": self.publishes, "publish_cpu_s": self.publish_cpu_s,
                "hook_cpu_s": self.hook_cpu_s, "sizes": self.sizes,
                "tasks": self.ledger.tasks, "hosts": len(self.hosts), "owners": len(self.ledger.owners)}


def _size(msg) -> int:
    try:
        import msgpack

        return len(msgpack.dumps(msg))
    except Exception:
        log.debug("sizing a message failed", exc_info=True)
        return 0


# Run on the scheduler through Client.run_on_scheduler (public API), from the client side.
def subscribe(dask_scheduler, client: str) -> dict | None:
    plugin = dask_scheduler.plugins.get(SCHEDULER_PLUGIN)
    return plugin.subscribe(client) if isinstance(plugin, ClusterSchedulerPlugin) else None


def unsubscribe(dask_scheduler, client: str) -> None:
    plugin = dask_scheduler.plugins.get(SCHEDULER_PLUGIN)
    if isinstance(plugin, ClusterSchedulerPlugin):
        plugin.unsubscribe(client)


def stats(dask_scheduler) -> dict | None:
    plugin = dask_scheduler.plugins.get(SCHEDULER_PLUGIN)
    return plugin.stats() if isinstance(plugin, ClusterSchedulerPlugin) else None

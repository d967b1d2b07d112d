"""The worker side: one meter per host, run by the one worker the scheduler elects there.

Every worker process gets this plugin (Dask installs it on current and future workers);
each registers its host identity and pid with the scheduler once, measuring its clock
offset on that round trip. The elected worker builds the kernel's own sensors
(``discover`` + ``Meter``, the same methods as the kernel) and, on the worker's event
loop, snapshots them every interval and sends one report through Dask's event channel;
the other workers on the host send nothing. No thread is added: a snapshot reads the
counters synchronously (microseconds with RAPL or the CPU model), and power-only sensors
are integrated between these snapshots.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from .clock import ZERO, Offset
from .identity import host_id, process_start
from .protocol import ELECT_HANDLER, REGISTER_HANDLER, REPORT_TOPIC, WORKER_PLUGIN

log = logging.getLogger(__name__)


class HostMeterPlugin(WorkerPlugin):
    """Registered once per cluster (idempotent); see the module docstring."""

    idempotent = True
    name = WORKER_PLUGIN

    def __init__(self, interval: float = 1.0, gpu: bool = True):
        self.interval = float(interval)
        self.gpu = bool(gpu)
        self._reset()

    def _reset(self) -> None:
        self.worker: Any = None
        self.host = ""
        self.offset = ZERO
        self.elected = False
        self.meter: Any = None
        self._setup: Any = None
        self._load: Any = None
        self._pc: Any = None
        self._groups: list[tuple[int, tuple[int, ...]]] = []
        self._descriptor: dict | None = None
        self._task: asyncio.Future | None = None
        self._starting = False
        self._procs: list = []
        self.meter_id = ""
        self.reports = 0
        self.report_cpu_s = 0.0  # thread CPU spent building and sending reports
        self.recent: deque[float] = deque(maxlen=256)  # thread CPU of the latest reports

    def __getstate__(self) -> dict:  # only the settings travel to the workers
        return {"interval": self.interval, "gpu": self.gpu}

    def __setstate__(self, state: dict) -> None:
        self.interval, self.gpu = state["interval"], state["gpu"]
        self._reset()

    # --- lifecycle (on the worker's event loop) ---------------------------------------
    async def setup(self, worker) -> None:
        self.worker = worker
        self.host = host_id()
        worker.handlers[ELECT_HANDLER] = self._elect
        # Registration must not hold the worker's start-up: it runs in the background.
        self._task = asyncio.ensure_future(self._register())

    async def _register(self) -> None:
        w = self.worker
        try:
            call = getattr(w.scheduler, REGISTER_HANDLER)
            t0 = time.time()
            reply = await call(address=w.address, host=self.host, pid=os.getpid(),
                               start=process_start())
            t1 = time.time()
        except Exception:
            log.debug("jupyter-carbon: registration with the scheduler failed", exc_info=True)
            return
        if not isinstance(reply, dict) or "time" not in reply:
            log.debug("jupyter-carbon: the scheduler has no jupyter-carbon plugin (%r)", reply)
            return
        self.offset = Offset.from_roundtrip(t0, reply["time"], t1)
        if reply.get("elected"):
            if not self._procs:  # an election message may have come first, with a newer list
                self._procs = _procs(reply.get("procs"))
            await self._become_meter()

    def _elect(self, procs: list | None = None) -> dict:
        """rpc from the scheduler: measure this host (again), following these processes."""
        if self.worker is None:
            return {"status": "closed"}
        self._procs = _procs(procs)  # kept while the meter is being built
        if self._load is not None:
            self._load.watch(self._procs)
        elif not self._starting:
            asyncio.ensure_future(self._become_meter())
        return {"status": "OK"}

    async def _become_meter(self) -> None:
        if self.meter is not None or self._starting:
            return
        self._starting = True
        try:
            # Discovery reads sysfs and tables (tens of ms): off the worker's event loop.
            built = await asyncio.get_running_loop().run_in_executor(None, self._build)
        except Exception:
            log.warning("jupyter-carbon: could not start the host meter", exc_info=True)
            return
        finally:
            self._starting = False
        if self.worker is None:  # torn down meanwhile
            built[0].close()
            built[1].close()
            return
        from tornado.ioloop import PeriodicCallback

        self._setup, self.meter, self._load = built
        self.elected = True
        self.meter_id = f"{self.worker.address}@{time.time():.3f}"
        self._load.watch(self._procs)
        self._report()
        self._pc = PeriodicCallback(self._report, self.interval * 1000.0)
        self._pc.start()

    def _build(self) -> tuple:
        from ..config import Settings
        from ..engine import Meter
        from ..sensors.discover import discover
        from ..sensors.rapl import DEFAULT_ROOT
        from .hostload import HostLoad

        s = Settings(None)  # this host's JUPYTER_CARBON_* (e.g. its own CPU TDP)
        setup = discover(gpu=self.gpu and s["gpu"], cpu_tdp_w=s["cpu_tdp"],
                         ram_w_per_gb=s["ram_w_per_gb"],
                         powercap_root=os.environ.get("JUPYTER_CARBON_POWERCAP_ROOT") or DEFAULT_ROOT)
        meter = Meter(setup.sensors, interval=self.interval)
        return setup, meter, HostLoad()

    def _describe(self) -> dict:
        comps: dict[str, list[int]] = {}
        for i, ch in enumerate(self.meter.channels):
            comps.setdefault(ch.sensor.component, []).append(i)
        order = {"cpu": 0, "gpu": 1, "ram": 2}
        self._groups = [(order[c], tuple(ix)) for c, ix in comps.items() if c in order]
        desc: dict[str, Any] = {}
        for c, ix in comps.items():
            sensors = [self.meter.channels[i].sensor for i in ix]
            desc[c] = ["+".join(dict.fromkeys(s.method for s in sensors)),
                       all(s.measured for s in sensors), len(sensors)]
        desc["ncpu"] = os.cpu_count() or 1
        desc["messages"] = list(getattr(self._setup, "messages", []) or [])
        return desc

    def _report(self) -> None:
        c0 = time.thread_time()
        first = self._descriptor is None
        try:
            if first:
                self._descriptor = self._describe()
            s = self.meter.snapshot()
            v: list[float | None] = [None, None, None, self._load.busy_s(), 0.0]
            for k, ix in self._groups:
                v[k] = sum(s.joules[i] for i in ix)
            procs, n = self._load.procs_s()
            v[4] = procs
            msg: dict[str, Any] = {"h": self.host, "m": self.meter_id,
                                   "t": self.offset.to_remote(s.wall), "v": v,
                                   "n": [n, self._load.watched]}
            if first:
                msg["d"] = self._descriptor
            self.worker.log_event(REPORT_TOPIC, msg)
            self.reports += 1
        except Exception:  # a meter must never disturb the worker
            log.debug("jupyter-carbon: host report failed", exc_info=True)
        finally:
            c = time.thread_time() - c0
            self.report_cpu_s += c
            if not first:  # the first also describes the sensors: once, not per report
                self.recent.append(c)


    def teardown(self, worker) -> None:
        if self._pc is not None:
            self._pc.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if worker.handlers.get(ELECT_HANDLER) == self._elect:
            del worker.handlers[ELECT_HANDLER]
        for thing in (self.meter, self._setup, self._load):
            if thing is not None:
                try:
                    thing.close()
                except Exception:
                    log.debug("jupyter-carbon: closing %r failed", thing, exc_info=True)
        stats = (self.reports, self.report_cpu_s, self.recent)
        self._reset()
        self.reports, self.report_cpu_s, self.recent = stats


def _procs(procs) -> list:
    return [(int(p[0]), p[1]) for p in procs or ()]

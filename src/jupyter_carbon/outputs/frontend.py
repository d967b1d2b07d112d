"""The data path to the JupyterLab / Notebook 7 extension: one comm, opened by the front-end.

Why the front-end opens it
--------------------------
The kernel only registers the comm target ``jupyter_carbon``; the lab extension opens a comm
to it once it sees the target (``comm_info_request``). So where no such front-end listens
(VS Code, Colab, classic Notebook, nbconvert) nothing is ever sent: no comm, no message. Those
keep the anywidget widget and the text fallbacks.

What goes out (``data["type"]``)
--------------------------------
``hello``       on open: the whole widget state (the same dicts as the anywidget model, see
                ``widget/state.py``) and the running cell, if any;
``cell_start``  a cell began: the front-end's cell id (``cellId`` of the execute request), its
                execution count and a run number;
``live``        at most every 0.5 s from the sampler thread: the fast-changing state (watts, the
                running cell so far, status, and the sparkline when it moves on by a bucket),
                tagged with the run number;
``cell_end``    the cell's record (energy_kwh, emissions_kg, duration_s, status, intensity,
                methods, execution_count, measured...) for the cell's metadata, and the session
                figures (totals, last cells, intensity);
``state``       settings or sensors changed: the whole state again;
``open_panel``  ``%carbon sidebar``: open the side panel.

The kernel never waits on the browser: sends go through ipykernel's IOPub thread; the live
figures are computed on the sampler thread and only when a front-end is connected. Nothing here
prints, and a failure never reaches the user's cell or the sampler.
"""
from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import Any

from ..events import CellEnded, CellStarted, Event, MeterStarted, SampleTaken, SessionClosing, SettingsChanged
from ..kernel_compat import ipykernel_thread_mode
from ..widget import state as st

log = logging.getLogger(__name__)

TARGET = "jupyter_carbon"
PROTOCOL = 1
MIN_PERIOD_S = 0.5  # at most ~2 live messages a second
_JITTER_S = 0.02
_FAILURES_BEFORE_QUIET = 3


def comm_manager(shell: Any) -> Any:
    """The kernel's comm manager, or None outside a kernel."""
    if getattr(shell, "kernel", None) is None:
        return None
    manager = getattr(shell.kernel, "comm_manager", None)
    if manager is not None:
        return manager
    try:
        from comm import get_comm_manager

        return get_comm_manager()
    except Exception:
        log.debug("no comm manager", exc_info=True)
        return None


def record_data(rec: Any) -> dict[str, Any]:
    """A cell's figures as the front-end stores them in the cell's ``jupyter_carbon`` metadata."""
    m = rec.measurement
    comps = getattr(m, "by_component", {}) or {}
    i = m.intensity
    return {
        "energy_kwh": st.r(rec.energy_kwh, 4),
        "emissions_kg": st.r(rec.emissions_kg, 4),
        "duration_s": st.r(rec.duration_s, 4),
        "status": rec.status,
        "intensity": st.r(i.g_per_kwh, 4),
        "intensity_source": i.source,
        "country_iso": i.country_iso,
        "methods": {c: e.method for c, e in comps.items()},
        "measured": bool(comps) and all(e.measured for e in comps.values()),
        "power_w": {c: st.r(e.power_w, 3) for c, e in comps.items()},
        "execution_count": rec.execution_count,
        "label": rec.label,
        "pue": st.r(m.pue, 3),
        "ended_at": m.ended_at.isoformat(timespec="seconds"),
        "embodied_kg": st.r(getattr(m, "embodied_kg", None), 4),  # kept apart from emissions_kg
    }


class FrontendComm:
    """Subscriber: feeds every connected lab-extension comm of this kernel."""

    def __init__(self, session: Any, shell: Any, *, min_period: float = MIN_PERIOD_S,
                 thread_mode: str | None = None):
        self.session = session
        self.shell = shell
        self.min_period = float(min_period)
        self.thread_mode = thread_mode or ipykernel_thread_mode()
        self.comms: list[Any] = []
        self._closed = False
        self._lock = threading.Lock()  # guards comms and the run bookkeeping; never held to send
        self._run = 0  # bumped per cell start: lets the front-end drop a late live message
        self._cell_id: str | None = None
        self._last_live = 0.0
        self._failures = 0
        self._ctx: contextvars.Context | None = None
        self._feed = st.LiveFeed()
        self._manager = comm_manager(shell)
        if self._manager is not None:
            try:
                self._manager.register_target(TARGET, self._on_open)
            except Exception:
                log.debug("could not register the comm target", exc_info=True)
                self._manager = None
        self._subscribe()

    def _subscribe(self) -> None:
        """Cell and settings events always; samples only while a front-end is connected (a
        sampler with nobody to tell calls nothing)."""
        if self._closed:
            return
        self.session.subscribe(self.handle, samples=self.connected,
                               events=(CellStarted, CellEnded, SettingsChanged, MeterStarted, SessionClosing))

    @property
    def connected(self) -> bool:
        return bool(self.comms)

    # --- comms -------------------------------------------------------------------------------
    def _on_open(self, comm: Any, msg: Any) -> None:
        """A front-end opened a comm to us (kernel main thread)."""
        try:
            comm.on_msg(self._on_msg)
            comm.on_close(lambda _msg, c=comm: self._forget(c))
            with self._lock:
                self.comms.append(comm)
            self._subscribe()
            self._send_one(comm, self._hello())
        except Exception:
            log.debug("front-end comm open failed", exc_info=True)

    def _forget(self, comm: Any) -> None:
        with self._lock:
            if comm in self.comms:
                self.comms.remove(comm)
        self._subscribe()

    def _on_msg(self, msg: Any) -> None:
        data = (msg.get("content") or {}).get("data") or {}
        if isinstance(data, dict) and data.get("type") == "request_state":
            self._broadcast(self._hello())

    def _hello(self) -> dict[str, Any]:
        cell = getattr(self.session, "current", None)
        data: dict[str, Any] = {"type": "hello", "protocol": PROTOCOL, "run": self._run,
                                "state": self._full_state()}
        if cell is not None:
            data["cell"] = {"cell_id": cell.cell_id, "n": cell.execution_count, "label": cell.label}
        history = getattr(self.session, "history", None)
        if history:  # e.g. the %load_ext cell itself, which ended before the comm opened
            last = history[-1]
            data["last"] = {"cell_id": last.cell_id, "record": record_data(last)}
        return data

    def _full_state(self) -> dict[str, Any]:
        if self.session.meter is None:
            return {"status": {"state": "stopped"}}
        return st.full_state(self.session)

    def _send_one(self, comm: Any, data: dict[str, Any]) -> None:
        try:
            comm.send(data)
        except Exception:
            log.debug("front-end send failed", exc_info=True)
            raise

    def _broadcast(self, data: dict[str, Any], context: contextvars.Context | None = None) -> bool:
        """Send to every connected front-end; False if any send failed."""
        with self._lock:
            comms = list(self.comms)
        ok = True
        for comm in comms:
            try:
                if context is not None:
                    context.run(comm.send, data)
                else:
                    comm.send(data)
            except Exception:
                log.debug("front-end send failed", exc_info=True)
                ok = False
        return ok

    def open_panel(self) -> bool:
        """Ask the connected front-ends to open the side panel; False when none is connected."""
        return self.connected and self._broadcast({"type": "open_panel"})

    # --- session events ----------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if not self.comms:
            return  # nobody listens: compute nothing, send nothing
        try:
            if isinstance(event, SampleTaken):
                self._on_sample(event.sample)
            elif isinstance(event, CellStarted):
                self._on_start(event.cell)
            elif isinstance(event, CellEnded):
                self._on_end(event)
            elif isinstance(event, (SettingsChanged, MeterStarted)):
                self._broadcast({"type": "state", "run": self._run, "state": self._full_state()})
            elif isinstance(event, SessionClosing):
                self._broadcast({"type": "state", "run": self._run, "state": {"status": {"state": "stopped"}}})
        except Exception:  # never into the user's cell nor the sampler
            log.debug("front-end update failed", exc_info=True)

    def _on_start(self, cell: Any) -> None:
        if self.thread_mode == "context":
            self._ctx = contextvars.copy_context()
        with self._lock:
            self._run += 1
            self._cell_id = cell.cell_id
        self._broadcast({"type": "cell_start", "run": self._run, "cell_id": cell.cell_id,
                         "n": cell.execution_count, "label": cell.label,
                         "state": {"running": st.running_state(self.session, None),
                                   "status": st.status_state(self.session)}})

    def _on_end(self, event: CellEnded) -> None:
        rec = event.record
        s = self.session
        with self._lock:
            run = self._run
            self._cell_id = None
        self._broadcast({"type": "cell_end", "run": run, "cell_id": rec.cell_id,
                         "record": record_data(rec),
                         "state": {"running": {}, "totals": st.totals_state(s), "recent": st.recent_state(s),
                                   "intensity": st.intensity_state(s), "status": st.status_state(s),
                                   "sensors": st.sensors_state(s.meter)}})

    def _on_sample(self, sample: Any) -> None:
        """Sampler thread: the fast state, at most once per ``min_period``."""
        if self.thread_mode == "boundary":
            return
        now = time.monotonic()
        if now - self._last_live < self.min_period - _JITTER_S:
            return
        self._last_live = now
        if self.session.meter is None:
            return
        with self._lock:
            run, cell_id = self._run, self._cell_id
        state = self._feed.state(self.session, sample)
        context = self._ctx if self.thread_mode == "context" else None
        if self._broadcast({"type": "live", "run": run, "cell_id": cell_id, "state": state}, context):
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= _FAILURES_BEFORE_QUIET:
            self.thread_mode = "boundary"  # cell starts and ends still go out from the main thread

    # --- teardown ------------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self.session.unsubscribe(self.handle)
        with self._lock:
            comms, self.comms = list(self.comms), []
        for comm in comms:
            try:
                comm.send({"type": "state", "run": self._run, "state": {"status": {"state": "stopped"}}})
                comm.close()
            except Exception:
                log.debug("closing a front-end comm failed", exc_info=True)
        if self._manager is not None:
            try:
                self._manager.unregister_target(TARGET, self._on_open)
            except Exception:
                log.debug("could not unregister the comm target", exc_info=True)
            self._manager = None

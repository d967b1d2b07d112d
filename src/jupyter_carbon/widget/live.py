"""The live widget's model: one anywidget per kernel, fed by the sampler and the session.

How updates flow
----------------
* The view's state is one plain dict (``state``), not traitlets: a change goes out as one
  custom ``{"type": "state", "state": {...}}`` message carrying only the keys that changed,
  which widget.js sets on its model. As synced traits the same update cost about 1.5x the
  message in CPU (trait validation and notification, ipywidgets' ``get_state`` and its buffer
  walk, for a few small dicts a second), a tenth of the sampler thread's whole cost with the
  widget attached. ``get_state`` adds the dict, so a view that opens, or a page that asks the
  kernel again after a reload, gets the latest figures.
* The sampler thread calls ``_on_sample`` after every sample. At most once per ``min_period``
  (0.5 s) it computes the fast-changing state (watts, running cell, status, and the sparkline
  when it moves on by a bucket) and sends what changed in one message: a burst of 1,000
  samples costs a couple of messages, and the kernel never waits on the browser (IOPub
  thread).
* Cell start/end and configuration changes arrive on the kernel's main thread
  (``_on_event``): they mark the session figures (running cell, totals, last cells,
  intensity) for a recompute and send them at once unless a message went out less than
  ``min_period`` ago, in which case the sampler's next tick computes and carries them.
  The main thread never blocks on the sampler: if a send is in progress it leaves its
  update to the sampler.
* Nothing here prints; an error on the sampler thread never escapes into it.

ipykernel 7.0.x
---------------
ipykernel 7.0.0/7.0.1 cannot send a comm message from a thread (ipykernel#1450, fixed in 7.1): the
widget sends inside the cell's copied context (``thread_mode`` "context"), and after three
failures updates at cell boundaries only ("boundary").
"""
from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import Any

import anywidget

from ..events import CellEnded, CellStarted, Event, MeterStarted, SampleTaken, SettingsChanged
from ..kernel_compat import ipykernel_thread_mode
from . import state as st
from .assets import MISSING_ESM, asset_text
from .fallback import html_summary, text_summary

log = logging.getLogger(__name__)

MIN_PERIOD_S = 0.5  # at most ~2 state messages per second
_JITTER_S = 0.02  # samples come on a fixed schedule: a period of 0.5 s is 0.5 s, not 0.5001 s
_THREAD_FAILURES_BEFORE_FALLBACK = 3

_CELL_KEYS = ("running", "totals", "recent", "intensity", "sensors", "status")
#: What every view shows (``state.full_state``'s keys).
STATE_KEYS = ("sensors", "power", "spark", "running", "totals", "intensity", "recent", "status")


class CarbonWidget(anywidget.AnyWidget):
    """The live jupyter-carbon status widget (one per kernel; see ``jupyter_carbon.widget``)."""

    _esm = asset_text("widget.js", MISSING_ESM)
    _css = asset_text("widget.css", "")

    def __init__(self, session, *, min_period: float = MIN_PERIOD_S, thread_mode: str | None = None,
                 **kwargs):
        #: What the views show, as last sent (``STATE_KEYS``); replaced key by key, only by
        #: the thread that holds ``_send_lock``. Set before the model opens: opening sends it.
        self.state: dict[str, Any] = st.full_state(session)
        super().__init__(**kwargs)
        self.session = session
        self.min_period = float(min_period)
        self.thread_mode = thread_mode or ipykernel_thread_mode()
        self.thread_error: str | None = None
        self.frontends: dict[str, int] = {}  # front-end app name -> views that said hello
        self.closed = False
        self._send_lock = threading.Lock()  # one sender at a time (sampler or main thread)
        self._pending_lock = threading.Lock()  # guards the next three; never held while sending
        self._pending: dict[str, Any] = {}  # changes a failed send left behind
        self._slow_dirty = False  # session figures (cells, totals, intensity) need a recompute
        self._gen = 0  # bumped by every session event
        self._last_sent, self._thread_failures = 0.0, 0
        self._ctx: contextvars.Context | None = None
        # Fed by one thread: the sampler's (thread and context modes) or the main thread's
        # (boundary mode); a clash while falling back only fails one update, which is retried.
        self._feed = st.LiveFeed()
        self._handles: list = []  # DisplayHandles of inline views (made static on detach)
        self._sidecar = None
        self.on_msg(self._on_custom_msg)
        self._attach()

    # --- wiring ----------------------------------------------------------------------------
    def _attach(self) -> None:
        self._capture_context()
        self.session.subscribe(self.handle, samples=True,
                               events=(CellStarted, CellEnded, SettingsChanged, MeterStarted))

    def handle(self, event: Event) -> None:
        """The session's events: samples on the sampler thread, the rest on the main thread."""
        if isinstance(event, SampleTaken):
            self._on_sample(event.sample)
        elif isinstance(event, (CellStarted, CellEnded, SettingsChanged, MeterStarted)):
            self._on_event(event)

    def _capture_context(self) -> None:
        if self.thread_mode == "context":
            self._ctx = contextvars.copy_context()

    def detach(self, note: str | None = None) -> None:
        """Stop feeding, turn inline views into a static summary, close the model."""
        if self.closed:
            return
        got = self._send_lock.acquire(timeout=2.0)
        self.closed = True
        if got:
            self._send_lock.release()
        self.session.unsubscribe(self.handle)
        try:
            snapshot = self.snapshot()
            if self.session.meter is not None:
                snapshot.update(totals=st.totals_state(self.session), recent=st.recent_state(self.session))
            bundle = {"text/plain": text_summary(snapshot),
                      "text/html": html_summary(snapshot, note=note or "jupyter-carbon was unloaded: "
                                                "final figures of this session. Every cell's row is in "
                                                "the notebook's .carbon.csv log.")}
            for handle in self._handles:
                try:
                    handle.update(bundle, raw=True)
                except Exception:
                    log.debug("could not make a view static", exc_info=True)
        except Exception:
            log.debug("could not build the final summary", exc_info=True)
        self._handles.clear()
        if self._sidecar is not None:
            try:
                self._sidecar.close()
            except Exception:
                log.debug("could not close the sidecar", exc_info=True)
            self._sidecar = None
        try:
            self.close()
        except Exception:
            log.debug("could not close the widget model", exc_info=True)

    # --- state -----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What every view shows, as plain data (a copy)."""
        return dict(self.state)

    def get_state(self, key=None, drop_defaults=False):
        """ipywidgets' state of the model (its assets) with ours: what a view gets when the
        model opens and when a front-end asks for it again (a page reload)."""
        keys = None if key is None else [key] if isinstance(key, str) else list(key)
        ours = dict(self.state)
        if keys is not None:
            ours = {k: v for k, v in ours.items() if k in keys}
            keys = [k for k in keys if k not in self.state]
        theirs = super().get_state(keys, drop_defaults) if keys != [] else {}
        return {**theirs, **ours}

    def _slow_state(self) -> dict[str, Any]:
        s = self.session
        return {"sensors": st.sensors_state(s.meter), "totals": st.totals_state(s),
                "intensity": st.intensity_state(s), "recent": st.recent_state(s),
                "status": st.status_state(s), "running": st.running_state(s, None)}

    # --- sampler thread ----------------------------------------------------------------------
    def _on_sample(self, sample) -> None:
        if self.closed or self.thread_mode == "boundary":
            return
        started = time.monotonic()
        if started - self._last_sent < self.min_period - _JITTER_S:
            return  # the next sample after the period carries the latest figures
        try:
            self._flush_from_thread(sample, started)
        except Exception as exc:  # never into the sampler; count, and fall back if it persists
            self._thread_failed(exc)

    def _flush_from_thread(self, sample, started: float) -> None:
        with self._pending_lock:
            gen = self._gen
            slow_needed, self._slow_dirty = self._slow_dirty, False
        state = self._slow_state() if slow_needed else {}
        state.update(self._feed.state(self.session, sample))
        with self._send_lock:
            if self.closed:
                return
            with self._pending_lock:
                if self._gen != gen:
                    # A cell started or ended while we computed: what we read about cells may
                    # predate it (the main thread may even have sent newer figures). Send the
                    # power figures now; the cell figures are recomputed on the next tick.
                    for key in _CELL_KEYS:
                        state.pop(key, None)
                    self._slow_dirty = True
                changes = {**self._pending, **state}
                self._pending.clear()
            self._send_changes(changes, context=self._ctx if self.thread_mode == "context" else None)
            self._thread_failures = 0
            self._last_sent = started

    def _send_changes(self, changes: dict[str, Any], context: contextvars.Context | None = None) -> None:
        """Send what differs from the views' state in one message (caller holds ``_send_lock``)."""
        state = self.state
        changes = {k: v for k, v in changes.items() if state.get(k) != v}
        if not changes:
            return
        message = {"type": "state", "state": changes}
        try:
            if context is not None:
                context.run(self.send, message)
            else:
                self.send(message)
            state.update(changes)
        except Exception:
            with self._pending_lock:  # keep what did not go out for the next try
                for k, v in changes.items():
                    self._pending.setdefault(k, v)
            raise

    def _thread_failed(self, exc: BaseException) -> None:
        log.debug("live widget update from the sampler thread failed", exc_info=exc)
        self._thread_failures += 1
        self._last_sent = time.monotonic()  # back off for one period
        if self._thread_failures >= _THREAD_FAILURES_BEFORE_FALLBACK:
            self.thread_error = f"{type(exc).__name__}: {exc}"[:300]
            self.thread_mode = "boundary"

    # --- main thread ---------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """Session events (kernel main thread): cheap unless a message goes out right now."""
        if self.closed:
            return
        if isinstance(event, CellStarted):
            self._capture_context()
        with self._pending_lock:
            self._gen += 1
            self._slow_dirty = True
        force = self.thread_mode == "boundary" and not isinstance(event, CellStarted)
        try:
            self.flush(force=force)
        except Exception:  # kept pending; never into the user's cell
            log.debug("widget flush failed", exc_info=True)

    def flush(self, *, force: bool = False) -> bool:
        """Send the session's figures now (main thread); False if left to the sampler's next tick."""
        if self.closed:
            return False
        started = time.monotonic()
        if not force and started - self._last_sent < self.min_period - _JITTER_S:
            return False
        if not self._send_lock.acquire(timeout=0.01):
            return False  # the sampler is sending right now; it takes ours on its next tick
        try:
            if self.closed:
                return False
            with self._pending_lock:
                slow_needed, self._slow_dirty = self._slow_dirty, False
                changes = dict(self._pending)
                self._pending.clear()
            if self.thread_mode == "boundary" and self.session.meter is not None:
                latest = self.session.meter.sampler.latest()
                if latest is not None:
                    changes.update(self._feed.state(self.session, latest))
            if slow_needed:
                changes.update(self._slow_state())  # the main thread's view of cells wins
            try:
                self._send_changes(changes)
            except Exception:
                with self._pending_lock:
                    self._slow_dirty = self._slow_dirty or slow_needed
                raise
            self._last_sent = started
            return True
        finally:
            self._send_lock.release()

    # --- front-end messages ----------------------------------------------------------------------
    def _on_custom_msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "hello":
            app = str(content.get("app") or "unknown")[:80]
            self.frontends[app] = self.frontends.get(app, 0) + 1

    # --- where widgets do not render -------------------------------------------------------------
    def view_bundle(self, **kwargs) -> tuple[dict, dict] | None:
        """The widget's own view data (no text/html fallback), or None once closed."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        return (dict(data), metadata) if bundle is not None else None

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.view_bundle(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        snap = self.snapshot()
        data["text/plain"] = text_summary(snap)
        data["text/html"] = html_summary(snap)
        return data, metadata

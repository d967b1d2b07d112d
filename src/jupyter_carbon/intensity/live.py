"""Opt-in live grid intensity, fetched on a background thread so a cell never waits on a network.

Nothing here touches the network until a ``LiveIntensity`` is constructed *and* started.
Stopping never waits on the network: a fetch in flight (a DNS lookup can hang well past any
timeout) finishes on its daemon thread and its answer is dropped. The providers and the
token's handling are in ``providers``.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping

from ..errors import ConfigError
from .model import Intensity
from .text import shown
from .providers import (  # noqa: F401 - re-exported: the names tests and callers know
    ELECTRICITYMAPS_URL, ENV_TOKEN, ENV_URL, GB_GRID_URL, PROVIDERS, ElectricityMaps, GBGrid,
    LiveError, _default_zone,
)

log = logging.getLogger(__name__)


class LiveIntensity:
    """A cached live intensity, refreshed every ``refresh_s`` by one daemon thread.

    ``current()`` never blocks: it returns the last good value (kept across failures) or
    None. ``last_error`` is a one-line reason for the latest failed fetch (None after a
    success).
    """

    def __init__(self, provider: str = "electricitymaps", *, zone: str | None = None,
                 token: str | None = None, env: Mapping[str, str] | None = None,
                 base_url: str | None = None, region_id: int | None = None,
                 postcode: str | None = None, timeout_s: float = 3.0,
                 refresh_s: float = 900.0, retry_s: float = 60.0) -> None:
        for label, value in (("timeout_s", timeout_s), ("refresh_s", refresh_s), ("retry_s", retry_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"live intensity {label} must be a number > 0, got {shown(value)}")
        env = os.environ if env is None else env
        if provider in ENV_URL:
            base_url = base_url or (env.get(ENV_URL[provider]) or "").strip() or None
        if provider == "electricitymaps":
            self._provider: ElectricityMaps | GBGrid = ElectricityMaps(
                zone or _default_zone(env), token or env.get(ENV_TOKEN, ""),
                base_url or ELECTRICITYMAPS_URL)
        elif provider == "gb-grid":
            self._provider = GBGrid(base_url or GB_GRID_URL, region_id=region_id, postcode=postcode)
        else:
            raise ConfigError(f"unknown live provider {shown(provider)}; accepted: {', '.join(PROVIDERS)}")
        self.provider = provider
        self.timeout_s, self.refresh_s, self.retry_s = float(timeout_s), float(refresh_s), float(retry_s)
        self._value: Intensity | None = None
        self._error: str | None = None
        self._last_success: float | None = None
        self._fetches = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()

    # -- caller side: all O(1), nothing here waits on the network --------------------------
    def start(self) -> LiveIntensity:
        """Launch the refresh thread (idempotent); returns at once. After ``stop`` a new thread
        starts even if the old one is still stuck in a fetch (it ends on its own)."""
        if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
            return self
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                        name=f"jupyter-carbon-live-{self.provider}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 0.0) -> bool:
        """Ask the thread to end, at once; True if it has ended (waiting at most ``timeout``,
        by default not at all: ``%unload_ext`` and settings changes never wait on a network).

        A fetch already in flight cannot be interrupted (a DNS lookup ignores timeouts), so
        the daemon thread may outlive this call; whatever it fetches is dropped.
        """
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        if timeout > 0:
            thread.join(timeout)
        return not thread.is_alive()

    def current(self) -> Intensity | None:
        return self._value

    @property
    def last_error(self) -> str | None:
        return self._error

    @property
    def last_success(self) -> float | None:
        """``time.time()`` of the last good fetch, to judge staleness."""
        return self._last_success

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def wait(self, timeout: float) -> Intensity | None:
        """Block until a first value or error arrives (scripts and tests; not the kernel)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._value is None and self._error is None and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        return self._value

    def __repr__(self) -> str:
        value = None if self._value is None else self._value.g_per_kwh
        return (f"LiveIntensity({self._provider!r}, running={self.running}, "
                f"value={value!r}, last_error={self._error!r})")

    # -- worker thread ----------------------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            ok = self._refresh(stop)
            if stop.wait(self.refresh_s if ok else min(self.retry_s, self.refresh_s)):
                break

    def _refresh(self, stop: threading.Event) -> bool:
        try:
            value = self._provider.fetch(self.timeout_s)
        except Exception as e:  # noqa: BLE001 - any failure keeps the last good value
            # No exc_info here: the traceback's messages could carry the token.
            text = str(e) if isinstance(e, (LiveError, ConfigError)) else f"{type(e).__name__}: {e}"
            redact = self._provider.redact
            message = redact(" ".join(redact(text).split()))[:200]  # redacted before the cut
            if stop.is_set():
                return False
            self._error = f"{self.provider}: {message}"
            log.debug("live intensity fetch failed: %s", self._error)
            self._notify()
            return False
        with self._changed:
            if stop.is_set():  # stopped while fetching: the answer is dropped
                return False
            self._value, self._error, self._last_success = value, None, time.time()
            self._fetches += 1
            self._changed.notify_all()
        return True

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

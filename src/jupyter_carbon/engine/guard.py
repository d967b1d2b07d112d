"""Bounded edge reads: the user's thread waits at most a small budget on a sensor.

A sensor that can block (an NVML call on a GPU that fell off the bus can take seconds) is
read at a window's edge on a helper thread. Past the budget the edge uses the channel's
latest committed point instead, and says so; while that read is still hanging no second
one is started, so a stuck device holds one helper thread, never the kernel.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sensors.base import Reading, Sensor

log = logging.getLogger(__name__)

EDGE_BUDGET_S = 0.05  # what a cell edge may wait on one blocking sensor
HUNG_AFTER_S = 5.0  # a read still running this long marks the sensor failed

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="jupyter-carbon-edge")
        return _pool


class Slow(Exception):
    """The read did not return within the budget (it may still be running)."""


class EdgeGuard:
    """Reads one sensor within a time budget; at most one read in flight."""

    def __init__(self, sensor: Sensor):
        self.sensor = sensor
        self._inflight: Future | None = None
        self._since = 0.0
        self.timeouts = 0

    def read(self, now: float, budget_s: float) -> Reading:
        """The sensor's reading, or ``Slow`` raised past ``budget_s``; the sensor's own
        exception is raised as is."""
        f = self._inflight
        if f is None or f.done():
            f = self._inflight = _executor().submit(self.sensor.read, now)
            self._since = time.monotonic()
        else:  # the previous read is still hanging: do not pile up threads behind it
            raise Slow(f"still reading after {self.hung_for():.1f} s")
        try:
            reading = f.result(timeout=budget_s)
        except FutureTimeout:
            self.timeouts += 1
            log.debug("edge read of %r over its %.0f ms budget", self.sensor, budget_s * 1000)
            raise Slow(f"no answer within {budget_s * 1000:.0f} ms") from None
        self._inflight = None
        self.timeouts = 0
        return reading

    def hung_for(self) -> float:
        f = self._inflight
        return time.monotonic() - self._since if f is not None and not f.done() else 0.0

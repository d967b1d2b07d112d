"""One collector per Dask client in this process, shared by the notebook session and
``jc.track()`` (as the process meter is, see ``runtime.py``), and the window handles both use.

A client is found at a window's start (``detect.active_client``); the first window on a
new client starts its collector, which connects in the background, so that window is
marked partial (the meters were not running when it began). Collectors of clients that
have closed are dropped at the next look.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

from .collector import ClusterCollector
from .protocol import client_gone
from .detect import active_client
from .window import ClusterWindow

log = logging.getLogger(__name__)

_lock = threading.Lock()
_collectors: dict[str, ClusterCollector] = {}


def collector_for(client, **options: Any) -> ClusterCollector:
    """The running collector of ``client``, started on first use. ``options`` (interval,
    gpu, skip_local, grace_s, say) apply when it starts."""
    with _lock:
        col = _collectors.get(client.id)
        if col is None or (col.state == "failed" and col.retryable):
            col = _collectors[client.id] = ClusterCollector(client, **options).start()
        for cid, other in list(_collectors.items()):
            if other is not col and client_gone(other.client):
                other.detach()
                del _collectors[cid]
        return col


def current(**options: Any) -> ClusterCollector | None:
    """The active client's collector (started if needed), or None without a client."""
    client = active_client()
    return collector_for(client, **options) if client is not None else None


def detach_all() -> None:
    with _lock:
        cols = list(_collectors.values())
        _collectors.clear()
    for col in cols:
        col.detach()


class Span:
    """A window on the active cluster: ``end()`` gives a Future of its ClusterPart."""

    __slots__ = ("collector", "window")

    def __init__(self, collector: ClusterCollector, window: ClusterWindow):
        self.collector, self.window = collector, window

    def end(self, end_wall: float | None = None) -> Future:
        return self.collector.close(self.window, end_wall)

    def so_far(self):
        return self.collector.so_far(self.window)


def begin(start_wall: float | None = None, **options: Any) -> Span | None:
    """Open a window on the active cluster, or None when no Dask client is active.
    Never raises: a failure is logged and the window is simply not measured."""
    try:
        client = active_client()
        if client is None:
            return None
        if getattr(client, "asynchronous", False):  # its calls would need the kernel's loop
            say = options.get("say")
            if say is not None:
                say("asynchronous Dask clients are not measured yet; their cells get no cluster part")
            return None
        col = collector_for(client, **options)
        if col.state in ("failed", "closed"):
            return None
        return Span(col, col.open(time.time() if start_wall is None else start_wall))
    except Exception:
        log.debug("jupyter-carbon: could not open a cluster window", exc_info=True)
        return None

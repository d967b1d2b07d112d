"""Sending to the front end from the sampler thread, across ipykernel versions.

ipykernel 7.0.0/7.0.1 keep the current request's parent header in a ContextVar, so a
message sent from another thread finds none and raises (ipykernel#1450, fixed in 7.1).
There, callers copy the main thread's context while a cell runs and send inside it.
"""
from __future__ import annotations

import contextvars
import logging

log = logging.getLogger(__name__)


def ipykernel_thread_mode(version: str | None = None) -> str:
    """``"context"`` on ipykernel 7.0.x, else ``"thread"`` (plain sends from the thread work)."""
    if version is None:
        try:
            import ipykernel

            version = ipykernel.__version__
        except Exception:
            log.debug("ipykernel version unknown; plain sends from the sampler thread", exc_info=True)
            return "thread"
    return "context" if str(version).startswith("7.0.") or str(version) == "7.0" else "thread"


def capture_context() -> contextvars.Context | None:
    """The current (main-thread, in-cell) context when the kernel needs it, else None."""
    return contextvars.copy_context() if ipykernel_thread_mode() == "context" else None

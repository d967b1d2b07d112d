"""Seeing what the extension swallowed: every exception caught to protect the user's kernel
is logged at debug level with its traceback under the ``jupyter_carbon`` logger.
``JUPYTER_CARBON_DEBUG=1`` or ``%carbon debug on`` sends those records to stderr."""
from __future__ import annotations

import logging
import os
import sys

LOGGER = logging.getLogger("jupyter_carbon")
_handler: logging.Handler | None = None


def enable(on: bool = True) -> None:
    global _handler
    if on and _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter("jupyter-carbon debug [%(name)s] %(message)s"))
        LOGGER.addHandler(_handler)
        LOGGER.setLevel(logging.DEBUG)
    elif not on and _handler is not None:
        LOGGER.removeHandler(_handler)
        LOGGER.setLevel(logging.NOTSET)
        _handler = None


def enabled() -> bool:
    return _handler is not None


def from_env() -> None:
    if os.environ.get("JUPYTER_CARBON_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        enable(True)

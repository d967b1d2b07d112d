"""Is a Dask client active in this process? Answered without importing Dask.

A notebook that never imports ``distributed`` pays one dictionary look-up per cell
(``sys.modules``); one that does pays Dask's own ``default_client()`` look-up, which walks
its small table of live clients (``distributed.client._global_clients``).
"""
from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def active_client():
    """The default ``distributed.Client`` if one is running, else None."""
    mod = sys.modules.get("distributed.client")
    if mod is None:
        return None
    try:
        client = mod.default_client()
    except ValueError:  # "No clients found"
        return None
    except Exception:
        log.debug("looking for a Dask client failed", exc_info=True)
        return None
    return client if str(getattr(client, "status", "")) == "running" else None

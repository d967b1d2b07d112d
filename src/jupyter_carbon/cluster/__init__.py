"""Beyond one machine: a window that drives a Dask cluster is charged the cluster's energy.

Modules, one job each: ``identity`` (which host a process is on), ``hostload`` (busy and
worker-process CPU seconds), ``clock`` (offsets between hosts), ``protocol`` (names and
message layouts), ``worker`` (the per-host meter plugin), ``tasks`` and ``scheduler``
(election, task time per client, one message per client per interval), ``window``
(a window's energy and the share rule), ``collector`` (client side), ``detect``
(is a client active, without importing Dask), ``attach`` (one collector per client),
``subscriber`` (fills a cell row's cluster part), ``part`` (the result and its columns).
See docs/cluster.md.

Importing this package does not import Dask; the plugin modules do. ``part`` is imported on
first use of its names: ``%load_ext`` attaches the subscriber, and a kernel that never drives a
cluster never needs the part's classes.
"""
from __future__ import annotations

from .detect import active_client

__all__ = ["active_client", "ClusterPart", "HostShare", "NONE", "begin"]


def __getattr__(name: str):
    if name in ("NONE", "ClusterPart", "HostShare"):
        from . import part

        return getattr(part, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def begin(start_wall: float | None = None, **options):
    """Open a window on the active Dask cluster (None without one); see ``attach.begin``."""
    from .attach import begin as _begin

    return _begin(start_wall, **options)

"""Beyond one machine: a window that drives a Dask cluster is charged the cluster's energy.

Modules, one job each: ``identity`` (which host a process is on), ``hostload`` (busy and
worker-process CPU seconds), ``clock`` (offsets between hosts), ``protocol`` (names and
message layouts), ``worker`` (the per-host meter plugin), ``tasks`` and ``scheduler``
(election, task time per client, one message per client per interval), ``window``
(a window's energy and the share rule), ``collector`` (client side), ``detect``
(is a client active, without importing Dask), ``attach`` (one collector per client),
``subscriber`` (fills a cell row's cluster part), ``part`` (the result and its columns).
See docs/cluster.md.

Importing this package does not import Dask; the plugin modules do.
"""
from __future__ import annotations

from .detect import active_client
from .part import NONE, ClusterPart, HostShare

__all__ = ["active_client", "ClusterPart", "HostShare", "NONE", "begin"]


def begin(start_wall: float | None = None, **options):
    """Open a window on the active Dask cluster (None without one); see ``attach.begin``."""
    from .attach import begin as _begin

    return _begin(start_wall, **options)

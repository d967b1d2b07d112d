"""``jc.track()`` around code that drives a Dask cluster: the block gets the cluster's part
as a cell does, folded into its energy as devices of their own ("cluster cpu", ...).

The block's end never waits for the cluster; the part arrives when every metered host has
reported past the end (at most the report interval + the grace, ~3 s), and reading the
block's figures afterwards waits for it within that bound.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
from concurrent.futures import Future

from ..engine.energy import DeviceEnergy, Energy
from .part import COMPONENTS, ClusterPart

log = logging.getLogger(__name__)

WAIT_S = 6.0  # past the collector's own deadline (interval + grace), the part is partial anyway


def open_span():
    """A window on the active Dask client's cluster, or None: without ``distributed``
    imported there is no client, and Dask is never imported here."""
    if "distributed" not in sys.modules:
        return None
    from . import begin

    return begin()


def settle(fut: Future, timeout: float = WAIT_S) -> ClusterPart | None:
    """The part, waiting at most ``timeout``; None if it did not come (logged)."""
    try:
        return fut.result(timeout=timeout)
    except Exception:
        log.debug("jupyter-carbon: no cluster part for a track() block", exc_info=True)
        return None


def with_cluster(energy: Energy, part: ClusterPart) -> Energy:
    """``energy`` with the cluster's charged joules added, one device per component."""
    extra = tuple(
        DeviceEnergy(f"cluster {comp}", comp, part.methods.get(comp, "cluster"),
                     part.measured.get(comp, False), j,
                     j / energy.duration_s if energy.duration_s > 0 else 0.0)
        for comp in COMPONENTS if (j := part.by_component.get(comp, 0.0)) > 0)
    return dataclasses.replace(energy, devices=energy.devices + extra) if extra else energy

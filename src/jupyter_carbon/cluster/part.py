"""What a cell's row gets from the cluster: the ``cluster_*`` columns and the energy added
to the per-component columns, with each host's figures kept for ``%carbon`` and tests.

Columns (the lead merges them into the row; log/schema.py owns the schema):

* ``cluster_hosts``: hosts that ran this cluster's workers during the window;
* ``cluster_workers``: worker processes during the window (the most at any report);
* ``cluster_energy``: kWh charged to the window by the cluster, on ``energy_consumed``'s
  basis (device energy x PUE); it is also added to ``energy_consumed``, ``emissions``
  and, before PUE, to ``cpu_energy``/``gpu_energy``/``ram_energy``;
* ``cluster_complete``: false when a worker left, a host did not report in time, a host
  has no meter, the client closed or the scheduler did not answer (``reason`` says which).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..sensors.base import COMPONENTS
from ..units import J_PER_KWH


@dataclass(frozen=True)
class HostShare:
    """One host's window: its whole energy, the shares, and what this client is charged."""

    host: str
    workers: int
    energy_j: dict[str, float]  # whole host, per component, in the window
    busy_s: float  # the host's busy CPU seconds in the window
    workers_cpu_s: float | None  # the Dask worker processes' CPU seconds (None: not readable)
    task_s: float  # this client's task seconds on the host's workers
    all_task_s: float  # every client's task seconds there
    cpu_share: float  # of cpu and ram energy (share rule: docs/cluster.md)
    gpu_share: float  # of gpu energy
    charged_j: dict[str, float]
    local: bool = False  # the kernel's own host, already in the kernel's local row
    complete: bool = True


@dataclass(frozen=True)
class ClusterPart:
    """The cluster's share of one window (a cell or a ``jc.track()`` block)."""

    hosts: int = 0
    workers: int = 0
    by_component: dict[str, float] = field(default_factory=dict)  # charged joules, before PUE
    methods: dict[str, str] = field(default_factory=dict)  # e.g. {"cpu": "rapl+tdp-model"}
    measured: dict[str, bool] = field(default_factory=dict)
    complete: bool = True
    reason: str | None = None  # why not complete, one line
    details: tuple[HostShare, ...] = ()
    start_wall: float = 0.0
    end_wall: float = 0.0

    @property
    def energy_j(self) -> float:
        return sum(self.by_component.values())

    def energy_kwh(self, pue: float = 1.0) -> float:
        return self.energy_j / J_PER_KWH * pue

    def watts(self) -> float:
        d = self.end_wall - self.start_wall
        return self.energy_j / d if d > 0 else 0.0

    def columns(self, pue: float = 1.0) -> dict[str, object]:
        """The four ``cluster_*`` values, typed (the CSV writer formats them)."""
        return {"cluster_hosts": self.hosts, "cluster_workers": self.workers,
                "cluster_energy": self.energy_kwh(pue), "cluster_complete": self.complete}


NONE = ClusterPart()  # no cluster attached: zeros, complete

"""What a window measured: energy per device and per component, before any grid factor.

CO₂e is applied where results are made or shown (``jupyter_carbon.measurement``): a
window's energy does not depend on the grid.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ..memo import once
from ..sensors.base import COMPONENTS
from ..units import J_PER_KWH


class DeviceEnergy(NamedTuple):
    """One sensor's share of a window (a named tuple: several are made at every cell edge)."""

    name: str
    component: str
    method: str
    measured: bool
    energy_j: float
    power_w: float  # mean over the window
    failed: str | None = None
    approximated: bool = False  # an edge used the latest sampler point (the read was too slow)


class ComponentEnergy(NamedTuple):
    """All devices of one component (cpu, gpu or ram) summed."""

    component: str
    energy_j: float
    power_w: float
    method: str  # e.g. "rapl", "nvml-energy", "tdp-model"; several joined with "+"
    measured: bool  # True only if every device of the component is measured
    devices: int
    above_idle_j: float | None = None
    failed: bool = False  # a device of this component has failed: its energy is incomplete

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH

    @property
    def kind(self) -> str:
        return "measured" if self.measured else "estimated"


class EnergyFigures:
    """Totals over ``by_component`` shared by ``Energy`` and ``Measurement``.

    Computed once per window (``memo.once``: the records are frozen), since a cell's
    end reads them several times over (totals, row, live views)."""

    by_component: dict[str, ComponentEnergy]
    duration_s: float

    @once
    def energy_j(self) -> float:
        """Device energy, before PUE."""
        return sum(c.energy_j for c in self.by_component.values())

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def above_idle_j(self) -> float | None:
        parts = [c.above_idle_j for c in self.by_component.values() if c.above_idle_j is not None]
        return sum(parts) if parts else None


class MachineFigures:
    """The machine's own figures beside the kernel's (``machine_*`` columns, the widget)."""

    devices: tuple[DeviceEnergy, ...]
    machine_devices: tuple[DeviceEnergy, ...] | None
    duration_s: float
    baseline_w: dict[str, float] | None
    by_component: dict[str, ComponentEnergy]

    @once
    def machine(self) -> dict[str, ComponentEnergy]:
        """Per component, the whole machine (the same as ``by_component`` outside kernel mode)."""
        if self.machine_devices is None and self.baseline_w is None:
            return self.by_component  # the devices are the machine's: already summed
        devs = self.machine_devices if self.machine_devices is not None else self.devices
        return aggregate(devs, self.duration_s, None)

    @once
    def machine_energy_j(self) -> float:
        devs = self.machine_devices if self.machine_devices is not None else self.devices
        return sum(d.energy_j for d in devs)


@dataclass(frozen=True)
class Energy(EnergyFigures, MachineFigures):
    """Energy of one closed (or peeked) window."""

    label: str | None
    started_at: datetime
    ended_at: datetime
    duration_s: float
    devices: tuple[DeviceEnergy, ...]
    baseline_w: dict[str, float] | None = None
    #: The whole machine's devices when ``devices`` are this kernel's share of them
    #: (``tracking_mode=kernel``); None when ``devices`` already are the machine's (or the process's).
    machine_devices: tuple[DeviceEnergy, ...] | None = None
    #: The kernel's share per component over the window (cpu, ram: a fraction; gpu: one per GPU).
    shares: dict[str, Any] | None = None
    #: True: the GPUs were synchronised before the end snapshot; False: nothing to synchronise;
    #: None: not asked (``gpu_sync`` off, or a window closed at an edge taken elsewhere).
    gpu_synced: bool | None = None
    by_component: dict[str, ComponentEnergy] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_component", aggregate(
            self.devices, self.duration_s, kernel_baseline(self.baseline_w, self.devices, self.machine_devices)))


def kernel_baseline(baseline_w: dict[str, float] | None, devices, machine_devices) -> dict[str, float] | None:
    """The idle baseline scaled by the kernel's share of each component, so that
    ``energy_above_idle`` compares like with like in kernel mode."""
    if baseline_w is None or machine_devices is None:
        return baseline_w
    out = {}
    for comp, w in baseline_w.items():
        k = sum(d.energy_j for d in devices if d.component == comp)
        m = sum(d.energy_j for d in machine_devices if d.component == comp)
        out[comp] = w * (k / m) if m > 0 else 0.0
    return out


def aggregate(devices, duration_s: float, baseline_w: dict[str, float] | None) -> dict[str, ComponentEnergy]:
    by_comp: dict[str, list[DeviceEnergy]] = {}
    for d in devices:
        by_comp.setdefault(d.component, []).append(d)
    out: dict[str, ComponentEnergy] = {}
    for comp in COMPONENTS:
        devs = by_comp.get(comp)
        if not devs:
            continue
        if len(devs) == 1:  # the usual case
            d = devs[0]
            energy, methods, measured, failed = d.energy_j, d.method, d.measured, d.failed is not None
        else:
            energy = sum([d.energy_j for d in devs])
            methods = "+".join(dict.fromkeys([d.method for d in devs]))
            measured, failed = all([d.measured for d in devs]), any([d.failed for d in devs])
        above = None
        if baseline_w is not None and comp in baseline_w:
            above = max(0.0, energy - baseline_w[comp] * duration_s)
        out[comp] = ComponentEnergy(comp, energy, energy / duration_s if duration_s > 0 else 0.0, methods,
                                    measured, len(devs), above, failed)
    return out

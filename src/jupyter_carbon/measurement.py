"""A window's energy with its CO₂e: what cells, ``%%carbon`` and ``jc.track()`` report.

Component energies are what the devices drew; ``energy_kwh`` is their sum times the PUE,
and ``emissions_kg`` is that times the grid intensity, as CodeCarbon defines them.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from datetime import datetime
from typing import Any

from .engine.energy import ComponentEnergy, DeviceEnergy, Energy, EnergyFigures, MachineFigures, aggregate, kernel_baseline
from .intensity.model import WORLD_AVERAGE, Intensity
from .memo import once
from .units import J_PER_KWH, fmt_duration, fmt_energy_j, fmt_mass_g


@dataclass(frozen=True, repr=False)  # its own __repr__ below; the generated one would be made anyway
class Measurement(EnergyFigures, MachineFigures):
    """Energy and emissions of one window (a cell, a ``%%carbon`` cell, a ``track()`` block)."""

    label: str | None
    started_at: datetime
    ended_at: datetime
    duration_s: float
    devices: tuple[DeviceEnergy, ...]
    intensity: Intensity = WORLD_AVERAGE
    pue: float = 1.0
    baseline_w: dict[str, float] | None = None
    machine_devices: tuple[DeviceEnergy, ...] | None = None  # see ``Energy``
    shares: dict[str, Any] | None = None
    gpu_synced: bool | None = None
    #: This window's share of the hardware's manufacturing emissions (kg CO₂e), apart from
    #: ``emissions_kg`` and never added to it; None when not computed (``embodied`` off).
    embodied_kg: float | None = None
    by_component: dict[str, ComponentEnergy] = field(init=False)
    #: The per-component sums when already made (``of`` reuses the window's): not a field.
    aggregated: InitVar[dict[str, ComponentEnergy] | None] = None

    def __post_init__(self, aggregated: dict[str, ComponentEnergy] | None = None) -> None:
        object.__setattr__(self, "by_component", aggregated if aggregated is not None else aggregate(
            self.devices, self.duration_s, kernel_baseline(self.baseline_w, self.devices, self.machine_devices)))

    @classmethod
    def of(cls, e: Energy, intensity: Intensity, pue: float, embodied_kg: float | None = None) -> Measurement:
        return cls(e.label, e.started_at, e.ended_at, e.duration_s, e.devices, intensity, pue, e.baseline_w,
                   e.machine_devices, e.shares, e.gpu_synced, embodied_kg, e.by_component)

    @once
    def machine_energy_kwh(self) -> float:
        """The whole machine's energy over the window, x PUE (the basis of ``energy_kwh``)."""
        return self.machine_energy_j / J_PER_KWH * self.pue

    @once
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH * self.pue

    @once
    def emissions_kg(self) -> float:
        return self.energy_kwh * self.intensity.g_per_kwh / 1000.0

    def __repr__(self) -> str:
        parts = ", ".join(f"{c}={fmt_energy_j(e.energy_j)}" for c, e in self.by_component.items())
        label = f" {self.label!r}" if self.label else ""
        return (f"<Measurement{label} {fmt_duration(self.duration_s)}: {fmt_energy_j(self.energy_j)} "
                f"({parts}), {fmt_mass_g(self.emissions_kg * 1000)} CO₂e>")

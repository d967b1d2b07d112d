"""The result of a measured window: energy per device and component, and its CO2e."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..intensity.model import WORLD_AVERAGE, Intensity
from ..sensors.base import COMPONENTS

J_PER_KWH = 3.6e6


@dataclass(frozen=True, slots=True)
class DeviceEnergy:
    """One sensor's share of a window."""

    name: str
    component: str
    method: str
    measured: bool
    energy_j: float
    power_w: float  # mean over the window
    failed: str | None = None


@dataclass(frozen=True, slots=True)
class ComponentEnergy:
    """All devices of one component (cpu, gpu or ram) summed."""

    component: str
    energy_j: float
    power_w: float
    method: str  # e.g. "rapl", "nvml-energy", "tdp-model"; several joined with "+"
    measured: bool  # True only if every device of the component is measured
    devices: int
    above_idle_j: float | None = None

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH

    @property
    def kind(self) -> str:
        return "measured" if self.measured else "estimated"


@dataclass(frozen=True)
class Measurement:
    """Energy and emissions of one window (a cell, a ``%%carbon`` cell, a ``track()`` block).

    Component energies are what the devices drew; ``energy_kwh`` is their sum times the
    PUE, and ``emissions_kg`` is that times the intensity, as CodeCarbon defines them.
    """

    label: str | None
    started_at: datetime
    ended_at: datetime
    duration_s: float
    devices: tuple[DeviceEnergy, ...]
    intensity: Intensity = WORLD_AVERAGE
    pue: float = 1.0
    baseline_w: dict[str, float] | None = None
    by_component: dict[str, ComponentEnergy] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_component", _aggregate(self.devices, self.duration_s, self.baseline_w))

    @property
    def energy_j(self) -> float:
        """Device energy, before PUE."""
        return sum(c.energy_j for c in self.by_component.values())

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH * self.pue

    @property
    def emissions_kg(self) -> float:
        return self.energy_kwh * self.intensity.g_per_kwh / 1000.0

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def above_idle_j(self) -> float | None:
        if self.baseline_w is None:
            return None
        return sum(c.above_idle_j or 0.0 for c in self.by_component.values())

    def __repr__(self) -> str:
        from ..units import fmt_duration, fmt_energy_j, fmt_mass_g

        parts = ", ".join(f"{c}={fmt_energy_j(e.energy_j)}" for c, e in self.by_component.items())
        label = f" {self.label!r}" if self.label else ""
        return (f"<Measurement{label} {fmt_duration(self.duration_s)}: {fmt_energy_j(self.energy_j)} "
                f"({parts}), {fmt_mass_g(self.emissions_kg * 1000)} CO2e>")


def _aggregate(devices, duration_s, baseline_w) -> dict[str, ComponentEnergy]:
    out: dict[str, ComponentEnergy] = {}
    for comp in COMPONENTS:
        devs = [d for d in devices if d.component == comp]
        if not devs:
            continue
        energy = sum(d.energy_j for d in devs)
        methods = "+".join(dict.fromkeys(d.method for d in devs))
        above = None
        if baseline_w is not None and comp in baseline_w:
            above = max(0.0, energy - baseline_w[comp] * duration_s)
        out[comp] = ComponentEnergy(
            comp, energy, energy / duration_s if duration_s > 0 else 0.0, methods,
            all(d.measured for d in devs), len(devs), above)
    return out

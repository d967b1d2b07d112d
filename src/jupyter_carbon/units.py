"""Readable units for people: mWh/Wh/kWh, mg/g/kg, ms/s/min/h."""
from __future__ import annotations

J_PER_KWH = 3.6e6


def _scaled(value: float, steps: tuple[tuple[float, str], ...]) -> str:
    for factor, unit in steps:
        if abs(value) >= factor:
            v = value / factor
            return f"{v:.3g} {unit}" if abs(v) < 100 else f"{v:.0f} {unit}"
    factor, unit = steps[-1]
    return f"{value / factor:.3g} {unit}"


def fmt_energy_wh(wh: float) -> str:
    return _scaled(wh, ((1e6, "MWh"), (1e3, "kWh"), (1.0, "Wh"), (1e-3, "mWh"), (1e-6, "µWh")))


def fmt_energy_j(joules: float) -> str:
    return fmt_energy_wh(joules / 3600.0)


def fmt_mass_g(grams: float) -> str:
    return _scaled(grams, ((1e6, "t"), (1e3, "kg"), (1.0, "g"), (1e-3, "mg"), (1e-6, "µg")))


def fmt_power_w(watts: float) -> str:
    return _scaled(watts, ((1e3, "kW"), (1.0, "W"), (1e-3, "mW")))


def fmt_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"

"""What ``%carbon`` (status) and ``%carbon config`` print."""
from __future__ import annotations

from typing import Any

from .config import SENSOR_OPTIONS
from .session import CarbonSession
from .units import fmt_duration, fmt_energy_j, fmt_energy_wh, fmt_mass_g, fmt_power_w


def status_report(s: CarbonSession, log_path: Any) -> str:
    meter = s.meter
    assert meter is not None and s.setup is not None
    lines = [f"jupyter-carbon {'(paused) ' if s.paused else ''}— sampler every "
             f"{meter.sampler.interval:g} s, {meter.sampler.samples_taken} samples"]
    latest = meter.sampler.latest()
    for i, ch in enumerate(meter.channels):
        sensor = ch.sensor
        w = latest.watts[i] if latest is not None and i < len(latest.watts) else ch.watts
        state = f"FAILED ({ch.failed})" if ch.failed else fmt_power_w(w)
        lines.append(f"  {sensor.component:<4} {sensor.method:<12} {sensor.kind:<9} {state:>10}  {sensor.name}")
    for msg in s.setup.messages + s.setup.notes:
        lines.append(f"  note: {msg}")
    lines.append(f"  intensity: {s.policy.line()} · PUE {s.pue:g}")
    if s.baseline_w:
        lines.append("  idle baseline: " + ", ".join(f"{c} {fmt_power_w(w)}" for c, w in s.baseline_w.items()))
    lines.append(f"  charged: {s.settings['tracking_mode']} mode" + _power_now(meter, latest))
    t = s.totals
    lines.append(f"  session: {t.cells} cells, {fmt_duration(t.duration_s)}, {fmt_energy_j(t.energy_j)}, "
                 f"{fmt_mass_g(t.emissions_kg * 1000)} CO₂e; between cells {fmt_energy_j(t.between_j)}, "
                 f"{fmt_mass_g(t.between_kg * 1000)} CO₂e; total {fmt_energy_wh(t.session_kwh * 1000)}")
    if t.embodied_kg:
        lines.append(f"  embodied (manufacturing, apart): {fmt_mass_g(t.embodied_kg * 1000)} CO₂e")
    lines.append(f"  log: {log_path}")
    return "\n".join(lines)


def _power_now(meter: Any, latest: Any) -> str:
    """`` · this kernel 8 W of the machine's 35 W`` from the latest sample (kernel mode)."""
    attr = meter.attribution
    weights = getattr(attr, "live_weights", None)
    if latest is None or weights is None:
        return ""
    w = weights()
    machine = sum(latest.watts)
    kernel = sum(x * f for x, f in zip(latest.watts, w)) if len(w) == len(latest.watts) else machine
    return f" · this kernel {fmt_power_w(kernel)} of the machine's {fmt_power_w(machine)}"


def config_report(s: CarbonSession, changed: list[str]) -> str:
    lines = ["jupyter-carbon settings (value · from where):"]
    for name, value, source in s.settings.table():
        mark = "*" if name in changed else " "
        shown = "(auto)" if value is None else value
        if name == "live" and value is None:
            shown = "off"
        lines.append(f" {mark}{name:<18} {shown!s:<24} {source}")
    if any(n in SENSOR_OPTIONS for n in changed):
        lines.append("  (sensor settings apply when this cell ends)")
    return "\n".join(lines)

"""The compact footprint shown after a ``%%carbon`` cell (and as the live line while it
runs): text/plain and escaped text/html, so it reads well in exports and on GitHub."""
from __future__ import annotations

import html
from decimal import Decimal

from .measurement import Measurement
from .equivalents import car_distance
from .units import fmt_duration, fmt_energy_j, fmt_energy_wh, fmt_mass_g, fmt_power_w


def _source(m: Measurement) -> str:
    i = m.intensity
    if i.source == "world-average":
        return f"{i.g_per_kwh:.0f} g CO₂e/kWh (world average)"
    where = i.region or i.country_iso
    return f"{i.g_per_kwh:.0f} g CO₂e/kWh ({where + ', ' if where else ''}{i.source})"


def plain(x: float, digits: int = 4) -> str:
    """``digits`` significant digits as a plain decimal, never exponent notation:
    4.976e-05 -> ``0.00004976``."""
    if x == 0 or x != x or x in (float("inf"), float("-inf")):
        return f"{x:g}"
    return format(Decimal(f"{x:.{digits}g}"), "f")


def live_text(m: Measurement) -> str:
    label = f"{m.label}: " if m.label else ""
    comps = " · ".join(f"{c} {fmt_power_w(e.power_w)}" for c, e in m.by_component.items())
    return (f"{label}running {fmt_duration(m.duration_s)} · {fmt_energy_j(m.energy_j)} · "
            f"{fmt_mass_g(m.emissions_kg * 1000)} CO₂e · {comps}")


class CellSummary:
    def __init__(self, m: Measurement, status: str = "ok"):
        self.m = m
        self.status = status

    def _rows(self):
        for c, e in self.m.by_component.items():
            yield c, fmt_power_w(e.power_w), fmt_energy_j(e.energy_j), e.method, e.kind

    def _headline(self) -> str:
        m = self.m
        label = f"{m.label}: " if m.label else ""
        status = "" if self.status == "ok" else f" [{self.status}]"
        idle = ""
        if m.above_idle_j is not None:
            idle = f" ({fmt_energy_j(m.above_idle_j)} above idle)"
        return (f"{label}{fmt_duration(m.duration_s)} · {fmt_energy_wh(m.energy_kwh * 1000)}{idle} · "
                f"{fmt_mass_g(m.emissions_kg * 1000)} CO₂e{status}")

    def _share(self) -> str | None:
        """``this kernel 8 W of the machine's 35 W`` in kernel mode (None otherwise)."""
        m = self.m
        if m.machine_devices is None or m.duration_s <= 0:
            return None
        machine_w = sum(d.power_w for d in m.machine_devices)
        line = f"this kernel {fmt_power_w(m.power_w)} of the machine's {fmt_power_w(machine_w)}"
        if m.embodied_kg is not None:
            line += f" · embodied {fmt_mass_g(m.embodied_kg * 1000)} CO₂e (apart)"
        return line

    def _totals(self) -> str:
        """The CSV's units, for people who copy figures: kWh and kg (as plain decimals)."""
        return f"total {plain(self.m.energy_kwh)} kWh, {plain(self.m.emissions_kg)} kg CO₂e"

    def _footer(self) -> str:
        m = self.m
        pue = f" · PUE {m.pue:g}" if m.pue != 1 else ""
        return f"{self._totals()} · {_source(m)}{pue} · {car_distance(m.emissions_kg * 1000)}"

    def __repr__(self) -> str:
        lines = [f"jupyter-carbon · {self._headline()}"]
        for comp, w, e, method, kind in self._rows():
            lines.append(f"  {comp:<4} {w:>9} {e:>11}  {method} ({kind})")
        share = self._share()
        if share:
            lines.append(f"  {share}")
        lines.append(f"  {self._footer()}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(c)}</td><td style='text-align:right'>{esc(w)}</td>"
            f"<td style='text-align:right'>{esc(e)}</td><td title='{esc(kind)}'>{esc(method)}"
            f"{'' if kind == 'measured' else ' (est.)'}</td></tr>"
            for c, w, e, method, kind in self._rows())
        return (
            "<div class='jupyter-carbon-summary' style='font-size:12px;line-height:1.4'>"
            f"<b>jupyter-carbon · {esc(self._headline())}</b>"
            "<table style='border-collapse:collapse;margin:2px 0'>"
            "<tr><th style='text-align:left'>part</th><th>power</th><th>energy</th>"
            f"<th style='text-align:left'>method</th></tr>{rows}</table>"
            + (f"<div>{esc(self._share() or '')}</div>" if self._share() else "") +
            f"<span style='opacity:.8'>{esc(self._footer())}</span></div>")

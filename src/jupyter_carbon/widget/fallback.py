"""Static text/plain and text/html summaries of the widget's state.

They travel in the same display bundle as the widget view, so wherever widgets do not
render (nbconvert's HTML export, GitHub, an untrusted notebook, a console) a reader
still sees the figures. Every string from the user (cell labels) or the environment is
escaped: the HTML contains no markup but ours, no script and no event handler.
"""
from __future__ import annotations

from html import escape
from typing import Any

from ..units import fmt_duration, fmt_energy_wh, fmt_mass_g, fmt_power_w

COMPONENT_LABEL = {"cpu": "CPU", "gpu": "GPU", "ram": "RAM"}
_ORDER = ("gpu", "cpu", "ram")


def cell_name(n, label) -> str:
    parts = []
    if n is not None:
        parts.append(f"[{n}]")
    if label:
        parts.append(str(label))
    return " ".join(parts) if parts else "cell"


def components(state: dict[str, Any]) -> list[dict[str, Any]]:
    by = (state.get("power") or {}).get("by") or {}
    rows = []
    for comp in _ORDER:
        sensors = [s for s in state.get("sensors") or () if s.get("component") == comp]
        if not sensors:
            continue
        rows.append({"component": comp, "watts": by.get(comp) or 0.0,
                     "measured": all(s.get("measured") for s in sensors),
                     "method": "+".join(dict.fromkeys(s.get("method", "?") for s in sensors))})
    return rows


def _where(i: dict[str, Any]) -> str:
    name, iso = i.get("country_name"), i.get("country_iso")
    if name and iso:
        return f"{name} ({iso})"
    return name or iso or "unknown"


def text_summary(state: dict[str, Any]) -> str:
    power = state.get("power") or {}
    tot = state.get("totals") or {}
    i = state.get("intensity") or {}
    lines = []
    head = "jupyter-carbon"
    if power:
        comps = ", ".join(f"{COMPONENT_LABEL.get(c['component'], c['component'])} "
                          f"{fmt_power_w(c['watts'])} ({c['method']}, "
                          f"{'measured' if c['measured'] else 'estimated'})" for c in components(state))
        head += f": {fmt_power_w(power.get('total_w') or 0.0)} now" + (f" [{comps}]" if comps else "")
    lines.append(head)
    cells = int(tot.get("cells") or 0)
    lines.append(f"session: {cells} cell{'s' if cells != 1 else ''}, "
                 f"{fmt_energy_wh(tot.get('energy_wh') or 0.0)}, {fmt_mass_g(tot.get('co2_g') or 0.0)} CO₂e")
    extras = []
    if tot.get("between_wh") is not None:
        extras.append(f"between cells {fmt_energy_wh(tot['between_wh'])}")
    if tot.get("embodied_g") is not None:
        extras.append(f"embodied {fmt_mass_g(tot['embodied_g'])} CO₂e (kept apart)")
    if power.get("machine_w") is not None and abs(power["machine_w"] - (power.get("total_w") or 0.0)) > \
            0.005 * max(power["machine_w"], power.get("total_w") or 0.0):
        extras.append(f"this kernel {fmt_power_w(power.get('total_w') or 0.0)} of the machine's "
                      f"{fmt_power_w(power['machine_w'])}")
    if extras:
        lines.append("  " + " · ".join(extras))
    if i:
        lines.append(f"grid: {float(i.get('g_per_kwh') or 0):.0f} g CO₂e/kWh, {_where(i)}, source {i.get('source')}"
                     + (f", PUE {i.get('pue'):g}" if i.get("pue") not in (None, 1, 1.0) else ""))
    for rec in state.get("recent") or ():
        lines.append(f"  {cell_name(rec.get('n'), rec.get('label'))}: {fmt_duration(rec.get('duration_s') or 0)}, "
                     f"{fmt_energy_wh(rec.get('energy_wh') or 0.0)}, {fmt_mass_g(rec.get('co2_g') or 0.0)} CO₂e"
                     + (f" ({rec.get('status')})" if rec.get("status") not in (None, "ok") else ""))
    return "\n".join(lines)


# Inline styles only (exports keep no stylesheet), neutral in light and dark themes:
# translucent greys and opacity instead of fixed colours.
_BOX = ("font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;"
        "line-height:1.4;border:1px solid rgba(128,128,128,0.45);border-radius:4px;"
        "padding:6px 10px;max-width:46em")
_MUTED = "opacity:0.7"
_TD = "padding:1px 0 1px 12px;text-align:right;font-variant-numeric:tabular-nums"
_TH = ("padding:1px 0 1px 12px;text-align:right;font-weight:600;"
       "border-bottom:1px solid rgba(128,128,128,0.45)")


def html_summary(state: dict[str, Any], *, note: str | None = None) -> str:
    """A small self-contained HTML block (inline styles only; every value escaped)."""
    e = escape
    power = state.get("power") or {}
    tot = state.get("totals") or {}
    i = state.get("intensity") or {}
    parts = [f'<div class="jupyter-carbon-fallback" style="{_BOX}">']
    parts.append('<div><b>jupyter-carbon</b>')
    if power:
        parts.append(f" &middot; {e(fmt_power_w(power.get('total_w') or 0.0))} at the time of this snapshot")
    parts.append("</div>")
    comps = components(state)
    if comps:
        items = []
        for c in comps:
            mark = "&#9679;" if c["measured"] else "&#9675;"
            kind = "measured" if c["measured"] else "estimated"
            items.append(f'<span title="{e(c["method"])} ({kind})">{mark} '
                         f'{e(COMPONENT_LABEL.get(c["component"], c["component"]))} '
                         f'{e(fmt_power_w(c["watts"]))} <span style="{_MUTED}">{e(c["method"])}</span></span>')
        parts.append("<div>" + " &nbsp; ".join(items) + "</div>")
    cells = int(tot.get("cells") or 0)
    parts.append(f"<div>Session: {cells} cell{'s' if cells != 1 else ''} &middot; "
                 f"{e(fmt_energy_wh(tot.get('energy_wh') or 0.0))} &middot; "
                 f"{e(fmt_mass_g(tot.get('co2_g') or 0.0))} CO<sub>2</sub>e</div>")
    if i:
        pue = i.get("pue")
        parts.append(f'<div style="{_MUTED}">Grid: {e(format(i.get("g_per_kwh", 0), "g"))} gCO<sub>2</sub>e/kWh'
                     f" &middot; {e(_where(i))} &middot; source {e(str(i.get('source')))}"
                     + (f" &middot; PUE {e(format(pue, 'g'))}" if pue not in (None, 1, 1.0) else "")
                     + "</div>")
    recent = state.get("recent") or []
    if recent:
        parts.append('<table style="border-collapse:collapse;margin-top:4px">'
                     f'<thead><tr><th style="{_TH};text-align:left;padding-left:0">Cell</th><th style="{_TH}">Time</th>'
                     f'<th style="{_TH}">Energy</th><th style="{_TH}">CO<sub>2</sub>e</th></tr></thead><tbody>')
        for rec in reversed(recent):
            status = rec.get("status")
            extra = f' <span style="{_MUTED}">({e(str(status))})</span>' if status not in (None, "ok") else ""
            parts.append(f'<tr><td style="{_TD};text-align:left;padding-left:0">{e(cell_name(rec.get("n"), rec.get("label")))}{extra}</td>'
                         f'<td style="{_TD}">{e(fmt_duration(rec.get("duration_s") or 0.0))}</td>'
                         f'<td style="{_TD}">{e(fmt_energy_wh(rec.get("energy_wh") or 0.0))}</td>'
                         f'<td style="{_TD}">{e(fmt_mass_g(rec.get("co2_g") or 0.0))}</td></tr>')
        parts.append("</tbody></table>")
    parts.append(f'<div style="{_MUTED};font-size:11px;margin-top:4px">'
                 + e(note or "A static snapshot: the live widget needs a running kernel. "
                             "Every cell's row is in the notebook's .carbon.csv log.")
                 + "</div></div>")
    return "".join(parts)

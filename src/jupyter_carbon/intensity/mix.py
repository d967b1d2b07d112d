"""Intensity of a user-described generation mix, from per-source lifecycle factors.

Used for the ``intensity_from_mix`` override and by ``tools/build_intensity_table.py`` to
estimate the few table rows (and Canadian provinces) that ship a mix but no usable intensity,
so both use one set of factors.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from ..errors import ConfigError
from .model import Intensity
from .text import shown

# Lifecycle emission factors, g CO₂e per kWh generated. The commonly used set shipped by
# CodeCarbon (MIT) in ``data/private_infra/carbon_intensity_per_source.json``:
#  - coal 995, petroleum 816, natural gas 743: responsibleproblemsolving/energy-usage,
#    "Conversion to CO2" (derived from US EIA fuel emission rates);
#  - geothermal 38, hydro 26, nuclear 29, solar 48, wind 26: World Nuclear Association (2011),
#    "Comparison of Lifecycle Greenhouse Gas Emissions of Various Electricity Generation
#    Sources" (mean of the lifecycle studies it reviews);
#  - biomass 230: IPCC AR5 WG3 Annex III, Table A.III.2, "Biomass - dedicated", median.
LIFECYCLE_G_PER_KWH: dict[str, float] = {
    "coal": 995.0,
    "petroleum": 816.0,
    "natural_gas": 743.0,
    "geothermal": 38.0,
    "hydro": 26.0,
    "nuclear": 29.0,
    "solar": 48.0,
    "wind": 26.0,
    "biomass": 230.0,
}

_ALIASES: dict[str, str] = {
    "oil": "petroleum",
    "diesel": "petroleum",
    "gas": "natural_gas",
    "hydroelectricity": "hydro",
    "hydropower": "hydro",
    "pv": "solar",
    "photovoltaic": "solar",
    "biofuel": "biomass",
    "bioenergy": "biomass",
}
# Names compared with case, spaces, "-" and "_" removed: "Natural gas" == "natural_gas".
_LOOKUP: dict[str, str] = {k.replace("_", ""): k for k in LIFECYCLE_G_PER_KWH} | _ALIASES


def canonical_source(name: object) -> str:
    """Map a user's source name ("Gas", "natural-gas", "oil") to a key of the factor table."""
    squashed = "".join(ch for ch in str(name).lower() if ch.isalnum())
    if squashed in _LOOKUP:
        return _LOOKUP[squashed]
    accepted = ", ".join(sorted(LIFECYCLE_G_PER_KWH))
    raise ConfigError(
        f"unknown generation source {shown(name)} in mix; accepted: {accepted} "
        "(aliases: gas, oil, hydroelectricity, pv, biofuel)"
    )


def _share(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"mix share for {shown(name)} must be a number, got {shown(value)}")
    if not isinstance(value, (int, float)):
        try:
            value = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"mix share for {shown(name)} must be a number, got {shown(value)}") from None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"mix share for {shown(name)} must be a finite number >= 0, got {shown(value)}")
    return value


def mix_g_per_kwh(shares: Mapping[str, object]) -> float:
    """Share-weighted mean of the lifecycle factors; shares are normalised (fractions or %)."""
    if not isinstance(shares, Mapping) or not shares:
        raise ConfigError('mix must be a non-empty mapping like {"coal": 0.3, "wind": 0.7}')
    totals: dict[str, float] = {}
    for name, value in shares.items():
        key = canonical_source(name)
        totals[key] = totals.get(key, 0.0) + _share(str(name), value)
    total = sum(totals.values())
    if total <= 0:
        raise ConfigError("mix shares must add up to more than 0")
    return sum(LIFECYCLE_G_PER_KWH[k] * v for k, v in totals.items()) / total


def intensity_from_mix(shares: Mapping[str, object]) -> Intensity:
    """An ``Intensity(source="mix")`` for e.g. ``{"coal": .3, "wind": .7}`` (a PPA, an island grid)."""
    return Intensity(round(mix_g_per_kwh(shares), 3), "mix")

"""Checks for user-supplied figures, so a typo fails loudly instead of skewing every row."""
from __future__ import annotations

import math

from ..errors import ConfigError
from .model import Intensity
from .text import shown

# No grid averages above ~1100 g/kWh (coal's lifecycle factor is ~1000); 2000 leaves room
# for a deliberately pessimistic scenario while still catching kg/kWh-vs-g or extra zeros.
MAX_G_PER_KWH = 2000.0
# Hyperscale data centres report ~1.1, old server rooms 2-3; above 10 is a typo.
MAX_PUE = 10.0


def _number(value: object, what: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number, got {shown(value)}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {shown(value)}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{what} must be a finite number, got {shown(value)}")
    return number


def validate_intensity(value: object) -> float:
    """A g/kWh figure from an option, config or env var (numbers or numeric strings)."""
    g = _number(value.strip() if isinstance(value, str) else value, "carbon intensity")
    if g < 0:
        raise ConfigError(f"carbon intensity must be >= 0 g CO₂e/kWh, got {shown(value)}")
    if g > MAX_G_PER_KWH:
        raise ConfigError(
            f"carbon intensity {shown(value)} g CO₂e/kWh is implausible (max {MAX_G_PER_KWH:.0f}; "
            "grids range ~10-1000); give grams per kWh, not kg or g/MWh"
        )
    return g


def validate_pue(value: object = None) -> float:
    """Power usage effectiveness (facility energy / IT energy); None means 1.0 (no overhead)."""
    if value is None:
        return 1.0
    pue = _number(value.strip() if isinstance(value, str) else value, "PUE")
    if pue < 1.0 or pue > MAX_PUE:
        raise ConfigError(f"PUE must be between 1.0 and {MAX_PUE:.0f} (1.0 = no overhead), "
                          f"got {shown(value)}")
    return pue


def explicit_intensity(value: object) -> Intensity:
    return Intensity(validate_intensity(value), "explicit")


_WORLD_WORDS = {"world", "wld", "global"}


def _instead(instead: str | None) -> str:
    return f"; using {instead} instead" if instead else ""


def validate_country(value: object, *, instead: str | None = None) -> str:
    """A country setting -> its ISO alpha-2 code (``WORLD`` for world/global). One-line
    ConfigError naming the value (``EU``: a union, not a country; ``XX``: unassigned) and,
    given ``instead``, what is used instead."""
    from .table import lookup_country

    text = "" if value is None else str(value).strip()
    if text.casefold() in _WORLD_WORDS:
        return "WORLD"
    try:
        return lookup_country(text).iso2
    except ConfigError as exc:
        raise ConfigError(f"{exc}{_instead(instead)}") from None


def validate_region(value: object, country: str | None = None, *,
                    instead: str | None = None) -> str:
    """A region setting -> its code: a table row's (``US-CA``; names too, ``California`` with
    country US), or, for a country the table has no regions for, the code as written
    (``FR-IDF``, a grid zone ``US-CAL-CISO``). ``US-XX`` and ``XX-YY`` are errors, with a
    suggestion where one is close."""
    from .table import lookup_country, lookup_region

    text = "" if value is None else str(value).strip()
    try:
        iso2 = None
        if country is not None and str(country).strip().casefold() not in _WORLD_WORDS:
            iso2 = lookup_country(str(country)).iso2
        found = lookup_region(text, iso2)
    except ConfigError as exc:
        raise ConfigError(f"{exc}{_instead(instead)}") from None
    if found is not None:
        return found.code
    code = text.upper().replace("_", "-")
    if iso2 is not None and "-" not in code:
        return f"{iso2}-{code}"
    return code

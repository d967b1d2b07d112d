"""Checks for user-supplied figures, so a typo fails loudly instead of skewing every row."""
from __future__ import annotations

import math

from ..errors import ConfigError
from .model import Intensity

# No grid averages above ~1100 g/kWh (coal's lifecycle factor is ~1000); 2000 leaves room
# for a deliberately pessimistic scenario while still catching kg/kWh-vs-g or extra zeros.
MAX_G_PER_KWH = 2000.0
# Hyperscale data centres report ~1.1, old server rooms 2-3; above 10 is a typo.
MAX_PUE = 10.0


def _number(value: object, what: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    return number


def validate_intensity(value: object) -> float:
    """A g/kWh figure from an option, config or env var (numbers or numeric strings)."""
    g = _number(value.strip() if isinstance(value, str) else value, "carbon intensity")
    if g < 0:
        raise ConfigError(f"carbon intensity must be >= 0 gCO2e/kWh, got {value!r}")
    if g > MAX_G_PER_KWH:
        raise ConfigError(
            f"carbon intensity {value!r} gCO2e/kWh is implausible (max {MAX_G_PER_KWH:.0f}; "
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
                          f"got {value!r}")
    return pue


def explicit_intensity(value: object) -> Intensity:
    return Intensity(validate_intensity(value), "explicit")

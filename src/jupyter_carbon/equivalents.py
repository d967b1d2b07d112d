"""An everyday equivalent for a mass of CO₂e, with its cited factor."""
from __future__ import annotations

from decimal import Decimal

# US EPA, "Greenhouse Gas Emissions from a Typical Passenger Vehicle" (2023): a typical
# passenger vehicle emits about 400 g CO2 per mile, i.e. 248.5 g per km.
CAR_G_PER_KM = 400.0 / 1.609344
CAR_SOURCE = "US EPA 2023: 400 g CO₂/mile for a typical passenger car"


def car_distance(grams: float) -> str:
    """e.g. ``≈ driving 12 m in a typical car (US EPA 2023: 400 g CO₂/mile ...)``"""
    km = grams / CAR_G_PER_KM
    for factor, unit in ((1.0, "km"), (1e-3, "m"), (1e-5, "cm"), (1e-6, "mm"), (1e-9, "µm")):
        if km >= factor:
            dist = plain(km / factor, 3) + f" {unit}"
            break
    else:
        dist = "less than 1 µm"
    return f"≈ driving {dist} in a typical car ({CAR_SOURCE})"


def plain(x: float, digits: int = 3) -> str:
    """``digits`` significant digits as a plain decimal (``1.23e+03`` -> ``1230``)."""
    return format(Decimal(f"{x:.{digits}g}"), "f")

"""An everyday equivalent for a mass of CO2e, with its cited factor."""
from __future__ import annotations

# US EPA, "Greenhouse Gas Emissions from a Typical Passenger Vehicle" (2023): a typical
# passenger vehicle emits about 400 g CO2 per mile, i.e. 248.5 g per km.
CAR_G_PER_KM = 400.0 / 1.609344
CAR_SOURCE = "US EPA 2023: 400 gCO2/mile for a typical passenger car"


def car_distance(grams: float) -> str:
    """e.g. ``≈ driving 12 m in a typical car (US EPA 2023: 400 gCO2/mile ...)``"""
    km = grams / CAR_G_PER_KM
    if km >= 1:
        dist = f"{km:.3g} km"
    elif km >= 0.001:
        dist = f"{km * 1000:.3g} m"
    else:
        dist = f"{km * 1e5:.3g} cm"
    return f"≈ driving {dist} in a typical car ({CAR_SOURCE})"

"""Carbon intensity: turn kWh into CO₂e, always saying where the factor came from.

Importing this package reads no file, starts no thread and opens no socket: the table loads on
first lookup, and ``LiveIntensity`` (urllib, threads) is imported only when first used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .location import CountryGuess, TzSources, choose_country, detect_country
from .mix import LIFECYCLE_G_PER_KWH, intensity_from_mix
from .model import WORLD_AVERAGE, Intensity
from .resolver import Resolution, describe, resolve, resolve_detailed
from .table import Country, Region, lookup_country, lookup_region
from .validate import (
    explicit_intensity, validate_country, validate_intensity, validate_pue, validate_region,
)

if TYPE_CHECKING:
    from .live import LiveIntensity

__all__ = [
    "Intensity", "WORLD_AVERAGE", "resolve", "resolve_detailed", "Resolution", "describe",
    "lookup_country", "lookup_region", "Country", "Region", "intensity_from_mix",
    "LIFECYCLE_G_PER_KWH", "LiveIntensity", "validate_pue", "validate_intensity",
    "explicit_intensity", "detect_country", "choose_country", "TzSources", "CountryGuess",
    "validate_country", "validate_region",
]


def __getattr__(name: str):
    if name == "LiveIntensity":
        from .live import LiveIntensity

        return LiveIntensity
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

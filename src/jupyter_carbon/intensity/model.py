"""The value object every CO₂e figure is computed from, carried into the CSV and the widget."""
from __future__ import annotations

from typing import NamedTuple


class Intensity(NamedTuple):
    """A grid carbon intensity and where it came from.

    ``source`` is one of ``explicit``, ``mix``, ``table:<source> <year>``,
    ``live:<provider>`` or ``world-average``: the provenance is never lost.
    """

    g_per_kwh: float
    source: str
    country_iso: str | None = None  # ISO 3166-1 alpha-2, e.g. "FR"
    country_name: str | None = None
    region: str | None = None  # sub-national code, e.g. "US-CA", when known


# Used until the intensity resolver has run, and when nothing else is known.
# Ember/Our World in Data, latest year per country (2022-2023), via CodeCarbon 3.3.2:
# the generation-weighted mean of the shipped country rows (the WORLD row of
# data/intensity.csv; a test keeps the two equal): 479.0 g CO₂e/kWh.
WORLD_AVERAGE = Intensity(479.0, "world-average", None, "World", None)

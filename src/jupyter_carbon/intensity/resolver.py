"""Pick the one intensity figure a row is computed with, and say where it came from.

Order: explicit value > live provider's current value > country table (region row when given
and known) > world average. The country is explicit > ``JUPYTER_CARBON_COUNTRY`` > time zone.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from ..errors import ConfigError
from .location import ENV_COUNTRY, ENV_REGION, CountryGuess, TzSources, choose_country, detect_country
from .model import WORLD_AVERAGE, Intensity
from .table import Country, lookup_country, lookup_region
from .validate import explicit_intensity

if TYPE_CHECKING:
    from .live import LiveIntensity

_WORLD_WORDS = {"world", "wld", "global"}


class Resolution(NamedTuple):
    """The figure plus the human context a status line may want."""

    intensity: Intensity
    country_via: str | None = None  # "setting", "env JUPYTER_CARBON_COUNTRY", "time zone ..."
    notes: tuple[str, ...] = ()


def resolve_detailed(*, intensity: object = None, country: str | None = None,
                     region: str | None = None, live: LiveIntensity | None = None,
                     env: Mapping[str, str] | None = None, tz: TzSources | None = None,
                     detect: bool = True) -> Resolution:
    """Like :func:`resolve`, also reporting how the country was found and any caveat.

    A bad ``JUPYTER_CARBON_COUNTRY`` or ``JUPYTER_CARBON_REGION`` never raises (it would
    otherwise fail every cell): it is ignored, with a note saying what is used instead.
    """
    env = os.environ if env is None else env
    if intensity is not None:
        return Resolution(explicit_intensity(intensity))
    if live is not None and live.running:
        value = live.current()
        if value is not None:
            return Resolution(value, "live provider")

    notes: list[str] = []
    region_via = "setting"
    if region is None or not str(region).strip():
        region, region_via = (env.get(ENV_REGION) or "").strip() or None, "env"
    guess = choose_country(country, env, tz, detect=detect)
    c = None
    if guess is not None and guess.country.strip().casefold() in _WORLD_WORDS:
        return Resolution(WORLD_AVERAGE, guess.via, tuple(notes))
    if guess is not None:
        try:
            c = lookup_country(guess.country)
        except ConfigError as e:
            if not guess.via.startswith("env"):
                raise
            guess, c = _detected(env, tz) if detect else (None, None)
            notes.append(f"ignoring {ENV_COUNTRY}: {e}; using {_source(guess)} instead")
    if guess is not None and guess.note:
        notes.append(guess.note)
    found = None
    if region is not None:
        try:
            found = lookup_region(region, c.iso2 if c is not None else None)
        except ConfigError as e:
            if region_via == "setting":
                raise
            notes.append(f"ignoring {ENV_REGION}: {e}; using the country figure instead")
    if found is not None and (c is None or c.iso2 == found.iso2):
        name = c.name if c is not None else lookup_country(found.iso2).name
        via = guess.via if c is not None and guess is not None else "region setting"
        return Resolution(found.intensity(name), via, tuple(notes))
    if guess is None or c is None:
        return Resolution(WORLD_AVERAGE, guess.via if guess else None, tuple(notes))
    table = c.intensity()
    if table is not None:
        return Resolution(table, guess.via, tuple(notes))
    world = Intensity(WORLD_AVERAGE.g_per_kwh, WORLD_AVERAGE.source, c.iso2, c.name, None)
    return Resolution(world, guess.via, (*notes, f"no table figure for {c.name} ({c.iso2})"))


def _detected(env: Mapping[str, str], tz: TzSources | None) -> tuple[CountryGuess | None, Country | None]:
    guess = detect_country(env, tz)
    if guess is None:
        return None, None
    try:
        return guess, lookup_country(guess.country)
    except ConfigError:  # a time zone table naming a code the intensity table lacks
        return None, None


def _source(guess: CountryGuess | None) -> str:
    if guess is None:
        return "the world average"
    return f"{guess.country} from the {guess.via}"


def resolve(*, intensity: object = None, country: str | None = None, region: str | None = None,
            live: LiveIntensity | None = None, env: Mapping[str, str] | None = None,
            tz: TzSources | None = None, detect: bool = True) -> Intensity:
    """The intensity to use now. ``env`` defaults to ``os.environ``; ``tz`` to the real system
    files; ``detect=False`` skips the time-zone guess. Raises ConfigError for bad input."""
    return resolve_detailed(intensity=intensity, country=country, region=region, live=live,
                            env=env, tz=tz, detect=detect).intensity


def describe(intensity: Intensity, *, via: str | None = None) -> str:
    """One line for status bars: ``56 g CO₂e/kWh (FR, table:Ember/OWID 2023)``."""
    g = f"{intensity.g_per_kwh:.0f} g CO₂e/kWh"
    if intensity.source == "world-average":
        if intensity.country_iso:
            why = f"no table figure for {intensity.country_iso}"
        elif via:  # the world average was asked for
            return f"{g} (world average)"
        else:
            why = f"country unknown \u2014 %carbon config --country XX, or {ENV_COUNTRY} for every kernel"
        return f"{g} (world average: {why})"
    where = ", ".join(p for p in (intensity.region or intensity.country_iso,) if p)
    # Say how the country was found only when it was guessed or inherited, not when set.
    origin = f" from {via}" if via and via not in ("setting", "live provider") and where else ""
    parts = [p for p in (f"{where}{origin}" if where else "", intensity.source) if p]
    return f"{g} ({', '.join(parts)})"

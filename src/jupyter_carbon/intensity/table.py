"""The shipped country/region table: loaded lazily (first lookup), once, with the csv module.

Nothing here runs at import: the kernel pays for the table only when a figure is needed.
"""
from __future__ import annotations

from collections.abc import Mapping

import csv
import re
import threading
import unicodedata
from pathlib import Path
from typing import NamedTuple

from ..errors import ConfigError
from .model import Intensity
from .text import shown

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
COUNTRY_FILE = "intensity.csv"
REGION_FILE = "intensity_regions.csv"
_ZONE = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,12}){1,3}")
ACCEPTED = "use an ISO 3166 alpha-2 code (FR), alpha-3 code (FRA) or English name (France)"


class Country(NamedTuple):
    iso2: str
    iso3: str
    name: str
    g_per_kwh: float | None  # None: a real country the source has no figure for
    source: str
    year: int | None
    aliases: tuple[str, ...] = ()

    @property
    def country_iso(self) -> str:  # the name Intensity uses, for callers that mix the two
        return self.iso2

    @property
    def country_name(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return f"table:{self.source} {self.year}"

    def intensity(self) -> Intensity | None:
        if self.g_per_kwh is None:
            return None
        return Intensity(self.g_per_kwh, self.label, self.iso2, self.name, None)


class Region(NamedTuple):
    code: str  # "US-CA", "CA-QC"
    iso2: str
    name: str
    g_per_kwh: float
    source: str
    year: int

    def intensity(self, country_name: str | None = None) -> Intensity:
        label = f"table:{self.source} {self.year}"
        return Intensity(self.g_per_kwh, label, self.iso2, country_name, self.code)


class _Table:
    def __init__(self) -> None:
        self.by_iso2: dict[str, Country] = {}
        self.by_iso3: dict[str, Country] = {}
        self.regions: dict[str, Region] = {}
        self.world: Country | None = None
        self._by_name: dict[str, Country] | None = None

    @property
    def by_name(self) -> dict[str, Country]:
        """Countries by normalised name and alias, made on the first lookup by name (codes,
        the usual case, never need it; normalising ~500 names costs milliseconds)."""
        if self._by_name is None:
            by_name: dict[str, Country] = {}
            for c in self.by_iso2.values():
                for name in (c.name, *c.aliases):
                    by_name.setdefault(normalise_name(name), c)
            self._by_name = by_name
        return self._by_name


_lock = threading.Lock()
_cache: dict[Path, _Table] = {}


def normalise_name(text: str) -> str:
    """Compare names the way people type them: no case, accents, punctuation or leading 'the'."""
    decomposed = unicodedata.normalize("NFKD", str(text).replace("&", " and "))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = "".join(ch if ch.isalnum() else " " if ch in " -,/()." else "" for ch in plain).split()
    if words[:1] == ["the"] and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def _load(data_dir: Path) -> _Table:
    table = _Table()
    with open(data_dir / COUNTRY_FILE, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            aliases = tuple(a for a in row.get("aliases", "").split("|") if a)
            c = Country(row["iso2"], row["iso3"], row["name"], _number(row["g_per_kwh"]),
                        row["source"], int(row["year"]) if row["year"] else None, aliases)
            if c.iso2 == "WORLD":
                table.world = c
                continue
            table.by_iso2[c.iso2] = c
            table.by_iso3[c.iso3] = c
    region_path = data_dir / REGION_FILE
    if region_path.exists():
        with open(region_path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                r = Region(row["region"], row["iso2"], row["name"], float(row["g_per_kwh"]),
                           row["source"], int(row["year"]))
                table.regions[r.code] = r
    return table


def get_table(data_dir: Path | None = None) -> _Table:
    """The parsed table (cached per directory; thread-safe: the live thread may ask too)."""
    path = data_dir or DATA_DIR
    table = _cache.get(path)
    if table is None:
        with _lock:
            table = _cache.get(path)
            if table is None:
                table = _cache[path] = _load(path)
    return table


def countries(data_dir: Path | None = None) -> list[Country]:
    return list(get_table(data_dir).by_iso2.values())


def regions(data_dir: Path | None = None) -> list[Region]:
    return list(get_table(data_dir).regions.values())


def world_row(data_dir: Path | None = None) -> Country | None:
    return get_table(data_dir).world


def _suggest(word: str, candidates: Mapping[str, object]) -> str | None:
    import difflib  # only on the error path

    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


# Codes and words people try that name no country: say what they are instead of "unknown".
_NOT_COUNTRIES = {
    "EU": "the European Union", "EUR": "the European Union", "EUU": "the European Union",
    "EUROPEAN UNION": "the European Union", "EZ": "the euro area", "UN": "the United Nations",
    "EUROPE": "a continent", "ASIA": "a continent", "AFRICA": "a continent",
    "OCEANIA": "a continent", "AMERICAS": "a continent", "NORTH AMERICA": "a continent",
    "SOUTH AMERICA": "a continent", "LATIN AMERICA": "a region",
}


def _user_assigned(code: str) -> bool:
    """ISO 3166-1 reserves AA, QM-QZ, XA-XZ and ZZ for private use: never a country."""
    return len(code) == 2 and code.isalpha() and code.isascii() and (
        code in ("AA", "ZZ") or code[0] == "X" or (code[0] == "Q" and code[1] >= "M"))


def lookup_country(text: str, data_dir: Path | None = None) -> Country:
    """ISO alpha-2, alpha-3 or English name (any case) -> Country; ConfigError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"country must be a non-empty string; {ACCEPTED}")
    table = get_table(data_dir)
    raw = text.strip()
    code = raw.upper()
    what = _NOT_COUNTRIES.get(" ".join(code.split()))
    if what:
        raise ConfigError(f"{shown(raw)} is {what}, not a country; give one country as an ISO "
                          "code or English name, such as DE, FRA or France")
    if _user_assigned(code) and code not in table.by_iso2:
        raise ConfigError(f"{shown(raw)} is not a country: ISO 3166 leaves AA, QM-QZ, XA-XZ and "
                          f"ZZ unassigned; {ACCEPTED}")
    if len(code) == 2 and code in table.by_iso2:
        return table.by_iso2[code]
    if len(code) == 3 and code in table.by_iso3:
        return table.by_iso3[code]
    key = normalise_name(raw)
    if key in table.by_name:
        return table.by_name[key]
    near = _suggest(key, table.by_name)
    hint = ""
    if near is not None:
        c = table.by_name[near]
        hint = f" (did you mean {c.name!r}, {c.iso2}?)"
    raise ConfigError(f"unknown country {shown(raw)}{hint}; {ACCEPTED}")


def lookup_region(text: str, country_iso2: str | None = None,
                  data_dir: Path | None = None) -> Region | None:
    """A sub-national row ("US-CA", or "CA"/"California" with country US).

    Returns None where the table has no sub-national data for that country (the country
    figure applies); raises ConfigError for a code or name that looks like a typo.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("region must be a non-empty string like US-CA or CA-QC")
    table = get_table(data_dir)
    raw = text.strip()
    code = raw.upper().replace("_", "-")
    country = country_iso2.upper() if country_iso2 else None
    prefix = code.split("-", 1)[0] if "-" in code else None
    if country and prefix and len(prefix) == 2 and prefix.isalpha() and prefix != country:
        raise ConfigError(f"region {shown(raw)} is not in country {country}")
    if prefix is not None and not (len(prefix) == 2 and prefix.isalpha() and prefix.isascii()
                                   and prefix in table.by_iso2):
        raise ConfigError(f"unknown region {shown(raw)}: {shown(prefix)} is not a country code; "
                          "write regions like US-CA or CA-QC")
    candidates = {r.code: r for r in table.regions.values()
                  if country is None or r.iso2 == country}
    if code in candidates:
        return candidates[code]
    if country and f"{country}-{code}" in candidates:
        return candidates[f"{country}-{code}"]
    by_name = {normalise_name(r.name): r for r in candidates.values()}
    if normalise_name(raw) in by_name:
        return by_name[normalise_name(raw)]
    if prefix is not None:  # "US-California": a country code and a region's name
        named = {normalise_name(r.name): r for r in table.regions.values() if r.iso2 == prefix}
        hit = named.get(normalise_name(raw.split("-", 1)[1]))
        if hit is not None:
            return hit
    owner = country or prefix
    no_rows = bool(owner) and not any(r.iso2 == owner for r in table.regions.values())
    zone_like = code.count("-") > 1 or bool(prefix and len(code.split("-", 1)[1]) > 3)
    if no_rows or zone_like:
        # FR-IDF: a real code, but the table has only the country's figure; US-CAL-CISO: a
        # grid zone, meant for live data. Either way it must at least look like a code.
        if not _ZONE.fullmatch(code if prefix else f"{owner}-{code}"):
            raise ConfigError(f"region {shown(raw)} is neither a code like US-CA or FR-IDF nor a "
                              "grid zone like US-CAL-CISO")
        return None
    names = {normalise_name(r.name): r for r in candidates.values()}
    near = _suggest(normalise_name(raw), names) or _suggest(code, candidates)
    hint = ""
    if near is not None:
        r = names.get(near) or candidates[near]
        hint = f" (did you mean {r.code}, {r.name}?)"
    have = ", ".join(sorted({r.iso2 for r in table.regions.values()}))
    raise ConfigError(f"unknown region {shown(raw)}{hint}; regions are known for {have}, "
                      "written like US-CA or CA-QC")

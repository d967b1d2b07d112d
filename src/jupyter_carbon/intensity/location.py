"""Which country's grid powers this machine, found offline (never a geo-IP service).

Order: explicit setting > ``JUPYTER_CARBON_COUNTRY`` > the system time zone > unknown.
The time zone is a hint people rarely set wrongly, and reading it leaks nothing off the
machine. Every step takes its inputs (env mapping, file paths) as parameters so it can be
tested against fake files.

Zone -> country uses the OS's tz database tables. ``zone.tab`` maps each zone to exactly one
country, so it is preferred. ``zone1970.tab`` may list several countries for one zone (e.g.
``Europe/Zurich``: CH, DE, LI); it is only a fallback, and then the *first* country is used,
which tzdb defines as the country of the zone's principal (most populous) city, and the guess
carries a note saying so. On Windows, only Windows zone names that belong to one country are
mapped (plus the "US & Canada" zones, assumed US and said so).
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import NamedTuple

log = logging.getLogger(__name__)

ENV_COUNTRY = "JUPYTER_CARBON_COUNTRY"
ENV_REGION = "JUPYTER_CARBON_REGION"


class TzSources(NamedTuple):
    """Where to look; the defaults are the real system locations."""

    localtime: str = "/etc/localtime"
    timezone_file: str = "/etc/timezone"
    zoneinfo_dirs: tuple[str, ...] = (
        "/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo",
    )
    use_tzdata_package: bool = True  # PyPI "tzdata" ships zone.tab (the Windows case)
    platform: str = sys.platform
    windows_zone: str | None = None  # tests; None reads the registry on Windows


class CountryGuess(NamedTuple):
    """A country code (not yet validated for explicit/env input) and how it was found."""

    country: str
    via: str  # "setting", "env JUPYTER_CARBON_COUNTRY", "time zone Europe/Paris"
    note: str | None = None  # a caveat worth showing, e.g. a zone shared by countries


# Zones that belong to no country: the machine is on UTC (servers, containers), not somewhere.
_NON_GEOGRAPHIC = {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal",
                   "Zulu", "Factory", "localtime", "posixrules", "CET", "EET", "MET", "WET",
                   "EST", "HST", "MST", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT"}

# Legacy ("backward") names not in zone.tab that still name one country. Following tzdb links
# instead would be wrong: merged zones link e.g. Iceland to Africa/Abidjan.
_LEGACY_PREFIX = {"US/": "US", "Canada/": "CA", "Brazil/": "BR", "Mexico/": "MX",
                  "Chile/": "CL", "Australia/": "AU"}
_LEGACY = {
    "Asia/Calcutta": "IN", "Asia/Saigon": "VN", "Asia/Katmandu": "NP", "Asia/Rangoon": "MM",
    "Asia/Dacca": "BD", "Asia/Thimbu": "BT", "Asia/Ulan_Bator": "MN", "Asia/Macao": "MO",
    "Asia/Chongqing": "CN", "Asia/Chungking": "CN", "Asia/Harbin": "CN", "Asia/Tel_Aviv": "IL",
    "Asia/Istanbul": "TR", "Asia/Ashkhabad": "TM", "Europe/Kiev": "UA", "Europe/Belfast": "GB",
    "Europe/Nicosia": "CY", "Europe/Tiraspol": "MD", "Africa/Asmera": "ER",
    "Africa/Timbuktu": "ML", "America/Buenos_Aires": "AR", "America/Godthab": "GL",
    "America/Indianapolis": "US", "America/Fort_Wayne": "US", "America/Knox_IN": "US",
    "America/Louisville": "US", "America/Montreal": "CA", "Atlantic/Faeroe": "FO",
    "GB": "GB", "GB-Eire": "GB", "Eire": "IE", "Japan": "JP", "NZ": "NZ", "NZ-CHAT": "NZ",
    "PRC": "CN", "ROC": "TW", "ROK": "KR", "Singapore": "SG", "Hongkong": "HK", "Iceland": "IS",
    "Iran": "IR", "Israel": "IL", "Jamaica": "JM", "Libya": "LY", "Egypt": "EG", "Cuba": "CU",
    "Poland": "PL", "Portugal": "PT", "Turkey": "TR", "W-SU": "RU", "Navajo": "US",
    "Kwajalein": "MH",
}

# Windows zone key names (registry TimeZoneKeyName) that belong to one country.
_WINDOWS_ONE_COUNTRY = {
    **dict.fromkeys(["Hawaiian", "Alaskan", "Aleutian", "US Mountain", "US Eastern"], "US"),
    **dict.fromkeys(["Newfoundland", "Canada Central", "Yukon"], "CA"),
    **dict.fromkeys(["Pacific (Mexico)", "Mountain (Mexico)", "Central (Mexico)",
                     "Eastern (Mexico)"], "MX"),
    **dict.fromkeys(["E. South America", "Bahia", "Tocantins"], "BR"),
    **dict.fromkeys(["Pacific SA", "Magallanes", "Easter Island"], "CL"),
    **dict.fromkeys(["W. Australia", "AUS Central", "Cen. Australia", "E. Australia",
                     "AUS Eastern", "Tasmania", "Aus Central W.", "Lord Howe"], "AU"),
    **dict.fromkeys(["Russian", "Russia Time Zone 3", "Russia Time Zone 10",
                     "Russia Time Zone 11", "Kaliningrad", "Ekaterinburg", "N. Central Asia",
                     "North Asia", "North Asia East", "Yakutsk", "Vladivostok", "Magadan",
                     "Sakhalin", "Omsk", "Altai", "Tomsk", "Transbaikal", "Astrakhan",
                     "Saratov", "Volgograd"], "RU"),
    **dict.fromkeys(["New Zealand", "Chatham Islands"], "NZ"),
    "Cuba": "CU", "Haiti": "HT", "Venezuela": "VE", "Paraguay": "PY", "Argentina": "AR",
    "Montevideo": "UY", "Greenland": "GL", "Saint Pierre": "PM", "Turks And Caicos": "TC",
    "Morocco": "MA", "E. Europe": "MD", "Turkey": "TR", "Israel": "IL", "Jordan": "JO",
    "Syria": "SY", "Middle East": "LB", "Egypt": "EG", "West Bank": "PS", "Libya": "LY",
    "Sudan": "SD", "South Sudan": "SS", "Namibia": "NA", "Sao Tome": "ST", "Mauritius": "MU",
    "Belarus": "BY", "Arabic": "IQ", "Iran": "IR", "Azerbaijan": "AZ", "Georgian": "GE",
    "Caucasus": "AM", "Afghanistan": "AF", "Pakistan": "PK", "Qyzylorda": "KZ", "India": "IN",
    "Sri Lanka": "LK", "Nepal": "NP", "Bangladesh": "BD", "Myanmar": "MM", "Taipei": "TW",
    "Ulaanbaatar": "MN", "W. Mongolia": "MN", "Tokyo": "JP", "Korea": "KR", "North Korea": "KP",
    "Norfolk": "NF", "Bougainville": "PG", "Fiji": "FJ", "Tonga": "TO", "Samoa": "WS",
}
# Shared zones where one country has the overwhelming majority of the people.
_WINDOWS_MOSTLY = {
    "Eastern": ("US", "US & Canada"), "Central": ("US", "US & Canada"),
    "Mountain": ("US", "US & Canada"), "Pacific": ("US", "US & Canada"),
    "China": ("CN", "Beijing, Chongqing, Hong Kong, Urumqi"),
}


def _windows_key(name: str) -> str:
    name = name.strip()
    for suffix in (" Standard Time", " Daylight Time"):
        if suffix in name:
            name = name.replace(suffix, "")
    return name


def windows_country(name: str) -> tuple[str, str | None] | None:
    """Windows zone key name ("India Standard Time") -> (country, note) or None if shared."""
    key = _windows_key(name)
    if key in _WINDOWS_ONE_COUNTRY:
        return _WINDOWS_ONE_COUNTRY[key], None
    if key in _WINDOWS_MOSTLY:
        iso, covers = _WINDOWS_MOSTLY[key]
        return iso, f"Windows zone {name!r} covers {covers}; assumed {iso}"
    return None


def _windows_zone_name() -> str | None:
    try:
        import winreg

        path = r"SYSTEM\CurrentControlSet\Control\TimeZoneInformation"
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:  # type: ignore[attr-defined]
            return str(winreg.QueryValueEx(key, "TimeZoneKeyName")[0]).strip("\x00 ") or None  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - no registry, no access: just no answer
        log.debug("no Windows time zone from the registry", exc_info=True)
        import time

        return time.tzname[0] or None  # localised on non-English systems; may not map


def _zone_from_path(path: str) -> str | None:
    marker = "zoneinfo/"
    path = path.replace("\\", "/")
    if marker not in path:
        return None
    zone = path.rsplit(marker, 1)[1]
    for prefix in ("posix/", "right/"):
        if zone.startswith(prefix):
            zone = zone[len(prefix):]
    return zone or None


def system_zone(env: Mapping[str, str] | None = None,
                sources: TzSources | None = None) -> tuple[str, str] | None:
    """(IANA zone name, where it was read) from TZ, /etc/localtime or /etc/timezone."""
    env = os.environ if env is None else env
    src = sources or TzSources()
    tz = (env.get("TZ") or "").strip().lstrip(":")
    if tz:
        zone = _zone_from_path(tz) if "/" in tz and tz.startswith(("/", ".")) else tz
        if zone and zone not in _NON_GEOGRAPHIC and not zone.startswith("Etc/") \
                and not any(ch.isdigit() or ch in ",<" for ch in zone.replace("GMT", "")):
            return zone, "TZ"
    try:
        if os.path.islink(src.localtime):
            zone = _zone_from_path(os.readlink(src.localtime)) or _zone_from_path(
                os.path.realpath(src.localtime))
            if zone:
                return zone, src.localtime
    except OSError:
        pass
    try:
        with open(src.timezone_file, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#"):
                    return line, src.timezone_file
    except (OSError, UnicodeDecodeError):
        pass
    return None


def _tab_files(sources: TzSources) -> list[str]:
    dirs = list(sources.zoneinfo_dirs)
    if sources.use_tzdata_package:
        try:
            import importlib.util

            spec = importlib.util.find_spec("tzdata")
            if spec and spec.submodule_search_locations:
                dirs.append(os.path.join(list(spec.submodule_search_locations)[0], "zoneinfo"))
        except (ImportError, ValueError):
            pass
    return dirs


_tab_cache: dict[str, tuple[tuple[int, int], dict[str, list[str]]]] = {}


def _read_tab(path: str) -> dict[str, list[str]]:
    """zone -> country codes; cached per file until it changes (resolve may run per cell)."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _tab_cache.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    table: dict[str, list[str]] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("#"):
                    continue
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 3:
                    table[cols[2]] = cols[0].split(",")
    except (OSError, UnicodeDecodeError):
        return {}
    _tab_cache[path] = (stamp, table)
    return table


def zone_country(zone: str, sources: TzSources | None = None) -> tuple[str, str | None] | None:
    """IANA zone -> (alpha-2, note) from zone.tab, legacy names, then zone1970.tab."""
    src = sources or TzSources()
    if not zone or zone in _NON_GEOGRAPHIC or zone.startswith(("Etc/", "SystemV/")):
        return None
    dirs = _tab_files(src)
    for d in dirs:
        one = _read_tab(os.path.join(d, "zone.tab"))
        if zone in one:
            return one[zone][0], None
    if zone in _LEGACY:
        return _LEGACY[zone], None
    for prefix, iso in _LEGACY_PREFIX.items():
        if zone.startswith(prefix):
            return iso, None
    for d in dirs:
        many = _read_tab(os.path.join(d, "zone1970.tab"))
        if zone in many:
            codes = many[zone]
            if len(codes) == 1:
                return codes[0], None
            return codes[0], (f"time zone {zone} is shared by {', '.join(codes)}; "
                              f"assumed {codes[0]} (its main city)")
    return None


def detect_country(env: Mapping[str, str] | None = None,
                   sources: TzSources | None = None) -> CountryGuess | None:
    """Country from the system time zone only; None when it names no country (e.g. UTC)."""
    src = sources or TzSources()
    if src.platform == "win32" or src.windows_zone is not None:
        name = src.windows_zone or _windows_zone_name()
        found = windows_country(name) if name else None
        if found:
            return CountryGuess(found[0], f"Windows time zone {name!r}", found[1])
        if src.windows_zone is not None:
            return None
    zone = system_zone(env, src)
    if zone is None:
        return None
    found = zone_country(zone[0], src)
    if found is None:
        return None
    return CountryGuess(found[0], f"time zone {zone[0]}", found[1])


def choose_country(explicit: str | None = None, env: Mapping[str, str] | None = None,
                   sources: TzSources | None = None, *, detect: bool = True
                   ) -> CountryGuess | None:
    """Explicit setting > JUPYTER_CARBON_COUNTRY > time zone (if ``detect``) > None."""
    env = os.environ if env is None else env
    if explicit is not None and str(explicit).strip():
        return CountryGuess(str(explicit).strip(), "setting")
    from_env = (env.get(ENV_COUNTRY) or "").strip()
    if from_env:
        return CountryGuess(from_env, f"env {ENV_COUNTRY}")
    return detect_country(env, sources) if detect else None

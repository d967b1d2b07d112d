"""Offline country detection from the time zone, against fake tz files and the real ones."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from jupyter_carbon.intensity.location import (
    TzSources, choose_country, detect_country, system_zone, windows_country, zone_country,
)

SYSTEM_ZONEINFO = Path("/usr/share/zoneinfo")
ZONE_TAB = (
    "# fake zone.tab\n"
    "FR\t+4852+00220\tEurope/Paris\n"
    "US\t+404251-0740023\tAmerica/New_York\tEastern (most areas)\n"
    "IN\t+2232+08822\tAsia/Kolkata\n"
    "AU\t-3352+15113\tAustralia/Sydney\tNew South Wales (most areas)\n"
    "CH\t+4723+00832\tEurope/Zurich\n"
    "SA\t+2438+04643\tAsia/Riyadh\n"
)
ZONE1970_TAB = (
    "# fake zone1970.tab\n"
    "FR,MC\t+4852+00220\tEurope/Paris\n"
    "CH,DE,LI\t+4723+00832\tEurope/Zurich\tBüsingen\n"
    "SA,AQ,KW,YE\t+2438+04643\tAsia/Riyadh\tSyowa\n"
    "IN\t+2232+08822\tAsia/Kolkata\n"
)


def _sources(tmp_path: Path, *, zone_tab: bool = True, zone1970: bool = True,
             localtime_target: str | None = None, timezone_text: str | None = None) -> TzSources:
    zi = tmp_path / "zoneinfo"
    zi.mkdir(exist_ok=True)
    if zone_tab:
        (zi / "zone.tab").write_text(ZONE_TAB, encoding="utf-8")
    if zone1970:
        (zi / "zone1970.tab").write_text(ZONE1970_TAB, encoding="utf-8")
    localtime = tmp_path / "localtime"
    if localtime_target is not None:
        os.symlink(localtime_target, localtime)
    tzfile = tmp_path / "timezone"
    if timezone_text is not None:
        tzfile.write_text(timezone_text, encoding="utf-8")
    return TzSources(localtime=str(localtime), timezone_file=str(tzfile),
                     zoneinfo_dirs=(str(zi),), use_tzdata_package=False, platform="linux")


@pytest.mark.parametrize("zone, iso2", [
    ("Europe/Paris", "FR"), ("America/New_York", "US"), ("Asia/Kolkata", "IN"),
    ("Australia/Sydney", "AU"), ("Europe/Zurich", "CH"), ("Asia/Riyadh", "SA"),
])
def test_zone_tab_gives_one_country(tmp_path, zone, iso2):
    assert zone_country(zone, _sources(tmp_path)) == (iso2, None)


def test_zone1970_multi_country_picks_first_and_says_so(tmp_path):
    src = _sources(tmp_path, zone_tab=False)
    iso2, note = zone_country("Europe/Zurich", src)
    assert iso2 == "CH" and "CH, DE, LI" in note and "assumed CH" in note
    iso2, note = zone_country("Asia/Riyadh", src)
    assert iso2 == "SA" and "KW" in note
    assert zone_country("Asia/Kolkata", src) == ("IN", None)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Etc/UTC", "UTC", "Etc/GMT+5", "", "Factory"])
def test_unknown_or_non_geographic_zone(tmp_path, zone):
    assert zone_country(zone, _sources(tmp_path)) is None


@pytest.mark.parametrize("zone, iso2", [("US/Eastern", "US"), ("Asia/Calcutta", "IN"),
                                        ("Europe/Kiev", "UA"), ("Japan", "JP")])
def test_legacy_names(tmp_path, zone, iso2):
    assert zone_country(zone, _sources(tmp_path))[0] == iso2


@pytest.mark.parametrize("tz, expected", [
    ("Europe/Paris", "Europe/Paris"),
    (":Asia/Kolkata", "Asia/Kolkata"),
    ("/usr/share/zoneinfo/Australia/Sydney", "Australia/Sydney"),
])
def test_tz_env_wins(tmp_path, tz, expected):
    src = _sources(tmp_path, localtime_target="/usr/share/zoneinfo/America/New_York")
    assert system_zone({"TZ": tz}, src) == (expected, "TZ")


@pytest.mark.parametrize("tz", ["UTC", "CET-1CEST,M3.5.0,M10.5.0/3", "Etc/UTC", "EST5EDT"])
def test_tz_env_without_country_falls_through_to_system_files(tmp_path, tz):
    src = _sources(tmp_path, localtime_target="../usr/share/zoneinfo/posix/America/New_York")
    assert system_zone({"TZ": tz}, src) == ("America/New_York", src.localtime)


def test_localtime_symlink_then_timezone_file(tmp_path):
    src = _sources(tmp_path, localtime_target="/var/db/timezone/zoneinfo/Europe/Paris",
                   timezone_text="Asia/Kolkata\n")
    assert detect_country({}, src).country == "FR"
    other = tmp_path / "no-symlink"
    other.mkdir()
    src2 = _sources(other, timezone_text="# comment\nAustralia/Sydney\n")
    guess = detect_country({}, src2)
    assert guess.country == "AU" and guess.via == "time zone Australia/Sydney"


def test_utc_machine_gives_no_country(tmp_path):
    src = _sources(tmp_path, localtime_target="/usr/share/zoneinfo/Etc/UTC", timezone_text="Etc/UTC")
    assert detect_country({}, src) is None


def test_nothing_readable_gives_no_country(tmp_path):
    src = TzSources(localtime=str(tmp_path / "nope"), timezone_file=str(tmp_path / "nope2"),
                    zoneinfo_dirs=(str(tmp_path),), use_tzdata_package=False, platform="linux")
    assert detect_country({"TZ": "Europe/Paris"}, src) is None  # zone known, no table to map it
    assert detect_country({}, src) is None


def test_precedence_explicit_env_timezone(tmp_path):
    src = _sources(tmp_path, localtime_target="/usr/share/zoneinfo/Europe/Paris")
    env = {"JUPYTER_CARBON_COUNTRY": "de"}
    assert choose_country("Norway", env, src).country == "Norway"
    assert choose_country(None, env, src).via == "env JUPYTER_CARBON_COUNTRY"
    assert choose_country(None, {}, src).country == "FR"
    assert choose_country(None, {}, src, detect=False) is None


def test_windows_zone_names(tmp_path):
    assert windows_country("India Standard Time") == ("IN", None)
    assert windows_country("Tokyo Standard Time") == ("JP", None)
    iso2, note = windows_country("Eastern Standard Time")
    assert iso2 == "US" and "US & Canada" in note
    assert windows_country("W. Europe Standard Time") is None  # DE, IT, NL, AT, CH, SE, ...
    src = TzSources(windows_zone="AUS Eastern Standard Time", zoneinfo_dirs=(),
                    use_tzdata_package=False, platform="win32")
    guess = detect_country({}, src)
    assert guess.country == "AU" and "Windows" in guess.via
    shared = TzSources(windows_zone="Romance Standard Time", zoneinfo_dirs=(),
                       use_tzdata_package=False, platform="win32")
    assert detect_country({}, shared) is None


@pytest.mark.skipif(not (SYSTEM_ZONEINFO / "zone.tab").exists(), reason="no system zone.tab")
@pytest.mark.parametrize("zone, iso2", [
    ("Europe/Paris", "FR"), ("America/New_York", "US"), ("Asia/Kolkata", "IN"),
    ("Australia/Sydney", "AU"), ("Europe/Zurich", "CH"), ("Asia/Riyadh", "SA"),
    ("Europe/Amsterdam", "NL"),  # a link to Brussels in tzdb 2022+, still NL in zone.tab
])
def test_real_system_zone_tab(zone, iso2):
    src = TzSources(zoneinfo_dirs=(str(SYSTEM_ZONEINFO),), use_tzdata_package=False)
    assert zone_country(zone, src) == (iso2, None)


@pytest.mark.skipif(not (SYSTEM_ZONEINFO / "zone1970.tab").exists(), reason="no zone1970.tab")
def test_real_zone1970_tab_alone(tmp_path):
    shutil.copy(SYSTEM_ZONEINFO / "zone1970.tab", tmp_path / "zone1970.tab")
    src = TzSources(zoneinfo_dirs=(str(tmp_path),), use_tzdata_package=False)
    iso2, note = zone_country("Europe/Zurich", src)
    assert iso2 == "CH" and "DE" in note and "LI" in note
    assert zone_country("Asia/Riyadh", src)[0] == "SA"
    assert zone_country("Asia/Kolkata", src) == ("IN", None)


def test_real_system_detection_does_not_crash():
    guess = detect_country()
    assert guess is None or (len(guess.country) == 2 and guess.via)

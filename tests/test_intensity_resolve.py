"""Resolver precedence, describe(), the mix calculator and input validation."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

from jupyter_carbon.errors import ConfigError
from jupyter_carbon.intensity import (
    LIFECYCLE_G_PER_KWH, WORLD_AVERAGE, Intensity, TzSources, describe, intensity_from_mix,
    lookup_country, resolve, resolve_detailed, validate_intensity, validate_pue,
)

NO_TZ = TzSources(localtime="/nonexistent/localtime", timezone_file="/nonexistent/timezone",
                  zoneinfo_dirs=(), use_tzdata_package=False, platform="linux")


def _tz(tmp_path: Path, zone: str) -> TzSources:
    (tmp_path / "zone.tab").write_text("FR\t+4852+00220\tEurope/Paris\nCH\t+4723+00832\tEurope/Zurich\n"
                                       "MC\t+4342+00723\tEurope/Monaco\n", encoding="utf-8")
    os.symlink(f"/usr/share/zoneinfo/{zone}", tmp_path / "localtime")
    return TzSources(localtime=str(tmp_path / "localtime"), timezone_file=str(tmp_path / "none"),
                     zoneinfo_dirs=(str(tmp_path),), use_tzdata_package=False, platform="linux")


class StubLive:
    def __init__(self, value, running=True):
        self.value, self.running = value, running

    def current(self):
        return self.value


LIVE = Intensity(123.0, "live:electricitymaps", "FR", "France", None)


def test_precedence_explicit_live_country_world(tmp_path):
    tz = _tz(tmp_path, "Europe/Paris")
    env = {"JUPYTER_CARBON_COUNTRY": "PL"}
    assert resolve(intensity=42, country="DE", live=StubLive(LIVE), env=env, tz=tz) == \
        Intensity(42.0, "explicit")
    assert resolve(country="DE", live=StubLive(LIVE), env=env, tz=tz) == LIVE
    assert resolve(country="DE", live=StubLive(None), env=env, tz=tz).country_iso == "DE"
    assert resolve(country="DE", live=StubLive(LIVE, running=False), env=env, tz=tz).country_iso == "DE"
    assert resolve(env=env, tz=tz).country_iso == "PL"
    fr = resolve(env={}, tz=tz)
    assert fr.country_iso == "FR" and fr.source.startswith("table:Ember/OWID ")
    assert resolve(env={}, tz=NO_TZ) == WORLD_AVERAGE
    assert resolve(env={}, tz=tz, detect=False) == WORLD_AVERAGE


def test_every_result_carries_provenance(tmp_path):
    r = resolve(country="France", env={}, tz=NO_TZ)
    assert (r.country_iso, r.country_name, r.region) == ("FR", "France", None)
    assert r.g_per_kwh == lookup_country("FR").g_per_kwh and r.source == lookup_country("FR").label
    detailed = resolve_detailed(env={}, tz=_tz(tmp_path, "Europe/Zurich"))
    assert detailed.intensity.country_iso == "CH" and detailed.country_via == "time zone Europe/Zurich"


def test_regions():
    ca = resolve(country="US", region="CA", env={}, tz=NO_TZ)
    assert ca.region == "US-CA" and ca.country_iso == "US" and ca.source == "table:EPA eGRID 2023"
    assert resolve(region="CA-QC", env={}, tz=NO_TZ).country_iso == "CA"
    assert resolve(env={"JUPYTER_CARBON_REGION": "US-TX"}, tz=NO_TZ).region == "US-TX"
    fr = resolve(country="FR", region="FR-IDF", env={}, tz=NO_TZ)  # no sub-national figure
    assert fr.region is None and fr.country_iso == "FR"
    with pytest.raises(ConfigError):
        resolve(country="FR", region="US-CA", env={}, tz=NO_TZ)


def test_country_without_figure_uses_world_value_and_says_why(tmp_path):
    r = resolve_detailed(env={}, tz=_tz(tmp_path, "Europe/Monaco"))
    i = r.intensity
    assert i.g_per_kwh == WORLD_AVERAGE.g_per_kwh and i.source == "world-average"
    assert i.country_iso == "MC" and any("no table figure" in n for n in r.notes)
    assert describe(i) == f"{WORLD_AVERAGE.g_per_kwh:.0f} g CO₂e/kWh (world average: no table figure for MC)"


def test_bad_country_errors_name_their_origin():
    # From the environment: ignored with a note (raising would fail every cell), not an error.
    r = resolve_detailed(env={"JUPYTER_CARBON_COUNTRY": "Frnace"}, tz=NO_TZ)
    assert r.intensity == WORLD_AVERAGE
    assert any(re.search("JUPYTER_CARBON_COUNTRY.*did you mean 'France'.*world average", n)
               for n in r.notes), r.notes
    with pytest.raises(ConfigError, match="did you mean 'Germany'"):
        resolve(country="Germny", env={}, tz=NO_TZ)
    assert resolve(country="world", env={}, tz=NO_TZ) == WORLD_AVERAGE


def test_describe():
    fr = resolve(country="FR", env={}, tz=NO_TZ)
    assert describe(fr) == f"{fr.g_per_kwh:.0f} g CO₂e/kWh (FR, {fr.source})"
    assert describe(fr, via="time zone Europe/Paris") == \
        f"{fr.g_per_kwh:.0f} g CO₂e/kWh (FR from time zone Europe/Paris, {fr.source})"
    assert describe(WORLD_AVERAGE) == (
        "479 g CO₂e/kWh (world average: country unknown \u2014 %carbon config --country XX, "
        "or JUPYTER_CARBON_COUNTRY for every kernel)")
    assert describe(Intensity(300, "explicit")) == "300 g CO₂e/kWh (explicit)"
    assert describe(LIVE) == "123 g CO₂e/kWh (FR, live:electricitymaps)"
    assert describe(resolve(country="US", region="US-CA", env={}, tz=NO_TZ)).startswith(
        "179 g CO₂e/kWh (US-CA, table:EPA eGRID 2023)")


# -- mix --------------------------------------------------------------------------------

def test_mix_weighted_and_normalised():
    mix = intensity_from_mix({"coal": .3, "wind": .7})
    assert mix.source == "mix" and mix.g_per_kwh == pytest.approx(.3 * 995 + .7 * 26)
    assert intensity_from_mix({"coal": 30, "wind": 70}) == mix  # percentages work too
    assert intensity_from_mix({"Natural Gas": 1}).g_per_kwh == 743
    assert intensity_from_mix({"gas": 1, "oil": 1}).g_per_kwh == pytest.approx((743 + 816) / 2)
    assert intensity_from_mix({"gas": .5, "natural_gas": .5, "solar": 0}).g_per_kwh == 743
    assert intensity_from_mix({"hydroelectricity": 1}).g_per_kwh == 26
    assert intensity_from_mix({"nuclear": "1"}).g_per_kwh == 29


def test_factors_are_the_cited_set():
    assert {k: LIFECYCLE_G_PER_KWH[k] for k in ("coal", "petroleum", "natural_gas", "geothermal",
                                                "hydro", "nuclear", "solar", "wind")} == {
        "coal": 995, "petroleum": 816, "natural_gas": 743, "geothermal": 38, "hydro": 26,
        "nuclear": 29, "solar": 48, "wind": 26}


@pytest.mark.parametrize("bad, needle", [
    ({"coal": -0.1, "wind": 1}, ">= 0"), ({"coal": 0, "wind": 0}, "more than 0"),
    ({"unobtainium": 1}, "accepted"), ({"coal": "lots"}, "number"), ({}, "non-empty"),
    ({"coal": True}, "number"), ({"coal": math.nan}, "finite"), ([("coal", 1)], "mapping"),
])
def test_mix_rejects(bad, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        intensity_from_mix(bad)
    assert "\n" not in str(info.value)


# -- validation ------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(0, 0.0), (56, 56.0), ("300", 300.0), (" 12.5 ", 12.5),
                                             (2000, 2000.0)])
def test_intensity_accepts(value, expected):
    assert validate_intensity(value) == expected


@pytest.mark.parametrize("value, needle", [(-1, ">= 0"), ("abc", "number"), (2500, "implausible"),
                                           (math.nan, "finite"), (math.inf, "finite"),
                                           (True, "number"), (None, "number"), ("", "number")])
def test_intensity_rejects(value, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        validate_intensity(value)
    assert "\n" not in str(info.value)
    if value is not None:  # None means "not given" to resolve()
        with pytest.raises(ConfigError):
            resolve(intensity=value, env={}, tz=NO_TZ)


@pytest.mark.parametrize("value, expected", [(None, 1.0), (1, 1.0), ("1.2", 1.2), (1.58, 1.58)])
def test_pue_accepts(value, expected):
    assert validate_pue(value) == expected


@pytest.mark.parametrize("value", [0.9, 0, -1, "abc", math.nan, True, 11, "", [1.2]])
def test_pue_rejects(value):
    with pytest.raises(ConfigError, match="PUE") as info:
        validate_pue(value)
    assert "\n" not in str(info.value)

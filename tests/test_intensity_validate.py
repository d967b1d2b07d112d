"""Settings that are not countries or regions: one-line errors naming the value and what is
used instead; from the environment they never fail a cell."""
from __future__ import annotations

import pytest

from jupyter_carbon.errors import ConfigError
from jupyter_carbon.intensity import (
    WORLD_AVERAGE, TzSources, resolve, resolve_detailed, validate_country, validate_region,
)

NO_TZ = TzSources(localtime="/nonexistent/localtime", timezone_file="/nonexistent/timezone",
                  zoneinfo_dirs=(), use_tzdata_package=False, platform="linux")


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and len(text) < 300, text
    return text


@pytest.mark.parametrize("value, says", [
    ("EU", "'EU' is the European Union, not a country"),
    ("eu", "'eu' is the European Union, not a country"),
    ("Europe", "'Europe' is a continent, not a country"),
    ("XX", "'XX' is not a country"),
    ("QZ", "'QZ' is not a country"),
    ("ZZ", "'ZZ' is not a country"),
    ("Frnace", "did you mean 'France'"),
    ("", "non-empty"),
])
def test_not_a_country(value, says):
    with pytest.raises(ConfigError) as info:
        validate_country(value, instead="FR from the time zone")
    text = one_line(info)
    assert says in text and text.endswith("; using FR from the time zone instead")


def test_countries_and_world():
    assert validate_country(" fr ") == "FR" and validate_country("Germany") == "DE"
    assert validate_country("USA") == "US" and validate_country("world") == "WORLD"


@pytest.mark.parametrize("value, country, says", [
    ("US-XX", None, "unknown region 'US-XX' (did you mean US-TX, Texas?)"),
    ("US-XX", "US", "did you mean US-TX"),
    ("XX-YY", None, "'XX' is not a country code"),
    ("EU-FR", None, "'EU' is not a country code"),
    ("US-CA", "FR", "not in country FR"),
    ("CA", None, "unknown region 'CA'"),
    ("-", None, "not a country code"),
])
def test_not_a_region(value, country, says):
    with pytest.raises(ConfigError) as info:
        validate_region(value, country, instead="the country's figure")
    text = one_line(info)
    assert says in text and text.endswith("; using the country's figure instead")


def test_regions():
    assert validate_region("us-ca") == "US-CA" and validate_region("California") == "US-CA"
    assert validate_region("US-California") == "US-CA" and validate_region("QC", "CA") == "CA-QC"
    assert validate_region("FR-IDF") == "FR-IDF"  # a real code; the table has FR's figure only
    assert validate_region("IDF", "FR") == "FR-IDF"
    assert validate_region("US-CAL-CISO") == "US-CAL-CISO"  # a grid zone, for live providers


@pytest.mark.parametrize("env, note", [
    ({"JUPYTER_CARBON_COUNTRY": "EU"}, "ignoring JUPYTER_CARBON_COUNTRY: 'EU' is the European Union"),
    ({"JUPYTER_CARBON_COUNTRY": "XX"}, "ignoring JUPYTER_CARBON_COUNTRY: 'XX' is not a country"),
])
def test_a_bad_country_in_the_environment_never_raises(env, note):
    r = resolve_detailed(env=env, tz=NO_TZ)
    assert r.intensity == WORLD_AVERAGE
    assert any(n.startswith(note) and n.endswith("using the world average instead") for n in r.notes)


def test_a_bad_region_in_the_environment_never_raises():
    r = resolve_detailed(country="US", env={"JUPYTER_CARBON_REGION": "US-XX"}, tz=NO_TZ)
    assert r.intensity.country_iso == "US" and r.intensity.region is None
    assert any("JUPYTER_CARBON_REGION" in n and "US-XX" in n and "did you mean US-TX" in n
               for n in r.notes)
    r = resolve_detailed(env={"JUPYTER_CARBON_COUNTRY": "FR", "JUPYTER_CARBON_REGION": "US-CA"}, tz=NO_TZ)
    assert r.intensity.country_iso == "FR" and any("not in country FR" in n for n in r.notes)
    r = resolve_detailed(env={"JUPYTER_CARBON_REGION": "XX-YY"}, tz=NO_TZ)
    assert r.intensity == WORLD_AVERAGE and any("'XX' is not a country code" in n for n in r.notes)


def test_an_explicit_bad_region_still_raises():
    with pytest.raises(ConfigError, match="did you mean US-TX"):
        resolve(country="US", region="US-XX", env={}, tz=NO_TZ)
    with pytest.raises(ConfigError, match="not a country code"):
        resolve(region="XX-YY", env={}, tz=NO_TZ)


@pytest.mark.parametrize("call", [
    lambda v: validate_country(v), lambda v: validate_region(v),
    lambda v: __import__("jupyter_carbon.intensity", fromlist=["x"]).validate_intensity(v),
    lambda v: __import__("jupyter_carbon.intensity", fromlist=["x"]).validate_pue(v),
])
@pytest.mark.parametrize("value", ["9" * 100_000 + "x", "US-" + "X" * 100_000, "\u00e9\n" * 5000])
def test_a_huge_pasted_value_gives_a_short_one_line_error(call, value):
    with pytest.raises(ConfigError) as info:
        call(value)
    one_line(info)

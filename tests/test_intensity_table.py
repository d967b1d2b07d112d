"""The shipped country/region tables, lookups, and the script that builds them."""
from __future__ import annotations

import csv
import importlib.util
import json
import zipfile
from pathlib import Path

import pytest

from jupyter_carbon.errors import ConfigError
from jupyter_carbon.intensity import WORLD_AVERAGE, lookup_country, lookup_region
from jupyter_carbon.intensity.table import DATA_DIR, normalise_name

REPO = Path(__file__).resolve().parent.parent


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_country_table_rows_parse_and_are_sane():
    rows = _rows("intensity.csv")
    assert {"iso2", "iso3", "name", "g_per_kwh", "source", "year"} <= set(rows[0])
    countries = [r for r in rows if r["iso2"] != "WORLD"]
    iso2 = [r["iso2"] for r in countries]
    iso3 = [r["iso3"] for r in countries]
    assert len(iso2) == len(set(iso2)) and len(iso3) == len(set(iso3))
    for r in countries:
        assert len(r["iso2"]) == 2 and r["iso2"].isalpha() and r["iso2"].isupper(), r
        assert len(r["iso3"]) == 3 and r["iso3"].isalpha() and r["iso3"].isupper(), r
        assert r["name"].strip()
        if r["g_per_kwh"]:
            assert 0 < float(r["g_per_kwh"]) <= 1200, r
            assert r["source"] and 2000 <= int(r["year"]) <= 2030, r
        else:
            assert not r["source"] and not r["year"], r
    with_figure = [r for r in countries if r["g_per_kwh"]]
    assert 190 <= len(with_figure) <= 260


def test_world_row_matches_world_average_constant():
    world = [r for r in _rows("intensity.csv") if r["iso2"] == "WORLD"]
    assert len(world) == 1
    assert float(world[0]["g_per_kwh"]) == WORLD_AVERAGE.g_per_kwh
    assert 400 <= WORLD_AVERAGE.g_per_kwh <= 550


@pytest.mark.parametrize("code, low, high", [
    ("FR", 0, 150), ("NO", 0, 100), ("IS", 0, 100), ("SE", 0, 100), ("PL", 500, 1000),
    ("IN", 550, 1000), ("ZA", 600, 1100), ("US", 300, 500), ("DE", 250, 550),
    ("CN", 450, 750), ("GB", 100, 350),
])
def test_known_countries_in_plausible_ranges(code, low, high):
    c = lookup_country(code)
    assert c.g_per_kwh is not None and low < c.g_per_kwh < high
    assert c.intensity().source.startswith("table:Ember/OWID 20")


def test_region_table_sane():
    rows = _rows("intensity_regions.csv")
    codes = [r["region"] for r in rows]
    assert len(codes) == len(set(codes))
    for r in rows:
        assert r["region"].startswith(r["iso2"] + "-") and 0 < float(r["g_per_kwh"]) <= 1200
        assert r["source"] and int(r["year"]) >= 2000
    assert sum(r["iso2"] == "US" for r in rows) == 51  # 50 states + DC
    assert sum(r["iso2"] == "CA" for r in rows) == 13
    assert lookup_region("CA-QC").g_per_kwh < 100  # hydro
    assert lookup_region("US-WV").g_per_kwh > 600  # coal


def test_notice_names_sources_and_licence():
    text = (DATA_DIR / "intensity.NOTICE").read_text(encoding="utf-8")
    for needle in ("CodeCarbon", "MIT License", "Ember", "Our World in Data", "eGRID"):
        assert needle in text


@pytest.mark.parametrize("text", ["FR", "fr", "FRA", "fra", "France", "FRANCE", " france "])
def test_lookup_by_code_and_name_any_case(text):
    assert lookup_country(text).iso2 == "FR"


@pytest.mark.parametrize("text, iso2", [
    ("United States", "US"), ("USA", "US"), ("united states of america", "US"),
    ("UK", "GB"), ("Great Britain", "GB"), ("côte d'ivoire", "CI"), ("Ivory Coast", "CI"),
    ("South Korea", "KR"), ("Korea, Republic of", "KR"), ("Czech Republic", "CZ"),
    ("Türkiye", "TR"), ("Turkey", "TR"), ("Viet Nam", "VN"), ("Vietnam", "VN"),
    ("the Netherlands", "NL"),
])
def test_lookup_aliases(text, iso2):
    assert lookup_country(text).iso2 == iso2


def test_country_without_figure_is_still_a_country():
    mc = lookup_country("Monaco")
    assert mc.iso2 == "MC" and mc.g_per_kwh is None and mc.intensity() is None


@pytest.mark.parametrize("typo, suggestion", [("Frnace", "France"), ("Germny", "Germany"),
                                               ("Untied Kingdom", "United Kingdom")])
def test_mistyped_name_suggests(typo, suggestion):
    with pytest.raises(ConfigError) as info:
        lookup_country(typo)
    msg = str(info.value)
    assert suggestion in msg and "alpha-2" in msg and "alpha-3" in msg and "\n" not in msg


@pytest.mark.parametrize("bad", ["XX", "ZZZ", "", "   ", None, 42])
def test_unknown_codes_rejected(bad):
    with pytest.raises(ConfigError):
        lookup_country(bad)


def test_region_lookup_forms_and_errors():
    assert lookup_region("us-ca").code == "US-CA"
    assert lookup_region("CA", "US").code == "US-CA"  # state code with its country
    assert lookup_region("California", "US").code == "US-CA"
    assert lookup_region("quebec").code == "CA-QC"
    assert lookup_region("FR-IDF") is None  # a real region we have no figure for
    assert lookup_region("Bavaria", "DE") is None
    assert lookup_region("US-CAL-CISO", "US") is None  # an Electricity Maps zone, not ours
    with pytest.raises(ConfigError, match="US-CA"):
        lookup_region("Califrnia", "US")
    with pytest.raises(ConfigError, match="not in country FR"):
        lookup_region("US-CA", "FR")


def test_normalise_name():
    assert normalise_name("  Côte  d'Ivoire ") == "cote divoire"
    assert normalise_name("The Bahamas") == normalise_name("Bahamas")
    assert normalise_name("Bosnia & Herzegovina") == normalise_name("Bosnia and Herzegovina")


# -- the build script, on a small fake wheel -----------------------------------------------

def _load_builder():
    spec = importlib.util.spec_from_file_location("build_intensity_table",
                                                  REPO / "tools" / "build_intensity_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_inputs(tmp_path: Path) -> tuple[Path, Path]:
    base = "codecarbon/data/private_infra/"
    zero = dict.fromkeys(["coal_TWh", "gas_TWh", "oil_TWh", "nuclear_TWh", "hydroelectricity_TWh",
                          "solar_TWh", "wind_TWh", "biofuel_TWh",
                          "other_renewable_exc_biofuel_TWh"], 0.0)
    mix = {
        "FRA": {**zero, "carbon_intensity": 56.04, "country_name": "France", "year": 2023,
                "nuclear_TWh": 90.0, "total_TWh": 100.0},
        "CAF": {**zero, "carbon_intensity": 0.0, "country_name": "Central African Republic",
                "year": 2022, "hydroelectricity_TWh": 1.0, "total_TWh": 1.0},
        "TKM": {**zero, "carbon_intensity": 1306.0, "country_name": "Turkmenistan",
                "year": 2022, "gas_TWh": 10.0, "total_TWh": 10.0},
    }
    factors = {"coal": 995, "petroleum": 816, "natural_gas": 743, "geothermal": 38,
               "hydroelectricity": 26, "nuclear": 29, "solar": 48, "wind": 26, "biomass": 230}
    usa = {"_source": {"year": 2023}, "california": {"emissions": 400.0, "regionCode": "CA"},
           "usa": {"emissions": 800.0, "regionCode": "US"}}
    canada = {"quebec": {"hydro": 94.0, "wind": 5.0, "naturalGas": 1.0, "total": 100.0}}
    wheel = tmp_path / "codecarbon-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(base + "global_energy_mix.json", json.dumps(mix))
        zf.writestr(base + "carbon_intensity_per_source.json", json.dumps(factors))
        zf.writestr(base + "2023/usa_emissions.json", json.dumps(usa))
        zf.writestr(base + "2023/canada_energy_mix.json", json.dumps(canada))
        zf.writestr("codecarbon-9.9.9.dist-info/METADATA", "Name: codecarbon\nVersion: 9.9.9\n")
    iso = tmp_path / "iso_3166-1.json"
    iso.write_text(json.dumps({"3166-1": [
        {"alpha_2": "FR", "alpha_3": "FRA", "name": "France", "official_name": "French Republic"},
        {"alpha_2": "CF", "alpha_3": "CAF", "name": "Central African Republic"},
        {"alpha_2": "TM", "alpha_3": "TKM", "name": "Turkmenistan"},
        {"alpha_2": "MC", "alpha_3": "MCO", "name": "Monaco"},
        {"alpha_2": "US", "alpha_3": "USA", "name": "United States"},
        {"alpha_2": "CA", "alpha_3": "CAN", "name": "Canada"},
    ]}), encoding="utf-8")
    return wheel, iso


def test_build_script_is_reproducible_and_estimates_implausible_rows(tmp_path, capsys):
    builder = _load_builder()
    wheel, iso = _fake_inputs(tmp_path)
    out1, out2 = tmp_path / "a", tmp_path / "b"
    for out in (out1, out2):
        assert builder.main([str(wheel), "--iso-codes", str(iso), "--out", str(out)]) == 0
    for name in ("intensity.csv", "intensity_regions.csv", "intensity.NOTICE"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes()
    with open(out1 / "intensity.csv", encoding="utf-8", newline="") as fh:
        rows = {r["iso2"]: r for r in csv.DictReader(fh)}
    assert rows["FR"]["g_per_kwh"] == "56.0" and rows["FR"]["source"] == "Ember/OWID"
    assert rows["CF"]["g_per_kwh"] == "26.0" and "mix estimate" in rows["CF"]["source"]
    assert rows["TM"]["g_per_kwh"] == "743.0" and "mix estimate" in rows["TM"]["source"]
    assert rows["MC"]["g_per_kwh"] == "" and rows["US"]["aliases"].split("|")[:1] == ["USA"]
    world = float(rows["WORLD"]["g_per_kwh"])
    assert world == pytest.approx((56.04 * 100 + 26 * 1 + 743 * 10) / 111, abs=0.05)
    with open(out1 / "intensity_regions.csv", encoding="utf-8", newline="") as fh:
        regions = {r["region"]: r for r in csv.DictReader(fh)}
    assert set(regions) == {"US-CA", "CA-QC"}
    assert float(regions["US-CA"]["g_per_kwh"]) == pytest.approx(400 * 0.45359237, abs=0.05)
    assert float(regions["CA-QC"]["g_per_kwh"]) == pytest.approx(.94 * 26 + .05 * 26 + .01 * 743, abs=0.05)
    assert "CodeCarbon 9.9.9" in (out1 / "intensity.NOTICE").read_text(encoding="utf-8")

#!/usr/bin/env python3
"""Build the shipped carbon-intensity tables from CodeCarbon's package data.

Usage::

    pip download --no-deps codecarbon==3.3.2 -d /tmp/cc
    python tools/build_intensity_table.py /tmp/cc/codecarbon-3.3.2-py3-none-any.whl \
        [--iso-codes /usr/share/iso-codes/json/iso_3166-1.json] [--out src/jupyter_carbon/data]

Writes ``intensity.csv`` (one row per ISO 3166-1 country, ``g_per_kwh`` empty where there is no
figure, plus a ``WORLD`` row), ``intensity_regions.csv`` (US states, Canadian provinces) and
``intensity.NOTICE`` (attribution and method). The output depends only on the inputs: rows are
sorted and figures rounded to 0.1 g/kWh, so re-running on the same inputs gives identical files.

Inputs:
  * CodeCarbon (MIT licence) wheel, or a directory holding its ``codecarbon`` package:
    ``data/private_infra/global_energy_mix.json`` (Our World in Data's electricity data, whose
    carbon intensity comes from Ember), ``2023/usa_emissions.json`` (EPA eGRID2023) and
    ``2023/canada_energy_mix.json`` (provincial generation shares).
  * Debian's ``iso-codes`` (``iso_3166-1.json``) for the ISO 3166-1 codes and English names.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from jupyter_carbon.intensity.mix import LIFECYCLE_G_PER_KWH, mix_g_per_kwh  # noqa: E402
from jupyter_carbon.intensity.table import normalise_name  # noqa: E402

DATA = "codecarbon/data/private_infra/"
MIX_FILE = DATA + "global_energy_mix.json"
FACTORS_FILE = DATA + "carbon_intensity_per_source.json"
USA_FILE = DATA + "2023/usa_emissions.json"
CANADA_FILE = DATA + "2023/canada_energy_mix.json"

LB_PER_MWH_TO_G_PER_KWH = 0.45359237  # 1 lb = 453.59237 g; 1 MWh = 1000 kWh
# An annual grid average above the dirtiest source's factor (+10 % for losses) is not physical:
# such rows (and zeros for grids that generate) are re-estimated from their generation mix.
PLAUSIBLE_MAX = 1.1 * LIFECYCLE_G_PER_KWH["coal"]

# OWID generation columns -> lifecycle factor keys. "Other renewables excluding bioenergy" is
# mostly geothermal (plus tidal/wave) and takes the geothermal factor.
OWID_COLUMNS = {
    "coal_TWh": "coal",
    "gas_TWh": "natural_gas",
    "oil_TWh": "petroleum",
    "nuclear_TWh": "nuclear",
    "hydroelectricity_TWh": "hydro",
    "solar_TWh": "solar",
    "wind_TWh": "wind",
    "biofuel_TWh": "biomass",
    "other_renewable_exc_biofuel_TWh": "geothermal",
}
CANADA_COLUMNS = {
    "coal": "coal",
    "naturalGas": "natural_gas",
    "petroleum": "petroleum",
    "nuclear": "nuclear",
    "hydro": "hydro",
    "solar": "solar",
    "wind": "wind",
    "biomass": "biomass",
    # "tidal" and "other" have no factor; they are 0 in every province of the 2023 file.
}
CANADA_PROVINCES = {
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "nova scotia": "NS", "northwest territories": "NT",
    "nunavut": "NU", "ontario": "ON", "prince edward island": "PE", "quebec": "QC",
    "saskatchewan": "SK", "yukon": "YT",
}

# Everyday names people type that neither ISO nor OWID uses. Lower-case; matched normalised.
EXTRA_ALIASES = {
    "AE": ["UAE"],
    "BO": ["Bolivia"],
    "CD": ["DR Congo", "DRC", "Democratic Republic of the Congo", "Congo-Kinshasa"],
    "CG": ["Republic of the Congo", "Congo-Brazzaville"],
    "CI": ["Ivory Coast", "Cote d'Ivoire"],
    "CV": ["Cape Verde"],
    "CZ": ["Czech Republic"],
    "GB": ["UK", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland"],
    "KR": ["Korea, South"],
    "MK": ["Macedonia"],
    "MM": ["Burma"],
    "NL": ["Holland", "The Netherlands"],
    "PS": ["Palestine"],
    "RU": ["Russia"],
    "SZ": ["Swaziland"],
    "TL": ["East Timor"],
    "TR": ["Turkey", "Turkiye"],
    "US": ["USA", "United States of America", "America"],
    "VA": ["Vatican", "Vatican City"],
}


def read_inputs(path: Path) -> dict[str, object]:
    """The four JSON files, from a wheel/zip or an unpacked tree."""
    wanted = (MIX_FILE, FACTORS_FILE, USA_FILE, CANADA_FILE)
    out: dict[str, object] = {}
    if path.is_file():
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            for w in wanted:
                out[w] = json.loads(zf.read(w))
            meta = [n for n in names if n.endswith(".dist-info/METADATA")]
            version = next(
                (line.split(":", 1)[1].strip()
                 for line in zf.read(meta[0]).decode().splitlines() if line.startswith("Version:")),
                "unknown",
            ) if meta else "unknown"
    else:
        # Accept the unpacked wheel, the codecarbon package dir or its data dir.
        root = next((p for p in (path, *path.parents) if (p / MIX_FILE).exists()), None)
        if root is None:
            raise SystemExit(f"{path}: no {MIX_FILE} here or above")
        for w in wanted:
            out[w] = json.loads((root / w).read_text(encoding="utf-8"))
        meta = sorted(root.glob("codecarbon-*.dist-info/METADATA"))
        version = next((line.split(":", 1)[1].strip() for line in
                        (meta[0].read_text().splitlines() if meta else [])
                        if line.startswith("Version:")), "unknown")
    out["version"] = version
    return out


def check_factors(cc_factors: dict) -> None:
    """Our runtime factors must be CodeCarbon's, so table estimates and ``mix`` agree."""
    cc_names = {"natural_gas": "natural_gas", "hydro": "hydroelectricity"}
    for key, ours in LIFECYCLE_G_PER_KWH.items():
        theirs = cc_factors.get(cc_names.get(key, key))
        if theirs is None or float(theirs) != ours:
            raise SystemExit(f"factor mismatch for {key}: ours {ours}, CodeCarbon {theirs}")


def estimate_from_mix(shares: dict[str, float]) -> float:
    return mix_g_per_kwh({k: v for k, v in shares.items() if v > 0})


def fmt(value: float) -> str:
    return f"{value:.1f}"


def build_countries(mix: dict, iso: list[dict]) -> tuple[list[dict], list[str], dict]:
    by_iso3 = {e["alpha_3"]: e for e in iso}
    rows: dict[str, dict] = {}
    for e in iso:
        names = [e["name"], e.get("common_name"), e.get("official_name")]
        rows[e["alpha_2"]] = {
            "iso2": e["alpha_2"], "iso3": e["alpha_3"],
            "name": e.get("common_name") or e["name"],
            "g_per_kwh": "", "source": "", "year": "",
            "_names": [n for n in names if n],
        }
    estimated: list[str] = []
    weighted, generation, years = 0.0, 0.0, set()
    for iso3, rec in sorted(mix.items()):
        if iso3 not in by_iso3:
            raise SystemExit(f"{iso3} ({rec.get('country_name')}) is not an ISO 3166-1 alpha-3 code")
        row = rows[by_iso3[iso3]["alpha_2"]]
        value = rec.get("carbon_intensity")
        source = "Ember/OWID"
        if value is None or not (0 < float(value) <= PLAUSIBLE_MAX):
            shares = {OWID_COLUMNS[c]: float(rec.get(c) or 0) for c in OWID_COLUMNS}
            if sum(shares.values()) <= 0:
                continue
            estimated.append(f"{row['iso2']} ({rec['country_name']}): published {value}, "
                             f"estimated {fmt(estimate_from_mix(shares))} from its mix")
            value = estimate_from_mix(shares)
            source = "Ember/OWID (mix estimate)"
        value = float(value)
        row.update(g_per_kwh=fmt(value), source=source, year=str(int(rec["year"])))
        if rec.get("country_name"):
            row["_names"].insert(0, rec["country_name"])
            row["name"] = rec["country_name"]  # OWID's everyday English name ("South Korea")
        total = float(rec.get("total_TWh") or 0)
        weighted += value * total
        generation += total
        years.add(int(rec["year"]))
    world = {
        "iso2": "WORLD", "iso3": "WLD", "name": "World", "g_per_kwh": fmt(weighted / generation),
        "source": "Ember/OWID (generation-weighted mean of country rows)",
        "year": str(max(years)), "_names": ["World"],
    }
    stats = {"world_g": weighted / generation, "world_twh": generation,
             "years": sorted(years)}
    out = [rows[k] for k in sorted(rows)] + [world]
    for code, extra in EXTRA_ALIASES.items():
        if code in rows:
            rows[code]["_names"].extend(extra)
    return out, estimated, stats


def finish_aliases(rows: list[dict]) -> None:
    """Pipe-joined alternative names; fail the build if one name points at two countries."""
    owner: dict[str, str] = {}
    for row in rows:
        seen: list[str] = []
        for n in row["_names"]:
            key = normalise_name(n)  # the runtime's matching rule
            if key in owner and owner[key] != row["iso2"]:
                raise SystemExit(f"name {n!r} used by {owner[key]} and {row['iso2']}")
            owner[key] = row["iso2"]
            if n != row["name"] and n not in seen:
                seen.append(n)
        row["aliases"] = "|".join(seen)


def build_regions(usa: dict, canada: dict) -> list[dict]:
    src = usa.get("_source", {})
    year = str(src.get("year", 2023))
    rows = []
    for name, rec in usa.items():
        if name.startswith("_") or name == "usa" or not isinstance(rec, dict):
            continue
        rows.append({
            "region": f"US-{rec['regionCode']}", "iso2": "US",
            "name": name.title().replace(" Of ", " of "),
            "g_per_kwh": fmt(float(rec["emissions"]) * LB_PER_MWH_TO_G_PER_KWH),
            "source": "EPA eGRID", "year": year,
        })
    for name, rec in canada.items():
        shares = {CANADA_COLUMNS[k]: float(v) for k, v in rec.items() if k in CANADA_COLUMNS}
        unknown = {k: v for k, v in rec.items() if k not in CANADA_COLUMNS and k != "total" and v}
        if unknown:
            raise SystemExit(f"{name}: generation share without a factor: {unknown}")
        rows.append({
            "region": f"CA-{CANADA_PROVINCES[name]}", "iso2": "CA",
            "name": name.title().replace(" And ", " and "),
            "g_per_kwh": fmt(estimate_from_mix(shares)),
            "source": "CodeCarbon CA mix (mix estimate)", "year": "2023",
        })
    return sorted(rows, key=lambda r: r["region"])


def write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


NOTICE = """\
jupyter-carbon: carbon-intensity tables (intensity.csv, intensity_regions.csv)

Generated by tools/build_intensity_table.py from CodeCarbon {version}'s package data.
Figures carry over; the code and this text are jupyter-carbon's own.

CodeCarbon - MIT License
  Copyright (c) 2019 Mila, BCG Gamma, CometML, Haverford College
  Copyright (c) 2023 Code Carbon NGO
  https://github.com/mlco2/codecarbon

intensity.csv - annual average carbon intensity of electricity generation, gCO2e/kWh,
one row per ISO 3166-1 country (g_per_kwh empty where the source has no figure).
  source "Ember/OWID": Our World in Data, "Energy" dataset (carbon_intensity_elec), whose
    figures come from Ember, "Yearly Electricity Data" / "European Electricity Review"
    (lifecycle emission factors, CC BY 4.0). Latest year available per country: {years}.
    https://github.com/owid/energy-data  https://ember-energy.org/data/
  source "Ember/OWID (mix estimate)": the published figure was zero or above
    {plausible:.0f} g/kWh (1.1 x coal's lifecycle factor, not physical for an annual average),
    so the row is the same year's OWID generation mix weighted by the lifecycle factors in
    src/jupyter_carbon/intensity/mix.py (CodeCarbon's carbon_intensity_per_source.json):
{estimated}
  WORLD: generation-weighted mean of the country rows ({world_twh:,.0f} TWh): {world_g:.1f} g/kWh.
  Country codes and English names: ISO 3166-1 via Debian iso-codes (LGPL-2.1 data files;
    codes and names are facts of the standard).

intensity_regions.csv - sub-national figures.
  US-xx (source "EPA eGRID"): US EPA eGRID2023, state annual total output CO2-equivalent
    emission rate (STC2ERTA), lb/MWh x 0.45359237 = g/kWh. Combustion emissions only (no
    upstream lifecycle), generation-based (imports not counted), so not directly comparable
    with the lifecycle country figures. https://www.epa.gov/egrid
  CA-xx (source "CodeCarbon CA mix (mix estimate)"): CodeCarbon's 2023 provincial generation
    shares (data/private_infra/2023/canada_energy_mix.json; the package does not name its
    upstream source) weighted by the same lifecycle factors.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("codecarbon", type=Path, help="CodeCarbon wheel, or a directory with its package")
    ap.add_argument("--iso-codes", type=Path,
                    default=Path("/usr/share/iso-codes/json/iso_3166-1.json"))
    ap.add_argument("--out", type=Path, default=REPO / "src" / "jupyter_carbon" / "data")
    args = ap.parse_args(argv)

    inputs = read_inputs(args.codecarbon)
    check_factors(inputs[FACTORS_FILE])  # type: ignore[arg-type]
    iso = json.loads(args.iso_codes.read_text(encoding="utf-8"))["3166-1"]
    countries, estimated, stats = build_countries(inputs[MIX_FILE], iso)  # type: ignore[arg-type]
    finish_aliases(countries)
    regions = build_regions(inputs[USA_FILE], inputs[CANADA_FILE])  # type: ignore[arg-type]

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "intensity.csv",
              ["iso2", "iso3", "name", "g_per_kwh", "source", "year", "aliases"], countries)
    write_csv(args.out / "intensity_regions.csv",
              ["region", "iso2", "name", "g_per_kwh", "source", "year"], regions)
    (args.out / "intensity.NOTICE").write_text(NOTICE.format(
        version=inputs["version"], years=", ".join(map(str, stats["years"])),
        plausible=PLAUSIBLE_MAX, world_twh=stats["world_twh"], world_g=stats["world_g"],
        estimated="\n".join(f"      {e}" for e in estimated) or "      (none)",
    ), encoding="utf-8")
    with_data = sum(1 for r in countries if r["g_per_kwh"] and r["iso2"] != "WORLD")
    print(f"intensity.csv: {with_data} countries with a figure of {len(countries) - 1}; "
          f"world {stats['world_g']:.1f} g/kWh; intensity_regions.csv: {len(regions)} regions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

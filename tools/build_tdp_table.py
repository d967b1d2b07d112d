#!/usr/bin/env python3
"""Build src/jupyter_carbon/data/cpu_tdp.csv from CodeCarbon's cpu_power.csv.

CodeCarbon (MIT licence) compiles TDPs from Intel ARK and AMD's product specifications
(plus its own estimates for Apple silicon, which publishes no TDP). This script takes the
figures, not the code: it cleans the names, drops rows that cannot be used, and writes our
table with a source and year on every row, plus each row's match key (the normalised
name the lookup compares, precomputed so loading needs no regex work). Reproduce with:

    pip download --no-deps codecarbon==3.3.2 -d /tmp/cc
    python tools/build_tdp_table.py /tmp/cc/codecarbon-3.3.2-py3-none-any.whl

SOURCE may also be an extracted cpu_power.csv, with --version and --year given.
The year defaults to the date of cpu_power.csv inside the wheel (its release build).
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
# One normaliser for building and for lookups: duplicates are judged by the same key.
from jupyter_carbon.hardware.tdp import model_number, normalise  # noqa: E402

OUT = ROOT / "src" / "jupyter_carbon" / "data" / "cpu_tdp.csv"
MEMBER = "codecarbon/data/hardware/cpu_power.csv"
MIN_W, MAX_W = 1.0, 500.0
SOURCES = {
    "Intel": "CodeCarbon {v} (Intel ARK)",
    "AMD": "CodeCarbon {v} (AMD product specifications)",
    "Apple": "CodeCarbon {v} (its estimate; Apple publishes no TDP)",
}
_BRANDING = re.compile(r"\((?:R|TM)\)|®|™", re.IGNORECASE)


def read_source(path: Path, version: str | None, year: int | None) -> tuple[list[dict], str, int]:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(MEMBER)
            text = z.read(info).decode("utf-8")
            year = year or info.date_time[0]
        m = re.match(r"codecarbon-([^-]+)-", path.name)
        version = version or (m.group(1) if m else None)
    else:
        text = path.read_text(encoding="utf-8")
    if not version or not year:
        sys.exit("error: give --version and --year for a bare CSV (or pass the wheel)")
    return list(csv.DictReader(io.StringIO(text))), version, int(year)


def clean_name(raw: str) -> tuple[str, str] | None:
    """(display name, vendor), or None for a row that is not one chip."""
    name = _BRANDING.sub("", raw)
    # Intel ARK's long form: "Core i5+8400 (9M Cache, up to 4.00 GHz) includes Optane Memory"
    name = re.sub(r"\([^)]*\bcache\b[^)]*\)|\bincludes (?:intel )?optane memory\b", " ", name, flags=re.I)
    name = re.sub(r"\b(i[3579])\+(\d)", r"\1-\2", name)  # the Optane bundle is the same chip
    name = " ".join(name.split())
    if not name:
        return None
    if re.match(r"(?i)^(arm|cortex)", name):
        return None  # an ARM core design or "ARMv8 Processor": not a chip, no single TDP
    for vendor in ("Intel", "AMD", "Apple"):
        if re.search(rf"\b{vendor}\b", name):
            rest = " ".join(re.sub(rf"\b{vendor}\b", " ", name).split())
            return f"{vendor} {rest}", vendor
    # CodeCarbon's original list names older AMD parts without the brand ("4274 HE",
    # "FX-8350", "A10-7850K", "Athlon 5350 APU"); every such row is an AMD part.
    return f"AMD {name}", "AMD"


def build(rows: list[dict], version: str, year: int) -> tuple[list[dict], dict[str, list]]:
    kept: dict[str, dict] = {}
    dropped: dict[str, list] = {"not a chip": [], "bad TDP": [], "TDP out of range": [],
                                "no model number": [], "duplicate": [], "conflict (kept max)": [],
                                "ambiguous bare number": []}
    for row in rows:
        raw, tdp = (row.get("Name") or "").strip(), (row.get("TDP") or "").strip()
        cleaned = clean_name(raw)
        if cleaned is None:
            dropped["not a chip"].append(raw)
            continue
        model, vendor = cleaned
        if not re.fullmatch(r"\d+(?:\.\d+)?", tdp):
            dropped["bad TDP"].append(f"{raw}={tdp}")  # e.g. "27.29.5": two figures run together
            continue
        watts = float(tdp)
        if not MIN_W <= watts <= MAX_W:
            dropped["TDP out of range"].append(f"{raw}={tdp}")
            continue
        tokens = normalise(model)
        if model_number(tokens) is None:
            dropped["no model number"].append(raw)  # "Intel Xeon 3.20": a clock, never matchable
            continue
        key = " ".join(tokens)
        prev = kept.get(key)
        if prev is not None:
            if prev["tdp_w"] == watts:
                dropped["duplicate"].append(raw)
            else:  # same part listed twice (e.g. 125 W and 140 W steppings): the higher one
                dropped["conflict (kept max)"].append(f"{raw}={tdp} vs {prev['model']}={prev['tdp_w']:g}")
                if watts > prev["tdp_w"]:
                    prev.update(model=model, tdp_w=watts)
            continue
        kept[key] = {"model": model, "tdp_w": watts, "key": key, "vendor": vendor,
                     "source": SOURCES[vendor].format(v=version), "year": year}
    # CodeCarbon's older AMD rows are bare numbers ("AMD 850"), which several AMD families
    # share (Athlon 850 at 47 W, Opteron 850 at 89 W, Phenom II 850 at 95 W): where a row
    # with a family name carries the same number, the bare one is ambiguous, so it goes.
    numbers: dict[str, int] = {}
    for key in kept:
        for t in set(key.split()):
            numbers[t] = numbers.get(t, 0) + 1
    for key in list(kept):
        tokens = key.split()
        if (kept[key]["vendor"] == "AMD" and len(tokens) >= 2 and tokens[1][0].isdigit()
                and numbers[tokens[1]] > 1):
            dropped["ambiguous bare number"].append(kept.pop(key)["model"])
    out = sorted(kept.values(), key=lambda r: (r["vendor"], _natural(r["model"])))
    return out, dropped


def _natural(s: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s.lower())]


def write(rows: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["model", "tdp_w", "vendor", "source", "year", "key"], lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "tdp_w": f"{r['tdp_w']:g}"})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="codecarbon-*.whl or cpu_power.csv")
    ap.add_argument("--version", help="CodeCarbon version (read from the wheel name)")
    ap.add_argument("--year", type=int, help="data year (read from the wheel)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every dropped row")
    a = ap.parse_args(argv)
    rows, version, year = read_source(a.source, a.version, a.year)
    table, dropped = build(rows, version, year)
    write(table, a.out)
    print(f"{len(rows)} source rows -> {len(table)} rows in {a.out} (CodeCarbon {version}, {year})")
    for why, items in dropped.items():
        if items:
            print(f"  dropped {len(items):4d}: {why}" + (f": {items}" if a.verbose else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

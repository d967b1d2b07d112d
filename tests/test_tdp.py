"""The TDP table and lookup: real model strings as Linux, macOS and Windows print them."""
from __future__ import annotations

import csv
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from jupyter_carbon.errors import ConfigError
from jupyter_carbon.hardware import tdp
from jupyter_carbon.hardware.tdp import (DEFAULT_MAX_W, DEFAULT_TDP_NOTE, DEFAULT_W_PER_LOGICAL_CPU,
                                         VM_MAX_W_PER_VCPU, TdpMatch, lookup_tdp)

ROOT = Path(__file__).resolve().parent.parent
BARE = dict(virtual=False, logical_cpus=8, packages=1)  # a fixed bare-metal 8-thread machine


def _rows():
    with open(tdp.TABLE_PATH, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- the table ---------------------------------------------------------------------------

def test_table_sanity():
    rows = _rows()
    assert len(rows) > 1000
    assert set(rows[0]) == {"model", "tdp_w", "vendor", "source", "year", "key"}
    for r in rows:
        w = float(r["tdp_w"])
        assert 1 <= w <= 500, r
        assert r["vendor"] in {"Intel", "AMD", "Apple"}, r
        assert r["model"].startswith(r["vendor"] + " "), r
        assert r["source"].startswith("CodeCarbon "), r
        assert 2019 <= int(r["year"]) <= 2100, r
        assert r["model"] == " ".join(r["model"].split()) and "(R)" not in r["model"], r
    names = Counter(r["model"].lower() for r in rows)
    assert names.most_common(1)[0][1] == 1
    keys = Counter(r["key"] for r in rows)
    assert keys.most_common(1)[0][1] == 1
    vendors = Counter(r["vendor"] for r in rows)
    assert vendors["Intel"] > 1000 and vendors["AMD"] > 500


def test_table_keys_match_the_normaliser():
    """The precomputed keys are what lookups compare: stale keys would silently miss."""
    for r in _rows():
        assert r["key"] == " ".join(tdp.normalise(r["model"])), r
        assert tdp.model_number(tuple(r["key"].split())) is not None, r


def test_every_row_found_from_its_os_spelling():
    for r in _rows():
        m = r["model"]
        if r["vendor"] == "Intel":
            q = m.replace("Intel ", "Intel(R) ", 1).replace("Xeon ", "Xeon(R) ") + " CPU @ 2.40GHz"
        elif r["vendor"] == "AMD":
            q = m + " 8-Core Processor"
        else:
            q = m
        got = tdp.find_model(q)
        assert got is not None and got[0] == m, (q, got)


def test_build_tool_reproduces_the_table(tmp_path):
    """Rebuild from a cpu_power.csv-shaped file: the tool cleans, dedups and attributes."""
    src = tmp_path / "cpu_power.csv"
    src.write_text(
        "Name,TDP\n"
        "Intel Core i7-8665U,15.0\n"
        "Intel Core i7-8665U,15\n"            # duplicate
        "Intel(R) Xeon(R) Gold 6248R,205\n"    # branding stripped
        "4274 HE,65\n"                         # bare old AMD name
        "7th Gen AMD PRO A10-9700 APU,65\n"
        "AMD Phenom II X4 955 (95W),95\n"
        "AMD Phenom II X4 955 (125W),125\n"    # conflict: higher kept
        "Intel Celeron 1000A,27.29.5\n"        # garbage TDP
        "Intel Quark Microcontroller D1000,0.0\n"  # out of range
        "Intel Xeon 3.20,97\n"                 # only a clock: never matchable
        "Cortex-A72,7.5\n"                     # a core design, not a chip
        "850,95\n"                             # bare number shared with ...
        "AMD Opteron 850,89\n"                 # ... a named part: ambiguous, dropped
        "Apple M2 Pro,35\n")
    out = tmp_path / "out.csv"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_tdp_table.py"), str(src),
                        "--version", "9.9.9", "--year", "2030", "--out", str(out)],
                       capture_output=True, text=True, check=True)
    assert "14 source rows -> 7 rows" in r.stdout
    rows = list(csv.DictReader(out.open()))
    got = {row["model"]: float(row["tdp_w"]) for row in rows}
    assert got == {"AMD 4274 HE": 65, "AMD 7th Gen PRO A10-9700 APU": 65,
                   "AMD Phenom II X4 955 (125W)": 125, "Apple M2 Pro": 35,
                   "Intel Core i7-8665U": 15, "Intel Xeon Gold 6248R": 205, "AMD Opteron 850": 89}
    assert {row["year"] for row in rows} == {"2030"}
    assert all(row["source"].startswith("CodeCarbon 9.9.9 (") for row in rows)


def test_notice_present():
    notice = (Path(tdp.TABLE_PATH).parent / "cpu_tdp.NOTICE").read_text()
    assert "CodeCarbon" in notice and "MIT" in notice and "Permission is hereby granted" in notice


# --- matching ----------------------------------------------------------------------------

CASES = [
    # Intel, as /proc/cpuinfo, macOS sysctl and the Windows registry print them
    ("Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz", "Intel Core i7-8665U", 15),
    ("Intel(R) Core(TM) i7-10510U CPU @ 1.80GHz      ", "Intel Core i7-10510U", 15),
    ("Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz", "Intel Core i9-9880H", 45),
    ("13th Gen Intel(R) Core(TM) i9-13900K", "Intel Core i9-13900K", 125),
    ("Intel(R) Core(TM) Ultra 7 155H", "Intel Core Ultra 7 155H", 28),
    ("Intel(R) Core(TM) i5 CPU 750 @ 2.67GHz", "Intel Core i5-750", 95),
    ("Intel(R) Core(TM)2 Duo CPU E8400 @ 3.00GHz", "Intel Core 2 Duo E8400", 65),
    ("Intel(R) Pentium(R) CPU G4560 @ 3.50GHz", "Intel Pentium G4560", 54),
    ("Intel(R) Celeron(R) N4000 CPU @ 1.10GHz", "Intel Celeron N4000", 6),
    ("Intel(R) Xeon(R) CPU E5-2630 v3 @ 2.40GHz", "Intel Xeon E5-2630 v3", 85),
    ("Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", "Intel Xeon E5-2670", 115),
    ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "Intel Xeon E5-2686 v4", 145),
    ("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "Intel Xeon Platinum 8259CL", 210),
    ("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", "Intel Xeon Gold 6248R", 205),
    ("Intel(R) Xeon(R) W-2135 CPU @ 3.70GHz", "Intel Xeon W-2135", 140),
    # AMD
    ("AMD Ryzen 9 5950X 16-Core Processor", "AMD Ryzen 9 5950X", 105),
    ("AMD Ryzen 9 7950X3D 16-Core Processor", "AMD Ryzen 9 7950X3D", 120),
    ("AMD Ryzen 7 5800H with Radeon Graphics         ", "AMD Ryzen 7 5800H", 45),
    ("AMD Ryzen 7 PRO 4750U with Radeon Graphics", "AMD Ryzen 7 PRO 4750U", 15),
    ("AMD Ryzen 7 7840U w/ Radeon 780M Graphics", "AMD Ryzen 7 7840U", 28),
    ("AMD Ryzen 5 3600 6-Core Processor", "AMD Ryzen 5 3600", 65),
    ("AMD Ryzen Threadripper 3990X 64-Core Processor", "AMD Ryzen Threadripper 3990X", 280),
    ("AMD Ryzen Threadripper PRO 3995WX 64-Cores", "AMD Ryzen Threadripper PRO 3995WX", 280),
    ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763", 280),
    ("AMD EPYC 7R13 Processor", "AMD EPYC 7R13", 225),
    ("AMD EPYC 9654 96-Core Processor", "AMD EPYC 9654", 360),
    ("AMD FX(tm)-8350 Eight-Core Processor", "AMD FX-8350", 125),
    ("AMD A10-7850K Radeon R7, 12 Compute Cores 4C+8G", "AMD A10-7850K", 95),
    ("AMD Opteron(tm) Processor 6176", "AMD Opteron 6176", 115),
    ("AMD Athlon(tm) II X3 460 Processor", "AMD Athlon II X3 460", 95),
    # Apple silicon: exact names only
    ("Apple M1", "Apple M1", 10),
    ("Apple M2 Pro", "Apple M2 Pro", 35),
    ("Apple M3 Max", "Apple M3 Max", 50),
]


@pytest.mark.parametrize("query,model,watts", CASES)
def test_real_model_strings(query, model, watts):
    m = lookup_tdp(query, **BARE)
    assert (m.matched, m.watts, m.how) == (model, watts, "table")


@pytest.mark.parametrize("query,model", [
    # the table lists only the non-PRO part (same silicon, same TDP)
    ("AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics", "AMD Ryzen 7 7840U"),
    ("AMD Ryzen 9 PRO 7940HS w/ Radeon 780M Graphics", "AMD Ryzen 9 7940HS"),
    # Conroe-era spelling of "Pentium Dual-Core"
    ("Intel(R) Pentium(R) Dual  CPU  E2180  @ 2.00GHz", "Intel Pentium Dual-Core E2180"),
])
def test_fuzzy(query, model):
    m = lookup_tdp(query, **BARE)
    assert (m.matched, m.how) == (model, "fuzzy")


def test_exact_beats_marketing_variants():
    # "Intel Core i7-965 Extreme Edition" is also in the table; the plain name wins
    assert tdp.find_model("Intel(R) Core(TM) i7 CPU 965 @ 3.20GHz")[:2] == ("Intel Core i7-965", 130)


def test_fuzzy_never_changes_the_tdp_much_leave_one_out():
    """For every row: hide it, look its own name up in the rest. Whatever the fuzzy
    match finds instead must be the same part in all but marketing (TDP within 25 %),
    or nothing. This is what keeps the matching rules honest as the table changes."""
    table = tdp._load()
    by_primary: dict = {}
    for key, (model, watts) in table.items():
        e = tdp._entry(model, watts, tuple(key.split()))
        by_primary.setdefault(e.primary, []).append((key, e))
    bad, hits = [], 0
    for key, (model, watts) in table.items():
        q = tdp._entry(model, watts)
        qset = set(q.tokens)
        found = [c for k, c in by_primary[q.primary] if k != key and tdp._compatible(q, c)]
        if not found:
            continue
        hits += 1
        best = min(found, key=lambda c: (len(set(c.tokens) - qset), -len(set(c.tokens) & qset),
                                         -c.watts, c.model))
        if abs(best.watts - watts) > 0.25 * watts:
            bad.append((model, watts, best.model, best.watts))
    assert not bad, bad[:20]
    assert hits > 50  # the fuzzy path is exercised (PRO / Extreme Edition / APU-SoC twins)


@pytest.mark.parametrize("query", [
    None, "", "   ",
    "Intel(R) Xeon(R) Processor",            # this kind of VM: no model number
    "Intel(R) Xeon(R) CPU @ 2.20GHz",        # Google Colab
    "Common KVM processor",
    "QEMU Virtual CPU version 2.5+",
    "Intel(R) Core(TM) i7-99999K CPU",       # no such part
    "AMD Ryzen 9 99999X 16-Core Processor",
    "ARM Neoverse-N1",                        # a core design, not in the table
    "ARM Cortex-A72",
    "Apple M1 Pro",                           # Apple M1 (10 W) must not stand in for it
    "Apple M1 Max",
    "Apple M7",
    "Intel(R) Xeon(R) CPU E5-2630 v9 @ 2.40GHz",  # no fallback to the v1 part
    "Intel(R) Core(TM) i7-8665 CPU",          # i7-8665U exists; the bare number does not
    "Intel(R) Core(TM) i5-8665U CPU",         # right number, wrong series
    "Intel(R) Core(TM) i7-965X CPU",
    "Zhaoxin KaiXian KX-U6780A@2.7GHz",
])
def test_no_false_positive(query):
    m = lookup_tdp(query, **BARE)
    assert m.how == "default" and m.matched is None, m


@pytest.mark.parametrize("query", [
    "Intel(R) Xeon(R) CPU 5120 @ 1.86GHz",        # table: "Xeon 5120" (65 W) and "Xeon Gold 5120"
    "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz",
])
def test_distinguishing_words_kept_apart(query):
    m = lookup_tdp(query, **BARE)
    assert m.how == "table" and ("Gold" in m.matched) == ("Gold" in query)


@pytest.mark.parametrize("query,model,watts", [
    ("AMD A10 Micro-6700T APU", "AMD A10 Micro-6700T", 4.5),  # not the 45 W A10-6700T
    ("AMD A10-6700T APU with Radeon(tm) HD Graphics", "AMD A10-6700T", 45),
    ("AMD Athlon(tm) 64 X2 Dual Core Processor 3600+", "AMD Athlon 64 X2 3600+", 65),  # not the single core
    ("AMD Athlon(tm) 64 Processor 3600+", "AMD Athlon 64 3600+", 89),
])
def test_bins_kept_apart(query, model, watts):
    m = lookup_tdp(query, **BARE)
    assert (m.matched, m.watts, m.how) == (model, watts, "table")


@pytest.mark.parametrize("query", [
    "Intel(R) Pentium(R) D CPU 965 @ 3.73GHz",   # table: "Pentium D 965 EE", "Core i7-965": neither
    "AMD Opteron(tm) Processor 6176 SE",         # SE/HE/EE are different TDP bins
    "Intel(R) Core(TM) i7-4770 CPU Mobile",
])
def test_vendor_family_and_bin_conflicts_rejected(query):
    m = lookup_tdp(query, **BARE)
    assert m.how == "default", m


def test_suffix_letters_are_part_of_the_model_number():
    assert lookup_tdp("Intel(R) Core(TM) i7-8665U CPU", **BARE).matched == "Intel Core i7-8665U"
    assert lookup_tdp("Intel(R) Core(TM) i7-8665UE CPU", **BARE).matched == "Intel Core i7-8665UE"
    assert lookup_tdp("Intel(R) Core(TM) i5-8400T CPU", **BARE).matched == "Intel Core i5-8400T"
    assert lookup_tdp("Intel(R) Core(TM) i5-8400 CPU", **BARE).matched == "Intel Core i5-8400"


# --- override, default, VM cap -----------------------------------------------------------

def test_default_scales_with_logical_cpus():
    for n, want in [(1, 4.0), (2, 8.0), (16, 64.0), (100, 400.0), (512, DEFAULT_MAX_W), (0, 4.0)]:
        m = lookup_tdp("Intel(R) Xeon(R) Processor", logical_cpus=n, virtual=True, packages=1)
        assert m == TdpMatch(want, None, "default", DEFAULT_TDP_NOTE)
    assert DEFAULT_W_PER_LOGICAL_CPU == 4.0
    assert "4 W per logical CPU" in DEFAULT_TDP_NOTE and "400 W" in DEFAULT_TDP_NOTE


def test_default_on_this_machine():
    import os
    m = lookup_tdp(None)
    assert m.how == "default"
    assert m.watts == min(DEFAULT_MAX_W, DEFAULT_W_PER_LOGICAL_CPU * (os.cpu_count() or 1))


@pytest.mark.parametrize("value", [65, 65.0, "65", 0.5, 1999.9])
def test_override(value):
    m = lookup_tdp("Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz", override_w=value)
    assert m == TdpMatch(float(value), None, "override")


@pytest.mark.parametrize("value", [0, -5, 2000, 1e6, math.nan, math.inf, "abc", True, [65], ""])
def test_invalid_override(value):
    with pytest.raises(ConfigError) as e:
        lookup_tdp("AMD EPYC 7763", override_w=value)
    msg = str(e.value)
    assert "\n" not in msg and "2000" in msg and repr(value) in msg


def test_vm_caps_host_chip_tdp_to_the_guest_share():
    q = "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"
    m = lookup_tdp(q, virtual=True, logical_cpus=2, packages=1)
    assert (m.watts, m.matched, m.how) == (2 * VM_MAX_W_PER_VCPU, "Intel Xeon Platinum 8259CL", "table")
    assert "210" in m.note and "2 vCPU" in m.note
    # per package, as table figures are: the caller multiplies by the package count
    m = lookup_tdp(q, virtual=True, logical_cpus=8, packages=2)
    assert m.watts == 8 * VM_MAX_W_PER_VCPU / 2
    # a VM that has the whole host: the table figure stands
    m = lookup_tdp(q, virtual=True, logical_cpus=96, packages=2)
    assert (m.watts, m.note) == (210, "")
    # bare metal: never capped
    assert lookup_tdp(q, virtual=False, logical_cpus=2, packages=1).watts == 210


def test_tdpmatch_is_frozen():
    m = lookup_tdp("Apple M1", **BARE)
    with pytest.raises(AttributeError):  # immutable: a named tuple
        m.watts = 1  # type: ignore[misc]


def test_damaged_table_degrades_to_default(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("nonsense\n1,2\n")
    m = lookup_tdp("AMD EPYC 7763", table_path=str(bad), **BARE)
    assert m.how == "default"
    assert lookup_tdp("AMD EPYC 7763", table_path=str(tmp_path / "missing.csv"), **BARE).how == "default"


def test_table_loads_lazily_and_fast():
    code = ("import time; from jupyter_carbon.hardware import tdp\n"
            "assert tdp._load.cache_info().currsize == 0\n"
            "t = time.perf_counter(); tdp._load(); dt = time.perf_counter() - t\n"
            "assert tdp._load.cache_info().currsize == 1\n"
            "print(round(dt * 1e3, 2))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ms = float(out.stdout)
    assert ms < 200  # ~5 ms on a laptop-class core; generous for loaded CI machines

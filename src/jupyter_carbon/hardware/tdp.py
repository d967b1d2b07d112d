"""CPU TDP for the power model used when no energy counter exists: power = TDP x utilisation.

Order: explicit override > the bundled table (``data/cpu_tdp.csv``, built by
``tools/build_tdp_table.py``) by exact normalised name > the table by a strict token match >
a default. Units of ``TdpMatch.watts``: ``table``/``fuzzy`` give ONE package's TDP (the
caller multiplies by sockets); ``override``/``default`` are already the whole machine's.

Default: 4 W per logical CPU, at most 400 W, not a flat figure like CodeCarbon's 85 W. The
CPUs it hits are mostly cloud VMs with no model number ("Intel(R) Xeon(R) Processor"),
where a busy 2-vCPU guest draws a few watts, not 85; per hardware thread, the TDPs of
current parts lie around 2-7 W (EPYC 7763: 280 W / 128 = 2.2; Core i7-8700: 65 W / 12 = 5.4).

VM cap: a guest sees the host's model name, whose TDP covers threads the guest does not
have, so in a hypervisor a table figure is capped at 10 W per vCPU. Details and sources in
docs/cpu-model.md.
"""
from __future__ import annotations

import csv
import functools
import math
import os
import re
from typing import NamedTuple

from ..errors import ConfigError

TABLE_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "data", "cpu_tdp.csv")

DEFAULT_W_PER_LOGICAL_CPU = 4.0
DEFAULT_MAX_W = 400.0
VM_MAX_W_PER_VCPU = 10.0
MAX_OVERRIDE_W = 2000.0

DEFAULT_TDP_NOTE = (
    f"CPU model unknown or not in the TDP table: assuming {DEFAULT_W_PER_LOGICAL_CPU:g} W per "
    f"logical CPU at full load (at most {DEFAULT_MAX_W:g} W)"
)


class TdpMatch(NamedTuple):
    """A TDP and how it was found. ``matched`` is the table's model name (None otherwise).

    ``how``: ``override`` | ``table`` | ``fuzzy`` | ``default``. ``note`` is a short
    human-readable caveat for the status line ("" when there is none).
    """

    watts: float
    matched: str | None
    how: str
    note: str = ""


# --- name normalisation -------------------------------------------------------------------

# Applied in order to a lower-cased name. Both the table's names and the OS's strings go
# through this, so the table's keys and the lookups agree by construction.
_NOISE = [
    (re.compile(r"®|™|\((?:r|tm|c)\)"), " "),            # "Core(TM)2" -> "core 2"
    (re.compile(r"\s+-"), "-"),                            # "fx(tm)-8350" -> "fx-8350"
    (re.compile(r"\s(?:with|w/)\s.*$"), " "),              # "... with Radeon Graphics"
    (re.compile(r"\bradeon\b.*$"), " "),                   # "A10-7850K Radeon R7, 12 Compute Cores 4C+8G"
    (re.compile(r"@?\s*\d+(?:\.\d+)?\s*[gm]hz\b"), " "),   # "CPU @ 1.90GHz"
    (re.compile(r"\(\s*\d+(?:\.\d+)?\s*w\s*\)"), " "),     # "965 BE (125W)"
    (re.compile(r"\b\d+(?:st|nd|rd|th)\s+gen(?:eration)?\b"), " "),  # "13th Gen", "7th Gen"
    (re.compile(r"\b(?:\d+|single|dual|triple|quad|six|eight|ten|twelve|sixteen)"
                r"[- ]cores?\b"), " "),                    # "64-Core", "Eight-Core", "Quad Core"
    (re.compile(r"\b(?:cpu|processor|apu|soc)\b"), " "),
    (re.compile(r"\bm\s+(\d{3})\b"), r"\1m"),               # "i5 CPU M 520" is the i5-520M
]
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")
_DROP = {"0"}  # "Xeon(R) CPU E5-2670 0 @ 2.60GHz": Sandy Bridge EP prints a stray 0
_FAMILY_VENDOR = {
    "core": "intel", "xeon": "intel", "pentium": "intel", "celeron": "intel", "atom": "intel",
    "itanium": "intel", "quark": "intel",
    "ryzen": "amd", "epyc": "amd", "threadripper": "amd", "athlon": "amd", "opteron": "amd",
    "phenom": "amd", "sempron": "amd", "turion": "amd", "fx": "amd",
}
_VENDORS = {"intel", "amd", "apple"}
# Words that may differ between an OS string and the table's name of the same part
# without changing its TDP. Anything else that differs may mean another part ("Micro",
# "Mobile", "HE", "BE", "Gold", "XP", "X2", "Max"), so the fuzzy match refuses it. The
# tests run a leave-one-out over the whole table to keep it that way.
_MARKETING = {"pro", "extreme", "edition", "dual", "quad"}
_EXTRA_OK = _VENDORS | _MARKETING


def normalise(name: str) -> tuple[str, ...]:
    """Tokens of a CPU name with branding, clocks, core counts and graphics removed."""
    s = name.lower()
    for pattern, repl in _NOISE:
        s = pattern.sub(repl, s)
    return tuple(t for t in _TOKEN.findall(s) if t not in _DROP)


def _digits(token: str) -> int:
    return sum(ch.isdigit() for ch in token)


def model_number(tokens: tuple[str, ...]) -> str | None:
    """The token that identifies the part ("8665u", "2630", "7b13", Apple's "m2").

    At least two digits and no dot (dots are clocks or versions, not model numbers); the
    one with most digits wins, the later on a tie ("Turion 64 X2 TL-52" is the TL-52:
    model numbers come last). A name without one ("Intel(R) Xeon(R) Processor") matches
    nothing, by design.
    """
    if "apple" in tokens:
        ms = [t for t in tokens if re.fullmatch(r"m\d+", t)]
        return ms[0] if ms else None
    best = None
    for t in tokens:
        if "." not in t and _digits(t) >= 2 and (best is None or _digits(t) >= _digits(best)):
            best = t
    return best


class _Entry(NamedTuple):
    model: str
    watts: float
    tokens: tuple[str, ...]
    primary: str | None
    vendors: frozenset[str]
    families: frozenset[str]


def _entry(model: str, watts: float, tokens: tuple[str, ...] | None = None) -> _Entry:
    tokens = normalise(model) if tokens is None else tokens
    families = frozenset(t for t in tokens if t in _FAMILY_VENDOR)
    vendors = frozenset(t for t in tokens if t in _VENDORS) | {_FAMILY_VENDOR[f] for f in families}
    return _Entry(model, watts, tokens, model_number(tokens), vendors, families)


@functools.lru_cache(maxsize=2)
def _load(path: str = TABLE_PATH) -> dict[str, tuple[str, float]]:
    """{match key: (model, watts)}, parsed once per process on the first lookup.

    The table carries each row's match key (``normalise(model)`` joined by spaces, written
    by the build tool and checked by the tests), so loading is a csv parse: ~5 ms rather
    than ~50 ms of regex work on 4,500 names.
    """
    table: dict[str, tuple[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows)
        i_model, i_w, i_key = header.index("model"), header.index("tdp_w"), header.index("key")
        for row in rows:
            key = row[i_key] or " ".join(normalise(row[i_model]))
            table.setdefault(key, (row[i_model], float(row[i_w])))
    return table


def _exact_row(path: str, key: str) -> tuple[str, float] | None:
    """(model, watts) of the first row whose match key is ``key``, found in the file's text
    without parsing every row (milliseconds saved at ``%load_ext``); the key is the last
    column and holds no comma."""
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read().replace("\r\n", "\n") + "\n"
    header = next(csv.reader([text[:text.find("\n")]]))
    i_model, i_w, i_key = header.index("model"), header.index("tdp_w"), header.index("key")
    at = text.find(f",{key}\n") if key else -1
    if at < 0:
        return None
    row = next(csv.reader([text[text.rfind("\n", 0, at) + 1:at + len(key) + 1]]))
    return (row[i_model], float(row[i_w])) if row[i_key] == key else None


def _compatible(q: _Entry, c: _Entry) -> bool:
    """Could ``c`` be the part ``q`` names? Strict: a wrong TDP is worse than the default."""
    if q.vendors and c.vendors and not q.vendors & c.vendors:
        return False  # AMD 965 is not the Core i7-965
    if q.families != c.families:
        return False  # Pentium D 965 is not the Core i7-965; Pentium III Xeon is not Pentium III
    if "apple" in q.vendors:
        return False  # M1 vs M1 Max differ 3x; Apple names are exact or nothing
    # e.g. i5 vs i7, E5 vs E7, "v3" (E5-2630 v3 is not the v1 part), A4-6300 vs FX-6300
    return all(t in _EXTRA_OK for t in set(q.tokens) ^ set(c.tokens))


def find_model(model_name: str | None, *, table_path: str | None = None) -> tuple[str, float, str] | None:
    """(table model, watts, ``"table"`` or ``"fuzzy"``) for an OS-reported CPU name, or None."""
    if not model_name:
        return None
    path = table_path or TABLE_PATH
    q = _entry(model_name, 0.0)
    if q.primary is None:  # no model number to match loosely: only the exact row can count
        exact = _exact_row(path, " ".join(q.tokens))
        return (exact[0], exact[1], "table") if exact is not None else None
    table = _load(path)
    exact = table.get(" ".join(q.tokens))
    if exact is not None:
        return exact[0], exact[1], "table"
    qset = set(q.tokens)
    best: tuple[tuple, _Entry] | None = None
    for key, (model, watts) in table.items():
        if q.primary not in key:  # cheap prefilter; the model number is compared exactly below
            continue
        c = _entry(model, watts, tuple(key.split()))
        if c.primary != q.primary or not _compatible(q, c):
            continue
        cset = set(c.tokens)
        # fewest candidate words the query lacks ("Extreme Edition"), then most shared
        # words, then (a true tie) the higher TDP, the conservative side.
        rank = (len(cset - qset), -len(cset & qset), -c.watts, c.model)
        if best is None or rank < best[0]:
            best = (rank, c)
    return (best[1].model, best[1].watts, "fuzzy") if best else None


def validate_override(value) -> float:
    """A TDP override in watts: a finite number, > 0 and < 2000 W (more is a typo)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        w = float(value)
    except (TypeError, ValueError):
        w = math.nan
    if not (math.isfinite(w) and 0 < w < MAX_OVERRIDE_W):
        raise ConfigError(f"CPU TDP override must be a number of watts > 0 and < "
                          f"{MAX_OVERRIDE_W:g}, got {value!r}")
    return w


def default_tdp(logical_cpus: int | None = None) -> float:
    """The whole-machine default: 4 W per logical CPU, at most 400 W (module docstring)."""
    if logical_cpus is None:
        from .cpuinfo import logical_cpus as _count
        logical_cpus = _count()
    return min(DEFAULT_MAX_W, max(1, int(logical_cpus)) * DEFAULT_W_PER_LOGICAL_CPU)


def lookup_tdp(model_name: str | None, *, override_w: float | None = None,
               logical_cpus: int | None = None, packages: int | None = None,
               virtual: bool | None = None, table_path: str | None = None) -> TdpMatch:
    """The TDP to use for ``model_name`` (as ``cpu_model_name()`` returns it). Never raises
    except ``ConfigError`` for an invalid override.

    ``logical_cpus``, ``packages`` and ``virtual`` default to what this machine reports;
    they matter only for the default and for the VM cap (module docstring).
    """
    if override_w is not None:
        return TdpMatch(validate_override(override_w), None, "override")
    try:
        found = find_model(model_name, table_path=table_path)
    except (OSError, ValueError, KeyError, csv.Error):  # a damaged install: degrade, don't break
        found = None
    from . import cpuinfo

    n = max(1, logical_cpus if logical_cpus is not None else cpuinfo.logical_cpus())
    if found is None:
        return TdpMatch(default_tdp(n), None, "default", DEFAULT_TDP_NOTE)
    model, watts, how = found
    if virtual is None:
        virtual = cpuinfo.is_virtual_machine()
    if virtual:
        p = packages if packages is not None else cpuinfo.cpu_packages()
        cap = VM_MAX_W_PER_VCPU * n / max(1, p)  # per package, as table figures are
        if watts > cap:
            note = (f"{model} is rated {watts:g} W for the whole host chip; this VM "
                    f"has {n} vCPU(s), so capped at {VM_MAX_W_PER_VCPU:g} W per vCPU")
            return TdpMatch(cap, model, how, note)
    return TdpMatch(watts, model, how)

"""Read a jupyter-carbon CSV back as a typed DataFrame: whole rows only, original text.

A record whose field count differs from the header (a row torn by a crash, a hand edit) is
skipped, with one warning per read naming how many and where. A quick bytes-only pass counts
each record's fields; when all are whole (the usual case) pandas' C parser reads the file,
else the ``csv`` module does (exact for quoted line breaks, carriage returns and NULs). Text
columns get back what was logged: the spreadsheet-safety quote (see ``csvtext``) is removed.
"""
from __future__ import annotations

import csv
import logging
import re
import warnings
from pathlib import Path

from .csvtext import encode_row, restore

log = logging.getLogger(__name__)

__all__ = ["TornRowWarning", "log_path_for", "read_log", "read_rows"]

_QUOTED = re.compile(rb'"[^"]*(?:""[^"]*)*"')
_FLOAT_COLS = {"duration", "emissions", "emissions_rate", "energy_consumed", "ram_total_size",
               "pue", "intensity", "energy_above_idle", "elapsed_s", "idle_energy_before",
               "embodied_emissions"}
_INT_COLS = {"cpu_count", "gpu_count", "execution_count"}
_TIME_COLS = {"timestamp", "started_at", "ended_at"}


class TornRowWarning(UserWarning):
    """Some records of a log were not whole and were left out."""


def _suffixed(path: Path, n: int) -> Path:
    """``a.carbon.csv`` -> ``a.carbon-2.csv``; any other ``x.csv`` -> ``x-2.csv``."""
    name = path.name
    if n <= 1:
        return path
    for ext in (".carbon.csv", ".csv"):
        if name.endswith(ext):
            return path.with_name(f"{name[:-len(ext)]}{ext[:-4]}-{n}.csv")
    return path.with_name(f"{name}-{n}")


def log_path_for(path) -> Path:
    """A notebook path maps to its log (``x.ipynb`` -> ``x.carbon.csv``); a CSV maps to itself."""
    from .schema import COLUMNS

    p = Path(path)
    if p.suffix.lower() == ".ipynb":
        base = p.with_name(p.stem + ".carbon.csv")
        # A foreign file there means our rows went to the first suffixed file with our header.
        header = encode_row(COLUMNS)
        for n in range(1, 64):
            cand = _suffixed(base, n)
            try:
                with open(cand, "rb") as f:
                    if f.read(len(header) + 1).replace(b"\r\n", b"\n")[:len(header)] == header:
                        return cand
            except OSError:
                break
        return base
    return p


def read_rows(path) -> tuple[list[str], list[list[str]], list[int]]:
    """``(header, whole records, line numbers of the records left out)`` of a CSV file, with
    the ``csv`` module: slower than pandas' parser, exact for any file."""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f, strict=False)
        header = next(reader, [])
        width = len(header)
        good: list[list[str]] = []
        bad: list[int] = []
        start = reader.line_num + 1
        for rec in reader:
            if len(rec) == width:
                good.append(rec)
            elif rec and rec != [""]:  # blank lines are not rows
                bad.append(start)
            start = reader.line_num + 1
    return header, good, bad


def _widths(data: bytes) -> list[int]:
    """Fields per record (blank lines left out, -1 for a record cut inside quotes), found with
    bytes operations only: lines without a quote (nearly all) cost one ``count``."""
    out: list[int] = []
    acc: list[bytes] = []
    quotes = 0
    for line in data.split(b"\n"):
        if not acc:
            if b'"' not in line:
                if line.strip(b"\r"):
                    out.append(line.count(b",") + 1)
                continue
            quotes = 0
        acc.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            out.append(_QUOTED.sub(b"", b"\n".join(acc)).count(b",") + 1)
            acc = []
    if acc:
        out.append(-1)
    return out


def _fast_frame(data: bytes):
    """pandas' C parser, when every record has the header's width (the usual case); None
    when some do not, or when pandas would split records differently (a bare carriage
    return outside quotes, written by old versions): the exact path takes over."""
    import io

    import pandas as pd

    widths = _widths(data)
    if not widths or any(w != widths[0] for w in widths[1:]):
        return None
    df = pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=False, na_filter=False,
                     encoding="utf-8", encoding_errors="replace")
    return df if len(df) == len(widths) - 1 and len(df.columns) == widths[0] else None


def _warn_torn(path, bad: list[int]) -> None:
    where = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
    warnings.warn(f"{path}: skipped {len(bad)} incomplete row(s) (wrong number of fields) at "
                  f"line(s) {where}", TornRowWarning, stacklevel=3)


def read_log(path):
    """A jupyter-carbon CSV (or a notebook's, given the ``.ipynb``) as a typed DataFrame.

    floats for quantities, ``Int64`` for counts, ``datetime64[ns, UTC]`` for times,
    ``boolean`` for ``*_measured``, ``string`` for text; empty cells are missing values.
    Incomplete records are skipped with one :class:`TornRowWarning`.
    """
    import pandas as pd

    target = log_path_for(path)
    with open(target, "rb") as f:
        data = f.read()
    df = _fast_frame(data)
    if df is None:
        try:
            header, rows, bad = read_rows(target)
        except csv.Error:  # a field past the csv module's size limit (not ours: we cap fields)
            log.debug("csv module could not read %s; using pandas", target, exc_info=True)
            raw = pd.read_csv(target, dtype=object, keep_default_na=False, on_bad_lines="skip")
            header, rows, bad = list(raw.columns), raw.values.tolist(), []
        if bad:
            _warn_torn(target, bad)
        df = pd.DataFrame(rows, columns=header, dtype=object)
    quoted = b"'" in data  # a spreadsheet-safety prefix can only be there if a quote is
    for col in df.columns:
        s = df[col].mask(df[col] == "")
        if col in _FLOAT_COLS or col.endswith(("_power", "_energy")):
            df[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif col in _INT_COLS:
            df[col] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        elif col in _TIME_COLS:
            df[col] = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce").astype("datetime64[ns, UTC]")
        elif col.endswith("_measured") or col == "gpu_synced":
            df[col] = s.str.lower().map({"true": True, "false": False}).astype("boolean")
        else:
            if quoted:
                s = s.map(restore, na_action="ignore")
            df[col] = s.astype("string")
    return df

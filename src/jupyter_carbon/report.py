"""``%carbon report``: this session's cells from the CSV (or the whole file's), costliest
first, and a chart."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .units import fmt_energy_wh, fmt_mass_g


def report_frame(path: Path, *, notebook: Path | None = None, session_id: str | None = None,
                 top: int = 10) -> Any:
    """The logged cells of this notebook (and of one kernel session, when given), costliest
    first. After Restart & Run All the earlier session's rows are not mixed in."""
    from .log.csvlog import read_log

    try:
        df = read_log(path)
    except FileNotFoundError:
        return None
    if notebook is not None and "notebook" in df:
        df = df[df["notebook"] == str(notebook)]
    if session_id is not None and "session_id" in df:
        df = df[df["session_id"] == session_id]
    if df.empty:
        return df
    total_g = df["emissions"].sum() * 1000
    out = df.assign(
        cell=[_cell_name(r) for r in df.itertuples()],
        duration_s=df["duration"],
        energy_Wh=df["energy_consumed"] * 1000,
        co2e_g=df["emissions"] * 1000,
        share=(df["emissions"] * 1000 / total_g * 100) if total_g > 0 else 0.0,
        **{f"{c}_Wh": df[f"{c}_energy"] * 1000 for c in ("cpu", "gpu", "ram")
           if f"{c}_energy" in df and df[f"{c}_energy"].notna().any()},
    )
    cols = ["cell", "status", "duration_s", "energy_Wh", "co2e_g", "share", "cpu_Wh", "gpu_Wh", "ram_Wh",
            "started_at"]
    out = out.sort_values("co2e_g", ascending=False)[[c for c in cols if c in out]].head(top)
    return out.reset_index(drop=True).round({"duration_s": 3, "share": 1})


def _cell_name(row) -> str:
    label = getattr(row, "label", None)
    n = getattr(row, "execution_count", None)
    num = "" if n is None or n != n else f"[{int(n)}]"
    if isinstance(label, str) and label:
        return f"{num} {label}".strip()
    return num or "?"


def show_report(path: Path, *, notebook: Path | None = None, session_id: str | None = None,
                top: int = 10, sources: dict[int, str] | None = None) -> None:
    """``sources``: execution count -> the cell's source, for a short snippet per row."""
    from IPython.display import display

    try:
        df = report_frame(path, notebook=notebook, session_id=session_id, top=top)
    except ImportError:
        print("jupyter-carbon: %carbon report needs pandas: pip install 'jupyter-carbon[report]'")
        return
    if df is None or df.empty:
        print(f"jupyter-carbon: no cells logged yet in {path}")
        return
    if sources:
        df.insert(1, "source", [snippet(sources.get(_count(c), "")) for c in df["cell"]])
    display(_Table(df))
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(df) + 1.2))
    grams = df["co2e_g"]
    ax.barh(df["cell"].astype(str)[::-1], grams[::-1], color="#3b8f5a")
    ax.set_xlabel("g CO₂e")
    ax.set_title(f"Top {len(df)} cells by emissions")
    fig.tight_layout()
    plt.show()


def _count(cell_name: str) -> int:
    try:
        return int(cell_name.split("]")[0].lstrip("["))
    except ValueError:
        return -1


def snippet(source: str, width: int = 40) -> str:
    """The first non-blank line of a cell, cut to ``width`` characters."""
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[:width - 1] + "…"
    return ""


def _blank_nan(fmt: Any) -> Any:
    return lambda v: "" if v != v else fmt(v)


class _Table:
    """The report table as HTML in notebooks and as aligned text in terminals and exports,
    with significant digits for energies and masses (they span µWh to kWh)."""

    def __init__(self, df: Any):
        self.df = df
        self._fmt: dict[str, Any] = {c: _blank_nan(fmt_energy_wh) for c in df.columns if c.endswith("_Wh")}
        self._fmt["co2e_g"] = _blank_nan(fmt_mass_g)
        self._fmt["share"] = "{:.1f} %".format
        if "started_at" in df:
            self._fmt["started_at"] = lambda t: "" if t != t else t.strftime("%Y-%m-%d %H:%M:%S")

    def __repr__(self) -> str:
        return self.df.to_string(index=False, formatters=self._fmt, na_rep="")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        return self.df.to_html(index=False, formatters=self._fmt, na_rep="", border=0)

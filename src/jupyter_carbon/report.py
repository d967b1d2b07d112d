"""``%carbon report``: this notebook's cells from the CSV, costliest first, and a chart."""
from __future__ import annotations

from .session import CarbonSession


def report_frame(session: CarbonSession, top: int = 10):
    """This notebook's logged cells, costliest first, in units people read (Wh, g, %)."""
    from .log.csvlog import read_log

    try:
        df = read_log(session.log.path)
    except FileNotFoundError:
        return None
    if session.notebook is not None and "notebook" in df:
        df = df[df["notebook"] == str(session.notebook)]
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


def show_report(session: CarbonSession, top: int = 10) -> None:
    from IPython.display import display

    try:
        df = report_frame(session, top)
    except ImportError:
        print("jupyter-carbon: %carbon report needs pandas: pip install 'jupyter-carbon[report]'")
        return
    if df is None or df.empty:
        print(f"jupyter-carbon: no cells logged yet in {session.log.path}")
        return
    display(_styled(df))
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(df) + 1.2))
    grams = df["co2e_g"]
    ax.barh(df["cell"].astype(str)[::-1], grams[::-1], color="#3b8f5a")
    ax.set_xlabel("gCO2e")
    ax.set_title(f"Top {len(df)} cells by emissions")
    fig.tight_layout()
    plt.show()


def _styled(df):
    return _Table(df)


class _Table:
    """The report table as HTML in notebooks and as aligned text in terminals and exports,
    with significant digits for energies and masses (they span µWh to kWh)."""

    def __init__(self, df):
        self.df = df
        self._fmt = {c: "{:.3g}".format for c in df.columns if c.endswith("_Wh") or c == "co2e_g"}
        self._fmt["share"] = "{:.1f} %".format
        if "started_at" in df:
            self._fmt["started_at"] = lambda t: "" if t != t else t.strftime("%Y-%m-%d %H:%M:%S")

    def __repr__(self) -> str:
        return self.df.to_string(index=False, formatters=self._fmt, na_rep="")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        return self.df.to_html(index=False, formatters=self._fmt, na_rep="", border=0)

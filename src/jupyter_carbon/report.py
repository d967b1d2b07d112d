"""``%carbon report``: this notebook's cells from the CSV, costliest first, and a chart."""
from __future__ import annotations

from .session import CarbonSession


def report_frame(session: CarbonSession, top: int = 10):
    from .log.csvlog import read_log

    try:
        df = read_log(session.log.path)
    except FileNotFoundError:
        return None
    if session.notebook is not None and "notebook" in df:
        df = df[df["notebook"] == str(session.notebook)]
    if df.empty:
        return df
    df = df.assign(cell=[_cell_name(r) for r in df.itertuples()])
    cols = ["cell", "status", "duration", "energy_consumed", "emissions", "cpu_energy", "gpu_energy",
            "ram_energy", "started_at", "session_id"]
    return df.sort_values("emissions", ascending=False)[[c for c in cols if c in df]].head(top) \
        .reset_index(drop=True)


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
    display(df)
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(df) + 1.2))
    grams = df["emissions"] * 1000
    ax.barh(df["cell"].astype(str)[::-1], grams[::-1], color="#3b8f5a")
    ax.set_xlabel("gCO2e")
    ax.set_title(f"Top {len(df)} cells by emissions")
    fig.tight_layout()
    plt.show()

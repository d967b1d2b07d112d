"""Issue 16's polish, checked where a person reads it: no exponent notation in human text, one
spelling of CO₂e, the widget-state contract's figures in the text fallback, and a notebook
executed headless (nbclient, a real kernel) saving the session's final figures in the widget's
fallback instead of the first cell's "0 cells"."""
from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_carbon.equivalents import car_distance
from jupyter_carbon.summary import plain
from jupyter_carbon.widget.fallback import html_summary, text_summary

EXPONENT = re.compile(r"\d[eE][-+]?\d")


@pytest.mark.parametrize("x, shown", [(4.976e-05, "0.00004976"), (0.5, "0.5"), (1234567.0, "1235000"),
                                      (3.49e-5, "0.0000349"), (0.0, "0")])
def test_plain_decimals(x, shown):
    assert plain(x) == shown


@pytest.mark.parametrize("grams", [1e-12, 1.3e-7, 1.3e-6, 0.0013, 0.13, 13.0, 13000.0, 1.3e9])
def test_everyday_equivalent_has_no_exponent(grams):
    text = car_distance(grams)
    assert not EXPONENT.search(text), text
    assert text.startswith("≈ driving ") and re.search(r"(km|m|cm|mm|µm) in a typical car", text)


def test_fallback_shows_contract_figures_and_one_spelling():
    state = {"power": {"total_w": 12.0, "by": {"cpu": 12.0}, "machine_w": 80.0},
             "sensors": [{"component": "cpu", "method": "rapl", "measured": True}],
             "totals": {"cells": 2, "energy_wh": 0.0349, "co2_g": 0.00196, "duration_s": 3.0,
                        "between_wh": 0.012, "embodied_g": 0.5},
             "intensity": {"g_per_kwh": 56.0, "source": "table:Ember/OWID 2023", "country_iso": "FR",
                           "country_name": "France"},
             "recent": [{"n": 1, "label": None, "status": "ok", "duration_s": 1.0, "energy_wh": 3.49e-5,
                         "co2_g": 1.9e-6}]}
    text = text_summary(state)
    assert "between cells 12 mWh" in text
    assert "embodied 500 mg CO₂e (kept apart)" in text
    assert "this kernel 12 W of the machine's 80 W" in text
    assert "56 g CO₂e/kWh" in text and "CO2e" not in text
    assert not EXPONENT.search(text), text
    assert "CO2e" not in html_summary(state)
    state["power"]["machine_w"] = 12.0  # the kernel is the whole machine: nothing to say
    assert "machine" not in text_summary(state)
    del state["totals"]["between_wh"], state["totals"]["embodied_g"], state["power"]["machine_w"]
    assert "between" not in text_summary(state) and "machine" not in text_summary(state)


@pytest.mark.kernel
def test_headless_run_saves_the_final_figures_in_the_widget_fallback(notebook_dir, monkeypatch):
    monkeypatch.setenv("JUPYTER_CARBON_INTERVAL", "0.2")
    monkeypatch.setenv("JUPYTER_CARBON_WIDGET", "1")  # the fixture turns it off
    path = notebook_dir / "headless.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    sources = ["%load_ext jupyter_carbon", "import time; time.sleep(0.5)", "sum(range(10**6))", "x = 1"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook_dir)}}).execute()
    shown = [o for o in nb.cells[0].outputs if "text/plain" in o.get("data", {})
             and "session:" in o["data"]["text/plain"]]
    assert shown, [o.get("data", {}).get("text/plain") for o in nb.cells[0].outputs]
    text = shown[-1]["data"]["text/plain"]
    # every cell after the widget appeared has ended by the last refresh (the %load_ext cell
    # ends before the widget exists; the last cell's refresh comes at its own end)
    m = re.search(r"session: (\d+) cells?", text)
    assert m and int(m.group(1)) >= len(sources) - 1, text
    energy = re.search(r"cells?, ([\d.]+) [µmk]?Wh", text.splitlines()[1])
    assert energy and float(energy.group(1)) > 0, text  # "200 µWh" is not "0 µWh"
    assert "application/vnd.jupyter.widget-view+json" in shown[-1]["data"]  # still the live widget

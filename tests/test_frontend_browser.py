"""The JupyterLab / Notebook 7 extension in a real browser: the line under each executed cell
(live while it runs), the figures in the saved notebook's metadata, lines shown again after a
reload with the kernel shut down, the status-bar meter and the side panel, kernel restarts, and
light/dark screenshots (test-artifacts/; with JC_DOCS_IMG=1 also docs/img/ for the README:
look at them after a change).

Notebooks are made through the contents API, as any client would.
"""
from __future__ import annotations

import os
import re
import shutil
import time
import urllib.error
from pathlib import Path

import pytest
from browser_helpers import (
    ROOT,
    cells,
    chromium_page,
    code_cell,
    jupyter_server,
    parse_wh,
    require_browser,
    run_cell,
    screenshot,
    wait_idle,
    watch_running,
)
from test_browser import BUSY_5S, assert_rises_while_running, switch_lab_theme, text_of, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

LINE = '[data-jupyter-carbon="cell"]'
PANEL = '[data-jupyter-carbon="panel"]'
STATUS = '[data-jupyter-carbon="status"]'
WATTS = r"\d+(\.\d+)? (m|k)?W"
RECORD_KEYS = {"energy_kwh", "emissions_kg", "duration_s", "status", "intensity", "methods", "execution_count"}
DOCS_IMG = ROOT / "docs" / "img"


def create_notebook(srv, name: str, sources: list[str]) -> None:
    nb = {"cells": [code_cell(s) for s in sources],
          "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                      "name": "python3"}, "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    srv.api("PUT", f"/api/contents/{name}", {"type": "notebook", "format": "json", "content": nb})


def line_of(page, index: int):
    return cells(page).nth(index).locator(LINE)


def load_then_watch_busy_cell(page, url: str):
    """Open the notebook at ``url``, run its ``%load_ext`` cell, then its busy cell (cell 1):
    (that cell's line, what the line showed over 4 s while it ran)."""
    page.goto(url)
    cells(page).first.wait_for(timeout=60000)
    run_cell(page, 0)
    wait_idle(page, 0)
    wait_for_text(line_of(page, 0), r"CO₂e")  # the %load_ext cell's own figures come with the comm's hello
    run_cell(page, 1)
    line = line_of(page, 1)
    line.wait_for(timeout=20000)
    seen = watch_running(line, 4.0)
    assert any("running" in text for _, text in seen), seen
    return line, seen


def save(page, srv, name: str, executed: int, last_count: int | None = None) -> dict:
    """Save with the keyboard shortcut; the saved file (via the contents API) once it has
    ``executed`` executed cells, each with its figures (and the last run ``last_count``)."""
    page.keyboard.press("Control+s")
    pressed = time.monotonic()
    deadline = pressed + 30
    while True:
        try:
            nb = srv.api("GET", f"/api/contents/{name}")["content"]
        except urllib.error.HTTPError:  # read while the server writes it: "unreadable notebook"
            nb = {"cells": []}
        ran = [c for c in nb["cells"] if c.get("execution_count")]
        if (len(ran) == executed and all("jupyter_carbon" in c["metadata"] for c in ran)
                and (last_count is None or max(c["execution_count"] for c in ran) == last_count)):
            return nb
        assert time.monotonic() < deadline, "the figures never reached the saved file"
        time.sleep(0.3)
        if time.monotonic() - pressed > 3:  # not yet saved with them: save again
            page.keyboard.press("Control+s")
            pressed = time.monotonic()


def keep_for_docs(path: Path, name: str) -> None:
    """With JC_DOCS_IMG=1, the screenshot also becomes the README's (docs/img/``name``); a plain
    test run leaves the tracked images alone (test-artifacts/ has every screenshot)."""
    if os.environ.get("JC_DOCS_IMG") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / name)


def test_jupyterlab_cell_lines_metadata_status_panel_restart(tmp_path):
    require_browser()
    name = "lines.ipynb"
    with jupyter_server("lab", tmp_path) as srv:
        create_notebook(srv, name, ["%load_ext jupyter_carbon", BUSY_5S, "1/0", "sum(range(10**6))"])
        with chromium_page() as page:
            # A 5 s busy cell: its line appears at once and rises while it runs.
            line, seen = load_then_watch_busy_cell(page, srv.url(f"/lab/tree/{name}"))
            assert_rises_while_running(seen, "cell line")
            # the status bar meter and its panel show live watts
            status = page.locator(STATUS)
            wait_for_text(status, WATTS + r" · .*CO₂e")
            status.click()
            panel = page.locator(PANEL)
            panel.wait_for(state="visible", timeout=10000)
            wait_for_text(panel.locator(".jc-total"), WATTS)
            wait_for_text(panel.locator(".jc-panel-note"), r"live")
            panel.locator(".jc-spark-mini polyline.jc-spark-line").first.wait_for(state="attached", timeout=15000)
            wait_idle(page, 1)
            done = wait_for_text(line, r"^(?![\s\S]*running)[\s\S]*CO₂e")
            assert re.search(r"^[45]\.\d s · ", done.split("\n")[-1]), done
            assert line.get_attribute("data-status") == "ok"
            assert line.get_attribute("data-measured") in ("measured", "estimated")

            run_cell(page, 2)
            wait_idle(page, 2)
            wait_for_text(line_of(page, 2), r"error")
            assert line_of(page, 2).get_attribute("data-status") == "error"
            run_cell(page, 3)
            wait_idle(page, 3)
            wait_for_text(line_of(page, 3), r"CO₂e")
            assert page.locator(LINE).count() == 4
            wait_for_text(panel.locator(".jc-table"), r"\[4\]")
            wait_for_text(cells(page).nth(0).locator(".jc-totals-fig"), r"^4 cells")  # the widget too
            keep_for_docs(screenshot(page, "lab-cell-lines-light"), "lab-cell-lines.png")

            # Saved: every executed cell carries its figures; a re-run replaces them.
            nb = save(page, srv, name, 4)
            ran = [c for c in nb["cells"] if c.get("execution_count")]
            assert len(ran) == 4
            recs = [c["metadata"]["jupyter_carbon"] for c in ran]
            for rec in recs:
                assert RECORD_KEYS <= set(rec), rec
            assert [r["status"] for r in recs] == ["ok", "ok", "error", "ok"]
            assert 4.5 < recs[1]["duration_s"] < 8 and recs[1]["energy_kwh"] > 0
            assert [r["execution_count"] for r in recs] == [c["execution_count"] for c in ran]
            run_cell(page, 3)
            wait_idle(page, 3)
            nb = save(page, srv, name, 4, last_count=5)
            assert nb["cells"][3]["metadata"]["jupyter_carbon"]["execution_count"] == 5

            # Dark theme.
            switch_lab_theme(page, "JupyterLab Dark")
            keep_for_docs(screenshot(page, "lab-cell-lines-dark"), "lab-cell-lines-dark.png")
            switch_lab_theme(page, "JupyterLab Light")

            # Kernel restart: the panel says the old kernel is gone, then follows the new one.
            page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel…$")).click()
            page.locator(".jp-Dialog-button.jp-mod-accept").click()
            wait_for_text(panel.locator(".jc-panel-note"), r"gone")
            assert panel.locator(".jc-root").count() == 0  # no figures of a dead kernel
            screenshot(page, "lab-restarted")
            run_cell(page, 0)
            wait_idle(page, 0)
            wait_for_text(panel.locator(".jc-panel-note"), r"live")
            wait_for_text(panel.locator(".jc-total"), WATTS)
            wait_for_text(panel.locator(".jc-totals-fig"), r"^1 cell ")
            assert page.locator(LINE).count() == 4  # the saved figures stay under their cells

        # The kernel shut down, the page reloaded: the lines come from the saved metadata.
        for k in srv.api("GET", "/api/kernels"):
            srv.api("DELETE", f"/api/kernels/{k['id']}")
        with chromium_page() as page:
            page.goto(srv.url(f"/lab/tree/{name}"))
            cells(page).first.wait_for(timeout=60000)
            page.locator(LINE).nth(3).wait_for(timeout=20000)
            texts = [text_of(page.locator(LINE).nth(i)) for i in range(4)]
            assert all("CO₂e" in t for t in texts), texts
            assert "error" in texts[2] and parse_wh(texts[1]) > 0
            screenshot(page, "lab-reloaded-no-kernel")


def test_notebook7_cell_lines_panel_and_reload(tmp_path):
    require_browser()
    name = "nb7.ipynb"
    # The extension's settings (schema in labextension/schema/plugin.json): energy in joules.
    settings = tmp_path / "home" / "lab-user-settings" / "jupyter-carbon"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"energyUnit": "J", "massUnit": "mg"}')
    with jupyter_server("notebook", tmp_path) as srv:
        create_notebook(srv, name, ["%load_ext jupyter_carbon", BUSY_5S, "%carbon sidebar"])
        with chromium_page(viewport=(1300, 900)) as page:
            line, seen = load_then_watch_busy_cell(page, srv.url(f"/notebooks/{name}"))
            joules = [float(m.group(1)) for _, t in seen for m in [re.search(r"([\d.]+) J ·", t)] if m]
            assert len(set(joules)) >= 3 and joules == sorted(joules), seen  # live, in the chosen unit
            wait_idle(page, 1)
            wait_for_text(line, r"\d J · [\d.]+ mg CO₂e$")
            run_cell(page, 2)
            wait_idle(page, 2)
            panel = page.locator(PANEL)
            panel.wait_for(state="visible", timeout=20000)
            wait_for_text(panel.locator(".jc-total"), WATTS)
            wait_for_text(panel.locator(".jc-table"), r"\[2\]")
            keep_for_docs(screenshot(page, "nb7-cell-lines"), "nb7-cell-lines.png")
            nb = save(page, srv, name, 3)
            assert RECORD_KEYS <= set(nb["cells"][1]["metadata"]["jupyter_carbon"])
        for k in srv.api("GET", "/api/kernels"):
            srv.api("DELETE", f"/api/kernels/{k['id']}")
        with chromium_page(viewport=(1300, 900)) as page:
            page.goto(srv.url(f"/notebooks/{name}"))
            cells(page).first.wait_for(timeout=60000)
            page.locator(LINE).nth(2).wait_for(timeout=20000)
            assert "CO₂e" in text_of(line_of(page, 1))

"""The live widget in real front-ends: JupyterLab 4 (inline and sidebar) and Notebook 7,
served as subprocesses and driven in Debian's headless chromium through Playwright.

Screenshots land in test-artifacts/ (gitignored): look at them after a change to the
widget's front-end.
"""
from __future__ import annotations

import re
import time

import pytest
from browser_helpers import (
    cells,
    chromium_page,
    jupyter_server,
    parse_wh,
    require_browser,
    run_cell,
    screenshot,
    wait_idle,
    watch_running,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

XSS = "<img src=x onerror=alert(1)>"
BUSY_5S = "import time\nt0 = time.time()\nwhile time.time() - t0 < 5:\n    pass"


def increasing_energy(seen) -> list[float]:
    """The distinct Wh values seen, in order (parsed from '2.0 s · 9.71 mWh · ...')."""
    values = []
    for _, text in seen:
        wh = parse_wh(text)
        if wh is not None and (not values or wh != values[-1]):
            values.append(wh)
    return values


def assert_rises_while_running(seen, what: str) -> None:
    values = increasing_energy(seen)
    assert len(values) >= 3, f"{what}: running figure did not rise at least twice: {seen}"
    assert values == sorted(values), f"{what}: running energy went down: {seen}"


def text_of(locator) -> str:
    return locator.inner_text(timeout=5000).strip()


def wait_for_text(locator, pattern: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = locator.inner_text(timeout=1000)
        except Exception:
            text = ""
        if re.search(pattern, text):
            return text
        time.sleep(0.15)
    raise AssertionError(f"{pattern!r} not found in {text!r}")


def no_markup_from_labels(page) -> None:
    assert page.evaluate("document.querySelectorAll('.jc-root img, .jc-root script').length") == 0
    assert page.dialogs == []


def switch_lab_theme(page, theme: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(theme)}$")).click()
    page.wait_for_function(f"document.body.dataset.jpThemeName === {theme!r}", timeout=20000)
    time.sleep(0.6)  # let the theme's CSS variables settle before a screenshot



def open_and_load(page, url):
    """Open a notebook, run its first cell (%load_ext) and wait for the widget to show watts."""
    page.goto(url)
    cells(page).first.wait_for(timeout=60000)
    run_cell(page, 0)
    inline = cells(page).nth(0).locator(".jc-root")
    inline.wait_for(timeout=60000)
    wait_idle(page, 0)
    wait_for_text(inline.locator(".jc-total"), r"\d+(\.\d+)? (m|k)?W")
    return inline

def test_jupyterlab_inline_live_figures_last_cells_and_sidebar(tmp_path):
    require_browser()
    with jupyter_server("lab", tmp_path) as srv:
        write_notebook(srv.root / "carbon.ipynb", [
            "%load_ext jupyter_carbon",
            BUSY_5S,
            f'%%carbon --label "{XSS}" --quiet\ntime.sleep(2.5)',
            "%carbon sidebar",
            "t0 = time.time()\nwhile time.time() - t0 < 3.5:\n    pass",
            "%unload_ext jupyter_carbon",
        ])
        with chromium_page() as page:
            # %load_ext shows the widget: watts now, per component, measured/estimated marks.
            inline = open_and_load(page, srv.url("/lab/tree/carbon.ipynb"))
            comps = inline.locator(".jc-comp")
            assert comps.count() >= 1
            for i in range(comps.count()):
                c = comps.nth(i)
                assert text_of(c.locator(".jc-mark")) in ("●", "○")
                title = c.get_attribute("title")
                assert "method:" in title and ("measured" in title or "estimated" in title)
            bar_height = inline.locator(".jc-bar").bounding_box()["height"]
            assert bar_height < 60, f"collapsed widget is {bar_height}px high"  # one or two lines

            # A 5 s CPU-busy cell: the running figure rises while it runs; the widget keeps
            # its height (the page does not jump when a cell starts or ends).
            run_cell(page, 1)
            fig = inline.locator(".jc-running-fig")
            seen = watch_running(fig, 2.6)
            assert inline.locator(".jc-bar").bounding_box()["height"] == bar_height
            screenshot(page, "lab-1-running")
            screenshot(page, "lab-1-running-widget", inline)
            seen += watch_running(fig, 2.6)
            assert_rises_while_running(seen, "inline")
            wait_idle(page, 1)
            wait_for_text(inline.locator(".jc-running"), r"idle")
            assert inline.locator(".jc-spark-mini polyline").count() >= 1  # the sparkline is drawn

            # Expanded: the cell is in the last-cells list; totals, intensity and source shown.
            inline.locator(".jc-bar").click()
            table = inline.locator(".jc-table")
            wait_for_text(table, r"\[2\]")
            row = inline.locator(".jc-table tbody tr").first
            assert text_of(row.locator("td").first) == "[2]"
            assert re.search(r"\d(\.\d+)? s", text_of(row))  # ~5 s
            assert parse_wh(text_of(row)) > 0
            details = text_of(inline.locator(".jc-details"))
            assert "France (FR)" in details and "g CO₂e/kWh" in details and "table:" in details
            assert re.search(r"(µ|m|k)?Wh", text_of(inline.locator(".jc-totals")))
            screenshot(page, "lab-2-expanded-widget", inline)

            # A label that looks like HTML stays text, while running and in the list.
            run_cell(page, 2)
            name = inline.locator(".jc-running .jc-cellname")
            wait_for_text(name, re.escape(XSS))
            no_markup_from_labels(page)
            wait_idle(page, 2)
            wait_for_text(inline.locator(".jc-table"), re.escape(XSS))
            no_markup_from_labels(page)
            screenshot(page, "lab-3-label-as-text", inline)

            # %carbon sidebar: the lab extension's panel in the right sidebar, live, showing the
            # same figures (the lab extension replaces the sidecar in JupyterLab).
            run_cell(page, 3)
            wait_idle(page, 3)
            side = page.locator('[data-jupyter-carbon="panel"] .jc-root')
            side.wait_for(timeout=20000)
            deadline = time.monotonic() + 10
            while text_of(side.locator(".jc-totals-fig")) != text_of(inline.locator(".jc-totals-fig")):
                assert time.monotonic() < deadline, "sidebar and inline views disagree"
                time.sleep(0.2)
            run_cell(page, 4)
            side_seen = watch_running(side.locator(".jc-running-fig"), 1.8)
            screenshot(page, "lab-4-sidebar")
            side_seen += watch_running(side.locator(".jc-running-fig"), 1.8)
            assert_rises_while_running(side_seen, "sidebar")
            assert side.locator(".jc-details").is_visible()  # opens expanded where there is room
            wait_idle(page, 4)
            wait_for_text(side.locator(".jc-table"), r"\[5\]")
            assert text_of(side.locator(".jc-totals-fig")) == text_of(inline.locator(".jc-totals-fig"))

            # Dark theme: same widget, JupyterLab's dark variables.
            switch_lab_theme(page, "JupyterLab Dark")
            bg = page.evaluate("getComputedStyle(document.querySelector('.jc-root')).backgroundColor")
            fg = page.evaluate("getComputedStyle(document.querySelector('.jc-root')).color")
            assert _luminance(bg) < 0.3 < _luminance(fg), (bg, fg)  # light text on dark
            screenshot(page, "lab-5-dark")
            screenshot(page, "lab-5-dark-widget", inline)
            no_markup_from_labels(page)
            errors = [e for e in page.console_errors if "jupyter-carbon" in e or "anywidget" in e]
            assert not errors, errors

            # %unload_ext: the views become a static summary (the text/html fallback), the
            # panel stops showing live figures, and the label is still only text.
            run_cell(page, 5)
            wait_idle(page, 5)
            static = cells(page).nth(0).locator(".jupyter-carbon-fallback")
            static.wait_for(timeout=20000)
            assert "unloaded" in text_of(static) and XSS in text_of(static)
            assert cells(page).nth(0).locator(".jc-root").count() == 0
            side.wait_for(state="detached", timeout=20000)
            assert "unloaded" in text_of(page.locator('[data-jupyter-carbon="panel"] .jc-panel-note'))
            no_markup_from_labels(page)
            assert page.evaluate("document.querySelectorAll('.jupyter-carbon-fallback img').length") == 0
            screenshot(page, "lab-6-unloaded-static", static)


def test_jupyterlab_reload_with_a_live_kernel_shows_the_latest_figures(tmp_path):
    """The widget's figures travel as custom messages, not synced traits: a page reloaded
    while the kernel runs asks the kernel for the model's state again and must get the
    latest figures, and the restored view keeps updating."""
    require_browser()
    with jupyter_server("lab", tmp_path) as srv:
        write_notebook(srv.root / "reload.ipynb", ["%load_ext jupyter_carbon", "x = sum(range(10**6))", "1"])
        with chromium_page() as page:
            inline = open_and_load(page, srv.url("/lab/tree/reload.ipynb"))
            run_cell(page, 1)
            wait_idle(page, 1)
            before = wait_for_text(inline.locator(".jc-totals-fig"), r"^2 cells")
            page.keyboard.press("Control+s")
            time.sleep(1.5)
            page.reload()
            cells(page).first.wait_for(timeout=60000)
            inline = cells(page).nth(0).locator(".jc-root")
            inline.wait_for(timeout=60000)
            assert wait_for_text(inline.locator(".jc-totals-fig"), r"^2 cells") == before
            wait_for_text(inline.locator(".jc-total"), r"\d+(\.\d+)? (m|k)?W")
            run_cell(page, 2)
            wait_idle(page, 2)
            wait_for_text(inline.locator(".jc-totals-fig"), r"^3 cells")


def test_notebook7_inline_smoke_and_panel(tmp_path):
    require_browser()
    with jupyter_server("notebook", tmp_path) as srv:
        write_notebook(srv.root / "nb7.ipynb", [
            "%load_ext jupyter_carbon",
            "import time\nt0 = time.time()\nwhile time.time() - t0 < 4:\n    pass",
            "%carbon sidebar",
        ])
        with chromium_page(viewport=(1200, 900)) as page:
            inline = open_and_load(page, srv.url("/notebooks/nb7.ipynb"))
            run_cell(page, 1)
            seen = watch_running(inline.locator(".jc-running-fig"), 3.8)
            assert_rises_while_running(seen, "notebook 7")
            wait_idle(page, 1)
            inline.locator(".jc-bar").click()
            wait_for_text(inline.locator(".jc-table"), r"\[2\]")
            screenshot(page, "nb7-1-expanded")
            # %carbon sidebar opens the lab extension's panel in Notebook 7's right area.
            run_cell(page, 2)
            wait_idle(page, 2)
            out = cells(page).nth(2)
            wait_for_text(out.locator(".jp-OutputArea"), r"Carbon panel")
            panel = page.locator('[data-jupyter-carbon="panel"]')
            panel.wait_for(state="visible", timeout=20000)
            wait_for_text(panel.locator(".jc-total"), r"\d+(\.\d+)? (m|k)?W")
            assert page.locator(".jupyterlab-sidecar").count() == 0
            screenshot(page, "nb7-2-sidebar-panel")
            no_markup_from_labels(page)


def _luminance(css_color: str) -> float:
    nums = [float(x) for x in re.findall(r"[\d.]+", css_color)[:3]]
    r, g, b = (n / 255 for n in nums)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b

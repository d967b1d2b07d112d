"""Make the README's screenshots: the live widget during training, and ``%carbon report``.

    .venv/bin/python tools/screenshots.py [--out docs/img] [--keep]

A copy of ``examples/gpt_training.ipynb`` (outputs cleared, a ``%carbon sidebar`` cell added
after the ``%load_ext`` cell) is run in JupyterLab in a temp root, at
``JC_EXAMPLE_SIZE=small`` with ``JUPYTER_CARBON_COUNTRY=FR``, in Debian's headless chromium
driven by Playwright (the same harness as ``tests/test_browser.py``; nothing downloads a
browser). Two PNGs land in ``--out``:

* ``widget-training.png``: the whole JupyterLab window while the ``%%carbon --label train``
  cell runs: the cell with its live line, and the widget in the right sidebar;
* ``report.png``: the output of the ``%carbon report`` cell (table and chart), cropped.

The server, its kernel and the browser are stopped on the way out, and the temp dir removed
(``--keep`` leaves it, with the server log, for debugging; a failure keeps it too, with
``failure.png``). About 40 s on an idle 2-core machine, a few minutes when the CPU is shared.
"""
from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_helpers import cells, chromium_page, jupyter_server, parse_wh, wait_idle  # noqa: E402

NOTEBOOK = ROOT / "examples" / "gpt_training.ipynb"
VIEWPORT = (1400, 900)
SIDEBAR_WIDTH = 380  # px: the widget's one-line header fits without clipping
MAX_BYTES = 300_000
ENV = {"JC_EXAMPLE_SIZE": "small", "JUPYTER_CARBON_COUNTRY": "FR"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- the notebook copy ---------------------------------------------------------------------

def prepare_notebook(dest: Path) -> tuple[int, int]:
    """Copy the example without outputs, with ``%carbon sidebar`` after the load cell.

    Returns the (0-based, all cells) indices of the training cell and the report cell.
    """
    nb = json.loads(NOTEBOOK.read_text())
    cells_ = nb["cells"]
    for c in cells_:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None

    def src(c) -> str:
        return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]

    load = next(i for i, c in enumerate(cells_)
                if c["cell_type"] == "code" and "%load_ext jupyter_carbon" in src(c))
    cells_.insert(load + 1, {"cell_type": "code", "execution_count": None, "id": secrets.token_hex(4),
                             "metadata": {}, "outputs": [], "source": "%carbon sidebar"})
    train = next(i for i, c in enumerate(cells_) if c["cell_type"] == "code"
                 and re.match(r"%%carbon\b.*--label train\s*$", src(c).splitlines()[0]))
    report = next(i for i, c in enumerate(cells_) if c["cell_type"] == "code"
                  and src(c).strip().startswith("%carbon report"))
    dest.write_text(json.dumps(nb, indent=1))
    return train, report


def lab_settings(settings: Path) -> None:
    """Every cell in the DOM (no windowing, so cells can be found by index), light theme."""
    for name, value in {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/themes": {"theme": "JupyterLab Light"},
    }.items():
        path = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


# --- driving JupyterLab ---------------------------------------------------------------------

def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def text(locator) -> str:
    try:
        return locator.inner_text(timeout=1000).strip()
    except Exception:
        return ""


def wait_until(what: str, cond, timeout: float, period: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(period)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def errors_shown(page) -> list[str]:
    """Tracebacks and stderr text in any output area (the screenshots must show none)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(e => e.innerText.slice(0, 500))""")


def scroll_cell_to(page, cell, fraction: float) -> None:
    """Scroll the notebook so ``cell``'s top sits ``fraction`` of the way down the panel."""
    cell.evaluate("""(el, f) => {
        let sc = el.parentElement;
        while (sc && !(sc.scrollHeight > sc.clientHeight + 1 &&
                       /(auto|scroll)/.test(getComputedStyle(sc).overflowY))) sc = sc.parentElement;
        if (!sc) { el.scrollIntoView({block: 'start'}); return; }
        const top = el.getBoundingClientRect().top - sc.getBoundingClientRect().top;
        sc.scrollTop += top - f * sc.clientHeight;
    }""", fraction)


def fold_sidebar(page, side: str) -> None:
    """Clicking a sidebar's open tab folds that sidebar away."""
    current = page.locator(f".jp-SideBar.jp-mod-{side} .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.first.click()


def widen_right_sidebar(page, width: int) -> None:
    """Drag the splitter between the notebook and the right sidebar to make it ``width`` wide."""
    panel = page.locator("#jp-right-stack")
    box = panel.bounding_box()
    handles = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle")
    best = None
    for i in range(handles.count()):
        hb = handles.nth(i).bounding_box()
        if hb and hb["width"] >= 0 and (best is None or abs(hb["x"] - box["x"]) < abs(best["x"] - box["x"])):
            best = hb
    if best is None:
        return
    x, y = best["x"] + best["width"] / 2, best["y"] + best["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - (width - box["width"]), y, steps=8)
    page.mouse.up()
    time.sleep(0.3)


def save(locator_or_page, path: Path, **kw) -> None:
    locator_or_page.screenshot(path=str(path), type="png", animations="disabled", caret="hide", **kw)
    size = path.stat().st_size
    log(f"wrote {path} ({size / 1000:.0f} kB)")
    if size > MAX_BYTES:
        log(f"WARNING: {path.name} is over {MAX_BYTES / 1000:.0f} kB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where the PNGs go")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (server log, notebook)")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    tmp = Path(tempfile.mkdtemp(prefix="jc-screenshots-"))
    try:
        log(f"temp dir {tmp}")
        lab_settings(tmp / "home" / "lab-user-settings")  # where jupyter_server points Lab
        with jupyter_server("lab", tmp, env_extra=ENV) as srv:
            train_i, report_i = prepare_notebook(srv.root / NOTEBOOK.name)
            log(f"JupyterLab on {srv.base}")
            with chromium_page(viewport=VIEWPORT) as page:
                try:
                    shoot(page, srv, train_i, report_i, out)
                except BaseException:
                    args.keep = True  # keep the log and what the page looked like
                    page.screenshot(path=str(tmp / "failure.png"))
                    log(f"failed; the page as it was: {tmp / 'failure.png'}")
                    raise
            log("stopping JupyterLab and its kernel")
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"done in {time.monotonic() - t_start:.0f} s")
    return 0


def shoot(page, srv, train_i: int, report_i: int, out: Path) -> None:
    page.goto(srv.url(f"/lab/tree/{NOTEBOOK.name}"))
    cells(page).first.wait_for(timeout=60000)
    wait_until("the kernel", lambda: "Idle" in text(page.locator(".jp-Notebook-ExecutionIndicator"))
               or page.locator(".jp-Toolbar-kernelStatus").count() == 0, 60)
    wait_until(f"{report_i + 1} cells in the DOM", lambda: cells(page).count() > report_i, 30)
    # More room for the notebook: fold the file browser away.
    fold_sidebar(page, "left")
    time.sleep(0.5)

    dialogs = page.locator(".jp-Dialog")
    if dialogs.count():
        raise RuntimeError(f"unexpected dialog: {dialogs.all_inner_texts()}")
    log("Run > Run All Cells")
    menu(page, "Run", "Run All Cells")

    # --- 1. the widget in the sidebar while the training cell runs ----------------------------
    side = page.locator('[data-jupyter-carbon="panel"] .jc-root')  # the lab extension's panel
    side.wait_for(timeout=60000)
    widen_right_sidebar(page, SIDEBAR_WIDTH)
    train = cells(page).nth(train_i)
    out_area = train.locator(".jp-OutputArea")
    wait_until("the training cell's live line",
               lambda: re.search(r"running \d", text(out_area)), 180)
    log("training started")
    fig = side.locator(".jc-running-fig")
    seen: list[float] = []

    def enough() -> bool:  # three step lines printed, and the figures seen rising
        wh = parse_wh(text(fig))
        if wh is not None and (not seen or wh > seen[-1]):
            seen.append(wh)
        if not re.search(r"\[\*\]", text(train.locator(".jp-InputArea-prompt"))):
            raise RuntimeError("the training cell finished before the screenshot")
        return len(seen) >= 3 and len(re.findall(r"^step ", text(out_area), re.M)) >= 3

    wait_until("training progress", enough, 90)
    scroll_cell_to(page, train, 0.22)
    page.mouse.move(VIEWPORT[0] // 2, 5)  # no hover highlight anywhere
    time.sleep(0.7)  # one more widget tick after the scroll
    if errors_shown(page):
        raise RuntimeError(f"error output on the page: {errors_shown(page)}")
    save(page, out / "widget-training.png")
    log(f"running figures seen: {', '.join(f'{v * 1000:.2f} mWh' for v in seen)}")

    # --- 2. %carbon report, after the run ---------------------------------------------------
    wait_idle(page, train_i, timeout=300)
    log("training done")
    wait_idle(page, report_i, timeout=300)
    log("notebook done")
    report = cells(page).nth(report_i)
    report_out = report.locator(".jp-OutputArea")
    report_out.locator("img").first.wait_for(timeout=20000)
    report_out.locator("table").first.wait_for(timeout=20000)
    page.wait_for_function("(el) => Array.from(el.querySelectorAll('img')).every(i => i.complete)",
                           arg=report_out.element_handle(), timeout=10000)
    errs = errors_shown(page)
    if errs:
        raise RuntimeError(f"error output on the page: {errs}")
    # The notebook's full width for the table (no wrapped cells), and a window tall enough
    # for the whole output; then crop to the table and the chart.
    fold_sidebar(page, "right")
    time.sleep(0.5)
    height = report_out.bounding_box()["height"]
    page.set_viewport_size({"width": VIEWPORT[0], "height": max(VIEWPORT[1], int(height) + 250)})
    time.sleep(0.5)
    scroll_cell_to(page, report, 0.02)
    page.mouse.move(VIEWPORT[0] // 2, 5)
    time.sleep(0.5)
    boxes = [report_out.locator("table").first.bounding_box(), report_out.locator("img").first.bounding_box()]
    pad = 12
    area = report_out.bounding_box()  # no further than the output area: no cell borders
    x0 = max(area["x"], min(b["x"] for b in boxes) - pad)
    y0 = max(area["y"], min(b["y"] for b in boxes) - pad)
    x1 = min(area["x"] + area["width"], max(b["x"] + b["width"] for b in boxes) + pad)
    y1 = min(area["y"] + area["height"], max(b["y"] + b["height"] for b in boxes) + pad)
    save(page, out / "report.png", clip={"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0})

if __name__ == "__main__":
    sys.exit(main())

"""Start JupyterLab / Notebook 7 as subprocesses and drive them with Debian's chromium.

Nothing here downloads a browser: Playwright is pointed at /usr/bin/chromium. When the
browser or Playwright is missing the browser tests skip, unless JC_REQUIRE_BROWSER=1
(CI), where they fail instead.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("JC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def require_browser():
    """Skip (or fail under JC_REQUIRE_BROWSER=1) when the browser stack is missing."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright; no browser download needed)")
    for mod in ("jupyterlab", "notebook"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        msg = "browser tests need: " + ", ".join(missing)
        if os.environ.get("JC_REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": secrets.token_hex(4), "metadata": {},
            "outputs": [], "source": source}


def write_notebook(path: Path, sources: list[str]) -> Path:
    nb = {"cells": [code_cell(s) for s in sources],
          "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                      "name": "python3"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))
    return path


class Server:
    def __init__(self, app: str, root: Path, port: int, token: str, proc: subprocess.Popen, log: Path):
        self.app, self.root, self.port, self.token, self.proc, self.log = app, root, port, token, proc, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def api(self, method: str, path: str, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            data = r.read()
        return json.loads(data) if data else None


@contextmanager
def jupyter_server(app: str, tmp: Path, env_extra: dict[str, str] | None = None):
    """``jupyter lab`` or ``jupyter notebook`` on 127.0.0.1, a free port, a token, a temp root.

    Jupyter's config, data, runtime and IPython dirs are private to the run, so neither
    the developer's settings nor a previous run leak in.
    """
    root = tmp / "root"
    root.mkdir(parents=True, exist_ok=True)
    home = tmp / "home"
    settings = home / "lab-user-settings"
    # No "get notified about Jupyter news?" toast in the screenshots, no update check.
    notif = settings / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True, exist_ok=True)
    (notif / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                         "checkForUpdates": False}))
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_CARBON_", "JPY_"))}
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"), JUPYTER_PLATFORM_DIRS="1",
               JUPYTER_CARBON_COUNTRY="FR", JUPYTER_CARBON_INTERVAL="0.5", PYTHONUNBUFFERED="1",
               # The front-end is under test, not the attribution: charge this kernel's own CPU
               # time (as tests/test_kernel.py does), immune to other load on a shared machine.
               JUPYTER_CARBON_TRACKING_MODE="process",
               # Notebook 7 ignores --JupyterNotebookApp.user_settings_dir; both read this
               JUPYTERLAB_SETTINGS_DIR=str(settings))
    env.update(env_extra or {})
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    log = tmp / f"{app}.log"
    cmd = [sys.executable, "-m", "jupyterlab" if app == "lab" else "notebook",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--ServerApp.open_browser=False", "--ServerApp.allow_root=True",
           f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}",
           "--LabApp.news_url=", "--LabApp.extension_manager=readonly", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if app == "notebook":
        cmd = [c.replace("--LabApp.", "--JupyterNotebookApp.") for c in cmd
               if not any(x in c for x in ("check_for_updates", "news_url", "extension_manager"))]
    with open(log, "w") as logf:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT)
    server = Server(app, root, port, token, proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{app} exited early:\n{log.read_text()[-3000:]}")
            try:
                server.api("GET", "/api/status")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.25)
        yield server
    finally:
        try:  # shut kernels down cleanly first
            for k in server.api("GET", "/api/kernels") or []:
                server.api("DELETE", f"/api/kernels/{k['id']}")
        except Exception:
            pass
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def chromium_page(viewport=(1400, 900)):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                          device_scale_factor=1)
            page = context.new_page()
            page.dialogs = []
            page.console_errors = []
            page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
            yield page
        finally:
            browser.close()


def screenshot(page, name: str, locator=None) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    (locator or page).screenshot(path=str(path))
    return path


# --- driving a notebook ---------------------------------------------------------------------

def cells(page):
    return page.locator(".jp-Notebook .jp-Cell")


_KERNEL_READY_JS = """async () => {
    const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const status = indicator ? indicator.getAttribute('data-status') : null;
    const kernels = await (await fetch('/api/kernels')).json();
    return [status, kernels.map(k => k.connections || 0)];
}"""


def wait_kernel_connected(page, timeout: float = 90) -> None:
    """Wait until the page's kernel is connected and idle or busy.

    A run asked for while the kernel starts or the page connects is either dropped (Notebook 7)
    or queued without a ``[*]`` for seconds (JupyterLab), so neither pressing once nor pressing
    again is right then. The page's own indicator says "idle" before it has even started to
    connect, so the server's count of the kernel's connections is asked too.
    """
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = page.evaluate(_KERNEL_READY_JS)
        except Exception:  # the page is navigating or the server restarting a kernel
            seen = None
        if seen and seen[0] in ("idle", "busy") and any(n > 0 for n in seen[1]):
            return
        time.sleep(0.2)
    raise AssertionError(f"kernel not connected in {timeout} s: {seen}")


def run_cell(page, index: int) -> None:
    """Select cell ``index`` (0-based) and run it with Shift+Enter, once the kernel is connected.

    Shift+Enter runs the cell and makes the next one active, so the key press took when the
    cell is no longer the active one or its prompt shows ``[*]``/``[n]``. Only a press that did
    not take (page still settling) is repeated: pressing again after one that took would run
    the cell twice.
    """
    wait_kernel_connected(page)
    cell = cells(page).nth(index)
    prompt = cell.locator(".jp-InputArea-prompt")

    def active() -> bool:
        return "jp-mod-active" in (cell.get_attribute("class") or "").split()

    def took() -> bool:
        return not active() or bool(re.search(r"\[(\*|\d+)\]", prompt.inner_text()))

    for _ in range(5):
        try:
            cell.locator(".jp-InputArea-editor").click(timeout=8000)
        except Exception:  # something covers it (a dialog or toast while the page settles)
            screenshot(page, "run-cell-blocked")
            page.keyboard.press("Escape")
            continue
        deadline = time.monotonic() + 3
        while not active() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not active():  # the click did not select it: click again
            continue
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if took():
                return
            time.sleep(0.1)
    raise AssertionError(f"cell {index} would not start")


def wait_idle(page, index: int, timeout: float = 60) -> None:
    """Wait until cell ``index`` shows an execution count (it has finished)."""
    prompt = cells(page).nth(index).locator(".jp-InputArea-prompt")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = prompt.inner_text().strip()
        if re.search(r"\[\d+\]", text):
            return
        time.sleep(0.2)
    raise AssertionError(f"cell {index} did not finish: prompt {prompt.inner_text()!r}")


_UNITS_WH = {"µWh": 1e-6, "mWh": 1e-3, "Wh": 1.0, "kWh": 1e3, "MWh": 1e6}


def parse_wh(text: str) -> float | None:
    m = re.search(r"([\d.]+)\s*(µWh|mWh|kWh|MWh|Wh)", text)
    return float(m.group(1)) * _UNITS_WH[m.group(2)] if m else None


def watch_running(locator, seconds: float, period: float = 0.2) -> list[tuple[float, str]]:
    """Poll the running-cell figure's text; returns (time, text) for every change."""
    seen: list[tuple[float, str]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            text = locator.inner_text(timeout=1000).strip()
        except Exception:
            text = ""
        if text and (not seen or seen[-1][1] != text):
            seen.append((time.monotonic(), text))
        time.sleep(period)
    return seen

"""A renamed notebook: the kernel learns the new path from a real Jupyter server's sessions
API (in the background, never at the cell's expense) and the logs move beside it."""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from jupyter_carbon.log.csvlog import CsvLog, read_log
from jupyter_carbon.log.follow import NotebookFollower
from jupyter_carbon.log.paths import log_paths
from jupyter_carbon.log.samples import SamplesLog
from jupyter_carbon.log.schema import COLUMNS


def poll(cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def row(n):
    return {c: "" for c in COLUMNS} | {"execution_count": str(n)}


class Server:
    """``jupyter server`` on 127.0.0.1, a free port, a token, private config/runtime dirs."""

    def __init__(self, tmp: Path):
        self.root = tmp / "root"
        self.root.mkdir()
        home = tmp / "home"
        self.runtime = home / "runtime"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.token = secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_CARBON_", "JPY_"))}
        env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(self.runtime),
                   IPYTHONDIR=str(home / "ipython"), JUPYTER_PLATFORM_DIRS="1")
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        self.log = tmp / "server.log"
        cmd = [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               "--ServerApp.open_browser=False", "--ServerApp.allow_root=True",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}"]
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=logf, stderr=subprocess.STDOUT)
        ok = poll(lambda: self.proc.poll() is None and self._up(), timeout=60)
        if not ok:
            self.close()
            raise RuntimeError(f"jupyter server did not start:\n{self.log.read_text()[-3000:]}")

    def _up(self) -> bool:
        try:
            self.api("GET", "/api/status")
            return any(self.runtime.glob("jpserver-*.json"))
        except Exception:
            return False

    def api(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
        return json.loads(data) if data else None

    def close(self):
        try:
            for k in self.api("GET", "/api/kernels") or []:
                self.api("DELETE", f"/api/kernels/{k['id']}")
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.close()


@pytest.mark.kernel
def test_follows_a_rename_through_a_real_servers_sessions_api(server):
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (server.root / "old.ipynb").write_text(json.dumps(nb))
    session = server.api("POST", "/api/sessions", {"path": "old.ipynb", "name": "old.ipynb",
                                                   "type": "notebook", "kernel": {"name": "python3"}})
    kid = session["kernel"]["id"]
    follower = NotebookFollower(kid, env={"JUPYTER_RUNTIME_DIR": str(server.runtime)}, every=0.0)
    old = server.root / "old.ipynb"
    assert poll(lambda: follower.current() == old), follower.current()
    assert follower.renamed(old) is None

    csv_old, samples_old, _ = log_paths(old, kid)
    log, samples = CsvLog(csv_old, announce=None), SamplesLog(samples_old, announce=None)
    log.append(row(1))
    samples.add({"elapsed_s": 1.0, "cpu_power": 5.0})
    samples.flush()

    # What JupyterLab does on rename: move the file, then PATCH the session's path.
    server.api("PATCH", "/api/contents/old.ipynb", {"path": "new.ipynb"})
    server.api("PATCH", f"/api/sessions/{session['id']}", {"path": "new.ipynb", "name": "new.ipynb"})
    new = server.root / "new.ipynb"
    assert poll(lambda: follower.renamed(old) == new), follower.current()

    csv_new, samples_new, _ = log_paths(new, kid)
    log.move_to(csv_new)
    samples.move_to(samples_new)
    assert log.path == csv_new and samples.path == samples_new
    log.append(row(2))
    samples.add({"elapsed_s": 2.0, "cpu_power": 6.0})
    samples.flush()
    assert read_log(csv_old)["execution_count"].tolist() == [1]  # the old file is kept
    assert read_log(csv_new)["execution_count"].tolist() == [2]
    assert read_log(samples_old)["elapsed_s"].tolist() == [1.0]
    assert read_log(samples_new)["elapsed_s"].tolist() == [2.0]
    assert read_log(new)["execution_count"].tolist() == [2]  # jc.read_log("new.ipynb")


def test_current_never_waits_and_asks_at_most_once_per_interval():
    gate = threading.Event()
    calls = []

    def lookup(kernel_id, env):  # a server that hangs until released
        calls.append(kernel_id)
        gate.wait(30)
        return Path("/srv/renamed.ipynb")

    now = [100.0]
    follower = NotebookFollower("k1", env={}, every=5.0, clock=lambda: now[0], lookup=lookup)
    for _ in range(50):  # every cell end while the server hangs: no wait, one request
        assert follower.current() is None
    assert poll(lambda: len(calls) == 1) and len(calls) == 1
    now[0] += 10  # past the interval, but the first request is still in flight: no second one
    assert follower.current() is None and len(calls) == 1
    gate.set()
    assert poll(lambda: follower.refreshes == 1)
    assert follower.current() == Path("/srv/renamed.ipynb")  # read at the next cell end
    assert poll(lambda: len(calls) == 2)  # that call started the next refresh (interval passed)
    for _ in range(20):
        follower.current()
    assert len(calls) == 2
    assert follower.renamed("/srv/renamed.ipynb") is None
    assert follower.renamed("/srv/old.ipynb") == Path("/srv/renamed.ipynb")


def test_a_failed_lookup_keeps_the_last_answer_and_vscode_wins():
    answers = [Path("/a.ipynb"), None]

    def lookup(kernel_id, env):
        return answers.pop(0) if answers else None

    follower = NotebookFollower("k", env={}, every=0.0, lookup=lookup)
    follower.current()
    assert poll(lambda: follower.refreshes >= 1)
    follower.current()
    assert poll(lambda: follower.refreshes >= 2)
    assert follower.current() == Path("/a.ipynb")
    ns = {"__vsc_ipynb_file__": "/code/b.ipynb"}
    assert NotebookFollower(None, user_ns=ns).current() == Path("/code/b.ipynb")
    assert NotebookFollower(None).current() is None  # no kernel id: nothing to ask

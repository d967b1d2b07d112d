"""Finding the notebook's path, and the log paths that follow from it (loopback only)."""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_carbon.log import paths
from jupyter_carbon.log.paths import log_paths, notebook_path

KID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    nb = root / "sub" / "analysis.ipynb"
    nb.write_text("{}")
    return root, nb


def env_with(tmp_path, **kv):
    rt = tmp_path / "runtime"
    rt.mkdir(exist_ok=True)
    return {"JUPYTER_RUNTIME_DIR": str(rt), **kv}


def test_jpy_session_name_absolute(tree, tmp_path):
    _, nb = tree
    env = env_with(tmp_path, JPY_SESSION_NAME=str(nb))
    assert notebook_path(env=env, cwd=tmp_path, sessions_api=False) == (nb, "JPY_SESSION_NAME")


def test_jpy_session_name_relative_to_server_root_from_the_kernel_cwd(tree, tmp_path):
    root, nb = tree  # the server starts the kernel in the notebook's directory
    env = env_with(tmp_path, JPY_SESSION_NAME="sub/analysis.ipynb")
    assert notebook_path(env=env, cwd=root / "sub", sessions_api=False) == (nb, "JPY_SESSION_NAME")


def test_jpy_session_name_relative_resolved_under_a_running_server_root(tree, tmp_path):
    root, nb = tree
    env = env_with(tmp_path, JPY_SESSION_NAME="sub/analysis.ipynb")
    write_server(env, {"url": "http://127.0.0.1:1/", "token": "t", "root_dir": str(root)})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert notebook_path(env=env, cwd=elsewhere, sessions_api=False) == (nb, "JPY_SESSION_NAME")


def test_console_session_name_is_not_a_notebook(tmp_path):
    env = env_with(tmp_path, JPY_SESSION_NAME=str(tmp_path / "Console 1"))
    assert notebook_path(env=env, cwd=tmp_path, sessions_api=False) == (None, "unknown")


def test_vscode_variable(tree, tmp_path):
    _, nb = tree
    got = notebook_path(env=env_with(tmp_path), user_ns={"__vsc_ipynb_file__": str(nb)},
                        cwd=tmp_path, sessions_api=False)
    assert got == (nb, "vscode")


def test_an_existing_file_beats_a_stale_name(tree, tmp_path):
    _, nb = tree
    env = env_with(tmp_path, JPY_SESSION_NAME=str(tmp_path / "gone" / "old.ipynb"))
    got = notebook_path(env=env, user_ns={"__vsc_ipynb_file__": str(nb)}, cwd=tmp_path, sessions_api=False)
    assert got == (nb, "vscode")
    # with nothing better, the stale name is still the best guess
    got = notebook_path(env=env, cwd=tmp_path, sessions_api=False)
    assert got == (tmp_path / "gone" / "old.ipynb", "JPY_SESSION_NAME")


def test_nothing_known(tmp_path):
    assert notebook_path(env=env_with(tmp_path), cwd=tmp_path, kernel_id=KID) == (None, "unknown")


def test_log_paths_beside_the_notebook_and_fallback(tmp_path):
    nb = tmp_path / "a b.ipynb"
    assert log_paths(nb, KID, tmp_path) == (tmp_path / "a b.carbon.csv",
                                            tmp_path / "a b.carbon-samples.csv", "")
    csv_path, samples, note = log_paths(None, KID, tmp_path)
    assert csv_path == tmp_path / "jupyter-carbon-0f1e2d3c.csv"
    assert samples == tmp_path / "jupyter-carbon-0f1e2d3c.samples.csv"
    assert str(csv_path) in note and "\n" not in note
    assert log_paths(None, None, tmp_path)[0] == tmp_path / "jupyter-carbon.csv"


# -- the server's sessions API, against a fake server on 127.0.0.1 ------------------------

def write_server(env, info):
    info = {"pid": os.getpid(), "port": 1, "root_dir": "/", **info}
    Path(env["JUPYTER_RUNTIME_DIR"], f"jpserver-{info['port']}.json").write_text(json.dumps(info))


@pytest.fixture
def fake_server(tree):
    root, nb = tree
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            if self.path != "/base/api/sessions" or self.headers.get("Authorization") != "token s3cret":
                self.send_response(403)
                self.end_headers()
                return
            body = json.dumps([
                {"id": "a", "path": "other.ipynb", "type": "notebook", "kernel": {"id": "someone-else"}},
                {"id": "b", "path": "sub/analysis.ipynb", "type": "notebook", "kernel": {"id": KID}},
            ]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1], root, nb, seen
    srv.shutdown()
    srv.server_close()


def test_sessions_api_matches_our_kernel(fake_server, tmp_path):
    port, root, nb, seen = fake_server
    env = env_with(tmp_path)
    write_server(env, {"url": f"http://127.0.0.1:{port}/base/", "port": port, "token": "s3cret",
                       "root_dir": str(root)})
    assert notebook_path(env=env, kernel_id=KID, cwd=tmp_path, timeout=5) == (nb, "sessions-api")
    assert seen == [("/base/api/sessions", "token s3cret")]
    assert notebook_path(env=env, kernel_id="not-running", cwd=tmp_path, timeout=5) == (None, "unknown")


def test_sessions_api_on_a_wildcard_bound_server_is_called_on_loopback(fake_server, tmp_path):
    port, root, nb, _ = fake_server
    env = env_with(tmp_path)
    write_server(env, {"url": f"http://some-host-name:{port}/base/", "ip": "0.0.0.0", "port": port,
                       "token": "s3cret", "root_dir": str(root)})
    assert notebook_path(env=env, kernel_id=KID, cwd=tmp_path, timeout=5) == (nb, "sessions-api")


def test_dead_servers_and_foreign_hosts_are_not_called(tmp_path, monkeypatch):
    import http.client

    calls = []

    class Refuse:
        def __init__(self, host, *a, **k):
            calls.append(host)
            raise OSError("no network in this test")

    monkeypatch.setattr(http.client, "HTTPConnection", Refuse)
    env = env_with(tmp_path)
    write_server(env, {"url": "http://192.0.2.7:8888/", "ip": "192.0.2.7", "port": 8888, "token": "x"})
    dead = {"pid": 2**22 + 12345, "url": "http://127.0.0.1:9/", "port": 9, "token": "x"}
    Path(env["JUPYTER_RUNTIME_DIR"], "jpserver-9.json").write_text(json.dumps(dead))
    assert notebook_path(env=env, kernel_id=KID, cwd=tmp_path) == (None, "unknown")
    assert calls == []


def test_a_stuck_server_cannot_stall_the_kernel(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)  # accepts connections, never answers
    try:
        env = env_with(tmp_path)
        port = sock.getsockname()[1]
        write_server(env, {"url": f"http://127.0.0.1:{port}/", "port": port, "token": "t"})
        t = time.perf_counter()
        assert notebook_path(env=env, kernel_id=KID, cwd=tmp_path, timeout=0.3) == (None, "unknown")
        assert time.perf_counter() - t < 1.0
    finally:
        sock.close()


def test_never_raises(tmp_path):
    class Boom(dict):
        def get(self, *a):
            raise RuntimeError("boom")

    assert notebook_path(env=Boom(), user_ns=Boom(), kernel_id=KID, cwd=tmp_path) == (None, "unknown")


def test_kernel_id_outside_a_kernel_is_none():
    assert paths.current_kernel_id() is None


# -- the log setting ----------------------------------------------------------------------

@pytest.mark.parametrize("value, says", [
    (".", "names a directory"), ("/", "names a directory"), ("..", "names a directory"),
    ("sub/", "names a directory"), ("", "empty"), ("   ", "empty"),
    ("existing", "is an existing directory"),
    ("x" * 400 + ".csv", "its file name is 404 bytes"),
    ("y" * 250 + ".csv", "its samples log's name is 262 bytes"),
    ("missing/a.csv", "does not exist"),
    ("afile/a.csv", "is not a directory"),
    ("a\x00b.csv", "NUL"),
])
def test_validate_log_path_rejects_what_cannot_be_a_file(tmp_path, value, says):
    from jupyter_carbon.errors import ConfigError

    (tmp_path / "existing").mkdir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError) as info:
        paths.validate_log_path(value, instead="the default beside the notebook", cwd=tmp_path)
    text = str(info.value)
    assert says in text and "\n" not in text and len(text) < 300, text
    assert text.endswith("; using the default beside the notebook instead")
    assert value.strip()[:20] in text or not value.strip() or "\x00" in value
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "existing"]  # nothing made


def test_validate_log_path_special_files(tmp_path):
    from jupyter_carbon.errors import ConfigError

    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.csv")
        with pytest.raises(ConfigError, match="not a regular file"):
            paths.validate_log_path(tmp_path / "fifo.csv")
    if os.path.exists("/dev/null"):
        with pytest.raises(ConfigError, match="not a regular file"):
            paths.validate_log_path("/dev/null")


def test_validate_log_path_accepts_files(tmp_path, monkeypatch):
    assert paths.validate_log_path("run.csv", cwd=tmp_path) == tmp_path / "run.csv"
    (tmp_path / "old.csv").write_text("a,b\n")
    assert paths.validate_log_path(str(tmp_path / "old.csv")) == tmp_path / "old.csv"
    assert paths.validate_log_path("sub/../x.csv", cwd=tmp_path) == tmp_path / "x.csv"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.validate_log_path("~/h.csv") == tmp_path / "h.csv"
    assert paths.samples_path_for(tmp_path / "a.carbon.csv") == tmp_path / "a.carbon-samples.csv"
    assert paths.samples_path_for(tmp_path / "log") == tmp_path / "log-samples.csv"


def test_a_server_pid_is_alive_only_while_its_process_runs():
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert paths._alive(p.pid)
    finally:
        p.kill()
        p.wait()
    assert not paths._alive(p.pid)  # reaped: no such process
    assert paths._alive(os.getpid())
    assert not paths._alive(None) and not paths._alive(-1)

"""Live providers against a fake HTTP server on 127.0.0.1: never another host."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_carbon.errors import ConfigError
from jupyter_carbon.intensity import LiveIntensity, resolve
from jupyter_carbon.intensity.live import ENV_TOKEN

TOKEN = "tok-S3CRET-5f0c1d2e9a7b"


class FakeAPI:
    """Serves scripted answers; ``mode`` can change between fetches."""

    def __init__(self) -> None:
        self.mode = "good"
        self.value = 56
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                api.requests.append((self.path, dict(self.headers)))
                mode = api.mode
                if mode == "slow":
                    api.release.wait(5)
                if mode == "401":
                    # A hostile server echoing the token back in the reason phrase and body.
                    body = json.dumps({"error": f"bad token {TOKEN}"}).encode()
                    self.send_response(401, f"Unauthorized {TOKEN}")
                elif mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "/leak")
                    body = b""
                elif mode == "malformed":
                    self.send_response(200)
                    body = b"{not json"
                elif mode == "absurd":
                    self.send_response(200)
                    body = json.dumps({"carbonIntensity": 99999}).encode()
                else:
                    self.send_response(200)
                    body = json.dumps(api.payload(self.path)).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def payload(self, path: str) -> dict:
        if path.startswith("/v3/carbon-intensity/latest"):
            return {"zone": "FR", "carbonIntensity": self.value, "datetime": "2024-05-21T10:00:00.000Z",
                    "updatedAt": "2024-05-21T10:05:00.000Z", "emissionFactorType": "lifecycle",
                    "isEstimated": False}
        if path == "/intensity":
            return {"data": [{"from": "2024-05-21T10:00Z", "to": "2024-05-21T10:30Z",
                              "intensity": {"forecast": 150, "actual": None, "index": "moderate"}}]}
        if path.startswith("/regional/"):
            return {"data": [{"regionid": 13, "dnoregion": "UKPN London", "shortname": "London",
                              "data": [{"from": "2024-05-21T10:00Z", "to": "2024-05-21T10:30Z",
                                        "intensity": {"forecast": 120, "index": "low"},
                                        "generationmix": []}]}]}
        return {}

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    # urllib honours proxy variables; a proxy would be a host other than 127.0.0.1.
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def api():
    server = FakeAPI()
    yield server
    server.close()


@pytest.fixture
def lives():
    made: list[LiveIntensity] = []
    yield made
    for live in made:
        live.stop(timeout=2)


def _poll(cond, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def _em(api, lives, **kw) -> LiveIntensity:
    kw.setdefault("timeout_s", 0.3)
    kw.setdefault("refresh_s", 0.05)
    kw.setdefault("retry_s", 0.05)
    live = LiveIntensity("electricitymaps", zone="FR", token=TOKEN, base_url=api.url, **kw)
    lives.append(live)
    return live


def _timed(fn):
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def test_nothing_happens_until_started(api, lives):
    live = _em(api, lives)
    time.sleep(0.1)
    assert api.requests == [] and live.current() is None and not live.running
    assert resolve(live=live, country="DE").source.startswith("table:")


def test_good_answer(api, lives):
    live = _em(api, lives)
    _, took = _timed(live.start)
    assert took < 0.5  # start() only starts a thread; the fetch takes the API's time
    value = live.wait(3)
    assert value is not None and value.g_per_kwh == 56 and value.source == "live:electricitymaps"
    assert value.country_iso == "FR" and value.country_name == "France"
    path, headers = api.requests[0]
    assert path == "/v3/carbon-intensity/latest?zone=FR"
    assert {k.lower(): v for k, v in headers.items()}["auth-token"] == TOKEN  # its only destination
    assert live.last_error is None and live.last_success is not None
    assert resolve(live=live, country="DE") == value  # live beats the table...
    assert resolve(live=live, intensity=100).source == "explicit"  # ...an explicit value beats live
    api.value = 70
    assert _poll(lambda: live.current().g_per_kwh == 70)  # refreshed in the background


def test_slow_answer_keeps_last_good_value_and_never_blocks_the_caller(api, lives):
    live = _em(api, lives).start()
    assert live.wait(3).g_per_kwh == 56
    api.mode = "slow"
    worst = 0.0
    deadline = time.monotonic() + 3
    while live.last_error is None and time.monotonic() < deadline:
        value, took = _timed(live.current)
        worst = max(worst, took)
        assert value.g_per_kwh == 56
        time.sleep(0.005)
    assert "timed out" in live.last_error
    assert worst < 0.005
    assert live.current().g_per_kwh == 56
    _, took = _timed(lambda: live.stop(timeout=0.2))
    assert took < 0.5  # prompt even while a fetch hangs; the daemon thread ends on its own


def test_stop_is_prompt_and_restart_works(api, lives):
    live = _em(api, lives, refresh_s=60).start()
    assert live.wait(3) is not None
    stopped, took = _timed(lambda: live.stop(timeout=1))
    assert stopped and took < 0.5 and not live.running
    n = len(api.requests)
    live.start()
    assert _poll(lambda: len(api.requests) > n)


@pytest.mark.parametrize("mode, expected", [
    ("401", "HTTP 401"), ("malformed", "malformed JSON"), ("absurd", "implausible"),
    ("redirect", "HTTP 302"),
])
def test_bad_answers_record_one_line_error(api, lives, mode, expected):
    api.mode = mode
    live = _em(api, lives).start()
    assert _poll(lambda: live.last_error is not None)
    assert expected in live.last_error and "\n" not in live.last_error
    assert live.current() is None
    assert all(path != "/leak" for path, _ in api.requests)  # redirects are not followed


def test_network_down(lives):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    live = LiveIntensity("gb-grid", base_url=f"http://127.0.0.1:{port}", timeout_s=0.3,
                         refresh_s=0.05, retry_s=0.05)
    lives.append(live)
    live.start()
    assert _poll(lambda: live.last_error is not None)
    assert "cannot connect" in live.last_error and live.current() is None
    assert resolve(live=live, country="FR").source.startswith("table:")  # falls through


def test_gb_grid_national_and_regional(api, lives):
    national = LiveIntensity("gb-grid", base_url=api.url, refresh_s=60)
    regional = LiveIntensity("gb-grid", base_url=api.url, region_id=13, refresh_s=60)
    lives.extend([national, regional])
    value = national.start().wait(3)
    assert value.g_per_kwh == 150 and value.source == "live:gb-grid" and value.country_iso == "GB"
    value = regional.start().wait(3)
    assert value.g_per_kwh == 120 and value.region == "London"
    assert {p for p, _ in api.requests} == {"/intensity", "/regional/regionid/13"}


def test_token_never_leaks(api, lives, capsys, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    live = _em(api, lives).start()
    seen += [repr(live), str(live), repr(live.wait(3)), repr(live._provider)]
    api.mode = "401"
    assert _poll(lambda: live.last_error is not None)
    seen += [live.last_error, repr(live)]
    api.mode = "slow"
    assert _poll(lambda: live.last_error is not None and "timed out" in live.last_error)
    seen += [live.last_error, repr(live), repr(live.current())]
    live.stop(timeout=0.2)
    # Construction errors must not echo it either.
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    for kwargs in ({"base_url": "http://example.invalid"}, {"zone": "F R"}, {"refresh_s": 0}):
        with pytest.raises(ConfigError) as info:
            LiveIntensity("electricitymaps", **{"zone": "FR", **kwargs})
        seen.append(str(info.value))
    from_env = LiveIntensity("electricitymaps", zone="FR", base_url=api.url)
    seen += [repr(from_env), repr(from_env._provider), str(vars(from_env))]
    out = capsys.readouterr()
    seen += [out.out, out.err, caplog.text] + [r.getMessage() for r in caplog.records]
    for text in seen:
        assert TOKEN not in text


def test_token_required_and_https_enforced(monkeypatch):
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    with pytest.raises(ConfigError, match=ENV_TOKEN):
        LiveIntensity("electricitymaps", zone="FR", env={})
    with pytest.raises(ConfigError, match="plain http"):
        LiveIntensity("electricitymaps", zone="FR", token=TOKEN, base_url="http://10.0.0.1")
    with pytest.raises(ConfigError, match="unknown live provider"):
        LiveIntensity("watttime")
    with pytest.raises(ConfigError):
        LiveIntensity("gb-grid", region_id=99)


def test_import_does_not_touch_network_or_threads():
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "events = []\n"
        "sys.addaudithook(lambda e, a: events.append((e, a)) if e in ('socket.connect', 'open') else None)\n"
        "import jupyter_carbon.intensity as ci\n"
        "from jupyter_carbon.intensity import resolve, lookup_country, describe\n"
        "opened = [a[0] for e, a in events if e == 'open' and isinstance(a[0], str)\n"
        "          and not a[0].endswith(('.py', '.pyc')) and '__pycache__' not in a[0]]\n"
        "assert not any(e == 'socket.connect' for e, _ in events), events\n"
        "assert not [p for p in opened if p.endswith(('.csv', '.tab'))], opened\n"
        "assert threading.active_count() == 1\n"
        "assert 'urllib.request' not in sys.modules\n"
        "assert ci.table._cache == {}\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


# -- the token in every form, and a stop that never waits ------------------------------------

def _forms(secret: str) -> list[str]:
    import base64
    import urllib.parse

    return [secret, repr(secret), repr(secret.encode()), urllib.parse.quote(secret, safe=""),
            base64.b64encode(secret.encode()).decode()]


def test_a_token_read_with_a_trailing_newline_is_stripped_and_never_shown(api, lives, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    live = LiveIntensity("electricitymaps", zone="FR", token=TOKEN + "\n", base_url=api.url,
                         timeout_s=0.3, refresh_s=0.05, retry_s=0.05)
    lives.append(live)
    assert live.start().wait(3) is not None, live.last_error  # the header went out, stripped
    sent = {k.lower(): v for k, v in api.requests[-1][1].items()}["auth-token"]
    assert sent == TOKEN
    api.mode = "401"  # the server echoes the token back
    assert _poll(lambda: live.last_error is not None)
    out = capsys.readouterr()
    texts = [live.last_error, repr(live), str(vars(live)), out.out, out.err, caplog.text]
    for text in texts:
        for form in _forms(TOKEN) + _forms(TOKEN + "\n"):
            assert form not in text, (form, text)


def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it():
    for bad in ("tok en", "tok\nen", "tok\x00en", "t\u00f6ken", "   "):
        with pytest.raises(ConfigError) as info:
            LiveIntensity("electricitymaps", zone="FR", token=bad, base_url="https://127.0.0.1:1")
        message = str(info.value)
        assert "\n" not in message and ENV_TOKEN in message
        assert bad.strip() not in message or not bad.strip()
        assert repr(bad)[1:-1] not in message


class _EchoForms(BaseHTTPRequestHandler):
    """A hostile server that echoes the auth header back in repr, bytes and base64 forms."""

    def do_GET(self):  # noqa: N802
        import base64

        tok = self.headers.get("auth-token", "")
        reason = f"denied {tok!r} {tok.encode()!r} {base64.b64encode(tok.encode()).decode()}"
        self.send_response(403, reason)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_every_form_of_the_token_is_redacted_from_errors(lives):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoForms)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        live = LiveIntensity("electricitymaps", zone="FR", token=TOKEN, timeout_s=1,
                             base_url=f"http://127.0.0.1:{server.server_address[1]}")
        lives.append(live)
        live.start()
        assert _poll(lambda: live.last_error is not None)
        assert "HTTP 403" in live.last_error and "***" in live.last_error
        for form in _forms(TOKEN):
            assert form not in live.last_error and form not in repr(live)
    finally:
        server.shutdown()
        server.server_close()


def test_base_url_can_come_from_the_environment(api, lives):
    env = {"JUPYTER_CARBON_GB_GRID_URL": api.url}
    live = LiveIntensity("gb-grid", env=env, refresh_s=60)
    lives.append(live)
    assert live.start().wait(3).g_per_kwh == 150


def test_stop_returns_at_once_while_a_fetch_hangs_and_drops_its_answer(api, lives):
    api.mode = "slow"  # the server holds the request until released (like a DNS lookup that hangs)
    live = _em(api, lives, timeout_s=30, refresh_s=60)
    live.start()
    assert _poll(lambda: len(api.requests) == 1)
    thread = live._thread
    joins = []
    real_join = thread.join
    thread.join = lambda timeout=None: (joins.append(timeout), real_join(timeout))[1]
    assert live.stop() is False  # it has not ended, and stop did not wait for it
    assert joins == [] and thread.is_alive() and not live.running
    live.start()  # a config change: a new thread even though the old one is stuck
    assert live._thread is not thread and live.running
    live.stop()
    api.mode = "good"
    api.release.set()  # the old fetches now complete...
    assert _poll(lambda: not thread.is_alive(), timeout=10)
    assert live.current() is None  # ...and their answers are dropped


def test_carbon_status_in_a_real_shell_never_shows_the_token(api, shell, notebook_dir, capsys,
                                                             monkeypatch):
    api.mode = "401"  # rejected, and the server echoes the token
    monkeypatch.setenv("JUPYTER_CARBON_LIVE", "electricitymaps")
    monkeypatch.setenv(ENV_TOKEN, TOKEN + "\n")  # as read from a file
    monkeypatch.setenv("JUPYTER_CARBON_ELECTRICITYMAPS_URL", api.url)
    shell.run_cell("%load_ext jupyter_carbon", store_history=True)
    shell.run_cell("x = 1", store_history=True)
    seen = []

    def status_says_why():
        shell.run_cell("%carbon", store_history=True)
        out = capsys.readouterr()
        seen.extend([out.out, out.err])
        return "live provider:" in out.out

    assert _poll(status_says_why, timeout=10), seen[-2:]
    shell.run_cell("%carbon config", store_history=True)
    out = capsys.readouterr()
    seen += [out.out, out.err, (notebook_dir / "analysis.carbon.csv").read_text()]
    for text in seen:
        for form in _forms(TOKEN):
            assert form not in text, form

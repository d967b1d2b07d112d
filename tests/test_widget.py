"""The live widget's model: state from a real session and meter, throttling, threads,
the ipykernel 7.0.x path, the text/html fallback, and the one-model-per-kernel API.

The meter reads a replayed power trace (this machine's real sensors would make the
figures unpredictable); everything else is real: the session, the sampler, anywidget and
ipywidgets (their comm is a no-op outside a kernel; we record what it is asked to send).
"""
from __future__ import annotations

import contextvars
import json
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from jupyter_carbon.cells import CellOptions
from jupyter_carbon.engine.meter import Meter
from jupyter_carbon.sensors.discover import SensorSetup
from jupyter_carbon.engine.sample import samples_after
from jupyter_carbon.sensors.replay import PowerTrace, ReplaySensor

ROOT = Path(__file__).resolve().parents[1]
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def dummy_comm(monkeypatch):
    """Widgets get the ``comm`` package's no-op comm, whatever ran before in this process.

    Once ipykernel has been imported (other tests do), ``comm.create_comm`` makes
    ipykernel comms, and without a running kernel ipywidgets then skips sending state
    altogether, so there would be no messages to count.
    """
    import comm
    from ipywidgets.widgets.widget import _instances

    monkeypatch.setattr(comm, "create_comm", lambda *a, **kw: comm.DummyComm(*a, **kw))
    before = set(_instances)
    yield
    for model_id in set(_instances) - before:  # close what the test made, while comm is patched
        w = _instances.get(model_id)
        if w is not None:
            if hasattr(w, "detach"):
                w.detach()
            w.close()


@pytest.fixture
def session(replay_session):
    """The shared replayed session (conftest), with the widget detached before it closes."""
    yield replay_session


def record_sends(w):
    """Record every comm message the widget sends: (thread name, data).

    Patched at ``Widget._send`` (every state message goes through it) rather than on the
    comm: outside a kernel the comm may be ipykernel's, which drops messages silently.
    """
    sent = []

    def send(msg, buffers=None):
        sent.append((threading.current_thread().name, msg))

    w._send = send
    return sent


def sent_states(sent):
    """(thread name, state) of each state update among the messages (the model's custom
    ``state`` messages)."""
    return [(name, d["content"]["state"]) for name, d in sent
            if d.get("method") == "custom" and d.get("content", {}).get("type") == "state"]


def states(sent):
    return [state for _, state in sent_states(sent)]


def tick(s, seconds: float = 1.0):
    s.clock.t += seconds
    return s.meter.sampler.tick()


# --- state ---------------------------------------------------------------------------------

def test_state_after_samples_and_cells(session):
    from jupyter_carbon.widget.live import CarbonWidget

    s = session
    w = CarbonWidget(s, min_period=0)
    assert w.state["sensors"] == [{"component": "cpu", "method": "replay-counter", "measured": True,
                          "name": "replay", "failed": None}]
    assert w.state["intensity"]["country_iso"] == "FR" and w.state["intensity"]["source"].startswith("table:")
    g_per_kwh = w.state["intensity"]["g_per_kwh"]
    assert w.state["running"] == {} and w.state["totals"]["cells"] == 0 and w.state["recent"] == []

    tick(s)
    assert w.state["power"] == {"total_w": 50.0, "by": {"cpu": 50.0}, "machine_w": 50.0}  # no attribution: the same
    assert w.state["status"]["state"] == "stopped"  # the sampler thread is not running in this test

    s.begin_cell(7, "cell-7")
    s.current.options = CellOptions(label="train")
    tick(s, 10)
    assert w.state["running"]["n"] == 7 and w.state["running"]["label"] == "train"
    assert w.state["running"]["elapsed_s"] == pytest.approx(10.0)
    assert w.state["running"]["energy_wh"] == pytest.approx(50 * 10 / 3600, rel=1e-3)
    assert w.state["running"]["co2_g"] == pytest.approx(50 * 10 / 3600 / 1000 * g_per_kwh, rel=1e-3)
    tick(s, 5)
    assert w.state["running"]["elapsed_s"] == pytest.approx(15.0)  # it grows while the cell runs

    s.clock.t += 1
    s.end_cell("ok")
    assert w.state["running"] == {}
    assert w.state["totals"]["cells"] == 1
    assert w.state["totals"]["energy_wh"] == pytest.approx(50 * 16 / 3600, rel=1e-3)
    assert w.state["totals"]["co2_g"] == pytest.approx(50 * 16 / 3600 / 1000 * g_per_kwh, rel=1e-3)
    assert w.state["recent"] == [{"n": 7, "label": "train", "status": "ok", "duration_s": 16.0,
                         "energy_wh": pytest.approx(50 * 16 / 3600, rel=1e-3),
                         "co2_g": pytest.approx(50 * 16 / 3600 / 1000 * g_per_kwh, rel=1e-3)}]

    for i in range(8):  # the last five cells, newest last
        s.begin_cell(10 + i, None)
        s.clock.t += 0.5
        s.end_cell("error" if i == 7 else "ok")
    assert [r["n"] for r in w.state["recent"]] == [13, 14, 15, 16, 17]
    assert w.state["recent"][-1]["status"] == "error"
    assert w.state["totals"]["cells"] == 9
    assert len(w.state["spark"]["w"]) >= 1 and w.state["spark"]["w"][-1] == 50.0
    json.dumps(w.snapshot())  # everything is JSON-ready


def test_follows_a_rebuilt_meter_and_config_changes(session):
    from jupyter_carbon.sensors.base import GPU
    from jupyter_carbon.widget.live import CarbonWidget

    s = session
    w = CarbonWidget(s, min_period=0)
    old = s.meter

    def two_sensors(settings):
        sensors = [ReplaySensor(PowerTrace([(0, 50)]), t0=s.clock.t),
                   ReplaySensor(PowerTrace([(0, 300)]), t0=s.clock.t, component=GPU, name="gpu0")]
        return Meter(sensors, clock=s.clock), SensorSetup(sensors)

    s.make_meter = two_sensors
    s.stop()  # what the session does when a sensor setting changes
    s.start()
    assert s.meter is not old and not old.sampler._listeners  # nothing left on the old meter
    assert [x["component"] for x in w.state["sensors"]] == ["cpu", "gpu"]
    tick(s)
    assert w.state["power"] == {"total_w": 350.0, "by": {"cpu": 50.0, "gpu": 300.0}, "machine_w": 350.0}
    s.configure("pue", "1.5")  # notifies "config": the intensity block shows the new PUE
    assert w.state["intensity"]["pue"] == 1.5


def test_sparkline_buckets_are_time_aligned_and_bounded():
    from types import SimpleNamespace

    from jupyter_carbon.widget.state import SPARK_POINTS, spark_state

    samples = [SimpleNamespace(wall=1000.0 + i, watts=(10.0 + i % 7, 5.0)) for i in range(900)]
    sp = spark_state(samples, 1899.0, 1.0)
    assert len(sp["w"]) <= SPARK_POINTS and sp["bucket_s"] == 2.5
    assert all(v is not None for v in sp["w"])
    gap = [x for x in samples if not 1700 <= x.wall < 1750]  # a 50 s hole in sampling
    sp2 = spark_state(gap, 1899.0, 1.0)
    assert None in sp2["w"]  # shown as a gap, not interpolated
    assert spark_state([], None, 1.0) == {"bucket_s": 0, "w": []}


def test_incremental_sparkline_matches_a_full_recompute():
    """The live widget folds in only new samples; it must show what a full recompute shows."""
    import random
    from collections import deque
    from types import SimpleNamespace

    from jupyter_carbon.widget.state import Sparkline, spark_state

    rng = random.Random(7)
    for interval in (0.1, 1.0, 4.0):
        buf: deque = deque(maxlen=10_000)
        spark = Sparkline()
        wall, mono = 1.7e9 + rng.random(), 50.0
        for step in range(2500):
            gap = interval * (40 if rng.random() < 0.005 else 1)  # now and then a hole in sampling
            wall, mono = wall + gap, mono + gap
            buf.append(SimpleNamespace(wall=wall, mono=mono, watts=(rng.uniform(5, 60), rng.choice((0.0, 250.0)))))
            if rng.random() < 0.3 or step == 2499:  # updates come at most every few samples
                assert spark.state(partial(samples_after, buf), wall, interval) == spark_state(list(buf), wall, interval), (interval, step)
    # a sample appended after ``now_wall`` is left for the next call, not lost
    buf = deque([SimpleNamespace(wall=100.0 + i, mono=float(i), watts=(10.0,)) for i in range(10)])
    spark = Sparkline()
    spark.state(partial(samples_after, buf), 105.0, 1.0)
    assert spark.state(partial(samples_after, buf), 109.0, 1.0) == spark_state(list(buf), 109.0, 1.0)
    assert spark.state(partial(samples_after, buf), None, 1.0) == {"bucket_s": 0, "w": []}


def test_sparkline_rounds_only_the_buckets_that_changed(monkeypatch):
    """An update after one new sample rounds a bucket or two, not all 120; a sample that a
    wall-clock step puts into a bucket already rounded still shows what a full recompute shows."""
    from collections import deque
    from types import SimpleNamespace

    from jupyter_carbon.widget import state

    buf: deque = deque(maxlen=4096)
    spark = state.Sparkline()
    for i in range(600):  # ten minutes at 1 s: every bucket of the span is filled
        buf.append(SimpleNamespace(wall=1000.0 + i, mono=float(i), watts=(10.0 + i % 7,)))
    first = spark.state(partial(samples_after, buf), buf[-1].wall, 1.0)
    assert len(first["w"]) == 120
    calls = []
    real_r = state.r
    monkeypatch.setattr(state, "r", lambda *a: calls.append(a) or real_r(*a))
    buf.append(SimpleNamespace(wall=1600.0, mono=600.0, watts=(99.0,)))
    spark.state(partial(samples_after, buf), 1600.0, 1.0)
    assert len(calls) <= 3  # bucket_s and the newest bucket(s)
    # the wall clock stepped back 10 s: a bucket already rounded gets one more sample
    buf.append(SimpleNamespace(wall=1590.5, mono=601.0, watts=(500.0,)))
    assert spark.state(partial(samples_after, buf), 1600.5, 1.0) == state.spark_state(list(buf), 1600.5, 1.0)


# --- throttling and threads ---------------------------------------------------------------

def test_burst_of_1000_samples_sends_at_most_a_few_messages(session):
    from jupyter_carbon.widget.live import CarbonWidget

    s = session
    w = CarbonWidget(s)  # default: at most one state message per 0.5 s
    sent = record_sends(w)
    s.begin_cell(3, None)  # the running figures change with every sample
    t0 = time.monotonic()
    for _ in range(1000):
        tick(s, 0.01)
    burst = time.monotonic() - t0
    n = len(states(sent))
    assert 1 <= n <= 2 + int(burst / 0.5), (n, burst)
    for st in states(sent):  # batched: one message carries several traits
        assert set(st) <= {"power", "spark", "running", "status", "totals", "recent", "intensity", "sensors"}
    time.sleep(0.55)
    tick(s, 0.01)  # the next sample after the period carries the latest figures
    assert len(states(sent)) == n + 1
    assert w.state["running"]["elapsed_s"] == pytest.approx(10.01, abs=0.02)
    assert states(sent)[-1]["running"]["elapsed_s"] == w.state["running"]["elapsed_s"]


def test_unchanged_traits_are_not_resent(session):
    from jupyter_carbon.widget.live import CarbonWidget

    s = session
    w = CarbonWidget(s, min_period=0)
    sent = record_sends(w)
    tick(s)
    tick(s)
    keys = [set(st) for st in states(sent)]
    assert "power" in keys[0]
    assert all("power" not in k and "sensors" not in k for k in keys[1:])  # 50 W both times


def test_running_figures_update_from_the_sampler_thread_while_main_is_busy(notebook_dir):
    """A real sampler thread; the main thread sleeps inside a 'cell'."""
    from jupyter_carbon.config import Settings
    from jupyter_carbon.session import CarbonSession
    from jupyter_carbon.widget.live import CarbonWidget

    from jupyter_carbon.runtime import build_meter

    s = CarbonSession(Settings(None), build_meter, notebook=notebook_dir / "a.ipynb", kernel_id="t",
                      announce=lambda m: None).start()
    try:
        s.meter.sampler.interval = 0.05
        w = CarbonWidget(s)
        sent = record_sends(w)
        s.begin_cell(1, None)
        time.sleep(1.8)  # "user code" holding the main thread
        during = [(th, st) for th, st in sent_states(sent) if "running" in st]
        from_thread = [st["running"]["elapsed_s"] for th, st in during
                       if th == "jupyter-carbon-sampler" and st["running"]]
        assert len(from_thread) >= 2 and from_thread == sorted(from_thread) and from_thread[-1] > from_thread[0]
        assert len(states(sent)) <= 1 + 1.8 / 0.5 + 1  # at most ~2 per second
        s.end_cell("ok")
        time.sleep(0.6)
        assert w.state["running"] == {} and w.state["totals"]["cells"] == 1
        w.detach()
        assert w.handle not in s.subscribers.sample_handlers
    finally:
        s.close()


# --- ipykernel 7.0.x ----------------------------------------------------------------------

def test_ipykernel_version_detection():
    from jupyter_carbon.kernel_compat import ipykernel_thread_mode

    assert ipykernel_thread_mode("7.0.0") == "context"
    assert ipykernel_thread_mode("7.0.1") == "context"
    assert ipykernel_thread_mode("7.1.0") == "thread"
    assert ipykernel_thread_mode("6.29.5") == "thread"
    assert ipykernel_thread_mode("7.10.0") == "thread"


_parent = contextvars.ContextVar("shell_parent")  # stands in for ipykernel 7.0's ContextVar


def _send_like_ipykernel_70(sent):
    def send(msg, buffers=None):
        parent = _parent.get()  # raises LookupError on a thread that never set it, as 7.0.x does
        sent.append((threading.current_thread().name, parent, msg))
    return send


def test_ipykernel_70_context_mode_sends_from_the_thread_with_the_cells_parent(session):
    from jupyter_carbon.widget.live import CarbonWidget

    s = session
    _parent.set({"msg_id": "cell-1"})
    w = CarbonWidget(s, min_period=0, thread_mode="context")
    sent = []
    w._send = _send_like_ipykernel_70(sent)
    _parent.set({"msg_id": "cell-2"})
    s.begin_cell(2, None)  # main thread: captures the context of this cell
    out = []
    th = threading.Thread(target=lambda: out.append(tick(s, 2)), name="jupyter-carbon-sampler")
    th.start()
    th.join()
    thread_msgs = [(p, d) for name, p, d in sent if name == "jupyter-carbon-sampler"]
    assert thread_msgs and thread_msgs[-1][0] == {"msg_id": "cell-2"}
    assert w.state["running"]["elapsed_s"] == pytest.approx(2.0)
    assert w.thread_mode == "context"


def test_thread_send_failures_fall_back_to_cell_boundaries_silently(session, capsys):
    from jupyter_carbon.widget.live import CarbonWidget

    s = session
    _parent.set({"msg_id": "main"})
    w = CarbonWidget(s, min_period=0, thread_mode="thread")  # as if 7.0.x were not detected
    sent = []
    w._send = _send_like_ipykernel_70(sent)
    s.begin_cell(4, None)

    def sampler_ticks():
        for _ in range(5):
            tick(s, 1)

    th = threading.Thread(target=sampler_ticks, name="jupyter-carbon-sampler")
    th.start()
    th.join()
    assert w.thread_mode == "boundary" and "LookupError" in w.thread_error
    assert w.handle in s.subscribers.sample_handlers  # never raised into the sampler
    s.end_cell("ok")  # main thread: the cell boundary still updates the views
    assert w.state["totals"]["cells"] == 1 and w.state["running"] == {}
    assert any(name == "MainThread" and "totals" in d["content"]["state"] for name, _, d in sent)
    assert capsys.readouterr().out == ""


def test_state_goes_out_as_changes_and_a_front_end_asking_again_gets_the_latest(session):
    """Updates are one custom message with only what changed; the model's state for a view
    that opens, or a page that asks again after a reload (``request_state``), is the latest."""
    from jupyter_carbon.widget.live import STATE_KEYS, CarbonWidget

    s = session
    w = CarbonWidget(s, min_period=0)
    sent = record_sends(w)
    s.begin_cell(3, None)
    tick(s, 2)
    updates = states(sent)
    assert updates and set(updates[-1]) <= set(STATE_KEYS) and "running" in updates[-1]
    assert "sensors" not in updates[-1] and "intensity" not in updates[-1]  # unchanged: not re-sent
    full = w.get_state()
    assert {k: full[k] for k in STATE_KEYS} == w.state and "_esm" in full
    assert w.get_state("running") == {"running": w.state["running"]}
    assert set(w.get_state(["_css", "power"])) == {"_css", "power"}
    sent.clear()
    w._handle_msg({"content": {"data": {"method": "request_state"}}, "buffers": []})
    (update,) = [d for _, d in sent if d.get("method") == "update"]
    assert update["state"]["running"] == w.state["running"] and update["state"]["running"]["n"] == 3
    s.end_cell("ok")


# --- fallback and safety --------------------------------------------------------------------

def test_mimebundle_has_widget_view_plain_and_escaped_html(session):
    from jupyter_carbon.widget.live import CarbonWidget

    s = session
    w = CarbonWidget(s, min_period=0)
    tick(s)
    s.begin_cell(5, None)
    s.current.options = CellOptions(label=XSS)
    tick(s, 3)
    assert w.state["running"]["label"] == XSS  # the model carries the text as it is
    s.end_cell("ok")
    data, _meta = w._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    html = data["text/html"]
    assert "<img" not in html and "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    tags = parse_tags(html)
    assert {t for t, _ in tags} <= {"div", "b", "span", "sub", "table", "thead", "tbody", "tr", "th", "td"}
    assert not [a for _, attrs in tags for a, _v in attrs if a.startswith("on")]  # no event handlers
    assert [t for t in parse_text(html) if XSS in t]  # the label is there, as text
    text = data["text/plain"]
    assert "[5] " + XSS in text and "50 W" in text and "CO₂e" in text
    assert "mWh" in text  # readable units: 41.7 mWh, not 0.0417 Wh


def parse_tags(html):
    from html.parser import HTMLParser

    tags = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, attrs))

    P().feed(html)
    return tags


def parse_text(html):
    from html.parser import HTMLParser

    texts = []

    class P(HTMLParser):
        def handle_data(self, data):
            texts.append(data)

    P(convert_charrefs=True).feed(html)
    return texts


def test_js_renders_user_text_only_as_text():
    """The front-end never parses kernel strings as HTML (the browser test checks the DOM)."""
    sources = [ROOT / "js" / "render" / "view.js", ROOT / "js" / "widget.js", ROOT / "js" / "render" / "format.js",
               *sorted((ROOT / "labextension" / "src").glob("*.ts"))]
    built = ROOT / "src" / "jupyter_carbon" / "widget" / "static" / "widget.js"
    if built.is_file():
        sources.append(built)
    sources += sorted((ROOT / "src" / "jupyter_carbon" / "labextension" / "static").glob("*.js"))
    for path in sources:
        code = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                     "createContextualFragment", "DOMParser", "eval(", "new Function"):
            assert sink not in code, f"{sink} in {path}"
    assert "textContent" in sources[0].read_text()


def test_js_units_match_python_units(tmp_path):
    """The JS formatters mirror units.py (run with node when it is installed)."""
    import shutil

    from jupyter_carbon.units import fmt_duration, fmt_energy_wh, fmt_mass_g, fmt_power_w

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    values = [0, 1e-7, 4.2e-5, 0.000544, 0.0417, 0.5, 1, 12.34, 99.96, 123.4, 1234.5, 2.5e6]
    module = tmp_path / "widget.mjs"  # an ES module whatever package.json says
    module.write_text((ROOT / "js" / "render" / "format.js").read_text())  # shared by both front-ends
    script = (f"import('{module.as_uri()}').then(m => console.log(JSON.stringify("
              f"{json.dumps(values)}.map(v => [m.fmtEnergyWh(v), m.fmtMassG(v), m.fmtPowerW(v), "
              "m.fmtDuration(v)]))))")
    out = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    expected = [[fmt_energy_wh(v), fmt_mass_g(v), fmt_power_w(v), fmt_duration(v)] for v in values]
    assert json.loads(out) == expected


# --- the public API: one model per kernel ---------------------------------------------------

def test_one_model_per_kernel_sidebar_fallback_and_detach(session, shell, capsys, monkeypatch):
    pytest.importorskip("sidecar")
    from jupyter_carbon import widget as jw

    s = session
    views = jw.WidgetOutput(s)
    views.show_inline()
    w = views.get()
    views.show_inline()
    assert views.get() is w and len(w._handles) == 2  # two views, one model
    capsys.readouterr()

    w.frontends["Jupyter Notebook"] = 1  # what the JS reports outside JupyterLab
    views.show_sidebar()
    out = capsys.readouterr().out
    assert out.count("jupyter-carbon:") == 1 and "needs JupyterLab" in out and "inline" in out
    assert len(w._handles) == 3 and w._sidecar is None

    w.frontends.clear()
    monkeypatch.setitem(sys.modules, "sidecar", None)  # not installed
    views.show_sidebar()
    assert "sidecar" in capsys.readouterr().out
    monkeypatch.delitem(sys.modules, "sidecar")

    w.frontends["JupyterLab"] = 1
    views.show_sidebar()
    first = w._sidecar
    assert first is not None and first.title == "Carbon" and first.anchor == "right"
    views.show_sidebar()  # again: the old panel is replaced, not duplicated
    assert w._sidecar is not first and first.comm is None

    views.close()
    assert w.closed and w.comm is None and w._sidecar is None
    assert w.handle not in s.subscribers.handlers and w.handle not in s.subscribers.sample_handlers
    assert views.widget is None
    with pytest.raises(RuntimeError):
        views.get()  # a closed output makes no new model


def test_hello_from_the_front_end_is_recorded(session):
    from jupyter_carbon.widget.live import CarbonWidget

    w = CarbonWidget(session)
    w._handle_custom_msg({"type": "hello", "app": "JupyterLab"}, [])
    w._handle_custom_msg({"type": "other"}, [])
    assert w.frontends == {"JupyterLab": 1}


def test_importing_the_package_does_not_import_anywidget():
    code = ("import sys, jupyter_carbon.widget as w; "
            "print(any(m in sys.modules for m in ('anywidget', 'ipywidgets', 'sidecar')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


# --- a real kernel ----------------------------------------------------------------------------

@pytest.mark.kernel
def test_real_kernel_streams_running_cell_updates_while_the_cell_runs(notebook_dir):
    """ipykernel (whatever version is installed): widget updates arrive on IOPub during a
    busy cell, from the sampler thread, before the cell's reply."""
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("JUPYTER_CARBON_")}
    env.update(JUPYTER_CARBON_COUNTRY="FR", JUPYTER_CARBON_INTERVAL="0.25", JUPYTER_CARBON_WIDGET="1",
               JUPYTER_CARBON_GPU="0")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(notebook_dir), env=env)
    try:
        kc.execute_interactive("%load_ext jupyter_carbon", timeout=60)
        printed = []
        kc.execute_interactive("from jupyter_carbon.magics import magics_of\n"
                               "w = magics_of(get_ipython()).ext.widget_output().get()\n"
                               "print(w.comm.comm_id, w.thread_mode)",
                               output_hook=lambda m: printed.append(m["content"].get("text", "")), timeout=30)
        comm_id, mode = "".join(printed).split()
        updates = []

        def hook(msg):
            c = msg["content"]
            if (msg["header"]["msg_type"] == "comm_msg" and c.get("comm_id") == comm_id
                    and c.get("data", {}).get("method") == "custom"
                    and c["data"].get("content", {}).get("type") == "state"):
                updates.append(c["data"]["content"]["state"])

        reply = kc.execute_interactive("import time\nt = time.time()\nwhile time.time() - t < 2.5: pass",
                                       output_hook=hook, timeout=60)
        assert reply["content"]["status"] == "ok"
        running = [st["running"]["elapsed_s"] for st in updates if st.get("running")]
        assert len(running) >= 2, updates
        assert running == sorted(running) and running[-1] >= 1.0
        assert len(updates) <= 2.5 / 0.5 + 3
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_full_state_reads_only_the_sparklines_span(session, monkeypatch):
    """A widget built late in a session reads the last minutes, not the whole ring buffer,
    and its sparkline is what the whole buffer gives."""
    from jupyter_carbon.widget import state

    s = session
    sp = s.meter.sampler
    monkeypatch.setattr(time, "time", lambda: 1.7e9 + s.clock.t)  # wall time moves with the clock
    for _ in range(900):  # 15 minutes at 1 s
        tick(s)
    asked = []
    real = sp.samples_after
    sp.samples_after = lambda mono: asked.append(real(mono)) or asked[-1]
    full = state.full_state(s)
    everything = list(sp.buffer)
    assert full["spark"] == state.spark_state(everything, everything[-1].wall, 1.0)
    assert len(full["spark"]["w"]) > 50 and len(asked[0]) < 400  # 5 minutes and a margin, of 900

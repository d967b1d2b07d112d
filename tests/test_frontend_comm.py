"""The lab extension's data path in a real kernel: the comm target ``jupyter_carbon``.

The test plays the front-end with jupyter_client: it opens the comm the way the lab extension
does (``comm_open`` to the target), runs cells with JupyterLab's ``cellId`` in the request
metadata, and reads what the kernel sends on IOPub.
"""
from __future__ import annotations

import queue
import time
import uuid

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.kernel

TARGET = "jupyter_carbon"


@pytest.fixture
def kernel(notebook_dir, monkeypatch):
    monkeypatch.setenv("JUPYTER_CARBON_INTERVAL", "0.1")
    monkeypatch.setenv("JUPYTER_CARBON_COUNTRY", "FR")
    monkeypatch.setenv("JUPYTER_CARBON_WIDGET", "false")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(notebook_dir))
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc, code: str, cell_id: str | None = None, timeout: float = 60) -> list[dict]:
    """Run ``code`` like JupyterLab (with ``cellId``); every IOPub message until idle."""
    msg = kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False,
                                             "stop_on_error": True},
                         metadata={"cellId": cell_id} if cell_id else {})
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    return collect(kc, until=lambda m: m["parent_header"].get("msg_id") == msg_id
                   and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle",
                   timeout=timeout)


def collect(kc, until, timeout: float = 30) -> list[dict]:
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            m = kc.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            continue
        got.append(m)
        if until(m):
            return got
    raise AssertionError(f"timed out; got {[m['msg_type'] for m in got]}")


def open_comm(kc) -> str:
    comm_id = uuid.uuid4().hex
    kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": TARGET,
                                                       "data": {"type": "hello"}}))
    return comm_id


def comm_data(msgs, comm_id=None) -> list[dict]:
    return [m["content"]["data"] for m in msgs if m["msg_type"] == "comm_msg"
            and (comm_id is None or m["content"]["comm_id"] == comm_id)]


def test_no_comm_message_without_a_front_end(kernel):
    msgs = execute(kernel, "%load_ext jupyter_carbon", "load")
    msgs += execute(kernel, "import time; time.sleep(1.2)", "c1")
    kinds = {m["msg_type"] for m in msgs}
    assert not kinds & {"comm_open", "comm_msg", "comm_close"}, kinds


LISTENING = ("from jupyter_carbon.magics import magics_of\n"
             "print('listeners', len(magics_of(get_ipython()).ext.session.meter.sampler._listeners))")


def listeners(kc) -> int:
    out = "".join(m["content"].get("text", "") for m in execute(kc, LISTENING) if m["msg_type"] == "stream")
    return int(out.split("listeners", 1)[1].split()[0])


def test_the_sampler_tells_the_front_end_output_only_while_one_is_connected(kernel):
    execute(kernel, "%load_ext jupyter_carbon", "load")
    assert listeners(kernel) == 0  # no widget, no front-end: a tick calls nothing
    comm_id = open_comm(kernel)
    collect(kernel, until=lambda m: m["msg_type"] == "comm_msg")
    assert listeners(kernel) == 1
    kernel.shell_channel.send(kernel.session.msg("comm_close", {"comm_id": comm_id, "data": {}}))
    deadline = time.monotonic() + 10
    while listeners(kernel) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listeners(kernel) == 0


def test_front_end_gets_start_live_and_end_with_its_cell_id(kernel):
    execute(kernel, "%load_ext jupyter_carbon", "load")
    comm_id = open_comm(kernel)
    hello = collect(kernel, until=lambda m: m["msg_type"] == "comm_msg")
    data = comm_data(hello, comm_id)[0]
    assert data["type"] == "hello" and data["protocol"] == 1
    assert {"power", "totals", "sensors", "intensity", "recent", "status"} <= set(data["state"])
    # the %load_ext cell ended before the comm opened: hello carries its record
    assert data["last"]["cell_id"] == "load" and data["last"]["record"]["status"] == "ok"

    started = time.monotonic()
    msgs = execute(kernel, "import time; time.sleep(2)", "cell-a")
    took = time.monotonic() - started
    sent = comm_data(msgs, comm_id)
    kinds = [d["type"] for d in sent]
    assert kinds[0] == "cell_start" and kinds[-1] == "cell_end", kinds
    assert sent[0]["cell_id"] == "cell-a" and sent[-1]["cell_id"] == "cell-a"
    lives = [d for d in sent if d["type"] == "live"]
    assert 2 <= len(lives) <= 2 * took + 2, (len(lives), took)  # live, at most ~2 a second
    sparks = [d for d in lives if "spark" in d["state"]]  # sent when the line moves on (2.5 s buckets)
    assert 1 <= len(sparks) <= took / 2.5 + 2 and len(sparks) < len(lives), (len(sparks), len(lives))
    running = [d["state"]["running"] for d in lives if d["state"]["running"]]
    assert running and running[-1]["elapsed_s"] > running[0]["elapsed_s"]
    assert all(d["run"] == sent[0]["run"] for d in sent)
    rec = sent[-1]["record"]
    for key in ("energy_kwh", "emissions_kg", "duration_s", "status", "intensity", "methods",
                "execution_count", "measured"):
        assert key in rec, key
    assert rec["status"] == "ok" and 1.8 < rec["duration_s"] < 10
    assert rec["energy_kwh"] > 0 and rec["emissions_kg"] > 0 and rec["intensity"] > 0
    assert set(rec["methods"]) >= {"cpu", "ram"} and rec["measured"] is False  # no RAPL here
    assert sent[-1]["state"]["totals"]["cells"] == 2


def test_error_status_sidebar_request_and_unload(kernel):
    execute(kernel, "%load_ext jupyter_carbon", "load")
    comm_id = open_comm(kernel)
    collect(kernel, until=lambda m: m["msg_type"] == "comm_msg")
    msgs = execute(kernel, "1/0", "bad")
    end = [d for d in comm_data(msgs, comm_id) if d["type"] == "cell_end"][-1]
    assert end["cell_id"] == "bad" and end["record"]["status"] == "error"

    msgs = execute(kernel, "%carbon sidebar", "side")
    assert {"type": "open_panel"} in comm_data(msgs, comm_id)
    out = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    assert "Carbon panel" in out and "sidecar" not in out

    msgs = execute(kernel, "%unload_ext jupyter_carbon", "unload")
    assert any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == comm_id for m in msgs)
    msgs = execute(kernel, "1+1", "after")
    assert not [m for m in msgs if m["msg_type"].startswith("comm")]


def test_comm_to_a_kernel_without_the_extension_is_closed(kernel):
    comm_id = open_comm(kernel)
    msgs = collect(kernel, until=lambda m: m["msg_type"] == "comm_close", timeout=10)
    assert msgs[-1]["content"]["comm_id"] == comm_id
    msgs = execute(kernel, "1+1", "x")
    assert not [m for m in msgs if m["msg_type"] == "comm_msg"]

"""Real Jupyter kernels: a notebook executed by nbclient, and two kernels sharing one CSV."""
import csv
import time

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.kernel


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def send_cell_ids_like_jupyterlab(monkeypatch):
    """nbclient does not put ``cellId`` in the request metadata; JupyterLab does. Emulate it."""
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.client import KernelClient

    current = {}

    def execute(self, code, silent=False, store_history=True, user_expressions=None,
                allow_stdin=None, stop_on_error=True):
        content = dict(code=code, silent=silent, store_history=store_history,
                       user_expressions=user_expressions or {}, stop_on_error=stop_on_error,
                       allow_stdin=self.allow_stdin if allow_stdin is None else allow_stdin)
        msg = self.session.msg("execute_request", content, metadata={"cellId": current.get("id")})
        self.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    monkeypatch.setattr(KernelClient, "execute", execute)
    monkeypatch.setattr(AsyncKernelClient, "execute", execute)
    return lambda cell, cell_index: current.__setitem__("id", cell.id)


def test_notebook_cells_are_each_logged_once(notebook_dir, monkeypatch):
    on_cell = send_cell_ids_like_jupyterlab(monkeypatch)
    monkeypatch.setenv("JUPYTER_CARBON_TRACKING_MODE", "process")  # immune to other load on CI
    nb_path = notebook_dir / "analysis.ipynb"
    cells = [
        "%load_ext jupyter_carbon",
        "import time\ntime.sleep(1.5)",
        "t = time.perf_counter()\nwhile time.perf_counter() - t < 1.5:\n    pass",
        "1/0",
        "time.sleep(60)  # interrupted",
        "%%carbon --label 'fit <b>model</b>'\nsum(range(10**6))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, nb_path)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
        timeout_func=lambda cell: 4 if "interrupted" in cell.source else 120,
        resources={"metadata": {"path": str(notebook_dir)}}, on_cell_execute=on_cell)
    client.execute()
    nbformat.write(nb, nb_path)

    log = rows(notebook_dir / "analysis.carbon.csv")
    assert len(log) == len(cells)
    assert [r["status"] for r in log] == ["ok", "ok", "ok", "error", "interrupted", "ok"]
    assert [r["cell_id"] for r in log] == [c.id for c in nb.cells]
    assert [int(r["execution_count"]) for r in log] == [c.execution_count for c in nb.cells]
    assert log[5]["label"] == "fit <b>model</b>"
    sleeping, busy = log[1], log[2]
    assert float(busy["cpu_energy"]) > 5 * float(sleeping["cpu_energy"])
    assert abs(float(busy["duration"]) - float(sleeping["duration"])) < 0.5
    for r in log:
        assert r["notebook"] == str(nb_path)
        assert float(r["energy_consumed"]) >= 0 and r["ram_method"] == "ram-model"
    # the user's error output is untouched by the extension
    err = nb.cells[3].outputs[-1]
    assert err.output_type == "error" and err.ename == "ZeroDivisionError"
    assert not any("jupyter_carbon" in line for line in err.traceback)
    # the %%carbon cell shows its summary as text and HTML (label escaped)
    summary = [o for o in nb.cells[5].outputs if "text/html" in o.get("data", {})]
    assert summary and "fit &lt;b&gt;model&lt;/b&gt;" in summary[-1].data["text/html"]
    assert "kg CO₂e" in summary[-1].data["text/plain"]
    # the samples file was written in batches
    samples = notebook_dir / "analysis.carbon-samples.csv"
    assert samples.exists() and len(rows(samples)) >= 3


def test_two_kernels_append_to_one_file(notebook_dir):
    from jupyter_client.manager import start_new_kernel

    n = 40
    kernels = [start_new_kernel(kernel_name="python3", cwd=str(notebook_dir)) for _ in range(2)]
    try:
        for _, kc in kernels:
            kc.execute_interactive("%load_ext jupyter_carbon", timeout=60)
        msg_ids = []
        for i in range(n):  # interleave: both kernels busy at once
            for _, kc in kernels:
                msg_ids.append((kc, kc.execute(f"x = {i}")))
        deadline = time.time() + 120
        for kc, mid in msg_ids:
            while True:
                reply = kc.get_shell_msg(timeout=max(1, deadline - time.time()))
                if reply["parent_header"].get("msg_id") == mid:
                    break
    finally:
        for km, kc in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    with open(notebook_dir / "analysis.carbon.csv", newline="") as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("timestamp,")
    assert sum(1 for ln in lines if ln.startswith("timestamp,")) == 1
    log = rows(notebook_dir / "analysis.carbon.csv")
    assert len(log) == 2 * (n + 1)
    by_session = {}
    for r in log:
        assert len(r) == len(log[0]) and None not in r  # no torn or merged lines
        by_session.setdefault(r["session_id"], []).append(int(r["execution_count"]))
    assert len(by_session) == 2
    for counts in by_session.values():
        assert sorted(counts) == list(range(1, n + 2))


def test_carbon_cell_live_line_updates_in_place_while_running(notebook_dir, monkeypatch):
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("JUPYTER_CARBON_INTERVAL", "0.2")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(notebook_dir))
    try:
        kc.execute_interactive("%load_ext jupyter_carbon", timeout=60)
        msgs = []
        kc.execute_interactive("%%carbon --label live\nimport time\ntime.sleep(2.5)", timeout=60,
                               output_hook=msgs.append)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    shown = [m for m in msgs if m["msg_type"] == "display_data"]
    updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1  # one line, updated in place, not appended
    display_id = shown[0]["content"]["transient"]["display_id"]
    running = [u for u in updates if "live: running" in u["content"]["data"]["text/plain"]]
    assert len(running) >= 2 and all(u["content"]["transient"]["display_id"] == display_id for u in updates)
    assert len(updates) <= 2.5 / 0.5 + 3  # at most ~2 per second
    final = updates[-1]["content"]["data"]
    assert "live:" in final["text/plain"] and "kg CO₂e" in final["text/plain"]


def test_load_shows_a_placeholder_then_swaps_the_widget_into_it(notebook_dir, monkeypatch):
    """``%load_ext`` answers at once with a one-line placeholder (text and html), and the
    helper thread puts the live widget in that same display when it is built."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("JUPYTER_CARBON_WIDGET", "1")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(notebook_dir))
    try:
        _, _, msgs = _run(kc, "%load_ext jupyter_carbon")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(m["msg_type"] == "update_display_data" for m in msgs):
            try:
                msgs.append(kc.get_iopub_msg(timeout=1))
            except Exception:  # queue.Empty: the helper thread has not sent yet
                continue
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    shown = [m["content"] for m in msgs if m["msg_type"] == "display_data"]
    assert len(shown) == 1
    assert "live widget starting" in shown[0]["data"]["text/plain"]
    assert "live widget starting" in shown[0]["data"]["text/html"]
    swapped = [m["content"] for m in msgs if m["msg_type"] == "update_display_data"]
    assert swapped and swapped[0]["transient"]["display_id"] == shown[0]["transient"]["display_id"]
    assert "application/vnd.jupyter.widget-view+json" in swapped[0]["data"]


def _run(kc, code, timeout=60):
    out = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: out.append(m))
    text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
    return reply, text, out


def test_live_line_never_lands_in_user_captures_and_reloads_free_widgets(notebook_dir, monkeypatch):
    """Live updates go to the cell's own display, not into capture_output() inside it or in a
    later cell; 10 reloads with the widget on leave one model and no old session alive."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("JUPYTER_CARBON_INTERVAL", "0.1")
    monkeypatch.setenv("JUPYTER_CARBON_WIDGET", "1")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(notebook_dir))
    try:
        _run(kc, "%load_ext jupyter_carbon")
        _, text, msgs = _run(kc, "%%carbon --label live\nfrom IPython.utils.capture import capture_output\n"
                                 "import time\nwith capture_output() as cap:\n    time.sleep(1.5)\n"
                                 "print('captured', len(cap.outputs))")
        assert "captured 0" in text
        assert any(m["msg_type"] == "update_display_data" for m in msgs)  # it did update meanwhile
        _, text, _ = _run(kc, "with capture_output() as cap2:\n    time.sleep(1.0)\nprint('later', len(cap2.outputs))")
        assert "later 0" in text
        _run(kc, "import gc, weakref\nfrom jupyter_carbon.magics import magics_of\n"
                 "refs = [weakref.ref(magics_of(get_ipython()).ext.session)]")
        for _ in range(10):
            _run(kc, "%reload_ext jupyter_carbon")
            _run(kc, "refs.append(weakref.ref(magics_of(get_ipython()).ext.session))")
        time.sleep(0.5)  # the last widget is built on a helper thread
        _, text, _ = _run(kc, "gc.collect()\nfrom ipywidgets.widgets.widget import _instances\n"
                              "alive = sum(r() is not None for r in refs)\n"
                              "models = sum(type(w).__name__ == 'CarbonWidget' for w in list(_instances.values()))\n"
                              "print('alive', alive, 'models', models)")
        assert "alive 1 models 1" in text, text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

"""Dask clusters: real scheduler and worker processes (LocalCluster, ``dask worker``), no
mocks of Dask; fake powercap trees stand in for RAPL, which this machine lacks, and
``JUPYTER_CARBON_HOST_ID`` makes worker groups on this machine distinct hosts."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from fakes import make_powercap, set_counter  # noqa: E402
from jupyter_carbon.cluster.collector import ClusterCollector  # noqa: E402
from jupyter_carbon.cluster.protocol import (ELECT_HANDLER, REGISTER_HANDLER,  # noqa: E402
                                             SCHEDULER_PLUGIN, WORKER_PLUGIN)

TDP_W = 120.0


def burn(seconds):
    """CPU-bound for ``seconds`` of wall time; returns the thread's CPU seconds."""
    c0, end, x = time.thread_time(), time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        x += 1
    return time.thread_time() - c0


def wait_for(pred, timeout=30.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def reporting(col, hosts, after=None):
    """True once every host has reported (after ``after``, a wall time of this process)."""
    if col.offset is None:
        return False
    since = col.offset.to_remote(after) if after is not None else -1
    return all(h in col.last and col.last[h][1] > since for h in hosts)


@pytest.fixture
def env(tmp_path, monkeypatch):
    for var in list(os.environ):
        if var.startswith("JUPYTER_CARBON_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "no-powercap"
    empty.mkdir()
    return {"JUPYTER_CARBON_POWERCAP_ROOT": str(empty), "JUPYTER_CARBON_CPU_TDP": str(TDP_W),
            "JUPYTER_CARBON_GPU": "0"}


def local_cluster(n=2, **env):
    return distributed.LocalCluster(processes=True, n_workers=n, threads_per_worker=1,
                                    dashboard_address=None, env=env)


def connect(client, said=None, **kw):
    col = ClusterCollector(client, say=(said.append if said is not None else None), **kw).start()
    wait_for(lambda: col.state in ("ready", "failed"), what="the collector to connect")
    return col


def dask_worker(address, env, n=2):
    """``dask worker`` in its own process group, as on another machine (with tests/ on its
    path, as LocalCluster's workers have: Dask pickles this module's functions by name)."""
    path = os.pathsep.join(filter(None, [env.get("PYTHONPATH", os.environ.get("PYTHONPATH")),
                                         str(Path(__file__).parent)]))
    env = {**env, "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", str(n),
           "--nthreads", "1", "--no-dashboard"]
    log = open(os.environ.get("JC_TEST_WORKER_LOG", os.devnull), "ab")
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log, stderr=log,
                            start_new_session=True)


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_busy_window_is_charged_by_the_share_rule_and_an_idle_one_nothing(env):
    with local_cluster(**env, JUPYTER_CARBON_HOST_ID="sim-a") as cluster, \
            distributed.Client(cluster) as client:
        col = connect(client)
        wait_for(lambda: reporting(col, ["sim-a"]), what="the host's meter")
        ncpu = col.descriptors["sim-a"]["ncpu"]

        w = col.open()
        time.sleep(1.3)  # idle margins: the report intervals around the edges hold no work
        cpu_s = sum(client.gather(client.map(burn, [1.5] * 4, pure=False)))
        time.sleep(1.3)
        busy = col.close(w).result(15)

        assert busy.complete, busy.reason
        assert (busy.hosts, busy.workers) == (1, 2)
        assert busy.methods == {"cpu": "tdp-model", "ram": "ram-model"}
        (h,) = busy.details
        assert h.host == "sim-a" and h.workers == 2 and not h.local
        assert h.task_s == pytest.approx(6.0, rel=0.1)  # 4 tasks x 1.5 s, this client only
        assert h.gpu_share == 1.0
        # the rule: host energy x min(1, workers' CPU / host busy CPU) x this client's task share
        assert h.cpu_share == pytest.approx(min(1.0, h.workers_cpu_s / h.busy_s))
        assert busy.by_component["cpu"] == pytest.approx(h.energy_j["cpu"] * h.cpu_share)
        # the TDP model's host energy is TDP x busy seconds / CPUs, so the charge is the
        # workers' CPU seconds at TDP / CPUs: close to what the tasks measured themselves
        assert h.energy_j["cpu"] == pytest.approx(TDP_W / ncpu * h.busy_s, rel=0.02)
        expected = TDP_W / ncpu * cpu_s
        assert 0.9 * expected < busy.by_component["cpu"] < 1.5 * expected

        w = col.open()
        time.sleep(2.5)  # the cluster idles (only Dask's own heartbeats run there)
        idle = col.close(w).result(15)
        assert idle.complete and idle.workers == 2
        assert idle.energy_j < 0.01 * busy.energy_j

        # The kernel's own host is measured once: when the workers run where the kernel
        # does, their host's energy is already in the kernel's local row.
        col.local = "sim-a"
        w = col.open()
        client.gather(client.map(burn, [0.5] * 2, pure=False))
        local = col.close(w).result(15)
        assert local.details[0].local and local.energy_j == 0.0
        assert local.details[0].energy_j["cpu"] > 0 and local.workers == 2


def test_two_hosts_are_each_counted_once_and_summed(env, tmp_path):
    trees = {}
    for name, uj in (("sim-a", 1_000_000), ("sim-b", 9_000_000)):
        trees[name] = make_powercap(tmp_path / name, {
            "intel-rapl:0": {"name": "package-0", "energy_uj": uj},
            "intel-rapl:0:0": {"name": "dram", "energy_uj": uj // 2}})
    env = {k: v for k, v in env.items() if k != "JUPYTER_CARBON_CPU_TDP"}  # a set TDP wins over RAPL
    env_a = {**env, "JUPYTER_CARBON_HOST_ID": "sim-a", "JUPYTER_CARBON_POWERCAP_ROOT": str(trees["sim-a"])}
    env_b = {**env, "JUPYTER_CARBON_HOST_ID": "sim-b", "JUPYTER_CARBON_POWERCAP_ROOT": str(trees["sim-b"])}
    with local_cluster(**env_a) as cluster, distributed.Client(cluster) as client:
        proc = dask_worker(cluster.scheduler_address, env_b)
        try:
            client.wait_for_workers(4, timeout=60)
            col = connect(client)
            wait_for(lambda: reporting(col, ["sim-a", "sim-b"]), what="both hosts' meters")
            wait_for(lambda: sum(col.counts.values()) == 4, what="four registered workers")
            host_of = client.run(lambda: os.environ["JUPYTER_CARBON_HOST_ID"])
            on = {h: [a for a, x in host_of.items() if x == h] for h in ("sim-a", "sim-b")}

            w = col.open()
            opened = time.time()
            wait_for(lambda: reporting(col, ["sim-a", "sim-b"], after=opened), what="reports")
            set_counter(trees["sim-a"], "intel-rapl:0", 1_000_000 + 30_000_000)  # +30 J package
            set_counter(trees["sim-a"], "intel-rapl:0:0", 500_000 + 5_000_000)  # +5 J DRAM
            set_counter(trees["sim-b"], "intel-rapl:0", 9_000_000 + 50_000_000)
            set_counter(trees["sim-b"], "intel-rapl:0:0", 4_500_000 + 7_000_000)
            futs = [client.submit(burn, 1.0, workers=[a], pure=False) for h in on for a in on[h]]
            client.gather(futs)
            done = time.time()
            wait_for(lambda: reporting(col, ["sim-a", "sim-b"], after=done), what="later reports")
            part = col.close(w).result(15)
        finally:
            stop(proc)
    assert part.complete, part.reason
    assert (part.hosts, part.workers) == (2, 4)
    assert part.methods == {"cpu": "rapl", "ram": "rapl"} and part.measured == {"cpu": True, "ram": True}
    by_host = {h.host: h for h in part.details}
    # each host once, however many workers it runs: exactly the counters' increase
    assert by_host["sim-a"].energy_j["cpu"] == pytest.approx(30.0)
    assert by_host["sim-a"].energy_j["ram"] == pytest.approx(5.0)
    assert by_host["sim-b"].energy_j["cpu"] == pytest.approx(50.0)
    assert by_host["sim-b"].energy_j["ram"] == pytest.approx(7.0)
    for h in by_host.values():
        assert h.workers == 2 and h.task_s == pytest.approx(2.0, rel=0.15)
        assert 0 < h.cpu_share <= 1
    # summed over the hosts
    assert part.by_component["cpu"] == pytest.approx(sum(h.charged_j["cpu"] for h in part.details))
    assert part.by_component["cpu"] == pytest.approx(
        30.0 * by_host["sim-a"].cpu_share + 50.0 * by_host["sim-b"].cpu_share)


def test_a_worker_killed_mid_window_gives_a_partial_part_and_a_healthy_client(env):
    with local_cluster(**env, JUPYTER_CARBON_HOST_ID="sim-a") as cluster, \
            distributed.Client(cluster) as client:
        said = []
        col = connect(client, said)
        wait_for(lambda: reporting(col, ["sim-a"]), what="the host's meter")
        elected = client.run(lambda dask_worker: dask_worker.plugins[WORKER_PLUGIN].elected)
        pids = client.run(os.getpid)
        meter = next(a for a, e in elected.items() if e)
        other = next(a for a in elected if a != meter)

        w = col.open()
        fut = client.submit(burn, 2.0, workers=[other], pure=False)
        time.sleep(0.5)
        os.kill(pids[meter], signal.SIGKILL)  # the host's meter dies; its nanny restarts it
        assert fut.result(30) > 0
        time.sleep(1.5)
        part = col.close(w).result(15)
        assert not part.complete
        assert f"worker {meter}" in part.reason and "left" in part.reason
        assert part.workers == 2

        # the client and the cluster carry on, and the host is measured again
        assert client.submit(lambda x: x + 1, 1, pure=False).result(30) == 2
        client.wait_for_workers(2, timeout=60)
        wait_for(lambda: col.counts.get("sim-a") == 2, what="the restarted worker to register")
        now = time.time()
        wait_for(lambda: reporting(col, ["sim-a"], after=now), what="the new meter")
        w = col.open()
        client.gather(client.map(burn, [0.5, 0.5], pure=False))
        time.sleep(0.2)
        again = col.close(w).result(15)
        assert again.complete, again.reason
        assert again.energy_j > 0 and again.workers == 2
        assert said == []  # nothing to tell the user beyond the row itself


def test_closing_the_client_removes_the_plugins_cleanly(env):
    with local_cluster(**env, JUPYTER_CARBON_HOST_ID="sim-a") as cluster:
        sched = cluster.scheduler
        client = distributed.Client(cluster)
        col = connect(client)
        wait_for(lambda: reporting(col, ["sim-a"]), what="the host's meter")
        assert SCHEDULER_PLUGIN in sched.plugins and WORKER_PLUGIN in sched.worker_plugins
        w = col.open()
        late = col.open()  # a window still open when the collector's thread has ended
        client.close()
        part = col.close(w).result(15)  # still produced, marked partial
        assert not part.complete and "client closed" in part.reason
        wait_for(lambda: not col._finisher.is_alive(), what="the collector's thread to end")
        fut = col.close(late)
        assert fut.done()  # finished at once by close(), not left for a thread that is gone
        assert not fut.result().complete and "client closed" in fut.result().reason

        wait_for(lambda: SCHEDULER_PLUGIN not in sched.plugins
                 and WORKER_PLUGIN not in sched.worker_plugins, what="the plugins to go")
        assert REGISTER_HANDLER not in sched.handlers
        assert not [t for t in sched.get_events() if t.startswith("jupyter-carbon")]
        with distributed.Client(cluster) as c2:
            left = c2.run(lambda dask_worker: (WORKER_PLUGIN in dask_worker.plugins,
                                               ELECT_HANDLER in dask_worker.handlers))
        assert set(left.values()) == {(False, False)}
        wait_for(lambda: not col._finisher.is_alive(), what="the collector's thread to end")


def test_two_clients_on_one_cluster_each_get_their_share(env):
    with local_cluster(**env, JUPYTER_CARBON_HOST_ID="sim-a") as cluster, \
            distributed.Client(cluster) as a, distributed.Client(cluster, set_as_default=False) as b:
        ca, cb = connect(a), connect(b)
        wait_for(lambda: reporting(ca, ["sim-a"]) and reporting(cb, ["sim-a"]), what="the meter")
        wa, wb = ca.open(), cb.open()
        time.sleep(1.2)
        fa = a.map(burn, [1.5, 1.5], pure=False)
        fb = b.map(burn, [1.5, 1.5], pure=False)
        a.gather(fa), b.gather(fb)
        time.sleep(1.2)
        pa, pb = ca.close(wa).result(15), cb.close(wb).result(15)
        assert pa.complete and pb.complete, (pa.reason, pb.reason)
        (ha,), (hb,) = pa.details, pb.details
        assert ha.task_s == pytest.approx(3.0, rel=0.1) and hb.task_s == pytest.approx(3.0, rel=0.1)
        assert ha.all_task_s == pytest.approx(6.0, rel=0.1) == hb.all_task_s
        assert ha.gpu_share == pytest.approx(0.5, rel=0.1)
        # together they are charged the workers' part of the host, each about half
        workers_part = ha.energy_j["cpu"] * min(1.0, ha.workers_cpu_s / ha.busy_s)
        assert pa.by_component["cpu"] + pb.by_component["cpu"] == pytest.approx(workers_part, rel=0.1)
        assert pa.by_component["cpu"] == pytest.approx(pb.by_component["cpu"], rel=0.25)

        b_id = b.id
        b.close()  # the other client leaves: the plugin stays for this one
        plugin = cluster.scheduler.plugins[SCHEDULER_PLUGIN]
        wait_for(lambda: b_id not in plugin.subscribers, what="b to be unsubscribed")
        w = ca.open()
        a.submit(burn, 0.5, pure=False).result(30)
        time.sleep(0.2)
        alone = ca.close(w).result(15)
        assert alone.complete and alone.details[0].gpu_share == 1.0
        assert cluster.scheduler.plugins.get(SCHEDULER_PLUGIN) is plugin


BLOCK = '''import sys
class _NoJupyterCarbon:
    def find_spec(self, name, path=None, target=None):
        if name == "jupyter_carbon" or name.startswith("jupyter_carbon."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoJupyterCarbon())
'''


def test_workers_without_jupyter_carbon_are_said_once_and_marked(env, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK)  # a worker environment without the package
    with local_cluster(n=0, **env) as cluster, distributed.Client(cluster) as client:
        proc = dask_worker(cluster.scheduler_address, {**env, "PYTHONPATH": str(blocker)}, n=1)
        try:
            client.wait_for_workers(1, timeout=60)
            said = []
            col = connect(client, said)
            wait_for(lambda: any("workers" in s for s in said), what="the message")
            wait_for(lambda: col.unmetered == (1, 1), what="the worker to count as unmetered")
            w = col.open()
            time.sleep(1.0)
            client.submit(lambda: 1, pure=False).result(30)
            part = col.close(w).result(15)
        finally:
            stop(proc)
    assert len(said) == 1  # once, though the meter is missing on every report since
    assert "cannot run jupyter-carbon's meter" in said[0] and "jupyter_carbon" in said[0]
    assert "install jupyter-carbon" in said[0]
    assert not part.complete and "no jupyter-carbon meter" in part.reason
    assert (part.workers, part.hosts, part.energy_j) == (1, 1, 0.0)


KERNEL_CELLS = [
    "%load_ext jupyter_carbon",
    """import os, time, json
from distributed import LocalCluster, Client
cluster = LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                       env={"JUPYTER_CARBON_HOST_ID": "sim-k", "JUPYTER_CARBON_CPU_TDP": "100",
                            "JUPYTER_CARBON_POWERCAP_ROOT": os.environ["JC_TEST_EMPTY"]})
client = Client(cluster)
from jupyter_carbon.magics import magics_of
sub = magics_of(get_ipython()).ext.cluster""",
    "time.sleep(3)  # the first cell with the client connects the meters",
    """def burn(s):
    t, x = time.perf_counter() + s, 0
    while time.perf_counter() < t:
        x += 1
time.sleep(1.2)
client.gather(client.map(burn, [1.0] * 4, pure=False))
time.sleep(1.2)""",
    """part = sub.results[-1][1].result(15)
t = time.time() + 10  # the totals take the part in a callback run just after the result is set
while sub.session.totals.cluster_kwh < part.energy_kwh() * 0.999 and time.time() < t:
    time.sleep(0.05)
print("@@PART", json.dumps({"workers": part.workers, "hosts": part.hosts,
      "complete": part.complete, "reason": part.reason, "kwh": part.columns()["cluster_energy"],
      "cpu_j": part.by_component.get("cpu", 0), "totals": sub.session.totals.cluster_kwh}))
client.close(); cluster.close()""",
]


@pytest.mark.kernel
def test_a_cell_in_a_real_kernel_gets_its_cluster_part(notebook_dir, monkeypatch, tmp_path):
    import json

    import nbformat
    from nbclient import NotebookClient

    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("JC_TEST_EMPTY", str(tmp_path / "empty"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in KERNEL_CELLS])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook_dir)}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    part = json.loads(out.split("@@PART", 1)[1].splitlines()[0])
    assert part["complete"], part["reason"]
    assert (part["workers"], part["hosts"]) == (2, 1)
    assert part["cpu_j"] > 0 and part["kwh"] >= part["cpu_j"] / 3.6e6
    assert part["totals"] >= part["kwh"] * 0.999  # the session's totals include it, as the row does
    import csv

    with open(notebook_dir / "analysis.carbon.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(KERNEL_CELLS)  # every cell still has its row
    burn = [r for r in rows if r["cluster_workers"] == "2" and float(r["cluster_energy"] or 0) > 0]
    assert len(burn) >= 1, rows  # the CSV row of the busy cell carries its cluster part
    r = burn[0]
    assert r["cluster_complete"] == "true" and r["cluster_hosts"] == "1"
    local = sum(float(r[f"{c}_energy"] or 0) for c in ("cpu", "gpu", "ram"))
    assert float(r["energy_consumed"]) >= float(r["cluster_energy"])  # included, not beside
    assert local > 0


def test_jc_track_style_windows_find_the_default_client_and_detach_cleanly(env):
    """What ``jc.track()`` does around cluster code: ``cluster.begin()`` finds the default
    client itself (no session), and ``attach.detach_all()`` removes the plugins."""
    from jupyter_carbon import cluster as jcc
    from jupyter_carbon.cluster import attach

    with local_cluster(n=1, **env, JUPYTER_CARBON_HOST_ID="sim-t") as cluster, \
            distributed.Client(cluster) as client:
        first = jcc.begin()  # the first window on a client starts its collector
        col = attach.collector_for(client)
        assert first is not None and first.collector is col
        assert not first.end().result(15).complete  # the meters were not running yet
        wait_for(lambda: reporting(col, ["sim-t"]), what="the host's meter")
        span = jcc.begin()
        assert span.so_far().energy_j == 0.0
        client.submit(burn, 1.0, pure=False).result(30)
        part = span.end().result(15)
        assert part.complete and part.workers == 1 and part.energy_j > 0
        attach.detach_all()
        wait_for(lambda: SCHEDULER_PLUGIN not in cluster.scheduler.plugins, what="the plugin to go")
        assert jcc.active_client() is client
    assert jcc.active_client() is None  # closed clients are not active


def test_jc_track_includes_the_cluster_part_and_its_end_does_not_wait(env):
    """``jc.track()`` around cluster code gets the cluster's part, as a cell's row does:
    in its energy (a device per component) and in ``m.cluster``; the block's end returns
    at once and the figures wait for the part only when read."""
    import jupyter_carbon as jc
    from jupyter_carbon.cluster import attach

    with local_cluster(**env, JUPYTER_CARBON_HOST_ID="sim-j") as cluster, \
            distributed.Client(cluster) as client:
        col = attach.collector_for(client)
        wait_for(lambda: reporting(col, ["sim-j"]), what="the host's meter")
        with jc.track("map") as m:
            client.gather(client.map(burn, [1.0] * 2, pure=False))
        assert m._cluster_part is not None and m.cluster is None  # not waited for yet
        local_j = m.result.energy_j
        assert m.energy_kwh > 0  # reading the figures settles the part
        part = m.cluster
        assert part is not None and part.complete, part and part.reason
        assert (part.hosts, part.workers) == (1, 2) and part.energy_j > 0
        assert m.energy_j == pytest.approx(local_j + part.energy_j)
        names = [d.name for d in m.devices if d.name.startswith("cluster ")]
        assert "cluster cpu" in names
        assert m.by_component["cpu"].method.endswith("tdp-model")

        @jc.track("fn")
        def work():
            return client.submit(burn, 0.5, pure=False).result()
        work()
        assert work.last is not None and work.last.energy_j > 0
        attach.detach_all()

    with jc.track("no cluster") as m2:  # the client is closed: no part, nothing waits
        pass
    assert m2._cluster_part is None and m2.cluster is None


def test_live_views_show_the_clusters_watts_while_a_cell_runs(env, shell):
    """The running cell's live state (widget, panel, at-cell line) carries ``cluster_w``
    while a cell drives the cluster, and the session's totals include the cluster's part."""
    import threading

    from jupyter_carbon.cluster import attach
    from jupyter_carbon.widget.state import running_state
    from shells import session_of

    with local_cluster(**env, JUPYTER_CARBON_HOST_ID="sim-l") as cluster, \
            distributed.Client(cluster) as client:
        shell.user_ns.update(client=client, burn=burn)
        shell.run_cell("%load_ext jupyter_carbon")
        s = session_of(shell)
        shell.run_cell("x = 1")  # a cell with the client active: its collector connects
        col = next(iter(attach._collectors.values()))
        wait_for(lambda: reporting(col, ["sim-l"]), what="the host's meter")
        seen, stop = [], threading.Event()

        def watch():
            while not stop.is_set():
                seen.append(running_state(s, None).get("cluster_w"))
                time.sleep(0.2)
        t = threading.Thread(target=watch)
        t.start()
        shell.run_cell("client.gather(client.map(burn, [1.5] * 2, pure=False))")
        stop.set()
        t.join()
        assert any(w is not None and w > 0 for w in seen), seen
        wait_for(lambda: s.totals.cluster_kwh > 0, what="the cell's cluster part in the totals")
        shell.run_cell("%unload_ext jupyter_carbon")
        assert "cluster_w" not in s.running_extras


def test_no_dask_import_when_dask_is_not_used():
    code = ("import sys, jupyter_carbon.cluster as c\n"
            "assert c.active_client() is None and c.begin() is None\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- the parts without processes ------------------------------------------------------------
def rep(meter, t, cpu, busy=0.0, procs=0.0, ram=0.0, n=(1, 1)):
    return [meter, t, cpu, None, ram, busy, procs, *n]


def test_window_interpolates_at_its_edges_and_splits_a_restarted_meter():
    from jupyter_carbon.cluster.window import ClusterWindow

    w = ClusterWindow(10.5, 10.5, {"h": 2}, local=None, skip_local=True)
    w.on_report("h", rep(0, 11.0, 100.0), rep(0, 10.0, 90.0), True)  # 10 W: 95 J at 10.5
    w.on_report("h", rep(0, 12.0, 120.0), None, True)
    w.on_report("h", rep(1, 13.0, 5.0), None, True)  # a new meter: counting from its first report
    w.close(13.5, 13.5)
    w.on_report("h", rep(1, 14.0, 15.0), None, True)  # 10 W again: 10 J at 13.5
    w.on_publish(14.0, {"h": 2}, [[12.5, "tcp://w0", "h"]])
    part = w.part({"h": {"cpu": ["rapl", True, 1]}}, {"h"}, final=False)
    (h,) = part.details
    assert h.energy_j["cpu"] == pytest.approx((120 - 95) + (10 - 5))
    assert not part.complete and "host h: its meter restarted" in part.reason
    assert "tcp://w0" in part.reason


def test_share_rule_cpu_by_workers_cpu_time_and_task_time_gpu_by_task_time():
    from jupyter_carbon.cluster.window import ClusterWindow

    w = ClusterWindow(0.0, 0.0, {"h": 1}, local=None, skip_local=True)
    w.on_report("h", [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1, 1], [0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1, 1], True)
    w.close(10.0, 10.0)
    # 100 J CPU, 40 J GPU, 10 J RAM; the host was busy 8 CPU s, the workers used 4 of them
    w.on_report("h", [0, 10.0, 100.0, 40.0, 10.0, 8.0, 4.0, 1, 1], None, True)
    # this client ran 3 s of tasks (an interval) and 1 s in bins; another client 4 s
    w.on_tasks(0.5, {"h": [[[2, 0.5], [3, 0.5]], [[4.0, 7.0]]]}, {"h": [[], [[0.0, 8.0]]]})
    w.on_publish(10.5, {"h": 1}, [])
    part = w.part({"h": {"cpu": ["rapl", True, 1], "gpu": ["nvml-energy", True, 1]}}, {"h"}, final=False)
    (h,) = part.details
    assert (h.task_s, h.all_task_s) == (pytest.approx(4.0), pytest.approx(8.0))
    assert h.cpu_share == pytest.approx(4 / 8 * 4 / 8) and h.gpu_share == pytest.approx(0.5)
    assert part.by_component == pytest.approx({"cpu": 25.0, "gpu": 20.0, "ram": 2.5})
    assert part.complete and part.methods == {"cpu": "rapl", "gpu": "nvml-energy"}
    assert part.columns(pue=1.5)["cluster_energy"] == pytest.approx(47.5 / 3.6e6 * 1.5)


def test_ledger_splits_shared_tasks_and_sends_everyones_only_where_others_ran():
    from jupyter_carbon.cluster.tasks import TaskLedger, overlap

    led = TaskLedger(0.1)
    led.submitted("A", ["a1", "s"])
    led.submitted("B", ["b1", "s"])
    led.finished("a1", "h1", [{"action": "compute", "start": 1.02, "stop": 1.07}])
    led.finished("s", "h2", [{"action": "compute", "start": 1.0, "stop": 3.0}])
    led.finished("b1", "h2", [{"action": "transfer", "start": 0, "stop": 9},
                              {"action": "compute", "start": 5.0, "stop": 6.0}])
    out = led.drain(["A"])
    ours, others = out["A"]
    assert overlap(ours["h1"], 0.1, 0, 10) == pytest.approx(0.05)
    assert overlap(ours["h2"], 0.1, 0, 10) == pytest.approx(1.0)  # half of the shared 2 s
    assert "h1" not in others and overlap(others["h2"], 0.1, 0, 10) == pytest.approx(3.0)
    assert overlap(ours["h2"], 0.1, 2.0, 2.5) == pytest.approx(0.25)
    led.forgotten("s")
    assert "s" not in led.owners and led.drain(["A"]) == {"A": ({}, {})}


def test_host_identity_and_worker_cpu_time(monkeypatch):
    from jupyter_carbon.cluster.hostload import HostLoad
    from jupyter_carbon.cluster.identity import HOST_ID_ENV, host_id, process_start

    assert host_id({HOST_ID_ENV: " node-7 "}) == "node-7"
    assert host_id({}) == host_id({}) and host_id({}).split(":")[0] in ("machine-id", "hostname")
    load = HostLoad()
    me = os.getpid()
    assert load.watch([(me, process_start()), (1, -5)]) == 1  # pid 1 "started" elsewhere
    before, n = load.procs_s()
    burn(0.3)
    after, n = load.procs_s()
    assert n == 1 and after - before >= 0.2
    load.watch([])  # no longer watched: the total keeps what it had
    assert load.procs_s() == (after, 0) and load.busy_s() > 0
    load.close()


def test_clock_offset_from_one_round_trip():
    from jupyter_carbon.cluster.clock import Offset

    off = Offset.from_roundtrip(10.0, 105.2, 10.4)  # the remote clock is 95 s ahead
    assert off == (pytest.approx(95.0), pytest.approx(0.2))
    assert off.to_local(off.to_remote(12.5)) == pytest.approx(12.5)


def test_merge_row_adds_the_cluster_part_to_the_local_row():
    from jupyter_carbon.cluster.part import ClusterPart
    from jupyter_carbon.cluster.subscriber import merge_row

    row = {"duration": 2.0, "energy_consumed": 1e-5, "emissions": 5e-7, "cpu_energy": 1e-5,
           "cpu_method": "tdp-model", "cpu_measured": False, "gpu_energy": None, "gpu_method": None}
    part = ClusterPart(2, 8, {"cpu": 36.0, "gpu": 72.0}, {"cpu": "rapl", "gpu": "nvml-energy"},
                       {"cpu": True, "gpu": True}, True)
    out = merge_row(row, part, pue=1.2, g_per_kwh=50.0)
    assert out["cpu_energy"] == pytest.approx(2e-5) and out["gpu_energy"] == pytest.approx(2e-5)
    assert out["energy_consumed"] == pytest.approx(1e-5 + 3e-5 * 1.2)
    assert out["emissions"] == pytest.approx(5e-7 + 3.6e-5 * 50 / 1000)
    assert out["emissions_rate"] == pytest.approx(out["emissions"] / 2.0)
    assert (out["cpu_method"], out["cpu_measured"]) == ("tdp-model+rapl", False)
    assert (out["gpu_method"], out["gpu_measured"]) == ("nvml-energy", True)
    assert (out["cluster_hosts"], out["cluster_workers"], out["cluster_complete"]) == (2, 8, True)
    assert out["cluster_energy"] == pytest.approx(3e-5 * 1.2)
    # the same from the CSV writer's text row (log.schema.make_row formats every value)
    from jupyter_carbon.log.schema import fmt

    text = merge_row({k: fmt(v) for k, v in row.items()}, part, pue=1.2, g_per_kwh=50.0)
    assert {k: fmt(v) for k, v in text.items()} == {k: fmt(v) for k, v in out.items()}

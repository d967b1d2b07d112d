"""Cluster: what measuring a Dask cluster adds, with a 4-worker LocalCluster in a real kernel.

One ipykernel with ``%load_ext jupyter_carbon`` and a ``LocalCluster(processes=True,
n_workers=4, threads_per_worker=1)`` whose workers say they are another host (so every
window computes that host's share, the costly case). Side by side, in alternating blocks
(rotated order each round):

* ext     - the extension alone, the Client connected, no cluster collector;
* cluster - the cluster subscriber attached and its collector connected: a cluster window
            opened and closed per cell, the workers' meter reporting every second, the
            kernel's Dask thread receiving one message per second.

Each block times ``shell.run_cell("x = 1")`` cell by cell; the added cost per cell is the
median over rounds of (median of the cluster block - median of the ext block of the
round). Also timed, directly: the two cell edges of the subscriber, and finding the
active client with and without Dask imported.

Workers' sampler cost: the elected worker's thread CPU per report (snapshot, /proc
reads, the event message), against the kernel's own sampler per sample on the same
machine, and the whole worker processes' CPU over idle seconds with and without meters.

Scheduler cost: the plugin's CPU per report, per publish and per finished task, and
message sizes, from the real plugin; then the same plugin is fed 1,000 synthetic host
reports per interval (what a 1,000-host cluster sends) to measure a publish and the
kernel's handling of it at that size.
"""
from __future__ import annotations

import time

from ._util import CELLS, Config, Kernel, Row, bench_env, fmt_t, fmt_x, median

SETUP = """
import time as _t, json as _j, timeit as _ti
import benchmarks._nonet as _nn; _nn.install()
get_ipython().history_manager.db_cache_size = 10**6
from jupyter_carbon.cluster.detect import active_client as _ac
_nodask = min(_ti.repeat(_ac, number=2000, repeat=5)) / 2000
import os, psutil
from distributed import LocalCluster, Client
_cluster = LocalCluster(processes=True, n_workers=4, threads_per_worker=1, dashboard_address=None,
                        env={"JUPYTER_CARBON_HOST_ID": "bench-host"})
_client = Client(_cluster)
_dask = min(_ti.repeat(_ac, number=2000, repeat=5)) / 2000
from distributed.client import _set_global_client
_set_global_client(None)  # the "ext" arm: the extension loaded, no active client
get_ipython().run_line_magic('load_ext', 'jupyter_carbon')
from jupyter_carbon.magics import magics_of
from jupyter_carbon.cluster import attach as _A
from jupyter_carbon.cluster.scheduler import stats as _stats
_s = magics_of(get_ipython()).ext.session
_sub = magics_of(get_ipython()).ext.cluster  # the extension's cluster subscriber
def _wait(pred, timeout=60):
    end = _t.monotonic() + timeout
    while not pred():
        if _t.monotonic() > end:
            raise TimeoutError("cluster benchmark: timed out")
        _t.sleep(0.05)
def _on():
    _set_global_client(_client)  # the client is active: cells get a cluster part
    get_ipython().run_cell("pass")  # the first cell on the client starts its collector
    col = _A.collector_for(_client)
    _wait(lambda: col.state == "ready" and "bench-host" in col.last)
    t = col.offset.to_remote(_t.time())
    _wait(lambda: col.last["bench-host"][1] > t)
def _off():
    _A.detach_all()
    _set_global_client(None)
    _wait(lambda: "jupyter-carbon" not in _cluster.scheduler.plugins)
def _edges(n):
    pc = _t.perf_counter; xs = []
    for i in range(n):
        t0 = pc(); _sub.cell_started(_t.time()); _sub.cell_ended(i, _t.time()); xs.append(pc() - t0)
    xs.sort(); return xs[len(xs) // 2]
def _worker_pids():
    return list(_client.run(os.getpid).values())
def _procs_cpu(pids):
    return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)
def _meter_stats():
    f = lambda dask_worker: (lambda p: (p.reports, p.report_cpu_s, p.elected, list(p.recent)))(
        dask_worker.plugins["jupyter-carbon-meter"])
    return [v for v in _client.run(f).values() if v[2]][0]
def _kernel_sample(n=2000):
    sp = _s.meter.sampler; c = _t.thread_time()
    for _ in range(n):
        sp.tick()
    return (_t.thread_time() - c) / n
"""


def _synthetic(dask_scheduler, hosts: int, rounds: int) -> dict:
    """On the scheduler: feed the real plugin ``hosts`` synthetic host reports per round
    and publish, timing both (the subscribed kernel receives each message)."""
    from jupyter_carbon.cluster.protocol import REPORT_TOPIC, SCHEDULER_PLUGIN

    p = dask_scheduler.plugins[SCHEDULER_PLUGIN]
    addrs = {f"machine-id:{i:032x}": f"tcp://10.{i // 65536}.{i // 256 % 256}.{i % 256}:40123"
             for i in range(hosts)}
    for h, a in addrs.items():
        p.meters[h], p.hosts[h] = a, {a: (1234, 5678)}
        p.number(h)
    p.sizes["publish"].clear()
    hook = pub = 0.0
    for r in range(rounds):
        now = time.time()
        msgs = [{"h": h, "m": f"{a}@1796180000.123", "t": now,
                 "v": [12345.678 + r, None, 3456.789 + r, 45678.9 + r, 1234.56 + r], "n": [4, 4],
                 "worker": a} for h, a in addrs.items()]
        c0 = time.thread_time()
        for m in msgs:
            p.log_event(REPORT_TOPIC, m)
        c1 = time.thread_time()
        p._publish()
        c2 = time.thread_time()
        hook += (c1 - c0) / hosts
        pub += c2 - c1
    sizes = list(p.sizes["publish"])
    for h in addrs:
        p.meters.pop(h, None)
        p.hosts.pop(h, None)
    p._publish()  # the hosts are gone again
    return {"hook_s": hook / rounds, "publish_s": pub / rounds, "bytes": median(sizes[:rounds])}


def run(cfg: Config) -> list[Row]:
    rounds, block, idle_s = cfg.pick((6, 150, 8.0), (3, 60, 3.0))
    env = bench_env(cfg.workdir / "cluster")
    arms = ["ext", "cluster"]
    blocks: dict[str, list] = {a: [] for a in arms}
    with Kernel(env, cfg.workdir / "cluster") as k:
        cfg.log("cluster: starting a 4-worker LocalCluster in a kernel")
        k.execute(CELLS + SETUP, timeout=300)
        k.cells(50)
        for r in range(rounds):
            for i in range(len(arms)):
                arm = arms[(i + r) % len(arms)]
                cfg.log(f"cluster: {block} cells, {arm} (round {r + 1}/{rounds})")
                if arm == "cluster":
                    k.execute("_on()", timeout=120)
                blocks[arm].append(k.cells(block))
                if arm == "cluster":
                    k.execute("_off()", timeout=120)
        cfg.log("cluster: cell edges, meter and idle worker CPU")
        k.execute("_on()", timeout=120)
        d = k.execute("_e = _edges(500); _t.sleep(4)  # the 500 windows complete\n"
                      "_col = _A.collector_for(_client); _h0 = (_col.messages, _col.handler_cpu_s)\n"
                      "_m0 = _meter_stats(); _p = _worker_pids(); _c0 = _procs_cpu(_p)\n"
                      f"_t.sleep({idle_s}); _c1 = _procs_cpu(_p); _m1 = _meter_stats()\n"
                      "_h1 = (_col.messages, _col.handler_cpu_s)\n"
                      "_st = _client.run_on_scheduler(_stats); _ks = _kernel_sample()",
                      expressions={"d": "_j.dumps(dict(edges=_e, nodask=_nodask, dask=_dask, m0=_m0, m1=_m1,"
                                        " on=_c1 - _c0, st=_st, ks=_ks, msgs=_h1[0] - _h0[0],"
                                        " handler=_h1[1] - _h0[1], sensors=_s.setup.describe()))"},
                      timeout=120)["d"]
        cfg.log("cluster: a burst of 2,000 tiny tasks (the scheduler's per-task hook)")
        burst = k.execute("_b0 = _client.run_on_scheduler(_stats)\n"
                          "_tt0 = _client.run_on_scheduler(_t.thread_time)\n"
                          "_client.gather(_client.map(lambda x: x, range(2000)))\n"
                          "_tt1 = _client.run_on_scheduler(_t.thread_time)\n"
                          "_t.sleep(1.5); _b1 = _client.run_on_scheduler(_stats)",
                          expressions={"b": "_j.dumps([_b0, _b1, _tt1 - _tt0])"}, timeout=300)["b"]
        k.execute("_off()", timeout=120)
        k.execute(f"_t.sleep(1); _c0 = _procs_cpu(_p); _t.sleep({idle_s}); _c1 = _procs_cpu(_p)")
        off_cpu = k.execute("", expressions={"c": "_j.dumps(_c1 - _c0)"})["c"]
        cfg.log("cluster: 1,000 synthetic hosts through the real scheduler plugin")
        k.execute("_on()", timeout=120)
        m0 = k.execute("", expressions={"m": "_j.dumps([_col.messages, _col.handler_cpu_s])"})["m"]
        col = "_A.collector_for(_client)"
        syn = k.execute(f"_col = {col}; _sy = _client.run_on_scheduler(__import__('benchmarks.cluster', "
                        "fromlist=['x'])._synthetic, hosts=1000, rounds=5); _t.sleep(1.0)",
                        expressions={"s": "_j.dumps(_sy)", "m": "_j.dumps([_col.messages, _col.handler_cpu_s])"},
                        timeout=300)
        k.execute("_off()", timeout=120)
        net = k.execute("", expressions={"n": "_j.dumps(_nn.attempts)"})["n"]
        cfg.note_network("cluster", net)
    return _rows(cfg, blocks, d, burst, off_cpu, idle_s, syn, m0, rounds * block)


def _rows(cfg, blocks, d, burst, off_cpu, idle_s, syn, m0, n) -> list[Row]:
    sec = "7. Cluster"
    diffs = [median(c) - median(e) for c, e in zip(blocks["cluster"], blocks["ext"])]
    ratios = [median(c) / median(e) for c, e in zip(blocks["cluster"], blocks["ext"])]
    added, ext_cell = median(diffs), median([x for b in blocks["ext"] for x in b])
    reports = d["m1"][0] - d["m0"][0]
    mean_report = (d["m1"][1] - d["m0"][1]) / max(reports, 1)
    per_report = median(d["m1"][3])  # the first report, which also describes the sensors, is not in it
    core = mean_report / 1.0  # one report per second
    st = d["st"]
    b0, b1, sched_s = burst
    tasks = max(b1["tasks"] - b0["tasks"], 1)
    per_task = (b1["hook_cpu_s"] - b0["hook_cpu_s"]) / tasks
    per_publish = st["publish_cpu_s"] / max(st["publishes"], 1)
    rep_b = median(st["sizes"]["report"])
    pub_b = median(st["sizes"]["publish"])
    s = syn["s"]
    big_msgs = syn["m"][0] - m0[0]
    big_handler = (syn["m"][1] - m0[1]) / max(big_msgs, 1)
    small_handler = d["handler"] / max(d["msgs"], 1)
    per_s_1000 = 1000 * s["hook_s"] + s["publish_s"]
    cfg.facts["cluster"] = {"sensors": d["sensors"], "report_bytes": rep_b, "publish_bytes_1host": pub_b,
                            "publish_bytes_1000hosts": s["bytes"], "synthetic": s}
    return [
        Row(sec, f"added per trivial cell with a 4-worker LocalCluster attached, in-kernel `run_cell` "
                 f"x {n} per arm", fmt_t(added), base=f"cell with the extension alone: {fmt_t(ext_cell)}",
            ratio=f"{fmt_x(median(ratios))} of the extension alone", target="<= 2 ms at the median",
            met=added <= 2e-3, note="a cluster window opened and closed per cell, reports arriving on "
                                    "the Dask client's thread meanwhile; median over rounds of block "
                                    "medians"),
        Row(sec, "the two cell edges of the cluster subscriber, called directly (median)", fmt_t(d["edges"]),
            base=f"finding the client: {fmt_t(d['dask'])} (Dask imported), {fmt_t(d['nodask'])} (not imported)",
            note="no I/O and no round trip at the edges; the part completes on a background thread"),
        Row(sec, f"worker meter: thread CPU per report at 1 s ({d['sensors']} on this machine)",
            fmt_t(per_report), peer=f"the kernel's sampler per sample: {fmt_t(d['ks'])}",
            ratio=f"{fmt_x(per_report / d['ks'])} the kernel's sample" if d["ks"] > 0 else "n/a",
            target="<= 0.1 % of a core", met=core <= 1e-3,
            note=f"mean {fmt_t(mean_report)}: {core * 100:.4f} % of a core; {reports} reports (snapshot, "
                 "/proc/stat and 4 workers' /proc/<pid>/stat reads, the event message); one worker per "
                 "host reports"),
        Row(sec, f"4 idle worker processes, CPU over {idle_s:g} s: meters on / off", f"{d['on']:.3f} s",
            base=f"{off_cpu:.3f} s", ratio=f"{fmt_x(d['on'] / off_cpu)}" if off_cpu > 0 else "n/a",
            note="whole processes (Dask's own heartbeats dominate); informational, noisy"),
        Row(sec, "scheduler plugin CPU: per report / per publish (1 host) / per finished task",
            f"{fmt_t(st['hook_cpu_s'] / max(st['publishes'], 1))} / {fmt_t(per_publish)} / {fmt_t(per_task)}",
            note=f"messages: report {rep_b:.0f} B (msgpack), publish to one client {pub_b:.0f} B at 1 host; "
                 f"for scale, the event-loop thread this LocalCluster's scheduler shares with the client "
                 f"spent {fmt_t(sched_s / tasks)} per task in all (Dask and this plugin) over a burst "
                 f"of {tasks} tiny tasks"),
        Row(sec, "1,000 hosts (synthetic reports through the real plugin): scheduler CPU per second",
            fmt_t(per_s_1000), note=f"{fmt_t(s['hook_s'])} per report x 1,000 + {fmt_t(s['publish_s'])} per "
                                    f"publish; publish {s['bytes'] / 1e3:.0f} kB per client per second; "
                                    f"{(per_s_1000) * 100:.2f} % of the scheduler's core"),
        Row(sec, "kernel's Dask thread: CPU per message (1 host / 1,000 hosts)",
            f"{fmt_t(small_handler)} / {fmt_t(big_handler)}",
            note="one message per second, handled off the user's thread (1 host: idle, no window "
                 "open; 1,000 hosts: with the running cell's window open)"),
    ]

"""Names and message layouts shared by the worker, scheduler and client sides.

Messages are msgpack-able lists and dicts (Dask's event channel requires it), kept short
because a 1,000-worker cluster sends one report per host per interval (docs/cluster.md has
the measured sizes).

Worker -> scheduler, ``Worker.log_event(REPORT_TOPIC, msg)`` once per interval, from the
one meter of a host: ``{"h": host, "m": meter id, "t": time (scheduler clock),
"v": [cpu J, gpu J, ram J, busy CPU s, workers' CPU s], "n": [worker processes read,
watched], "d": descriptor (first report only)}``; energies and CPU seconds are cumulative
since the meter started; a component the host lacks is null.

Scheduler -> one client, ``Scheduler.log_event(client_topic(id), msg)`` once per interval,
hosts by number (``"hn": {number: host id}`` for numbers the client has not seen):
``{"t": time, "bw": bin width s, "r": {host: [[meter number, t, *v, *n], ...]},
"o": {host: [bins, intervals]}`` (this client's finished task time on the host: bins
``[[index, seconds], ...]`` for short tasks, ``[[start, stop], ...]`` for the rest),
``"a"``: the same for every client (only where it differs), ``"w": {host: workers}`` (when
changed),
``"x": [[t, worker, host], ...]`` workers that left, ``"d": {host: descriptor}``,
``"u": [workers, their machines]`` that run no meter plugin (jupyter-carbon missing there)}``.
"""
from __future__ import annotations

SCHEDULER_PLUGIN = "jupyter-carbon"
WORKER_PLUGIN = "jupyter-carbon-meter"
REPORT_TOPIC = "jupyter-carbon-report"
REGISTER_HANDLER = "jupyter_carbon_register"  # worker -> scheduler rpc
ELECT_HANDLER = "jupyter_carbon_elect"  # scheduler -> worker rpc

# the report vector "v"
CPU_J, GPU_J, RAM_J, BUSY_S, PROCS_S = range(5)
ENERGY = (CPU_J, GPU_J, RAM_J)
COMPONENT_OF = {CPU_J: "cpu", GPU_J: "gpu", RAM_J: "ram"}
WIDTH = 5

DEFAULT_BIN_S = 0.1


def client_topic(client_id: str) -> str:
    return f"jupyter-carbon-{client_id}"


def client_gone(client) -> bool:
    return str(getattr(client, "status", "")) in ("closing", "closed")


def one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def with_host_names(msg: dict, names: dict[int, str]) -> dict:
    """A scheduler message with its host numbers (kept short on the wire) back to host ids;
    ``names`` learns the numbers the message defines (``hn``)."""
    for k, h in (msg.get("hn") or {}).items():
        names[int(k)] = h
    out = dict(msg)
    for key in ("r", "o", "a", "w", "d"):
        if key in msg:
            out[key] = {names.get(k, str(k)): v for k, v in msg[key].items()}
    out["x"] = [(t, w, names.get(h, str(h))) for t, w, h in msg.get("x", ())]
    return out

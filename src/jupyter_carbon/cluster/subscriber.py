"""The session subscriber: opens a cluster window at each cell's start and gives, at its
end, a Future of the cell's cluster part; ``merge_row`` adds that part to a row.

One subscriber among the others (``session.subscribe(sub)``): ``CellStarted`` opens a
window; at ``CellEnding`` the cell's record gets a late part (``record.late``), which the
CSV output waits for (at most the report interval + 2 s after the cell's end, on a
background thread) before it writes the row with ``merge_row``.
"""
from __future__ import annotations

import functools
import logging
import sys
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..units import J_PER_KWH

if TYPE_CHECKING:
    from .attach import Span
    from .part import ClusterPart

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 1.0  # the workers' meters report once a second (<= 0.1 % of a core)


class ClusterSubscriber:
    def __init__(self, session, *, grace_s: float = 2.0, keep: int = 64):
        self.session = session
        self.grace_s = grace_s
        self._span: Span | None = None
        self.results: deque[tuple[Any, Future]] = deque(maxlen=keep)  # (execution count, part)
        extras = getattr(session, "running_extras", None)
        if extras is not None:
            extras["cluster_w"] = self.running_watts

    def options(self) -> dict[str, Any]:
        s = self.session.settings
        return {"interval": REPORT_INTERVAL_S, "gpu": bool(s["gpu"]), "grace_s": self.grace_s,
                # "machine" (and a process-tree "kernel" mode) already charge the kernel's
                # host to the local row; "process" charges only the kernel process.
                "skip_local": s["tracking_mode"] != "process",
                "say": self.session.say_once}

    # --- the two edges (main thread; microseconds, no I/O) -----------------------------
    def cell_started(self, start_wall: float) -> None:
        if "distributed.client" not in sys.modules:  # no Dask client can be active
            self._span = None
            return
        from .attach import begin  # the collector's modules, only once Dask is in use

        self._span = begin(start_wall, **self.options())

    def cell_ended(self, execution_count, end_wall: float) -> Future | None:
        span, self._span = self._span, None
        if span is None:
            # A client created in this cell: connect now, so the next cell is measured whole.
            if "distributed.client" in sys.modules:
                from .attach import current

                current(**self.options())
            return None
        fut = span.end(end_wall)
        self.results.append((execution_count, fut))
        fut.add_done_callback(self._tell_partial)
        return fut

    def _tell_partial(self, fut: Future) -> None:
        """One line per incident (the reason names the worker or host), at the next cell end."""
        part = fut.result()
        if not part.complete:
            self.session.say_once(f"the cluster's part of a cell is incomplete: {part.reason}")

    def _to_totals(self, fut: Future, *, m: Any) -> None:
        """The session's totals include the cluster's parts, as the rows do."""
        try:
            part = fut.result()
            kwh = part.energy_kwh(m.pue)
            self.session.totals.add_late(part.energy_j, kwh, kwh * m.intensity.g_per_kwh / 1000.0)
        except Exception:
            log.debug("jupyter-carbon: cluster part not added to the totals", exc_info=True)

    def running(self) -> ClusterPart | None:
        """The running cell's cluster part so far (live views)."""
        span = self._span
        return span.so_far() if span is not None else None

    def running_watts(self) -> float | None:
        """The cluster hosts' power now, while a cell runs (whole hosts, from their last two
        reports: a task's share is known only when it ends, so the row's figure comes later
        and is the attributed one); None without a cluster."""
        span = self._span
        return span.collector.watts() if span is not None else None

    def pending_for(self, execution_count) -> Future | None:
        for count, fut in reversed(self.results):
            if count == execution_count:
                return fut
        return None

    def close(self) -> None:
        """The session ends (``%unload_ext``): stop measuring the cluster; the scheduler
        plugin removes the workers' meters when no other client uses them."""
        self._span = None
        getattr(self.session, "running_extras", {}).pop("cluster_w", None)
        unsubscribe = getattr(self.session, "unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe(self)
        if "jupyter_carbon.cluster.attach" in sys.modules:  # else no collector was ever made
            from .attach import detach_all

            detach_all()

    # --- the session's events ---------------------------------------------------------
    def __call__(self, event) -> None:
        kind = type(event).__name__
        try:
            if kind == "CellStarted":
                self.cell_started(event.cell.window.start.wall)
            elif kind == "CellEnding":
                rec = event.record
                fut = self.cell_ended(rec.execution_count, rec.measurement.ended_at.timestamp())
                if fut is not None:
                    rec.late.append(row_update(fut))
                    fut.add_done_callback(functools.partial(self._to_totals, m=rec.measurement))
            elif kind == "SessionClosing":
                self.close()
        except Exception:
            log.debug("jupyter-carbon: cluster subscriber failed on %s", kind, exc_info=True)


def row_update(fut: Future) -> Future:
    """A Future of ``update(row, record) -> row`` adding the cluster part to a cell's row."""
    out: Future = Future()

    def done(f: Future) -> None:
        try:
            part = f.result()
            out.set_result(lambda row, rec: merge_row(row, part, rec.measurement.pue,
                                                      rec.measurement.intensity.g_per_kwh))
        except Exception as exc:
            out.set_exception(exc)
    fut.add_done_callback(done)
    return out


def merge_row(row: dict[str, Any], part: ClusterPart, pue: float, g_per_kwh: float) -> dict[str, Any]:
    """A copy of ``row`` (typed values, before formatting) with the cluster part added:
    the component energies (kWh, before PUE), ``energy_consumed`` and ``emissions`` (with
    PUE, at the row's intensity), ``emissions_rate``, and the four ``cluster_*`` columns.
    The component methods gain the cluster's (``rapl+tdp-model``); a component is
    measured only if both parts are."""
    out = dict(row)
    for comp, j in part.by_component.items():
        if j <= 0 and comp not in part.methods:
            continue
        out[f"{comp}_energy"] = _num(out.get(f"{comp}_energy")) + j / J_PER_KWH
        m = part.methods.get(comp)
        if m:
            mine = out.get(f"{comp}_method") or ""
            out[f"{comp}_method"] = "+".join(dict.fromkeys(x for x in f"{mine}+{m}".split("+") if x))
        if comp in part.measured:
            mine_measured = out.get(f"{comp}_measured")
            out[f"{comp}_measured"] = part.measured[comp] and mine_measured in (None, "", True, "true")
    kwh = part.energy_kwh(pue)
    out["energy_consumed"] = _num(out.get("energy_consumed")) + kwh
    out["emissions"] = _num(out.get("emissions")) + kwh * g_per_kwh / 1000.0
    dur = _num(out.get("duration"))
    if dur > 0:
        out["emissions_rate"] = out["emissions"] / dur
    out.update(part.columns(pue))
    return out


def _num(v) -> float:
    try:
        return float(v) if v not in (None, "") else 0.0
    except (TypeError, ValueError):
        return 0.0

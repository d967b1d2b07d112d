"""One CSV row per cell: CodeCarbon's column names and units first, so its tools and habits
carry over, then what only a notebook knows.

Units: duration [s], emissions [kg CO₂e], emissions_rate [kg/s], *_power [W, mean over the
cell], *_energy and energy_consumed [kWh], ram_total_size [GiB, as CodeCarbon], intensity
[g CO₂e/kWh], energy_above_idle [kWh]. Timestamps are ISO 8601 in UTC with an explicit offset.

Decisions (the README's CSV section should say the same):

* ``energy_consumed`` = sum of the component energies x ``pue`` (``Measurement.energy_kwh``);
  the component columns are what the devices drew, before PUE, as in CodeCarbon.
  ``energy_above_idle`` is on the same basis as ``energy_consumed`` (x PUE).
* ``country_iso_code`` is ISO 3166-1 alpha-3 like CodeCarbon's, mapped from the shipped
  intensity table; a code the table cannot map is written as given (alpha-2), so the column
  never silently loses the country. ``region`` is the ISO 3166-2 code (``US-CA``) when known.
* A component without a sensor has empty power/energy/method cells: unknown is not zero.
  A component whose sensors failed has empty power/energy/measured cells and a method
  ending ``(failed)``; when only some of its devices failed, the figures are the working
  devices' (a failed one adds nothing after it failed) and the method says ``(1 of 2 failed)``.
* ``*_measured`` says whether the figure came from hardware (true) or a model (false).
* ``tracking_mode`` ``kernel``: the component columns are this kernel's share of the machine
  (see docs/attribution.md); ``machine_*`` are the whole machine's, device energy before PUE
  except ``machine_energy`` (x PUE, like ``energy_consumed``). ``idle_energy_before`` (kWh,
  x PUE) is what the kernel was charged since the previous row's cell ended: not part of
  ``energy_consumed``; a session's total is the sum of both columns. ``embodied_emissions``
  [kg] covers the same span and is never part of ``emissions``. ``gpu_synced``: true when the
  GPUs were synchronised before the end snapshot, false when nothing had initialised CUDA,
  empty when ``gpu_sync`` is off.
* Floats use ``%.7g``: seven significant digits at every magnitude (a 1e-9 kWh cell keeps
  them), without the float noise of ``repr``. Non-finite values are written empty.
"""
from __future__ import annotations

import csv
import logging
import math
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from ..hardware.cpuinfo import cpu_model_name
from ..hardware.procfs import logical_cpus, total_memory_bytes
from ..measurement import Measurement
from ..memo import once
from ..units import J_PER_KWH

log = logging.getLogger(__name__)

CODECARBON_COLUMNS = (
    "timestamp", "project_name", "run_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy",
    "energy_consumed", "country_name", "country_iso_code", "region", "os", "python_version",
    "cpu_count", "cpu_model", "gpu_count", "gpu_model", "ram_total_size", "tracking_mode", "pue",
)
NOTEBOOK_COLUMNS = (
    "notebook", "session_id", "execution_count", "cell_id", "label", "status",
    "started_at", "ended_at", "intensity", "intensity_source",
    "cpu_method", "gpu_method", "ram_method", "cpu_measured", "gpu_measured", "ram_measured",
    "energy_above_idle", "cluster_hosts", "cluster_workers", "cluster_energy", "cluster_complete",
)
#: Attribution (issue 15), appended so that readers of the older header keep working.
ATTRIBUTION_COLUMNS = (
    "machine_cpu_energy", "machine_gpu_energy", "machine_ram_energy", "machine_energy",
    "idle_energy_before", "embodied_emissions", "gpu_synced",
)
COLUMNS: tuple[str, ...] = CODECARBON_COLUMNS + NOTEBOOK_COLUMNS + ATTRIBUTION_COLUMNS

_COMPONENTS = ("cpu", "gpu", "ram")
#: Per component: its machine_*_energy, method, power, energy and measured columns.
_COMPONENT_COLUMNS = {c: (f"machine_{c}_energy", f"{c}_method", f"{c}_power", f"{c}_energy", f"{c}_measured")
                      for c in _COMPONENTS}
_HOST_COLUMNS = ("os", "python_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "ram_total_size",
                 "tracking_mode")
_INTENSITY_CSV = Path(__file__).resolve().parent.parent / "data" / "intensity.csv"


class CellInfo(NamedTuple):
    """What the kernel knows about the cell, beyond its measurement."""

    notebook: str | None = None
    session_id: str | None = None
    execution_count: int | None = None
    cell_id: str | None = None
    label: str | None = None
    status: str = "ok"  # ok | error | interrupted
    project_name: str | None = None
    run_id: str | None = None
    #: What the kernel was charged between the previous cell and this one: kWh (x PUE, like
    #: ``energy_consumed``) and kg CO₂e of embodied share; None when nothing was measured.
    idle_energy_before: float | None = None
    embodied_before: float | None = None


@dataclass(frozen=True)
class HostInfo:
    """The machine, collected once per session (the values do not change between cells)."""

    os: str
    python_version: str
    cpu_count: int | None
    cpu_model: str | None
    gpu_count: int
    gpu_model: str | None
    ram_total_size: float | None  # GiB
    tracking_mode: str = "machine"

    @once
    def texts(self) -> dict[str, str]:
        """The host's columns as CSV text, made once (they are the same on every row)."""
        return {k: fmt(getattr(self, k)) for k in _HOST_COLUMNS}

    @classmethod
    def collect(cls, sensors=(), tracking_mode: str = "machine",
                cpu_model: str | None = None) -> HostInfo:
        """Cheap (no py-cpuinfo, no NVML calls): GPU facts come from the sensors already open."""
        try:
            ram_gb: float | None = total_memory_bytes() / 1024**3
        except Exception:
            log.debug("installed memory unknown", exc_info=True)
            ram_gb = None
        gpus = [getattr(s, "name", "") or "GPU" for s in sensors if getattr(s, "component", None) == "gpu"]
        return cls(
            os=platform.platform(),
            python_version=platform.python_version(),
            cpu_count=logical_cpus(),
            cpu_model=cpu_model or cpu_model_name(),
            gpu_count=len(gpus),
            gpu_model=_gpu_model(gpus),
            ram_total_size=round(ram_gb, 3) if ram_gb is not None else None,
            tracking_mode=tracking_mode,
        )


def _gpu_model(names: list[str]) -> str | None:
    """``2 x NVIDIA H100 80GB HBM3``, CodeCarbon's form; sensors name devices ``<model> #<i>``."""
    if not names:
        return None
    counts: dict[str, int] = {}
    for n in names:
        base = n.rsplit(" #", 1)[0] if " #" in n else n
        counts[base] = counts.get(base, 0) + 1
    return ", ".join(f"{k} x {v}" for v, k in counts.items())


@lru_cache(maxsize=1)
def _iso3_table() -> dict[str, str]:
    try:
        with open(_INTENSITY_CSV, newline="", encoding="utf-8") as f:
            return {r["iso2"].strip().upper(): r["iso3"].strip().upper()
                    for r in csv.DictReader(f) if r.get("iso2") and r.get("iso3")}
    except Exception:  # table missing or being rewritten: keep the alpha-2 code
        log.debug("the intensity table's ISO codes are unreadable", exc_info=True)
        return {}


def iso3(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip().upper()
    if len(code) == 3:
        return code
    return _iso3_table().get(code, code)


def fmt(value) -> str:
    """One cell of CSV text; None and non-finite floats become empty."""
    if type(value) is str:  # the common kind first
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return num_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return utc_iso(value)
    return str(value)


def utc_iso(dt: datetime) -> str:
    if dt.tzinfo is None:  # the engine's datetimes are UTC; a naive one is taken as UTC
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _embodied(cell_kg: float | None, before_kg: float | None) -> float | None:
    if cell_kg is None:
        return None
    return cell_kg + (before_kg or 0.0)


def num_text(value: float | None) -> str:
    """A number as CSV text (``%.7g``); None and non-finite values empty."""
    if value is None:
        return ""
    value = float(value)
    return format(value, ".7g") if math.isfinite(value) else ""


def make_row(m: Measurement, cell: CellInfo, host: HostInfo) -> dict[str, str]:
    """The row for one cell: exactly ``COLUMNS`` in order, every value already text (each
    formatted as what it is: a row is made at every cell end)."""
    it = m.intensity
    kg = m.emissions_kg
    above = m.above_idle_j
    ended = utc_iso(m.ended_at)
    row = dict.fromkeys(COLUMNS, "")
    row.update(host.texts)
    row.update({
        "timestamp": ended,
        "project_name": cell.project_name or "",
        "run_id": cell.run_id or "",
        "duration": num_text(m.duration_s),
        "emissions": num_text(kg),
        "emissions_rate": num_text(kg / m.duration_s if m.duration_s > 0 else 0.0),
        "energy_consumed": num_text(m.energy_kwh),
        "country_name": it.country_name or "",
        "country_iso_code": iso3(it.country_iso) or "",
        "region": it.region or "",
        "pue": num_text(m.pue),
        "notebook": cell.notebook or "",
        "session_id": cell.session_id or "",
        "execution_count": fmt(cell.execution_count),
        "cell_id": cell.cell_id or "",
        "label": (cell.label if cell.label is not None else m.label) or "",
        "status": cell.status,
        "started_at": utc_iso(m.started_at),
        "ended_at": ended,
        "intensity": num_text(it.g_per_kwh),
        "intensity_source": it.source,
        "energy_above_idle": num_text(above / J_PER_KWH * m.pue if above is not None else None),
        "machine_energy": num_text(m.machine_energy_kwh),
        "idle_energy_before": num_text(cell.idle_energy_before),
        "embodied_emissions": num_text(_embodied(m.embodied_kg, cell.embodied_before)),
        "gpu_synced": fmt(m.gpu_synced),
    })
    if host.tracking_mode != "machine" and m.machine_devices is None:
        row["tracking_mode"] = "machine"  # the attribution was unavailable: say what was done
    machine = m.machine
    for comp, (machine_energy, method, power, energy, measured) in _COMPONENT_COLUMNS.items():
        c = machine.get(comp)
        if c is not None and not c.failed:
            row[machine_energy] = num_text(c.energy_j / J_PER_KWH)
        c = m.by_component.get(comp)
        if c is None:
            continue  # no sensor: empty, unknown is not zero
        if c.failed:
            failed = sum(1 for d in m.devices if d.component == comp and d.failed is not None)
            if failed == c.devices:  # nothing known: empty, never a measured-looking 0
                row[method] = f"{c.method} (failed)"
                continue
            # a failed device adds nothing after it failed: the sum is partial, say so
            row[method] = f"{c.method} ({failed} of {c.devices} failed)"
        else:
            row[method] = c.method
        row[power] = num_text(c.power_w)
        row[energy] = num_text(c.energy_j / J_PER_KWH)
        row[measured] = "true" if c.measured else "false"
    return row

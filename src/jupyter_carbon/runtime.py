"""The process-wide meter: one sampler thread per process, shared by the IPython
extension and ``jc.track()``, created on first use (never at import)."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from .engine.meter import Meter
from .sensors.discover import SensorSetup, discover

log = logging.getLogger(__name__)

_lock = threading.Lock()
_meter: Meter | None = None
_setup: SensorSetup | None = None
_defaults: Callable[[], Any] | None = None  # the IPython session's (intensity, pue)


def build_meter(settings: Any, **discover_kwargs: Any) -> tuple[Meter, SensorSetup]:
    """A meter on the best sensors the settings allow (a session's ``MeterFactory``)."""
    discover_kwargs.setdefault("powercap_root", os.environ.get("JUPYTER_CARBON_POWERCAP_ROOT")
                               or "/sys/class/powercap")
    setup = discover(gpu=settings["gpu"], cpu_tdp_w=settings["cpu_tdp"],
                     ram_w_per_gb=settings["ram_w_per_gb"], **discover_kwargs)
    meter = Meter(setup.sensors, interval=settings["interval"])
    equip(meter, settings["tracking_mode"], settings["gpu_sync"])
    return meter, setup


def equip(meter: Meter, tracking_mode: str, gpu_sync: bool) -> Meter:
    """Give ``meter`` its attribution and its GPU synchronisation. ``kernel`` mode charges
    the kernel's process tree's share of the machine, ``process`` the kernel process's
    alone; ``machine`` has no attribution (the whole machine)."""
    set_sync(meter, gpu_sync)
    if tracking_mode in ("kernel", "process") and meter.attribution is None:
        try:
            meter.attribution = make_attribution(meter, children=tracking_mode == "kernel")
        except Exception:  # no /proc, no psutil: the machine's figures, said in the row's mode
            log.debug("kernel attribution unavailable; charging the machine", exc_info=True)
    return meter


def set_sync(meter: Meter, on: bool) -> None:
    from .gpusync import sync_devices

    meter.sync = sync_devices if on else None


def make_attribution(meter: Meter, *, children: bool = True) -> Any:
    from .attribution.gpu import GpuUsers
    from .attribution.machine import MachineUsage
    from .attribution.share import KernelShare
    from .attribution.tree import ProcessTree
    from .gpusync import cuda_active
    from .sensors.models import ProcStatCpuSensor

    gpus = [s for s in meter.sensors if s.component == "gpu"]
    handles = [getattr(s, "_handle", None) for s in gpus]
    nvml = getattr(gpus[0], "_nvml", None) if gpus else None
    users = GpuUsers(nvml, handles, cuda_active) if gpus and nvml is not None and None not in handles else None
    proc_stat = next((s for s in meter.sensors if isinstance(s, ProcStatCpuSensor)), None)
    share = KernelShare([s.component for s in meter.sensors], users, tree=ProcessTree(children=children),
                        machine=MachineUsage(shared=proc_stat))
    meter.sampler.add_chore(share.refresh, share.refresh_every)
    return share


def get_meter(**discover_kwargs: Any) -> Meter:
    """The running process-wide meter, started on first call."""
    global _meter, _setup
    with _lock:
        if _meter is None:
            interval = discover_kwargs.pop("interval", 1.0)
            gpu_sync = discover_kwargs.pop("gpu_sync", True)
            mode = discover_kwargs.pop("tracking_mode", "kernel")
            _setup = discover(**discover_kwargs)
            _meter = Meter(_setup.sensors, interval=interval)
            equip(_meter, mode, gpu_sync)
            _meter.start()
        return _meter


def adopt(meter: Meter, defaults: Callable[[], Any] | None = None) -> None:
    """Make ``meter`` (the IPython session's) the process meter, so ``jc.track()`` inside a
    notebook shares its sampler instead of starting a second one; ``defaults()`` gives the
    session's (intensity, pue) so a block measures with the notebook's settings."""
    global _meter, _setup, _defaults
    with _lock:
        _defaults = defaults
        if _meter is not None and _meter is not meter:
            _meter.sampler.stop()
            if _setup is not None:
                _setup.close()
            _setup = None
        _meter = meter


def release(meter: Meter) -> None:
    """Forget ``meter`` (its owner closes it); the next ``get_meter()`` starts a fresh one."""
    global _meter, _defaults
    with _lock:
        if _meter is meter:
            _meter, _defaults = None, None


def session_defaults() -> Any:
    """(Intensity, pue) of the notebook session owning the meter, or None."""
    d = _defaults
    return d() if d is not None else None


def shutdown() -> None:
    """Stop the sampler thread and release every sensor handle."""
    global _meter, _setup
    with _lock:
        if _meter is not None:
            _meter.sampler.stop()
            close = getattr(_meter.attribution, "close", None)
            if close is not None:
                close()
        if _setup is not None:
            _setup.close()
        _meter, _setup = None, None

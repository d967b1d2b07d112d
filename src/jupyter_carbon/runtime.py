"""The process-wide meter: one sampler thread per process, shared by the IPython
extension and ``jc.track()``, created on first use (never at import)."""
from __future__ import annotations

import threading

from .engine.meter import Meter
from .sensors.discover import SensorSetup, discover

_lock = threading.Lock()
_meter: Meter | None = None
_setup: SensorSetup | None = None


def get_meter(**discover_kwargs) -> Meter:
    """The running process-wide meter, started on first call."""
    global _meter, _setup
    with _lock:
        if _meter is None:
            interval = discover_kwargs.pop("interval", 1.0)
            _setup = discover(**discover_kwargs)
            _meter = Meter(_setup.sensors, interval=interval)
            _meter.start()
        return _meter


def current_setup() -> SensorSetup | None:
    return _setup


def adopt(meter: Meter) -> None:
    """Make ``meter`` (the IPython session's) the process meter, so ``jc.track()`` inside a
    notebook shares its sampler instead of starting a second one."""
    global _meter, _setup
    with _lock:
        if _meter is not None and _meter is not meter:
            _meter.sampler.stop()
            if _setup is not None:
                _setup.close()
            _setup = None
        _meter = meter


def release(meter: Meter) -> None:
    """Forget ``meter`` (its owner closes it); the next ``get_meter()`` starts a fresh one."""
    global _meter
    with _lock:
        if _meter is meter:
            _meter = None


def shutdown() -> None:
    """Stop the sampler thread and release every sensor handle."""
    global _meter, _setup
    with _lock:
        if _meter is not None:
            _meter.sampler.stop()
        if _setup is not None:
            _setup.close()
        _meter, _setup = None, None

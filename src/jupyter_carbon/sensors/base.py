"""What every sensor promises: a cheap, side-effect-free read of one device.

A sensor only *reads*; turning readings into cumulative energy (wrap-around, power
integration, ordering between threads) is the job of ``engine.channel.Channel``, so that
logic exists once and is exercised by every sensor, the replayed ones included.
"""
from __future__ import annotations

from typing import NamedTuple

CPU, GPU, RAM = "cpu", "gpu", "ram"
COMPONENTS = (CPU, GPU, RAM)


class Reading(NamedTuple):
    """One read of a device: a ``(joules, watts)`` pair.

    ``joules`` is a hardware-style cumulative counter (it may wrap at ``Sensor.wrap_j``)
    or None for sensors that only know power; ``watts`` is the instantaneous power or
    None when it must be derived from the counter. Sensors read on every tick may return
    a plain ``(joules, watts)`` tuple: it is the same thing without a constructor call.
    """

    joules: float | None
    watts: float | None = None


class Sensor:
    """Base class. Subclasses set the attributes and implement ``read``.

    ``read`` may be called from the sampler thread and from the user's thread at window
    edges, concurrently: it must not keep mutable state that needs a lock.
    """

    component: str = CPU
    method: str = "unknown"
    measured: bool = False  # True: hardware counter/power reading; False: a model
    name: str = ""  # human-readable device name, e.g. "NVIDIA H100 80GB HBM3 #0"
    wrap_j: float | None = None  # counter range in joules, when the counter wraps
    # A model whose power never changes: its channel integrates this figure and never
    # calls ``read``, so the sampler spends nothing on it.
    constant_w: float | None = None
    # A counter that only grows (no wrap, no reset) whose raw data is cheaper to fetch than
    # to turn into joules: ``fetch()`` returns the raw data, ``decode(raw)`` the counter in
    # joules, and ``read`` the same as ``(decode(fetch()), None)``. The sampler's tick then
    # keeps the raw data and decodes it only when a sample is looked at (engine/tick.py);
    # energy since the anchor is one subtraction, so both paths give the same figure.
    deferred: bool = False

    def read(self, now: float) -> Reading:  # pragma: no cover - abstract
        raise NotImplementedError

    def fetch(self):  # pragma: no cover - abstract; only for ``deferred`` sensors
        raise NotImplementedError

    def decode(self, raw) -> float:  # pragma: no cover - abstract; only for ``deferred`` sensors
        raise NotImplementedError

    def close(self) -> None:
        """Release handles (file descriptors, NVML). Idempotent."""

    @property
    def kind(self) -> str:
        return "measured" if self.measured else "estimated"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.component}:{self.method} {self.name!r}>"

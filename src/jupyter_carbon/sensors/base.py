"""What every sensor promises: a cheap, side-effect-free read of one device.

A sensor only *reads*; turning readings into cumulative energy (wrap-around, power
integration, ordering between threads) is the job of ``engine.channel.Channel``, so that
logic exists once and is exercised by every sensor, the replayed ones included.
"""
from __future__ import annotations

CPU, GPU, RAM = "cpu", "gpu", "ram"
COMPONENTS = (CPU, GPU, RAM)

#: One read of a device: ``(joules, watts)``. ``joules`` is a hardware-style cumulative
#: counter (it may wrap at ``Sensor.wrap_j``) or None for sensors that only know power;
#: ``watts`` is the instantaneous power or None when it must be derived from the counter.
#: A plain pair, not a named tuple: every sensor is read on every tick, and a named tuple's
#: constructor is a Python call there, paid cold each second.
Reading = tuple[float | None, float | None]


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
    # A read that can block for seconds (an NVML call on a GPU that fell off the bus): the
    # user's thread then reads it within a time budget (see engine.guard).
    may_block: bool = False

    def read(self, now: float) -> Reading:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release handles (file descriptors, NVML). Idempotent."""

    @property
    def kind(self) -> str:
        return "measured" if self.measured else "estimated"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.component}:{self.method} {self.name!r}>"

"""NVIDIA GPUs through NVML: the total-energy counter where the GPU has one (Volta and
newer), instantaneous power sampling otherwise. Only the GPUs this process may use count.

One NVML call per GPU per read: the counter (watts are derived from it by the channel), or
the ``NVML_FI_DEV_POWER_INSTANT`` field, as Zeus does, because ``nvmlDeviceGetPowerUsage`` is
a one-second average on recent GPUs (Yang et al. 2024, arXiv 2312.02741). Only where that
field is missing (old drivers) is the averaged power used (method ``nvml-power-avg``).
A power-sampled GPU's method is ``nvml-power``: the row says so.

``pynvml`` (from the ``nvidia-ml-py`` package) is imported and initialised only by
``discover_nvml``, never at import of jupyter_carbon.
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from .base import GPU, Reading, Sensor

log = logging.getLogger(__name__)

COUNTER, INSTANT, AVERAGE = "nvml-energy", "nvml-power", "nvml-power-avg"


class NvmlSensor(Sensor):
    component = GPU
    measured = True
    may_block = True  # a GPU that fell off the bus can hold an NVML call for seconds

    def __init__(self, nvml: Any, handle: Any, index: int, name: str, uuid: str, method: str):
        self._nvml = nvml
        self._handle = handle
        self.index = index
        self.uuid = uuid
        self.name = f"{name} #{index}"
        self.method = method
        self._field = [nvml.NVML_FI_DEV_POWER_INSTANT] if method == INSTANT else None

    @property
    def use_counter(self) -> bool:
        return self.method == COUNTER

    def read(self, now: float) -> Reading:
        nv, h = self._nvml, self._handle
        if self.method == COUNTER:
            return nv.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0, None
        if self._field is not None:
            return None, instant_watts(nv, h, self._field)
        return None, nv.nvmlDeviceGetPowerUsage(h) / 1000.0


def instant_watts(nv: Any, handle: Any, field_ids: list) -> float:
    v = nv.nvmlDeviceGetFieldValues(handle, field_ids)[0]
    ret = getattr(v, "nvmlReturn", 0)
    if ret:
        raise nv.NVMLError(ret)
    return v.value.uiVal / 1000.0


def pick_method(nv: Any, handle: Any) -> str | None:
    """The best way to read this GPU: its energy counter, else instant power, else averaged
    power; None if it reports no power at all."""
    try:
        nv.nvmlDeviceGetTotalEnergyConsumption(handle)
        return COUNTER
    except Exception:
        log.debug("no energy counter", exc_info=True)
    try:
        instant_watts(nv, handle, [nv.NVML_FI_DEV_POWER_INSTANT])
        return INSTANT
    except Exception:
        log.debug("no instant power field", exc_info=True)
    try:
        nv.nvmlDeviceGetPowerUsage(handle)
        return AVERAGE
    except Exception:
        log.debug("no power reading", exc_info=True)
        return None


class NvmlDiscovery:
    """The GPUs NVML measures, or one line saying why none; ``close`` shuts NVML down."""

    def __init__(self, sensors: list[NvmlSensor] | None = None, message: str | None = None, _nvml: Any = None):
        self.sensors = sensors if sensors is not None else []
        self.message = message
        self._nvml = _nvml

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                log.debug("nvmlShutdown failed", exc_info=True)
            self._nvml = None


def visible_indices(count: int, uuids: list[str], env: Mapping[str, str] | None = None) -> list[int]:
    """NVML indices of the GPUs ``CUDA_VISIBLE_DEVICES`` exposes, in CUDA's order.

    Like CUDA, entries are indices or (prefixes of) UUIDs, and the list stops at the first
    entry that names no device. Unset means every GPU; empty or "-1" means none.
    Indices are taken as NVML (PCI bus) order, as with ``CUDA_DEVICE_ORDER=PCI_BUS_ID``.
    """
    env = os.environ if env is None else env
    spec = env.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return list(range(count))
    out: list[int] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            break
        if item.lstrip("-").isdigit():
            i = int(item)
            if not 0 <= i < count:
                break
        else:
            matches = [i for i, u in enumerate(uuids) if u.startswith(item) or
                       u.startswith("GPU-" + item)]
            if len(matches) != 1:
                break
            i = matches[0]
        if i in out:
            break
        out.append(i)
    return out


def _driver_present() -> bool:
    """Cheap check before importing pynvml (~13 ms): on Linux the NVIDIA driver leaves traces."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia", "/dev/nvidiactl",
                                           "/usr/lib/wsl/lib/libnvidia-ml.so.1"))


def discover_nvml(env: Mapping[str, str] | None = None, nvml: Any = None) -> NvmlDiscovery:
    """One sensor per visible GPU; no NVML (no driver, no library) is not an error."""
    if nvml is None:
        if not _driver_present():
            return NvmlDiscovery()
        try:
            import pynvml  # noqa: PLC0415 - deliberately lazy
        except Exception:
            log.debug("pynvml not importable", exc_info=True)
            return NvmlDiscovery()
        nvml = pynvml
    try:
        nvml.nvmlInit()
    except Exception as exc:
        log.debug("NVML did not start", exc_info=True)
        msg = str(exc)
        if "Driver Not Loaded" in msg or "Library Not Found" in msg or "not found" in msg.lower():
            return NvmlDiscovery()  # no NVIDIA GPU here: nothing to say
        return NvmlDiscovery(message=f"NVML could not start ({msg}); GPU energy not measured. "
                                     f"Check `nvidia-smi` works for this user.")
    disc = NvmlDiscovery(_nvml=nvml)
    try:
        count = nvml.nvmlDeviceGetCount()
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        uuids = [_text(nvml.nvmlDeviceGetUUID(h)) for h in handles]
        for i in visible_indices(count, uuids, env):
            h = handles[i]
            name = _text(nvml.nvmlDeviceGetName(h))
            method = pick_method(nvml, h)
            if method is None:
                disc.message = f"GPU {i} ({name}) reports no power reading; not measured"
                continue
            disc.sensors.append(NvmlSensor(nvml, h, i, name, uuids[i], method))
    except Exception as exc:
        log.debug("NVML listing failed", exc_info=True)
        disc.message = f"NVML error while listing GPUs ({exc}); GPU energy not measured"
    if not disc.sensors:
        disc.close()
    return disc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

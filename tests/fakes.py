"""Fakes for hardware this machine lacks; they feed the real parsing and integration code."""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace


def make_powercap(root: Path, zones: dict[str, dict]) -> Path:
    """Write a powercap tree: {"intel-rapl:0": {"name": "package-0", "energy_uj": 5, "max": 100}}.

    Zones are flat entries as in /sys/class/powercap. ``mode`` sets file permissions
    (0o000 for an unreadable ``energy_uj``).
    """
    root.mkdir(parents=True, exist_ok=True)
    for zone, spec in zones.items():
        d = root / zone
        d.mkdir()
        (d / "name").write_text(spec["name"] + "\n")
        (d / "energy_uj").write_text(f"{spec.get('energy_uj', 0)}\n")
        (d / "max_energy_range_uj").write_text(f"{spec.get('max', 262143328850)}\n")
        if "mode" in spec:
            os.chmod(d / "energy_uj", spec["mode"])
    return root


def set_counter(root: Path, zone: str, uj: int) -> None:
    # Rewrite in place (same inode), as sysfs presents a new value to an open fd.
    with open(root / zone / "energy_uj", "r+") as f:
        f.write(f"{uj}\n".ljust(24))
        f.truncate()


class FakeGpu:
    """One GPU of the fake driver. ``instant``: it has the NVML_FI_DEV_POWER_INSTANT field;
    ``procs``: {pid: bytes of GPU memory} of its compute processes; ``util``: per-process
    utilisation samples [(pid, smUtil, timestamp_us)] NVML would return."""

    def __init__(self, name="NVIDIA H100 80GB HBM3", uuid="GPU-0000", energy_mj=0, power_mw=100_000,
                 counter=True, instant=True, avg_power_mw=None):
        self.name, self.uuid = name, uuid
        self.energy_mj, self.power_mw, self.counter = energy_mj, power_mw, counter
        self.instant = instant
        self.avg_power_mw = avg_power_mw  # what nvmlDeviceGetPowerUsage says (a 1 s average)
        self.procs: dict[int, int] = {}
        self.util: list[tuple[int, int, int]] = []
        self.fail = None  # an exception to raise on the next reads


def patch_nvml(monkeypatch, gpus: list[FakeGpu]):
    """Patch the real ``pynvml`` module's entry points with a fake driver of ``gpus``."""
    import pynvml

    import jupyter_carbon.sensors.nvml as nv

    monkeypatch.setattr(nv, "_driver_present", lambda: True)  # as on a machine with the driver
    state = {"init": 0, "shutdown": 0}

    def handle(i):
        return gpus[i]

    def check(g):
        if g.fail is not None:
            raise g.fail

    def energy(g):
        check(g)
        count("energy")
        if not g.counter:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return g.energy_mj

    def power(g):
        check(g)
        count("power")
        return g.avg_power_mw if g.avg_power_mw is not None else g.power_mw

    def count(name):
        state[name] = state.get(name, 0) + 1

    def fields(g, ids):
        check(g)
        count("fields")
        out = []
        for fid in ids:
            v = pynvml.c_nvmlFieldValue_t()
            v.fieldId = fid
            if fid == pynvml.NVML_FI_DEV_POWER_INSTANT and g.instant:
                v.nvmlReturn = pynvml.NVML_SUCCESS
                v.value.uiVal = g.power_mw
            else:
                v.nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
            out.append(v)
        return out

    def running(g):
        check(g)
        count("procs")
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in g.procs.items()]

    def utilisation(g, since):
        check(g)
        count("util")
        got = [SimpleNamespace(pid=p, smUtil=u, timeStamp=t) for p, u, t in g.util if t > since]
        if not got:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        return got

    monkeypatch.setattr(pynvml, "nvmlInit", lambda: state.__setitem__("init", state["init"] + 1))
    monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: state.__setitem__("shutdown", state["shutdown"] + 1))
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: len(gpus))
    monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", handle)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetName", lambda g: g.name)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetUUID", lambda g: g.uuid)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetTotalEnergyConsumption", energy)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetPowerUsage", power)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetFieldValues", fields)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetComputeRunningProcesses", running)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetProcessUtilization", utilisation)
    return state

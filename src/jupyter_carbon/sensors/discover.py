"""Pick the best available method per component, and say once how to get a better one.

GPU: NVML. CPU: RAPL package counters, else the TDP model. RAM: the RAPL DRAM domain,
else the RAM model.
"""
from __future__ import annotations

import logging

from .base import CPU, GPU, RAM, Sensor
from .models import DEFAULT_RAM_W_PER_GB, CpuTdpModel, RamModelSensor, cpu_tdp_sensor
from .nvml import discover_nvml
from .rapl import DEFAULT_ROOT, discover_rapl

log = logging.getLogger(__name__)


class SensorSetup:
    """The sensors found, what to say about them, and how to release what they opened."""

    def __init__(self, sensors: list[Sensor]):
        self.sensors = sensors
        self.messages: list[str] = []  # said once at load (how to measure better)
        self.notes: list[str] = []  # caveats shown by `%carbon` status
        self._closers: list = []

    def of(self, component: str) -> list[Sensor]:
        return [s for s in self.sensors if s.component == component]

    def describe(self) -> str:
        """e.g. ``cpu: tdp-model (est.), ram: ram-model (est.), gpu: 2x nvml-energy``"""
        parts = []
        for comp in (GPU, CPU, RAM):
            sensors = self.of(comp)
            if not sensors:
                parts.append(f"{comp}: none")
                continue
            methods = dict.fromkeys(s.method for s in sensors)
            n = f"{len(sensors)}x " if len(sensors) > 1 else ""
            est = "" if all(s.measured for s in sensors) else " (est.)"
            parts.append(f"{comp}: {n}{'+'.join(methods)}{est}")
        return ", ".join(parts)

    def close(self) -> None:
        for s in self.sensors:
            try:
                s.close()
            except Exception:
                log.debug("closing sensor %s failed", s.name, exc_info=True)
        for c in self._closers:
            c()


def discover(*, powercap_root: str = DEFAULT_ROOT, env: dict | None = None, nvml=None,
             gpu: bool = True, cpu_tdp_w: float | None = None,
             ram_w_per_gb: float = DEFAULT_RAM_W_PER_GB) -> SensorSetup:
    """The machine's best sensors per component (what a cell is charged of them is the
    attribution's business: ``runtime.equip``)."""
    setup = SensorSetup([])
    if gpu:
        n = discover_nvml(env=env, nvml=nvml)
        setup.sensors += n.sensors
        setup._closers.append(n.close)
        if n.message:
            setup.messages.append(n.message)

    rapl = discover_rapl(powercap_root)
    if rapl.message:
        setup.messages.append(rapl.message)
    cpu_rapl = [s for s in rapl.sensors if s.component == CPU]
    ram_rapl = [s for s in rapl.sensors if s.component == RAM]
    for s in rapl.sensors:
        if s not in cpu_rapl and s not in ram_rapl:
            s.close()
    if cpu_rapl and cpu_tdp_w is None:
        setup.sensors += cpu_rapl
    else:
        for s in cpu_rapl:
            s.close()
        setup.sensors.append(_tdp_sensor(cpu_tdp_w, setup.notes))
    setup.sensors += ram_rapl or [RamModelSensor(ram_w_per_gb)]
    return setup


def _tdp_sensor(override_w, notes) -> CpuTdpModel:
    from ..hardware.cpuinfo import cpu_model_name, cpu_packages
    from ..hardware.tdp import lookup_tdp

    model = cpu_model_name()
    match = lookup_tdp(model, override_w=override_w)
    watts = match.watts * (cpu_packages() if match.how in ("table", "fuzzy") else 1)
    name = f"{model or 'unknown CPU'} ({match.how} {watts:.0f} W)"
    if match.note:
        notes.append(f"CPU power is modelled: {match.note}; for a better estimate set "
                        f"JUPYTER_CARBON_CPU_TDP=<watts> (or %carbon config --cpu_tdp W)")
    return cpu_tdp_sensor(watts, name)

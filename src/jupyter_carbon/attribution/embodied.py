"""The per-window share of the hardware's manufacturing (embodied) emissions.

(server base + CPUs + GB of RAM + GPUs, from ``data/embodied.csv`` with source and year per row)
/ lifetime x the window's duration x the kernel's share: the base and CPUs by the CPU share,
RAM by the RAM share, each GPU by its share (1 outside kernel mode). Kept apart from the
operational ``emissions`` and never added to them. The ``embodied`` setting turns it off or
replaces the machine's total with a known figure (kg CO₂e, split among the parts in the
proportions of the default factors).
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent.parent / "data" / "embodied.csv"
YEAR_S = 365.25 * 24 * 3600


@lru_cache(maxsize=1)
def factors() -> dict[str, float]:
    with open(DATA, newline="", encoding="utf-8") as f:
        return {r["part"]: float(r["kg_co2e"]) for r in csv.DictReader(f)}


@dataclass(frozen=True)
class Hardware:
    cpus: int
    ram_gb: float
    gpus: int

    @classmethod
    def here(cls, gpus: int) -> Hardware:
        from ..hardware.cpuinfo import cpu_packages
        from ..hardware.procfs import total_memory_bytes

        try:
            packages = int(cpu_packages())
        except Exception:
            log.debug("CPU package count unknown; taking 1", exc_info=True)
            packages = 1
        return cls(max(packages, 1), total_memory_bytes() / 1e9, gpus)


class Embodied:
    """kg CO₂e per second of each part of this machine, and a window's share of it."""

    def __init__(self, hardware: Hardware, total_kg: float | None = None):
        f = factors()
        self.lifetime_s = f["lifetime_years"] * YEAR_S
        self.hardware = hardware
        self.base = f["server_base"]
        self.cpu = f["cpu"] * hardware.cpus
        self.ram = f["ram"] * hardware.ram_gb
        self.gpu = f["gpu"]  # per GPU
        if total_kg is not None:  # the user's figure for the machine, split as the defaults are
            k = total_kg / self.total_kg if self.total_kg > 0 else 0.0
            self.base, self.cpu, self.ram, self.gpu = self.base * k, self.cpu * k, self.ram * k, self.gpu * k

    @property
    def total_kg(self) -> float:
        return self.base + self.cpu + self.ram + self.gpu * self.hardware.gpus

    def window_kg(self, duration_s: float, shares: dict[str, Any] | None, gpus: int) -> float:
        s = shares or {}
        cpu = s.get("cpu", 1.0)
        gpu_shares = s.get("gpu") or (1.0,) * gpus
        kg = (self.base + self.cpu) * cpu + self.ram * s.get("ram", 1.0) + self.gpu * sum(gpu_shares)
        return kg * duration_s / self.lifetime_s


def from_setting(value: str, gpus: int) -> Embodied | None:
    """The ``embodied`` setting: ``on``, ``off`` or a number (kg CO₂e for the machine)."""
    if value == "off":
        return None
    try:
        hw = Hardware.here(gpus)
        return Embodied(hw, None if value == "on" else float(value))
    except Exception:
        log.debug("embodied factors unavailable", exc_info=True)
        return None

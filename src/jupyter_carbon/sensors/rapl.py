"""CPU package and DRAM energy from Linux RAPL through the powercap sysfs tree.

Only top-level package domains (and DRAM, wherever it sits) are used: ``core``/``uncore``
sub-domains are already inside the package figure, and ``psys`` covers the whole
platform, so counting them would double count. Counters wrap at ``max_energy_range_uj``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from .base import CPU, RAM, Reading, Sensor

DEFAULT_ROOT = "/sys/class/powercap"
# intel-rapl:0, intel-rapl:0:2 (and the AMD spellings some kernels use)
_ZONE = re.compile(r"^(intel-rapl|amd-rapl|amd_rapl|amd-energy)(?::(\d+))(?::(\d+))?$")


class RaplSensor(Sensor):
    measured = True
    method = "rapl"

    def __init__(self, zone_dir: Path, component: str, name: str):
        self.component = component
        self.name = name
        self.path = zone_dir / "energy_uj"
        self.wrap_j = _read_int(zone_dir / "max_energy_range_uj", default=0) / 1e6 or None
        self._fd: int | None = os.open(self.path, os.O_RDONLY)

    def read(self, now: float) -> Reading:
        fd = self._fd
        if fd is None:
            raise OSError("sensor closed")
        return int(os.pread(fd, 32, 0)) / 1e6, None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class RaplDiscovery(NamedTuple):
    sensors: list[RaplSensor]
    message: str | None  # one line when RAPL exists but cannot be read


def discover_rapl(root: str | os.PathLike = DEFAULT_ROOT) -> RaplDiscovery:
    root = Path(root)
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return RaplDiscovery([], None)
    sensors: list[RaplSensor] = []
    denied: list[Path] = []
    for entry in entries:
        m = _ZONE.match(entry)
        if not m:
            continue
        zone = root / entry
        name = _read_text(zone / "name") or entry
        top_level = m.group(3) is None
        if name.startswith("package"):
            if not top_level:
                continue
            component = CPU
        elif name == "dram":
            component = RAM
        else:  # core, uncore (inside package), psys (whole platform): skip
            continue
        try:
            s = RaplSensor(zone, component, f"RAPL {name} ({entry})")
            s.read(0.0)
        except PermissionError:
            denied.append(zone / "energy_uj")
            continue
        except (OSError, ValueError):
            continue
        sensors.append(s)
    message = None
    if denied and not sensors:
        message = (f"RAPL energy counters exist but are not readable ({len(denied)} domain(s), "
                   f"root-only); to measure CPU energy directly run: "
                   f"sudo chmod a+r {root}/*/energy_uj  (using the TDP model meanwhile)")
    elif denied:
        message = f"RAPL: {len(denied)} domain(s) not readable, measuring the readable ones only"
    return RaplDiscovery(sensors, message)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _read_int(path: Path, default: int) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return default

"""The records of cells: the running one, an ended one's, and the session's totals."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .engine.window import Window
from .measurement import Measurement


@dataclass
class CellOptions:
    """Per-cell overrides set by ``%%carbon`` (they win over every other layer)."""

    label: str | None = None
    country: str | None = None
    intensity: float | None = None
    pue: float | None = None


@dataclass
class RunningCell:
    window: Window
    execution_count: int | None
    cell_id: str | None
    options: CellOptions = field(default_factory=CellOptions)
    summary: bool | None = None  # %%carbon: True shows a summary at the end; False is --quiet
    live: Any = None  # the %%carbon live line, finished when the cell ends

    @property
    def label(self) -> str | None:
        return self.options.label

    @property
    def started_at(self) -> datetime:
        return self.window.started_at


@dataclass(frozen=True)
class CellRecord:
    execution_count: int | None
    cell_id: str | None
    label: str | None
    status: str
    measurement: Measurement
    #: Futures of row updates completed after the cell (see ``events.CellEnding``).
    late: list[Any] = field(default_factory=list, compare=False, repr=False)

    @property
    def duration_s(self) -> float:
        return self.measurement.duration_s

    @property
    def energy_j(self) -> float:
        return self.measurement.energy_j

    @property
    def energy_kwh(self) -> float:
        return self.measurement.energy_kwh

    @property
    def emissions_kg(self) -> float:
        return self.measurement.emissions_kg

    @property
    def ended_at(self) -> datetime:
        return self.measurement.ended_at


@dataclass
class Totals:
    cells: int = 0
    energy_j: float = 0.0
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0
    duration_s: float = 0.0

    def add(self, m: Measurement) -> None:
        self.cells += 1
        self.energy_j += m.energy_j
        self.energy_kwh += m.energy_kwh
        self.emissions_kg += m.emissions_kg
        self.duration_s += m.duration_s

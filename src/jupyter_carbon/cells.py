"""The records of cells: the running one, an ended one's, and the session's totals.

The state holders (``RunningCell``, ``Totals``) are plain classes: generating a dataclass's
methods costs about 1 ms of ``%load_ext`` per class on a small VM, a tenth of the load budget
for a handful. The ended cell's record stays a frozen dataclass.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .engine.window import Span, Window
from .intensity.model import Intensity
from .measurement import Measurement
from .units import J_PER_KWH


class CellOptions(NamedTuple):
    """Per-cell overrides set by ``%%carbon`` (they win over every other layer)."""

    label: str | None = None
    country: str | None = None
    intensity: float | None = None
    pue: float | None = None


NO_OPTIONS = CellOptions()


class BetweenCells(NamedTuple):
    """What the kernel was charged from the end of one cell to the start of the next (the
    next row's ``idle_energy_before``): the totals only, with CO₂e and embodied share."""

    duration_s: float
    energy_j: float  # device energy, before PUE
    energy_kwh: float  # x PUE, like a cell's
    emissions_kg: float
    machine_energy_kwh: float  # x PUE
    embodied_kg: float | None

    @classmethod
    def of(cls, span: Span, intensity: Intensity, pue: float, embodied_kg: float | None) -> BetweenCells:
        kwh = span.joules / J_PER_KWH * pue
        return cls(span.duration_s, span.joules, kwh, kwh * intensity.g_per_kwh / 1000.0,
                   span.machine_joules / J_PER_KWH * pue, embodied_kg)


class RunningCell:
    """The cell being run: its window, and what ``%%carbon`` set for it on the way."""

    def __init__(self, window: Window, execution_count: int | None, cell_id: str | None,
                 between: BetweenCells | None = None):
        self.window = window
        self.execution_count = execution_count
        self.cell_id = cell_id
        self.options = NO_OPTIONS
        self.summary: bool | None = None  # %%carbon: True shows a summary at the end; False is --quiet
        self.live: Any = None  # the %%carbon live line, finished when the cell ends
        #: The kernel's energy since the previous cell ended (``idle_energy_before``), or None.
        self.between = between

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
    #: What the kernel was charged between the previous cell's end and this cell's start.
    between: BetweenCells | None = None

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


class Totals:
    """The cells' totals, and apart from them what the kernel was charged between cells;
    the session's total is both (``session_kwh``): the sum of the rows' ``energy_consumed``
    and ``idle_energy_before``."""

    def __init__(self) -> None:
        self.cells = 0
        self.energy_j = self.energy_kwh = self.emissions_kg = self.duration_s = 0.0
        self.between_j = self.between_kwh = self.between_kg = 0.0
        self.embodied_kg = self.machine_kwh = 0.0
        self.cluster_kwh = 0.0  # of energy_kwh: the clusters' parts, added when they complete
        self._lock = threading.Lock()

    def add(self, m: Measurement, between: BetweenCells | None = None) -> None:
        with self._lock:
            self._add(m, between)

    def add_late(self, joules: float, kwh: float, kg: float) -> None:
        """A part of a cell completed after it ended (a cluster's energy, from its thread)."""
        with self._lock:
            self.energy_j += joules
            self.energy_kwh += kwh
            self.emissions_kg += kg
            self.cluster_kwh += kwh

    def _add(self, m: Measurement, between: BetweenCells | None) -> None:
        self.cells += 1
        self.energy_j += m.energy_j
        self.energy_kwh += m.energy_kwh
        self.emissions_kg += m.emissions_kg
        self.duration_s += m.duration_s
        self.embodied_kg += m.embodied_kg or 0.0
        self.machine_kwh += m.machine_energy_kwh
        if between is not None:
            self.between_j += between.energy_j
            self.between_kwh += between.energy_kwh
            self.between_kg += between.emissions_kg
            self.embodied_kg += between.embodied_kg or 0.0
            self.machine_kwh += between.machine_energy_kwh

    @property
    def session_kwh(self) -> float:
        return self.energy_kwh + self.between_kwh

    @property
    def session_kg(self) -> float:
        return self.emissions_kg + self.between_kg

"""What a person sees in the cell's output when it ends: ``%%carbon``'s summary (its live
line turns into it), or one line after a long cell (``summary_threshold``)."""
from __future__ import annotations

import logging

from ..events import CellEnded, Event
from ..session import CarbonSession
from ..summary import CellSummary
from ..units import fmt_duration, fmt_energy_j, fmt_mass_g

log = logging.getLogger(__name__)


class FootprintPrinter:
    def __init__(self, session: CarbonSession):
        self.session = session
        session.subscribe(self.handle, events=(CellEnded,))

    def handle(self, event: Event) -> None:
        if not isinstance(event, CellEnded):
            return
        cell, rec = event.cell, event.record
        if cell.live is not None:  # %%carbon: the live line becomes the summary
            cell.live.finish(CellSummary(rec.measurement, rec.status))
        elif cell.summary:
            from IPython.display import display

            display(CellSummary(rec.measurement, rec.status))
        elif cell.summary is None and rec.duration_s >= self.session.settings["summary_threshold"]:
            print(f"jupyter-carbon: [{rec.execution_count}] {fmt_duration(rec.duration_s)}, "
                  f"{fmt_energy_j(rec.energy_j)}, {fmt_mass_g(rec.emissions_kg * 1000)} CO₂e")

    def close(self) -> None:
        self.session.unsubscribe(self.handle)

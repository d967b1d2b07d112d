"""What the session tells its subscribers. Outputs (the CSV, the samples log, the summary
printer, the widget, the front-end comm, a cluster collector) react to these; the session
knows none of them.

Cell and settings events come on the kernel's main thread; ``SampleTaken`` on the sampler
thread, and only to subscribers that asked for samples.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Union

if TYPE_CHECKING:
    from .engine.meter import Meter
    from .engine.sample import Sample
    from .cells import CellRecord, RunningCell


class CellStarted(NamedTuple):
    cell: RunningCell


class CellEnding(NamedTuple):
    """The record is made and no output has seen it: a contributor whose part of the row
    completes later (a cluster's energy) appends a Future to ``record.late``; it resolves
    to ``update(row, record) -> row``."""

    record: CellRecord


class CellEnded(NamedTuple):
    record: CellRecord
    cell: RunningCell


class SampleTaken(NamedTuple):
    sample: Sample


class SettingsChanged(NamedTuple):
    name: str


class MeterStopping(NamedTuple):
    """A meter is about to stop (a rebuild after a sensor setting, ``%carbon off``, close):
    the last chance to read its ring buffer."""

    meter: Meter


class MeterStarted(NamedTuple):
    meter: Meter


class SessionClosing(NamedTuple):
    pass


Event = Union[CellStarted, CellEnding, CellEnded, SampleTaken, SettingsChanged, MeterStopping, MeterStarted,
              SessionClosing]

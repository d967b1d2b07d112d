"""What the session tells its subscribers. Outputs (the CSV, the samples log, the summary
printer, the widget, the front-end comm, a cluster collector) react to these; the session
knows none of them.

Cell and settings events come on the kernel's main thread; ``SampleTaken`` on the sampler
thread, and only to subscribers that asked for samples. ``Subscribers`` delivers them, each
only to the handlers that asked for its type.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, Union, get_args

if TYPE_CHECKING:
    from .engine.meter import Meter
    from .engine.sample import Sample
    from .cells import CellRecord, RunningCell

log = logging.getLogger(__name__)


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

#: Every event type (the session routes each to its subscribers).
EVENT_TYPES: tuple[type, ...] = get_args(Event)

Handler = Callable[[Event], None]


class Subscribers:
    """Who gets which event: each event goes only to the handlers that asked for its type,
    so a cell pays for no call it does not need. A handler that raises is logged, never
    allowed to break a cell or the sampler."""

    def __init__(self) -> None:
        self.sample_handlers: list[Handler] = []  # also get SampleTaken, on the sampler thread
        self._wants: dict[Handler, frozenset[type] | None] = {}  # in the order they subscribed
        self._routes: dict[type, tuple[Handler, ...]] = {}

    @property
    def handlers(self) -> list[Handler]:
        """Every subscriber, in the order it subscribed."""
        return list(self._wants)

    def subscribe(self, handler: Handler, *, events: Iterable[type] | None = None, samples: bool = False) -> None:
        """``handler`` gets the events of the types in ``events`` (every type when None);
        ``samples``: also ``SampleTaken``. Subscribing again replaces both."""
        self._wants[handler] = frozenset(events) if events is not None else None
        if samples and handler not in self.sample_handlers:
            self.sample_handlers.append(handler)
        elif not samples and handler in self.sample_handlers:
            self.sample_handlers.remove(handler)
        self._route()

    def unsubscribe(self, handler: Handler) -> None:
        if handler in self.sample_handlers:
            self.sample_handlers.remove(handler)
        self._wants.pop(handler, None)
        self._route()

    def clear(self) -> None:
        self.sample_handlers.clear()
        self._wants.clear()
        self._route()

    def _route(self) -> None:
        def wants(fn: Handler, kind: type) -> bool:
            kinds = self._wants.get(fn)
            return kinds is None or kind in kinds

        self._routes = {kind: tuple(fn for fn in self._wants if wants(fn, kind)) for kind in EVENT_TYPES}

    def handling(self, kind: type) -> tuple[Handler, ...]:
        """The handlers an event of type ``kind`` goes to, in the order they subscribed."""
        return self._routes.get(kind, ())

    def emit(self, event: Event) -> None:
        for fn in self._routes.get(type(event), ()):
            try:
                fn(event)
            except Exception:
                log.debug("subscriber %r failed on %s", fn, type(event).__name__, exc_info=True)

    def emit_sample(self, sample: Sample) -> None:
        """The sampler's listener while someone wants samples (the session adds and removes it)."""
        handlers = tuple(self.sample_handlers)
        if not handlers:
            return
        event = SampleTaken(sample)
        for fn in handlers:
            try:
                fn(event)
            except Exception:
                log.debug("subscriber %r failed on a sample", fn, exc_info=True)

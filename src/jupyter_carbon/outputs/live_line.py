"""``%%carbon``'s live line: one output line updated in place while the cell runs (at most
twice a second, from the sampler thread), replaced by the summary when the cell ends.

Updates go through a ``PinnedDisplay``, so user code that captures output never receives them.
"""
from __future__ import annotations

import html
import logging
import time
from typing import Any

from ..events import Event, SampleTaken
from ..pinned import PinnedDisplay
from ..session import CarbonSession
from ..summary import live_text

log = logging.getLogger(__name__)


class LiveLine:
    PERIOD_S = 0.5
    MAX_FAILURES = 3

    def __init__(self, session: CarbonSession, shell: Any):
        self.session = session
        self._last = 0.0
        self._failures = 0
        self._done = False
        m = session.running_measurement()
        self._out = PinnedDisplay(shell, _Text(live_text(m) if m is not None else "running…"))
        session.subscribe(self.handle, samples=True, events=())

    def handle(self, event: Event) -> None:
        if not isinstance(event, SampleTaken) or self._done:
            return
        now = time.monotonic()
        if now - self._last < self.PERIOD_S:
            return
        self._last = now
        m = self.session.running_measurement(event.sample)
        if m is None:
            return
        try:
            self._out.update(_Text(live_text(m)))
            self._failures = 0
        except Exception:
            log.debug("live line update failed", exc_info=True)
            self._failures += 1
            if self._failures >= self.MAX_FAILURES:
                self.session.unsubscribe(self.handle)

    def finish(self, summary: Any) -> None:
        self._done = True
        self.session.unsubscribe(self.handle)
        try:
            self._out.update(summary)
        except Exception:
            log.debug("live line could not show the summary", exc_info=True)


class _Text:
    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)

    def _repr_html_(self) -> str:
        return f"<div style='font-size:12px;opacity:.85'>{html.escape(self.text)}</div>"

"""One-line messages to the user, each said once; from background threads they wait for
the next cell end, because the sampler and other helper threads never print."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
PREFIX = "jupyter-carbon: "


class Announcer:
    def __init__(self, announce: Callable[[str], None] = print):
        self.announce = announce
        self._said: set[str] = set()
        self._deferred: list[str] = []

    def say_once(self, message: str) -> None:
        message = message.removeprefix(PREFIX)
        if message in self._said:
            return
        self._said.add(message)
        if threading.current_thread() is not threading.main_thread():
            self._deferred.append(message)
            return
        self._say(message)

    def flush(self) -> None:
        """Say what background threads left (main thread, at a cell end)."""
        while self._deferred:
            self._say(self._deferred.pop(0))

    def _say(self, message: str) -> None:
        try:
            self.announce(PREFIX + message)
        except Exception:
            log.debug("could not say %r", message, exc_info=True)

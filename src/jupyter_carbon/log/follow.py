"""Follow a renamed notebook: which path does the server give this kernel's notebook now?

A kernel is not told when its notebook is renamed (``JPY_SESSION_NAME`` keeps the old name),
but the server's sessions API is: JupyterLab and Notebook 7 PATCH the session's path when
the user renames. ``NotebookFollower.current()`` is cheap enough for every cell end: it
reads the last answer (and VS Code's ``__vsc_ipynb_file__``, which the extension updates),
and at most every ``every`` seconds starts one background refresh of the API (a daemon thread,
loopback only, its own short timeouts). The cell never waits on the server.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["NotebookFollower"]


class NotebookFollower:
    """The notebook's current path as the server (or VS Code) knows it."""

    def __init__(self, kernel_id: str | None, *, env: Mapping[str, str] | None = None,
                 user_ns: Mapping | None = None, every: float = 5.0,
                 clock: Callable[[], float] = time.monotonic,
                 lookup: Callable[[str, Mapping[str, str]], Path | None] | None = None):
        self.kernel_id = kernel_id
        self.env = os.environ if env is None else env
        self.user_ns = user_ns
        self.every = every
        self._clock = clock
        self._lookup = lookup
        self._known: Path | None = None  # the last answer from the API
        self._asked: float | None = None  # clock time of the last refresh started
        self._thread: threading.Thread | None = None
        self.refreshes = 0  # answers received (tests and status)

    def current(self) -> Path | None:
        """The notebook's path as last learnt, or None while unknown. Never blocks."""
        self._maybe_refresh()
        try:
            v = self.user_ns.get("__vsc_ipynb_file__") if self.user_ns is not None else None
            if v:
                return Path(v)
        except Exception:
            log.debug("reading __vsc_ipynb_file__ failed", exc_info=True)
        return self._known

    def renamed(self, known) -> Path | None:
        """The new path if the notebook is now somewhere other than ``known``, else None."""
        now = self.current()
        if now is None:
            return None
        if known is not None and _same(Path(known), now):
            return None
        return now

    def _maybe_refresh(self) -> None:
        if not self.kernel_id:
            return
        t = self._clock()
        if self._asked is not None and t - self._asked < self.every:
            return
        if self._thread is not None and self._thread.is_alive():
            return  # a slow server: one request at a time
        self._asked = t
        self._thread = threading.Thread(target=self._refresh, name="jupyter-carbon-notebook-path",
                                        daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        try:
            if self._lookup is not None:
                found = self._lookup(self.kernel_id or "", self.env)
            else:
                from .paths import _api_lookup

                found = _api_lookup(self.kernel_id or "", self.env)
        except Exception:
            log.debug("sessions API lookup failed", exc_info=True)
            return
        if found is not None:
            self._known = found
        self.refreshes += 1


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
    except Exception:
        log.debug("cannot compare %s and %s", a, b, exc_info=True)
        return False

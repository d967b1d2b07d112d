"""IPython's ``pre_run_cell``/``post_run_cell`` hooks: one session window per top-level cell.

* A cell that runs another cell (``get_ipython().run_cell(...)``, ``%rerun``) triggers the
  hooks again inside it: nested runs are folded into their parent, so there is one row per
  top-level cell and its execution count is right.
* An interrupt (SIGINT) that lands while a hook runs is held until the hook is done and
  then dropped: the cell is over (or not started), the row is kept, no traceback.
* Nothing raises into the user's cell.
"""
from __future__ import annotations

import _signal
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

import IPython

from .session import CarbonSession

log = logging.getLogger(__name__)

_IPYTHON_MAJOR = int(IPython.version_info[0])


class CellHooks:
    def __init__(self, shell: Any, session: CarbonSession):
        self.shell = shell
        self.session = session
        self.depth = 0  # cells running, the top-level one included
        self.provisional = False  # the %load_ext cell's window, started outside the hooks

    def register(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        for name, fn in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(name, fn)
            except ValueError:
                pass

    def begin_load_cell(self) -> None:
        """Measure the cell running ``%load_ext`` from here on; outside a cell, the next
        ``pre_run_cell`` simply replaces this window."""
        self._guarded(lambda: self._begin(upcoming_count(self.shell, None), cell_id_of_parent(self.shell)))
        self.provisional = True

    def pre_run_cell(self, info: Any = None) -> None:
        self._guarded(self._pre, info)

    def post_run_cell(self, result: Any = None) -> None:
        self._guarded(self._post, result)

    def _pre(self, info: Any) -> None:
        if self.provisional:
            self.provisional, self.depth = False, 0
        self.depth += 1
        if self.depth == 1:
            self._begin(upcoming_count(self.shell, info),
                        getattr(info, "cell_id", None) or cell_id_of_parent(self.shell))

    def _begin(self, count: int | None, cell_id: str | None) -> None:
        try:
            self.session.begin_cell(count, cell_id)
        except Exception as exc:
            log.debug("begin_cell failed", exc_info=True)
            self.session.say_once(f"could not start measuring a cell: {exc}")
        self.depth = max(self.depth, 1)

    def _post(self, result: Any) -> None:
        if self.provisional:  # the %load_ext cell ends
            self.provisional, self.depth = False, 1
        if self.depth == 0:  # an empty cell: IPython runs no pre hook for it
            return
        self.depth -= 1
        if self.depth > 0:  # a nested run ended; its parent goes on
            return
        try:
            cell = self.session.current
            count = getattr(result, "execution_count", None)
            if cell is not None and count is not None:
                cell.execution_count = count  # authoritative
            self.session.end_cell(status_of(result))
        except Exception as exc:
            log.debug("end_cell failed", exc_info=True)
            self.session.say_once(f"could not finish measuring a cell: {exc}")

    def _guarded(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            with interrupts_held():
                fn(*args)
        except KeyboardInterrupt:  # landed before the guard was up: do the work anyway
            log.debug("interrupt at a cell hook; finishing the hook", exc_info=True)
            with interrupts_held():
                fn(*args)


class interrupts_held:
    """SIGINT is recorded, not raised, while the block runs (main thread only).

    ``_signal.signal`` is ``signal.signal`` without its enum conversions, which cost more
    than the rest of a trivial cell's hook (an exception raised and caught per call)."""

    __slots__ = ("got", "old", "held")

    def __init__(self) -> None:
        self.got: list[int] = []
        self.old: Any = None
        self.held = False

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            self.old = _signal.signal(signal.SIGINT, self._record)
            self.held = True
        except (ValueError, OSError):  # not the main interpreter, or no signals here
            pass

    def __exit__(self, *exc: object) -> None:
        if not self.held:
            return
        self.held = False
        try:
            _signal.signal(signal.SIGINT, self.old)
        except TypeError:  # the old handler was set outside Python: the default one back
            _signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.got:
            log.debug("an interrupt arrived during a cell hook; the cell was already over")

    def _record(self, signum: int, frame: Any) -> None:
        self.got.append(signum)


def status_of(result: Any) -> str:
    if result is None:
        return "ok"
    err = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
    if err is None:
        return "ok"
    return "interrupted" if isinstance(err, KeyboardInterrupt) else "error"


def upcoming_count(shell: Any, info: Any) -> int | None:
    # IPython 9 bumps execution_count before pre_run_cell; IPython 8 after the cell.
    n = shell.execution_count
    if _IPYTHON_MAJOR >= 9 and getattr(info, "store_history", True):
        n -= 1
    return n


def cell_id_of_parent(shell: Any) -> str | None:
    try:
        parent = shell.parent_header if hasattr(shell, "parent_header") else shell.get_parent()
        return (parent or {}).get("metadata", {}).get("cellId")
    except Exception:
        log.debug("no parent header", exc_info=True)
        return None

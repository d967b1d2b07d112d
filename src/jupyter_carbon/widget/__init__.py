"""The live widget: one anywidget model per session, shown inline and in JupyterLab's sidebar.

    out = WidgetOutput(session)   the session's widget output (the extension holds it)
    out.show_inline()             display the model in the current cell's output
    out.show_inline_soon()        the same, built on a helper thread (``%load_ext``)
    out.show_sidebar()            the same model in JupyterLab's right sidebar (sidecar)
    out.close()                   stop feeding it, leave a static summary, close the model

Every view shows the same model, so they all update together. Importing this module is
cheap: anywidget, ipywidgets and sidecar are imported only when a widget is made.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from ..events import CellEnded

log = logging.getLogger(__name__)

__all__ = ["WidgetOutput"]


class WidgetOutput:
    """Owns the session's one CarbonWidget (made on first use) and its views."""

    def __init__(self, session: Any):
        self.session = session
        self._lock = threading.RLock()
        self.widget: Any = None
        self.closed = False

    def get(self) -> Any:
        with self._lock:
            if self.closed:
                raise RuntimeError("the widget output is closed")
            if self.widget is None:
                from .live import CarbonWidget

                self.widget = CarbonWidget(self.session)
                self.session.subscribe(self._on_event, events=(CellEnded,))
            return self.widget

    def _on_event(self, event: Any) -> None:
        """Where no view has rendered the widget (nbconvert, nbclient: a notebook executed
        headless), refresh the inline outputs' text/html fallback at each cell end, so the
        saved notebook shows the session's final figures, not the ones of the first cell."""
        w = self.widget
        if not isinstance(event, CellEnded) or w is None or w.closed or w.frontends or not w._handles:
            return
        try:
            from . import state as st
            from .fallback import html_summary, text_summary

            view = w.view_bundle()
            if view is None:
                return
            data = view[0]
            snap = {**w.snapshot(), "totals": st.totals_state(self.session),
                    "recent": st.recent_state(self.session), "running": {}}
            bundle = {**data, "text/plain": text_summary(snap), "text/html": html_summary(snap)}
            for handle in list(w._handles):
                handle.update(bundle, raw=True)
        except Exception:
            log.debug("could not refresh the widget's fallback", exc_info=True)

    def show_inline(self) -> None:
        """Display the live widget in the current output (again, if it is shown elsewhere)."""
        from IPython import get_ipython

        from ..pinned import PinnedDisplay

        w = self.get()
        shell = get_ipython()
        if shell is not None:
            w._handles.append(PinnedDisplay(shell, w))

    def show_inline_soon(self) -> None:
        """Display the live widget without making the kernel wait for it.

        Importing ipywidgets and anywidget costs ~50 ms, more than the rest of ``%load_ext``
        together, so ``%load_ext`` shows a one-line placeholder and a helper thread builds the
        widget and swaps it in (in the cell's context on ipykernel 7.0.x, see kernel_compat).
        """
        from IPython import get_ipython

        from ..kernel_compat import capture_context
        from ..pinned import PinnedDisplay

        shell = get_ipython()
        if shell is None:
            return
        handle = PinnedDisplay(shell, dict(PLACEHOLDER), raw=True)  # the thread's swap never lands in a capture
        ctx = capture_context()

        def build() -> None:
            if self.closed:
                return
            w = self.get()
            handle.update(w)
            w._handles.append(handle)

        def work() -> None:
            try:
                ctx.run(build) if ctx is not None else build()
            except Exception as exc:
                log.debug("building the widget failed", exc_info=True)
                self.session.say_once(f"live widget unavailable ({exc}); the CSV log still works")

        threading.Thread(target=work, name="jupyter-carbon-widget", daemon=True).start()

    def show_sidebar(self) -> None:
        """Put the live widget in JupyterLab's right sidebar (via ``sidecar``).

        Outside JupyterLab, or without ``sidecar`` installed, say so in one line and show the
        widget inline instead. Running it again replaces the previous sidebar panel.
        """
        from IPython.display import display

        w = self.get()
        problem = _sidebar_problem(w)
        if problem:
            print(f"jupyter-carbon: {problem}; showing the live widget inline instead.")
            self.show_inline()
            return
        from sidecar import Sidecar

        old, w._sidecar = w._sidecar, None
        if old is not None:
            try:
                old.close()  # closing the model removes its panel
            except Exception:
                log.debug("closing the old sidecar failed", exc_info=True)
        sc = Sidecar(title="Carbon", anchor="right")
        with sc:
            display(w)
        w._sidecar = sc

    def close(self, note: str | None = None) -> None:
        """Stop feeding the widget, turn its views static, close and forget the model."""
        with self._lock:
            self.closed = True
            w, self.widget = self.widget, None
        self.session.unsubscribe(self._on_event)
        if w is not None:
            w.detach(note)


_PLACEHOLDER_TEXT = "jupyter-carbon: live widget starting… (%carbon widget shows it again)"
#: What the load cell shows for the few ms before the widget arrives (or without widgets): a
#: ready mime bundle, so ``%load_ext`` does not run IPython's formatters for it.
PLACEHOLDER = {"text/plain": _PLACEHOLDER_TEXT,
               "text/html": f"<div style='font-size:12px;opacity:.7'>{_PLACEHOLDER_TEXT}</div>"}


def _sidebar_problem(w) -> str | None:
    try:
        import sidecar  # noqa: F401
    except ImportError:
        return "the sidebar needs the sidecar package (pip install 'jupyter-carbon[sidebar]')"
    apps = set(w.frontends)
    known = {a for a in apps if a != "unknown"}
    if known and not any("lab" in a.lower() for a in known):
        return f"the sidebar needs JupyterLab (this front-end is {', '.join(sorted(known))})"
    if not known and _in_vscode():
        return "the sidebar needs JupyterLab (this looks like VS Code)"
    return None


def _in_vscode() -> bool:
    # Not VSCODE_PID: a JupyterLab started from VS Code's terminal inherits it.
    try:
        from IPython import get_ipython

        ip = get_ipython()
        return ip is not None and "__vsc_ipynb_file__" in ip.user_ns
    except Exception:
        log.debug("cannot tell whether this is VS Code", exc_info=True)
        return False

"""The live widget: one anywidget model per kernel, shown inline and in JupyterLab's sidebar.

    show_inline(session)   display the model in the current cell's output
    show_sidebar(session)  the same model in JupyterLab's right sidebar (sidecar)
    detach(session)        stop feeding it, leave a static summary, close the model

Every view shows the same model, so they all update together. Importing this module is
cheap: anywidget, ipywidgets and sidecar are imported only when a widget is made.
"""
from __future__ import annotations

import threading

__all__ = ["show_inline", "show_inline_soon", "show_sidebar", "detach", "get_widget"]

_lock = threading.RLock()
_widget = None  # the kernel's one CarbonWidget


def get_widget(session, *, create: bool = True):
    """The kernel's widget for ``session`` (made on first use); None if absent and not created.

    A widget bound to another (older) session is detached first: one model per kernel.
    """
    global _widget
    with _lock:
        w = _widget
        if w is not None and (w.closed or w.session is not session):
            if not w.closed:
                w.detach()
            _widget = w = None
        if w is None and create:
            from .live import CarbonWidget

            w = _widget = CarbonWidget(session)
        return w


def show_inline(session) -> None:
    """Display the live widget in the current output (again, if it is shown elsewhere)."""
    from IPython.display import display

    w = get_widget(session)
    handle = display(w, display_id=True)
    if handle is not None:
        w._handles.append(handle)


def show_inline_soon(session) -> None:
    """Display the live widget without making the kernel wait for it.

    Importing ipywidgets and anywidget costs ~50 ms, more than the rest of ``%load_ext``
    together, so ``%load_ext`` shows a one-line placeholder and a helper thread builds the
    widget and swaps it in (in the cell's context on ipykernel 7.0.x, see kernel_compat).
    """
    from IPython.display import display

    from ..kernel_compat import capture_context

    handle = display(_Placeholder(), display_id=True)
    if handle is None:
        return
    ctx = capture_context()

    def build() -> None:
        if getattr(session, "closed", False):
            return
        w = get_widget(session)
        handle.update(w)
        w._handles.append(handle)

    def work() -> None:
        try:
            ctx.run(build) if ctx is not None else build()
        except Exception as exc:
            session.say_once(f"live widget unavailable ({exc}); the CSV log still works")

    threading.Thread(target=work, name="jupyter-carbon-widget", daemon=True).start()


class _Placeholder:
    """What the load cell shows for the few ms before the widget arrives (or without widgets)."""

    TEXT = "jupyter-carbon: live widget starting… (%carbon widget shows it again)"

    def __repr__(self) -> str:
        return self.TEXT

    def _repr_html_(self) -> str:
        return f"<div style='font-size:12px;opacity:.7'>{self.TEXT}</div>"


def show_sidebar(session) -> None:
    """Put the live widget in JupyterLab's right sidebar (via ``sidecar``).

    Outside JupyterLab, or without ``sidecar`` installed, say so in one line and show the
    widget inline instead. Running it again replaces the previous sidebar panel.
    """
    from IPython.display import display

    w = get_widget(session)
    problem = _sidebar_problem(w)
    if problem:
        print(f"jupyter-carbon: {problem}; showing the live widget inline instead.")
        show_inline(session)
        return
    from sidecar import Sidecar

    old, w._sidecar = w._sidecar, None
    if old is not None:
        try:
            old.close()  # closing the model removes its panel
        except Exception:
            pass
    sc = Sidecar(title="Carbon", anchor="right")
    with sc:
        display(w)
    w._sidecar = sc


def detach(session) -> None:
    """Stop feeding the widget of ``session`` and close it (``%unload_ext``)."""
    global _widget
    with _lock:
        w = _widget
        if w is None or w.session is not session:
            return
        _widget = None
    w.detach()


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
        return False

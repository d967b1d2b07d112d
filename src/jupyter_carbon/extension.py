"""The extension object: one per shell, held by its ``CarbonMagics`` (as IPython's own
``autoreload`` holds its state), never in a module-level registry.

It assembles a session and its subscribers (CSV, samples, footprint, widget), registers the
cell hooks, and takes them down again. ``%carbon off`` stops it and keeps the session's
settings, baseline and totals for ``%carbon on`` (or ``%load_ext``); ``%unload_ext`` ends it.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from . import runtime
from .config import Settings
from .events import CellEnding, CellStarted, Event, MeterStarted, MeterStopping, SessionClosing
from .hooks import CellHooks
from .outputs.cell_log import CellLog
from .outputs.footprint import FootprintPrinter
from .outputs.frontend import FrontendComm
from .outputs.samples_log import SamplesOutput
from .session import CarbonSession
from .widget import WidgetOutput

log = logging.getLogger(__name__)


class CarbonExtension:
    def __init__(self, shell: Any):
        self.shell = shell
        self.session: CarbonSession | None = None
        self.hooks: CellHooks | None = None
        self.outputs: list[Any] = []
        self.cell_log: CellLog | None = None
        self.widget: WidgetOutput | None = None
        self.cluster: Any = None
        self.frontend: FrontendComm | None = None

    @property
    def active(self) -> bool:
        return self.session is not None and self.session.running

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> bool:
        """Start measuring (again); False, with one line said, if it could not."""
        if self.active:
            return True
        resumed = self.session is not None
        try:
            session = self.session or self._new_session()
            session.start()
            if not self.outputs:
                self._attach_outputs(session)
        except Exception as exc:  # never a traceback into the user's notebook
            log.debug("start failed", exc_info=True)
            print(f"jupyter-carbon: could not start ({type(exc).__name__}: {exc}); nothing is "
                  f"measured and your code runs as usual; %reload_ext jupyter_carbon tries again")
            self._teardown()
            return False
        self.session = session
        self.hooks = CellHooks(self.shell, session)
        self.hooks.register()
        self.hooks.begin_load_cell()  # the cell running %load_ext gets its row too
        print(self.status_line() + (" (resumed)" if resumed else ""))
        if session.settings["widget"] and in_kernel(self.shell):
            self.widget = WidgetOutput(session)
            try:
                self.widget.show_inline_soon()
            except Exception as exc:
                log.debug("widget failed", exc_info=True)
                session.say_once(f"live widget unavailable ({exc}); the CSV log still works")
        return True

    def stop(self) -> None:
        """Stop sampling and remove the hooks; the session's state is kept for ``start``."""
        if self.hooks is not None:
            self.hooks.unregister()
            self.hooks = None
        if self.widget is not None:
            self.widget.close()
            self.widget = None
        if self.session is not None:
            self.session.stop()

    def close(self) -> None:
        """End the session: every output flushed and closed, nothing left running."""
        self.stop()
        self._teardown()

    def _teardown(self) -> None:
        for out in reversed(self.outputs):
            try:
                out.close()
            except Exception:
                log.debug("closing %r failed", out, exc_info=True)
        self.outputs.clear()
        self.cell_log = None
        self.frontend = None
        if self.session is not None:
            self.session.close()
            self.session = None

    def _new_session(self) -> CarbonSession:
        from .log.paths import current_kernel_id, notebook_path

        settings = Settings(getattr(self.shell, "config", None))
        kernel_id = current_kernel_id()
        nb, _how = notebook_path(user_ns=getattr(self.shell, "user_ns", None), kernel_id=kernel_id)
        session = CarbonSession(settings, runtime.build_meter, notebook=nb,
                                kernel_id=kernel_id)
        for problem in settings.problems:
            session.say_once(problem)
        return session

    def _attach_outputs(self, session: CarbonSession) -> None:
        self.cell_log = CellLog(session)
        from .cluster.subscriber import ClusterSubscriber

        self.cluster = ClusterSubscriber(session)  # imports no Dask until a client is active
        session.subscribe(self.cluster, events=(CellStarted, CellEnding, SessionClosing))
        self.frontend = FrontendComm(session, self.shell)  # the lab extension's comm, when it connects
        self.outputs = [self.cell_log, SamplesOutput(session), FootprintPrinter(session),
                        ProcessMeterLink(session), self.cluster, self.frontend]

    # --- what the magics show ----------------------------------------------------------------
    def status_line(self) -> str:
        s = self.session
        assert s is not None and s.setup is not None and self.cell_log is not None
        return (f"jupyter-carbon: measuring {s.setup.describe()} · {s.policy.line()} · "
                f"PUE {s.pue:g} · log: {shown_path(self.cell_log.path)}")

    def widget_output(self) -> WidgetOutput:
        if self.session is None or not self.session.running:
            raise RuntimeError("jupyter-carbon is off")
        if self.widget is None or self.widget.closed:
            self.widget = WidgetOutput(self.session)
        return self.widget


class ProcessMeterLink:
    """Makes the session's meter the process meter, so ``jc.track()`` in the notebook
    shares its sampler and follows its intensity and PUE."""

    def __init__(self, session: CarbonSession):
        self.session = session
        session.subscribe(self.handle, events=(MeterStarted, MeterStopping))
        if session.meter is not None:
            self.handle(MeterStarted(session.meter))

    def handle(self, event: Event) -> None:
        if isinstance(event, MeterStarted):
            s = self.session
            runtime.adopt(event.meter, lambda: (s.intensity_for(None), s.pue_for(None)))
        elif isinstance(event, MeterStopping):
            runtime.release(event.meter)

    def close(self) -> None:
        self.session.unsubscribe(self.handle)


def shown_path(path: Path) -> str:
    """Relative to the working directory when inside it (short, and no home paths in
    notebooks people share); absolute otherwise."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def in_kernel(shell: Any) -> bool:
    return getattr(shell, "kernel", None) is not None

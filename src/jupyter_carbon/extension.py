"""``%load_ext jupyter_carbon``: one session per shell, hooks on every cell.

Load is idempotent and ``%reload_ext`` leaves exactly one sampler and one set of hooks:
unload stops the thread and removes the hooks before a new load starts them again.
"""
from __future__ import annotations

import os
from pathlib import Path

import IPython

from .config import Settings
from .session import CarbonSession

_IPYTHON_MAJOR = int(IPython.version_info[0])
_SESSIONS: dict[int, tuple[CarbonSession, object, object]] = {}


def get_session(shell) -> CarbonSession | None:
    entry = _SESSIONS.get(id(shell))
    return entry[0] if entry else None


def load(shell) -> None:
    if id(shell) in _SESSIONS:
        return
    from .magics import CarbonMagics, carbon_cell_transform

    try:
        session = start_session(shell)
    except Exception as exc:  # never a traceback into the user's notebook
        print(f"jupyter-carbon: could not start ({type(exc).__name__}: {exc}); nothing is "
              f"measured and your code runs as usual; %reload_ext jupyter_carbon tries again")
        return
    pre, post = _hooks(shell, session)
    shell.events.register("pre_run_cell", pre)
    shell.events.register("post_run_cell", post)
    _SESSIONS[id(shell)] = (session, pre, post)
    shell.register_magics(CarbonMagics(shell))
    if carbon_cell_transform not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(carbon_cell_transform)
    # The cell running %load_ext is measured from here on, so it gets its row too.
    # (outside a cell, the next pre_run_cell simply replaces this window)
    session.begin_cell(_upcoming_count(shell, None), _cell_id_of_parent(shell))
    print(status_line(session))
    if session.settings["widget"] and _in_kernel(shell):
        from .widget import show_inline_soon

        try:
            show_inline_soon(session)
        except Exception as exc:
            session.say_once(f"live widget unavailable ({exc}); the CSV log still works")


def unload(shell) -> None:
    entry = _SESSIONS.pop(id(shell), None)
    if entry is None:
        return
    session, pre, post = entry
    from .magics import carbon_cell_transform

    while carbon_cell_transform in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(carbon_cell_transform)
    for name, fn in (("pre_run_cell", pre), ("post_run_cell", post)):
        try:
            shell.events.unregister(name, fn)
        except ValueError:
            pass
    try:
        from .widget import detach

        detach(session)
    except Exception:
        pass
    session.close()


def start_session(shell) -> CarbonSession:
    from .log.paths import notebook_path

    settings = Settings(getattr(shell, "config", None))
    kernel_id = _kernel_id()
    nb, _how = notebook_path(user_ns=getattr(shell, "user_ns", None), kernel_id=kernel_id)
    session = CarbonSession(settings, notebook=nb, kernel_id=kernel_id,
                            powercap_root=os.environ.get("JUPYTER_CARBON_POWERCAP_ROOT"))
    for problem in settings.problems:
        session.say_once(problem)
    return session


def status_line(session: CarbonSession) -> str:
    return (f"jupyter-carbon: measuring {session.setup.describe()} · "
            f"{session.intensity_line()} · PUE {session.pue:g} · log: {_shown_path(session.log.path)}")


def _shown_path(path) -> str:
    """Relative to the working directory when inside it (short, and no home paths in
    notebooks people share); absolute otherwise."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _hooks(shell, session: CarbonSession):
    def pre_run_cell(info=None):
        try:
            session.begin_cell(_upcoming_count(shell, info), getattr(info, "cell_id", None)
                               or _cell_id_of_parent(shell))
        except Exception as exc:
            session.say_once(f"could not start measuring a cell: {exc}")

    def post_run_cell(result=None):
        try:
            cell = session.current
            if cell is not None and getattr(result, "execution_count", None) is not None:
                cell.execution_count = result.execution_count  # authoritative
            rec = session.end_cell(_status(result))
            if rec is not None:
                _show_footprint(session, cell, rec)
        except Exception as exc:
            session.say_once(f"could not finish measuring a cell: {exc}")

    return pre_run_cell, post_run_cell


def _show_footprint(session: CarbonSession, cell, rec) -> None:
    from .summary import CellSummary

    if cell.live is not None:  # %%carbon: the live line becomes the summary
        cell.live.finish(CellSummary(rec.measurement, rec.status))
    elif cell.summary:
        from IPython.display import display

        display(CellSummary(rec.measurement, rec.status))
    elif cell.summary is None and rec.duration_s >= session.settings["summary_threshold"]:
        from .units import fmt_energy_j, fmt_mass_g

        print(f"jupyter-carbon: [{rec.execution_count}] {rec.duration_s:.1f} s, "
              f"{fmt_energy_j(rec.energy_j)}, {fmt_mass_g(rec.emissions_kg * 1000)} CO2e")


def _status(result) -> str:
    if result is None:
        return "ok"
    err = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
    if err is None:
        return "ok"
    return "interrupted" if isinstance(err, KeyboardInterrupt) else "error"


def _upcoming_count(shell, info) -> int | None:
    # IPython 9 bumps execution_count before pre_run_cell; IPython 8 after the cell.
    n = shell.execution_count
    if _IPYTHON_MAJOR >= 9 and getattr(info, "store_history", True):
        n -= 1
    return n


def _in_kernel(shell) -> bool:
    return getattr(shell, "kernel", None) is not None


def _cell_id_of_parent(shell) -> str | None:
    try:
        parent = shell.parent_header if hasattr(shell, "parent_header") else shell.get_parent()
        return (parent or {}).get("metadata", {}).get("cellId")
    except Exception:
        return None


def _kernel_id() -> str | None:
    from .log.paths import current_kernel_id  # no ipykernel import outside a kernel

    return current_kernel_id()

"""pytest plugin for ``tools/upstream_suites.py``: runs another project's test suite with
jupyter-carbon loaded into every IPython shell the suite creates in the pytest process, and
records every test's outcome so that the two runs (plain and loaded) can be compared.

Loaded with ``-p jc_upstream_plugin`` (``tools/`` on ``PYTHONPATH``). Environment:

- ``JC_UPSTREAM_MODE``: ``loaded`` (or ``loaded-beside``) hooks ``InteractiveShell`` so that each new shell (any
  subclass: terminal, ZMQ, in-process kernel) runs ``%load_ext jupyter_carbon`` once its
  outermost ``__init__`` has finished; anything else (``baseline``) only records outcomes.
- ``JC_UPSTREAM_RESULTS``: JSON file written at the end: ``{nodeid: outcome}`` and the loads.

Kernels and ``ipython`` processes the suite starts in subprocesses are not reached by this
plugin: they load the extension through the IPython profile in ``IPYTHONDIR`` that
``upstream_suites.write_profile`` writes (``c.InteractiveShellApp.extensions``).

Why a depth counter: ``TerminalInteractiveShell.__init__`` calls ``super().__init__`` and then
goes on setting itself up; loading the extension from the base ``__init__`` would load it into
a half-built shell. So every ``__init__`` in the hierarchy is wrapped, and the extension is
loaded when the outermost one returns.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import threading
from typing import Any

log = logging.getLogger(__name__)

EXTENSION = "jupyter_carbon"
_depth = threading.local()
_loads: dict[str, int] = {"shells": 0, "loaded": 0, "failed": 0}
_failures: list[str] = []
_outcomes: dict[str, str] = {}


def load_into(shell: Any) -> bool:
    """``%load_ext jupyter_carbon`` on ``shell``, as a user would; never raises."""
    _loads["shells"] += 1
    try:
        if EXTENSION not in shell.extension_manager.loaded:
            shell.extension_manager.load_extension(EXTENSION)
        _loads["loaded"] += 1
        return True
    except Exception as exc:  # recorded and reported: the suite must go on
        log.debug("jupyter_carbon failed to load into %r", shell, exc_info=True)
        _loads["failed"] += 1
        _failures.append(f"{type(shell).__name__}: {type(exc).__name__}: {exc}")
        return False


def _wrap_init(cls: type) -> None:
    """Wrap ``cls.__init__`` (when ``cls`` defines its own) with the depth counter."""
    orig = cls.__dict__.get("__init__")
    if orig is None or getattr(orig, "_jc_wrapped", False):
        return

    @functools.wraps(orig)
    def __init__(self, *args, **kwargs):
        depth = getattr(_depth, "n", 0)
        _depth.n = depth + 1
        try:
            orig(self, *args, **kwargs)
        finally:
            _depth.n = depth
        if depth == 0:
            load_into(self)

    __init__._jc_wrapped = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def _all_subclasses(cls: type) -> list[type]:
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(c.__subclasses__())
    return out


def install() -> None:
    """Hook ``InteractiveShell`` and every subclass, present and future."""
    from IPython.core.interactiveshell import InteractiveShell

    for cls in _all_subclasses(InteractiveShell):
        _wrap_init(cls)
    previous = InteractiveShell.__dict__.get("__init_subclass__")

    def __init_subclass__(cls, **kwargs):
        if previous is not None:
            previous.__func__(cls, **kwargs)
        else:
            super(InteractiveShell, cls).__init_subclass__(**kwargs)
        _wrap_init(cls)

    InteractiveShell.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]
    if InteractiveShell.initialized():  # a shell made before the plugin was imported
        load_into(InteractiveShell.instance())


def mode() -> str:
    return os.environ.get("JC_UPSTREAM_MODE", "baseline")


# Installed at import (``-p`` imports the plugin before the suite's conftest modules, some of
# which create the suite's global shell at import time).
if mode().startswith("loaded"):  # loaded, loaded-beside
    install()


def _outcome(report: Any) -> str | None:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "skipped"
    if report.when == "call" and report.passed:
        return "passed"
    return None


def pytest_runtest_logreport(report: Any) -> None:
    outcome = _outcome(report)
    if outcome is None:
        return
    seen = _outcomes.get(report.nodeid)
    # a failure in any phase (teardown included) wins over an earlier pass
    if seen is None or outcome in ("failed", "error") or seen == "skipped" and outcome == "passed":
        if seen in ("failed", "error") and outcome == "error":
            return
        _outcomes[report.nodeid] = outcome


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _outcomes[f"{report.nodeid}::<collection>"] = "error"


def pytest_unconfigure(config: Any) -> None:
    path = os.environ.get("JC_UPSTREAM_RESULTS")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"mode": mode(), "outcomes": _outcomes, "loads": _loads,
                   "load_failures": _failures[:50]}, f, indent=1)

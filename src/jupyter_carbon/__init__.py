"""jupyter-carbon: live, per-cell energy and CO₂e for Jupyter notebooks.

Importing this package is cheap and has no side effects: no thread, no NVML, no network.
``%load_ext jupyter_carbon`` or ``jc.track()`` start the one sampler thread on demand.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["track", "read_log", "log_path", "intensity_from_mix", "Measurement", "ConfigError",
           "load_ipython_extension", "unload_ipython_extension", "__version__"]

from .errors import ConfigError


def __getattr__(name):  # lazy: keeps `import jupyter_carbon` fast and side-effect free
    if name == "track":
        from .tracking import track
        return track
    if name == "Measurement":
        from .measurement import Measurement
        return Measurement
    if name == "read_log":
        from .log.csvlog import read_log
        return read_log
    if name == "intensity_from_mix":
        from .intensity import intensity_from_mix
        return intensity_from_mix
    raise AttributeError(f"module 'jupyter_carbon' has no attribute {name!r}")


def log_path():
    """The CSV this IPython session logs its cells to (None when the extension is off)."""
    from IPython import get_ipython

    from .magics import magics_of

    ip = get_ipython()
    m = magics_of(ip) if ip is not None else None
    log = m.ext.cell_log if m is not None and m.ext.active else None
    return None if log is None else log.path


def load_ipython_extension(ipython) -> None:
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unload

    unload(ipython)


def _jupyter_labextension_paths():
    """Where Jupyter finds the bundled JupyterLab / Notebook 7 extension (``jupyter labextension
    develop`` uses it for an editable install; a wheel ships it under share/jupyter/labextensions)."""
    return [{"src": "labextension", "dest": "jupyter-carbon"}]

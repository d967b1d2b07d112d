"""The per-notebook CSV logs (cells and samples) and how their paths are found.

Nothing is imported here eagerly: the extension loads these only when it starts logging.
"""
from __future__ import annotations

_EXPORTS = {
    "CsvLog": "csvlog", "SamplesLog": "samples", "read_log": "csvlog", "user_data_dir": "csvlog",
    "COLUMNS": "schema", "CellInfo": "schema", "HostInfo": "schema", "make_row": "schema",
    "notebook_path": "paths", "log_paths": "paths", "current_kernel_id": "paths",
    "validate_log_path": "paths", "samples_path_for": "paths", "NotebookFollower": "follow",
    "TornRowWarning": "reader",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

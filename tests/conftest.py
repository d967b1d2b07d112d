import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for `fakes`


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab/Notebook in headless Chromium")
    config.addinivalue_line("markers", "examples: executes the example notebooks")
    config.addinivalue_line("markers", "kernel: starts real Jupyter kernels")


@pytest.fixture
def notebook_dir(tmp_path, monkeypatch):
    """A temp dir with a notebook path the extension will log beside, and no stray env."""
    for var in list(os.environ):
        if var.startswith("JUPYTER_CARBON_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("JUPYTER_CARBON_COUNTRY", "FR")
    monkeypatch.setenv("JUPYTER_CARBON_WIDGET", "0")
    nb = tmp_path / "analysis.ipynb"
    nb.write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def shell(notebook_dir):
    """A real IPython InteractiveShell with jupyter_carbon unloaded afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.colors = "nocolor"
    yield sh
    from jupyter_carbon.extension import unload

    unload(sh)
    sh.extension_manager.loaded.discard("jupyter_carbon")

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
    from jupyter_carbon.magics import unload

    unload(sh)
    sh.extension_manager.loaded.discard("jupyter_carbon")


class ManualClock:
    """A meter clock the test moves by hand."""

    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def replay_session(notebook_dir):
    """A real CarbonSession, with its CSV and samples outputs, whose meter replays a
    constant 50 W CPU on a test clock (``s.clock``).

    The sampler thread is not started: tests tick it by hand with ``s.meter.sampler.tick()``.
    """
    from jupyter_carbon.config import Settings
    from jupyter_carbon.engine import Meter
    from jupyter_carbon.outputs.cell_log import CellLog
    from jupyter_carbon.outputs.samples_log import SamplesOutput
    from jupyter_carbon.sensors.discover import SensorSetup
    from jupyter_carbon.sensors.replay import PowerTrace, ReplaySensor
    from jupyter_carbon.session import CarbonSession

    clock = ManualClock()

    def make_meter(settings):
        sensors = [ReplaySensor(PowerTrace([(0, 50), (1e6, 50)]), t0=clock.t)]
        meter = Meter(sensors, clock=clock)
        meter.start = lambda: meter  # ticked by hand
        return meter, SensorSetup(sensors)

    s = CarbonSession(Settings(None), make_meter, notebook=notebook_dir / "analysis.ipynb", kernel_id="test",
                      announce=lambda msg: None).start()
    s.clock = clock
    s.cell_log = CellLog(s)
    s.samples_output = SamplesOutput(s)
    yield s
    s.samples_output.close()
    s.close()

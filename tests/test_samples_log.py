"""The samples log (``<notebook>.carbon-samples.csv``) and the sampler chore that writes it.

The session never touches the log on a tick: a chore reads the new samples back from the
sampler's ring buffer once a minute, and at unload. These tests drive a real session and a
real sampler on a test clock and read the real file.
"""
import csv
import threading
import time

import pytest

from jupyter_carbon.config import Settings
from jupyter_carbon.engine import Meter
from jupyter_carbon.sensors.models import RamModelSensor
from jupyter_carbon.session import CarbonSession


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def session(replay_session):
    return replay_session


def tick(s, n=1, dt=1.0):
    for _ in range(n):
        s.clock.t += dt
        s.meter.sampler.tick()


def test_each_sample_is_written_once_with_the_cell_it_fell_in(session, notebook_dir):
    s = session
    tick(s, 3)  # idle: no cell
    s.clock.t += 0.5
    s.begin_cell(7, "c7")
    tick(s, 4)
    s.current.execution_count = 8  # IPython 9: the post hook's count is the true one
    s.clock.t += 0.5
    s.end_cell("ok")
    tick(s, 2)
    s.samples_output.flush()
    s.samples_output.flush()  # nothing new: nothing written twice
    s.clock.t += 0.5
    s.begin_cell(9, "c9")
    tick(s, 2)
    s.end_cell("ok")
    s.close()  # the last batch is written when the meter stops
    got = rows(notebook_dir / "analysis.carbon-samples.csv")
    assert [r["execution_count"] for r in got] == [""] * 3 + ["8"] * 4 + [""] * 2 + ["9"] * 2
    assert all(float(r["cpu_power"]) == pytest.approx(50.0) for r in got)
    elapsed = [float(r["elapsed_s"]) for r in got]
    assert elapsed == sorted(elapsed) and len(set(elapsed)) == len(elapsed)


def test_the_sampler_writes_the_log_as_a_chore_not_on_every_tick(notebook_dir, monkeypatch):
    from jupyter_carbon.outputs import samples_log
    from jupyter_carbon.runtime import build_meter

    monkeypatch.setattr(samples_log, "BATCH_S", 0.3)
    flushes = []
    real = samples_log.SamplesOutput.flush

    def counting(self, meter=None):
        flushes.append(threading.current_thread().name)
        real(self, meter)
    monkeypatch.setattr(samples_log.SamplesOutput, "flush", counting)
    s = CarbonSession(Settings(None, env={"JUPYTER_CARBON_INTERVAL": "0.05"}), build_meter,
                      notebook=notebook_dir / "analysis.ipynb", kernel_id="t", announce=lambda msg: None).start()
    out = samples_log.SamplesOutput(s)
    sp = s.meter.sampler
    assert not s.subscribers.sample_handlers  # nothing of the samples log runs per tick
    time.sleep(1.0)
    n = sp.samples_taken
    s.close()
    out.close()
    from_thread = [f for f in flushes if f == "jupyter-carbon-sampler"]
    assert 2 <= len(from_thread) <= 5, flushes  # every 0.3 s, not every 0.05 s tick
    got = rows(notebook_dir / "analysis.carbon-samples.csv")
    assert n <= len(got) <= n + 3  # every sample once (close adds those taken meanwhile)


def test_chores_run_on_their_own_period_and_survive_errors():
    m = Meter([RamModelSensor()], interval=0.05)
    runs, bad = [], []

    def boom():
        bad.append(1)
        raise RuntimeError("disk full")
    m.sampler.add_chore(lambda: runs.append(time.monotonic()), 0.25)
    m.sampler.add_chore(boom, 0.25)
    m.start()
    time.sleep(1.1)
    m.sampler.remove_chore(boom)
    k = len(bad)
    time.sleep(0.4)
    m.close()
    assert 3 <= len(runs) <= 6, runs
    assert min(b - a for a, b in zip(runs, runs[1:])) >= 0.2
    assert k >= 3 and len(bad) == k  # kept after raising, gone once removed
    assert m.sampler.samples_taken >= 15  # the ticks went on at 0.05 s meanwhile

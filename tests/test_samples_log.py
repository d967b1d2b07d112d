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


def test_gpus_have_their_own_columns_and_a_failed_device_is_unknown_not_zero(notebook_dir):
    """Two GPUs of one model, a CPU and the RAM model: the components' sums, the total and
    each GPU's own column; a GPU that fails leaves its own column empty and adds nothing
    from that sample on (the samples before it, written in the same batch, keep its watts),
    and when every GPU has failed the GPU column is empty, not 0 W."""
    from conftest import ManualClock

    from jupyter_carbon.outputs.samples_log import SamplesOutput
    from jupyter_carbon.sensors.discover import SensorSetup
    from jupyter_carbon.sensors.replay import PowerTrace, ReplaySensor

    clock = ManualClock()

    def trace(w):
        return PowerTrace([(0, w), (1e6, w)])

    sensors = [ReplaySensor(trace(300), t0=clock.t, component="gpu", name="NVIDIA H100 #0"),
               ReplaySensor(trace(200), t0=clock.t, component="gpu", name="NVIDIA H100 #1"),
               ReplaySensor(trace(50), t0=clock.t, name="cpu"),
               RamModelSensor(4.0, total_bytes=2_000_000_000)]

    def make_meter(settings):
        meter = Meter(sensors, clock=clock)
        meter.start = lambda: meter  # ticked by hand
        return meter, SensorSetup(sensors)

    s = CarbonSession(Settings(None), make_meter, notebook=notebook_dir / "gpus.ipynb", kernel_id="t",
                      announce=lambda msg: None).start()
    out = SamplesOutput(s)
    channels = s.meter.sampler.channels
    for step in range(3):
        if step == 1:
            channels[1].fail(RuntimeError("GPU is lost"))
        if step == 2:
            channels[0].fail(RuntimeError("GPU is lost"))
        clock.t += 1.0
        s.meter.sampler.tick()
    out.close()
    s.close()
    got = rows(notebook_dir / "gpus.carbon-samples.csv")
    assert list(got[0])[4:] == ["cpu_power", "gpu_power", "ram_power", "total_power",
                                "nvidia_h100_0_power", "nvidia_h100_1_power"]
    first, one_lost, all_lost = got[-3:]
    assert {k: float(v) for k, v in list(first.items())[4:]} == {
        "cpu_power": 50.0, "gpu_power": 500.0, "ram_power": 8.0, "total_power": 558.0,
        "nvidia_h100_0_power": 300.0, "nvidia_h100_1_power": 200.0}
    assert float(one_lost["gpu_power"]) == 300.0 and float(one_lost["total_power"]) == 358.0
    assert one_lost["nvidia_h100_1_power"] == ""
    assert all_lost["gpu_power"] == all_lost["nvidia_h100_0_power"] == all_lost["nvidia_h100_1_power"] == ""
    assert float(all_lost["total_power"]) == 58.0 and float(all_lost["ram_power"]) == 8.0


def test_a_rebuilt_meter_with_other_sensors_writes_its_own_columns(notebook_dir):
    """A sensor setting applied at a cell's end rebuilds the meter: its samples go to a
    samples log whose columns are the new sensors' (the old file keeps its own header), each
    device's watts in its own column."""
    from conftest import ManualClock

    from jupyter_carbon.outputs.samples_log import SamplesOutput
    from jupyter_carbon.sensors.discover import SensorSetup
    from jupyter_carbon.sensors.replay import PowerTrace, ReplaySensor

    clock = ManualClock()
    built = []

    def make_meter(settings):
        sensors = [ReplaySensor(PowerTrace([(0, 40), (1e6, 40)]), t0=clock.t, name="cpu")]
        if built:  # the second meter has found a GPU
            sensors.insert(0, ReplaySensor(PowerTrace([(0, 250), (1e6, 250)]), t0=clock.t,
                                           component="gpu", name="NVIDIA A100"))
        meter = Meter(sensors, clock=clock)
        meter.start = lambda: meter  # ticked by hand
        built.append(meter)
        return meter, SensorSetup(sensors)

    s = CarbonSession(Settings(None), make_meter, notebook=notebook_dir / "rebuild.ipynb", kernel_id="t",
                      announce=lambda msg: None).start()
    out = SamplesOutput(s)
    clock.t += 1.0
    s.meter.sampler.tick()
    s.begin_cell(1, "c1")
    s.configure("gpu", False)  # a sensor setting: the meter is rebuilt when the cell ends
    s.end_cell("ok")
    assert len(built) == 2 and s.meter is built[1]
    clock.t += 1.0
    s.meter.sampler.tick()
    out.close()
    s.close()
    old = rows(notebook_dir / "rebuild.carbon-samples.csv")  # another header: the next free name
    new = rows(notebook_dir / "rebuild.carbon-samples-2.csv")
    assert list(old[0])[4:] == ["cpu_power", "total_power"] and float(old[0]["cpu_power"]) == 40.0
    assert list(new[0])[4:] == ["cpu_power", "gpu_power", "total_power", "nvidia_a100_power"]
    assert {k: float(v) for k, v in list(new[-1].items())[4:]} == {
        "cpu_power": 40.0, "gpu_power": 250.0, "total_power": 290.0, "nvidia_a100_power": 250.0}

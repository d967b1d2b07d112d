"""Exactness of windows on replayed power traces, and the sampler thread's behaviour."""
import threading
import time

import pytest

from jupyter_carbon.engine import Meter
from jupyter_carbon.errors import ConfigError
from jupyter_carbon.sensors.base import Sensor
from jupyter_carbon.sensors.models import (CpuTimesSensor, ProcStatCpuSensor, PsutilCpuSensor,
                                          RamModelSensor, cpu_tdp_sensor)
from jupyter_carbon.sensors.replay import PowerTrace, ReplaySensor

TRACES = {
    "constant": PowerTrace([(0, 42.0), (1000, 42.0)]),
    "step": PowerTrace([(0, 20.0), (0.4, 20.0), (0.400001, 180.0), (1000, 180.0)]),
    "spike": PowerTrace([(0, 10.0), (0.5, 10.0), (0.5001, 400.0), (0.53, 400.0), (0.5301, 10.0), (1000, 10.0)]),
    "ramp": PowerTrace([(0, 0.0), (2.0, 300.0), (1000, 300.0)]),
}


class ManualClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.mark.parametrize("name", list(TRACES))
@pytest.mark.parametrize("mode", ["counter", "power"])
def test_window_energy_matches_analytic_integral(name, mode):
    trace = TRACES[name]
    clock = ManualClock()
    m = Meter([ReplaySensor(trace, mode=mode)], clock=clock)
    # sampler points every 10 ms (what a 0.01 s sampler would see), window from 0.25 s to 1.75 s
    dt = 0.01 if mode == "power" else 0.37
    clock.t = 0.0
    m.snapshot()
    clock.t = start = 0.25
    w = m.begin()
    t = round(start + dt, 6)
    while t < 1.75:
        clock.t = t
        m.snapshot()
        t = round(t + dt, 6)
    clock.t = 1.75
    r = w.end()
    exact = trace.energy(start, clock.t)
    assert r.energy_j == pytest.approx(exact, rel=0.005), (name, mode)
    if mode == "counter":  # a counter is exact to rounding, whatever the sampling
        assert r.energy_j == pytest.approx(exact, rel=1e-9)


def test_short_window_inside_one_interval_gets_its_exact_share():
    trace = TRACES["spike"]
    clock = ManualClock()
    m = Meter([ReplaySensor(trace)], clock=clock)
    clock.t = 0.0
    m.snapshot()  # the sampler's last point
    clock.t = 0.49
    w = m.begin()
    clock.t = 0.54  # a 50 ms cell, entirely between two 1 s samples
    r = w.end()
    clock.t = 1.0
    m.snapshot()  # the sampler's next point
    assert r.duration_s == pytest.approx(0.05)
    assert r.energy_j == pytest.approx(trace.energy(0.49, 0.54), rel=1e-9)
    assert r.energy_j > 10.0  # the spike is in there, not averaged away


def test_real_clock_50ms_window_with_1s_sampler():
    trace = PowerTrace([(0, 100.0), (1e6, 100.0)])
    t0 = time.perf_counter()
    m = Meter([ReplaySensor(trace, t0=t0)], interval=1.0).start()
    try:
        time.sleep(0.1)
        w = m.begin()
        time.sleep(0.05)
        r = w.end()
    finally:
        m.close()
    assert r.energy_j == pytest.approx(100.0 * r.duration_s, rel=1e-6)
    assert 0.045 < r.duration_s < 0.5


def test_windows_nest():
    trace = TRACES["ramp"]
    clock = ManualClock()
    m = Meter([ReplaySensor(trace)], clock=clock)
    clock.t = 0.1
    outer = m.begin("outer")
    clock.t = 0.5
    inner = m.begin("inner")
    clock.t = 0.9
    ri = inner.end()
    clock.t = 1.3
    ro = outer.end()
    assert ri.energy_j == pytest.approx(trace.energy(0.5, 0.9))
    assert ro.energy_j == pytest.approx(trace.energy(0.1, 1.3))
    assert ro.energy_j > ri.energy_j


def test_components_units_and_emissions():
    from jupyter_carbon.intensity.model import Intensity

    clock = ManualClock()
    m = Meter([ReplaySensor(TRACES["constant"], component="cpu"),
               ReplaySensor(PowerTrace([(0, 300.0), (1e3, 300.0)]), component="gpu", name="g0"),
               ReplaySensor(PowerTrace([(0, 300.0), (1e3, 300.0)]), component="gpu", name="g1"),
               RamModelSensor(total_bytes=16 * 10**9)], clock=clock)
    w = m.begin("x")
    clock.t = 3600.0
    from jupyter_carbon.measurement import Measurement

    r = Measurement.of(w.end(), Intensity(100.0, "explicit"), pue=1.5)
    assert r.by_component["cpu"].energy_kwh == pytest.approx(0.042)
    assert r.by_component["gpu"].energy_kwh == pytest.approx(0.6)
    assert r.by_component["gpu"].devices == 2
    assert r.by_component["ram"].power_w == pytest.approx(6.0)  # 3 W per 8 GB
    assert not r.by_component["ram"].measured and r.by_component["ram"].kind == "estimated"
    assert r.energy_kwh == pytest.approx((0.042 + 0.6 + 0.006) * 1.5)
    assert r.emissions_kg == pytest.approx(r.energy_kwh * 0.1)
    assert "x" in repr(r)


def test_tdp_model_is_a_counter_of_busy_time():
    busy = [10.0]
    s = CpuTimesSensor(100.0, "test cpu", lambda: busy[0], ncpu=4)
    clock = ManualClock()
    m = Meter([s], clock=clock)
    w = m.begin()
    busy[0] += 2.0  # 2 CPU-seconds over 1 s on 4 CPUs: 50 % load
    clock.t = 1.0
    r = w.end()
    assert r.energy_j == pytest.approx(50.0)
    assert r.by_component["cpu"].power_w == pytest.approx(50.0)


def test_real_tdp_model_sees_busy_cpu_more_than_sleep():
    # this process's CPU time: other programs on a shared CI machine must not disturb the comparison
    m = Meter([CpuTimesSensor(100.0, "cpu", time.process_time)])
    w = m.begin()
    time.sleep(0.3)
    idle = w.end()
    w = m.begin()
    end = time.process_time() + 0.3  # 0.3 s of this process's CPU, however busy the machine is
    while time.process_time() < end:
        pass
    busy = w.end()
    assert busy.energy_j > idle.energy_j
    ncpu = m.sensors[0].ncpu
    assert busy.energy_j > 0.3 * 100.0 / ncpu * 0.8
    assert idle.energy_j < 0.3 * 100.0 / ncpu * 0.2
    assert cpu_tdp_sensor(100.0, "cpu").read(0)[0] > 0  # the machine-wide counter reads too


def test_tdp_model_reads_proc_stat_first_line(tmp_path):
    """The per-tick /proc/stat path: busy = user + nice + system + irq + softirq."""
    import os

    stat = tmp_path / "stat"
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  1000 20 300 9000 400 5 60 7000 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n")
    s = ProcStatCpuSensor(40.0, "fake", ncpu=4, path=str(stat))
    hz = os.sysconf("SC_CLK_TCK")
    j, w = s.read(0.0)
    assert w is None
    assert j == pytest.approx(40.0 / 4 * (1000 + 20 + 300 + 5 + 60) / hz)  # idle, iowait, steal left out
    stat.write_text("cpu  1100 20 300 9000 400 5 60 7000 0 0\n")  # 100 more ticks of user time
    assert s.read(1.0)[0] - j == pytest.approx(40.0 / 4 * 100 / hz)
    s.close()
    with pytest.raises(OSError):
        s.read(2.0)  # a closed sensor fails loudly; its channel then marks it failed


def test_tdp_model_falls_back_to_psutil_when_proc_stat_is_odd(tmp_path):
    odd = tmp_path / "stat"
    odd.write_text("not the stat file you are looking for\n")
    s = cpu_tdp_sensor(40.0, "fake", proc_stat=str(odd))
    assert isinstance(s, PsutilCpuSensor)
    assert s.read(0.0)[0] > 0  # psutil's machine-wide busy time instead
    assert isinstance(cpu_tdp_sensor(40.0, "fake", proc_stat=str(tmp_path / "missing")), PsutilCpuSensor)


def test_ram_model_is_integrated_exactly():
    clock = ManualClock()
    s = RamModelSensor(total_bytes=16 * 10**9)
    m = Meter([s], clock=clock)
    clock.t = 2.0
    w = m.begin()
    clock.t = 12.5
    m.sampler.tick()
    clock.t = 32.0
    r = w.end()
    assert r.energy_j == pytest.approx(6.0 * 30.0)  # 3 W per 8 GB
    assert r.by_component["ram"].power_w == pytest.approx(6.0)
    assert m.sampler.latest().joules[0] == pytest.approx(6.0 * 12.5)


def test_window_so_far_matches_peek():
    """The widget's cheap live figures are peek()'s duration and energy."""
    clock = ManualClock()
    m = Meter([ReplaySensor(TRACES["spike"], mode="counter", name="gpu"),
               ReplaySensor(TRACES["step"], mode="power", name="cpu"),
               RamModelSensor(total_bytes=16 * 10**9)], clock=clock)
    clock.t = 0.1
    before = m.sampler.tick()
    clock.t = 0.2
    w = m.begin()
    assert w.so_far() == (0.0, 0.0)  # no sampler point after the start yet
    for t in (0.3, 0.45, 0.52, 0.9, 2.5):
        clock.t = t
        m.sampler.tick()
        p = w.peek()
        seconds, joules = w.so_far()
        assert seconds == pytest.approx(p.duration_s) and joules == pytest.approx(p.energy_j, rel=1e-12)
    assert w.so_far(before) == (0.0, 0.0)  # a point before the window: nothing yet


def test_live_figure_with_a_moving_share_never_goes_down():
    """With an attribution, each sampler period is charged at the share of that period: the
    running figure adds up and never falls when the kernel's share drops mid-cell."""
    clock = ManualClock()
    m = Meter([ReplaySensor(PowerTrace([(0, 100.0), (1e6, 100.0)]), mode="power", name="cpu")],
              clock=clock)

    class Share:  # what attribution.share.KernelShare offers live views
        weight = 1.0

        def mark(self):
            return None

        def live_weights(self):
            return (self.weight,)

    share = m.attribution = Share()
    clock.t = 1.0
    w = m.begin()
    shown = []
    for t, weight in ((2.0, 1.0), (3.0, 1.0), (4.0, 0.1), (5.0, 0.1), (6.0, 0.5)):
        share.weight = weight
        clock.t = t
        m.sampler.tick()
        shown.append(w.so_far()[1])
        assert w.so_far()[1] == shown[-1]  # read twice: counted once
    assert shown == sorted(shown)
    assert shown[-1] == pytest.approx(100.0 * (1 + 1 + 0.1 + 0.1 + 0.5))


def test_sampler_tick_and_window_edges_read_alike():
    """The sampler and window edges read through one function: the same numbers."""
    def sensors():
        return [ReplaySensor(TRACES["step"], mode="counter", name="gpu"),
                ReplaySensor(TRACES["spike"], mode="power", name="cpu"),
                RamModelSensor(total_bytes=16 * 10**9)]

    clocks = ManualClock(), ManualClock()
    tick = Meter(sensors(), clock=clocks[0]).sampler.tick
    edge = Meter(sensors(), clock=clocks[1])
    for t in (0.05, 0.3, 0.41, 0.5, 0.515, 0.7, 1.0, 3.25):
        clocks[0].t = clocks[1].t = t
        a, b = tick(), edge.snapshot(edge=True)
        assert a.mono == b.mono == t
        assert a.joules == pytest.approx(b.joules, abs=1e-12)
        assert a.watts == pytest.approx(b.watts, abs=1e-12)
    assert a.joules[2] == pytest.approx(6.0 * 3.25)


def test_tick_appends_counts_and_notifies_only_listeners():
    m = Meter([RamModelSensor(total_bytes=8 * 10**9)], buffer=3)
    sp = m.sampler
    s = sp.tick()
    assert sp.latest() is s and sp.samples_taken == 1 and s.watts == (3.0,)
    seen = []
    sp.add_listener(seen.append)
    s2 = sp.tick()
    assert seen == [s2]
    sp.remove_listener(seen.append)
    for _ in range(4):
        sp.tick()
    assert seen == [s2] and sp.samples_taken == 6 and len(sp.buffer) == 3


def test_a_hanging_sensor_never_holds_a_window_edge(monkeypatch):
    """A read that blocks (an NVML call on a GPU off the bus) costs an edge its budget, not
    the hang: the edge uses the latest committed point and says it was approximated; a read
    still hanging past HUNG_AFTER_S marks the sensor failed."""
    from jupyter_carbon.engine import guard

    release = threading.Event()

    class Hanging(Sensor):
        component, method, measured, may_block, name = "gpu", "nvml-energy", True, True, "GPU #0"
        hang = False

        def read(self, now):
            if Hanging.hang:
                release.wait(10)
            return now * 100.0, None

    monkeypatch.setattr(guard, "HUNG_AFTER_S", 0.4)
    from jupyter_carbon.engine import channel
    monkeypatch.setattr(channel, "HUNG_AFTER_S", 0.4)
    m = Meter([Hanging(), RamModelSensor(total_bytes=8 * 10**9)])
    w = m.begin()
    Hanging.hang = True
    t = time.perf_counter()
    r = w.end()
    assert time.perf_counter() - t < 1.0  # the read hangs 10 s
    gpu = r.devices[0]
    assert gpu.approximated and not r.devices[1].approximated
    time.sleep(0.5)
    w2 = m.begin()  # the first read is still hanging: no second one, and now it has failed
    assert m.channels[0].failed and "stopped answering" in m.channels[0].failed
    assert w2.end().devices[0].failed
    release.set()


def test_sampler_thread_cpu_is_measured_from_outside():
    m = Meter([RamModelSensor()], interval=0.05).start()
    sp = m.sampler
    time.sleep(0.3)
    used = sp.cpu_s
    m.close()
    if used is None:
        pytest.skip("no per-thread CPU clock on this platform")
    assert 0 < used < 0.3  # it ran, and mostly slept
    assert sp.cpu_s >= used  # kept after the thread ended
    assert not sp.running


def test_interval_change_and_stop_wake_the_sleeping_thread():
    m = Meter([RamModelSensor()], interval=60).start()
    sp = m.sampler
    time.sleep(0.1)
    n = sp.samples_taken
    t = time.perf_counter()
    sp.interval = 0.05  # applies now, not after the 60 s already being waited
    while sp.samples_taken < n + 3 and time.perf_counter() - t < 5:
        time.sleep(0.01)
    assert sp.samples_taken >= n + 3
    sp.interval = 60
    time.sleep(0.1)
    t = time.perf_counter()
    m.close()
    assert time.perf_counter() - t < 1.0 and not sp.running
    m.sampler.start()  # a stopped sampler starts again, with no stale wake-up pending
    time.sleep(0.2)
    assert sp.running
    n = sp.samples_taken
    time.sleep(0.3)
    assert sp.samples_taken == n  # at 60 s: one sample at start, none since
    m.close()


def test_a_sampler_restarted_while_a_read_hangs_never_runs_twice():
    """stop() gives up on a thread stuck in a slow read; that thread must not come back to life."""
    release = threading.Event()
    calls = []

    class Slow(Sensor):
        def read(self, now):
            calls.append(threading.get_ident())
            if len(calls) == 2:  # the sampler's first tick (the first read is the meter's anchor)
                release.wait(5)
            return now, None

    m = Meter([Slow()], interval=0.05).start()
    sp = m.sampler
    while len(calls) < 2:
        time.sleep(0.01)
    stuck = calls[1]
    old = next(t for t in threading.enumerate() if t.ident == stuck)
    sp.stop(timeout=0.1)  # the read is still hanging
    sp.start()
    time.sleep(0.2)
    release.set()
    old.join(10)  # its read returned: the old thread must end, not sample again
    time.sleep(0.2)
    names = [t for t in threading.enumerate() if t.name == "jupyter-carbon-sampler"]
    after = calls[calls.index(stuck) + 1:]
    m.close()
    assert len(names) == 1
    assert stuck not in after  # the old thread exited once its read returned


def test_baseline_reports_energy_above_idle():
    trace = PowerTrace([(0, 20.0), (1e6, 20.0)])
    m = Meter([ReplaySensor(trace, t0=time.perf_counter())])
    base = m.measure_baseline(0.1)
    assert base["cpu"] == pytest.approx(20.0, rel=1e-6)
    w = m.begin()
    time.sleep(0.05)
    r = w.end()
    assert r.above_idle_j == pytest.approx(0.0, abs=1e-6)  # a constant trace is all idle


def test_interval_bounds_are_enforced():
    m = Meter([RamModelSensor()])
    for bad in (0.01, 61, "fast", None):
        with pytest.raises(ConfigError):
            m.sampler.interval = bad
    m.sampler.interval = 0.05
    assert m.sampler.interval == 0.05


def test_sampler_runs_under_cpu_bound_main_thread_and_stops_cleanly():
    before = {t.name for t in threading.enumerate()}
    others = set(threading.enumerate())  # (threads earlier tests left ending are not ours)
    trace = PowerTrace([(0, 50.0), (1e6, 50.0)])
    m = Meter([ReplaySensor(trace, t0=time.perf_counter(), mode="power")], interval=0.05).start()
    assert any(t.name == "jupyter-carbon-sampler" for t in threading.enumerate())
    n0 = m.sampler.samples_taken
    w = m.begin()
    end = time.perf_counter() + 1.0
    x = 0
    while time.perf_counter() < end:  # pure-Python busy loop holding the GIL
        x += 1
    r = w.end()
    taken = m.sampler.samples_taken - n0
    m.close()
    assert taken >= 10, taken  # ~20 expected at 0.05 s
    assert r.energy_j == pytest.approx(50.0 * r.duration_s, rel=1e-3)
    assert not any(t.name == "jupyter-carbon-sampler" for t in set(threading.enumerate()) - others)
    assert {t.name for t in set(threading.enumerate()) - others} <= before | {"MainThread"}


def test_ring_buffer_is_bounded_and_listener_errors_are_contained():
    m = Meter([RamModelSensor()], buffer=100)
    seen = []
    m.sampler.add_listener(seen.append)

    def bad(sample):
        raise RuntimeError("listener bug")
    m.sampler.add_listener(bad)
    for _ in range(500):
        m.sampler.tick()
    assert len(m.sampler.buffer) == 100
    assert len(seen) == 500
    assert bad not in m.sampler._listeners  # dropped after repeated failures


def test_failing_sensor_does_not_break_the_others():
    class Broken(Sensor):
        component = "ram"

        def read(self, now):
            raise OSError("sensor unplugged")

    clock = ManualClock()
    m = Meter([Broken(), ReplaySensor(TRACES["constant"])], clock=clock)
    w = m.begin()
    clock.t = 1.0
    r = w.end()
    assert r.devices[0].failed == "OSError: sensor unplugged"
    assert r.devices[1].energy_j == pytest.approx(42.0)


def test_concurrent_snapshots_never_double_count():
    """Two threads sampling one counter at once must still sum to the counter's delta."""
    trace = PowerTrace([(0, 100.0), (1e6, 100.0)])
    t0 = time.perf_counter()
    m = Meter([ReplaySensor(trace, t0=t0)], interval=0.05)
    w = m.begin()
    stop = time.perf_counter() + 0.5

    def hammer():
        while time.perf_counter() < stop:
            m.snapshot()
    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = w.end()
    assert r.energy_j == pytest.approx(100.0 * r.duration_s, rel=1e-6)

"""The sampler's tick keeps a deferred sensor's raw data; decoding it gives what the generic
path would have measured, and a failing fetch never stops the other channels."""
import os

import pytest

from jupyter_carbon.engine import Meter
from jupyter_carbon.engine.sample import RawSample, Sample
from jupyter_carbon.sensors.models import CpuTdpSensor, RamModelSensor

HZ = os.sysconf("SC_CLK_TCK")


class ManualClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def write_stat(path, user, system=300, softirq=60):
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    path.write_text(f"cpu  {user} 20 {system} 9000 400 5 {softirq} 7000 0 0\n"
                    f"cpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n")


@pytest.fixture
def stat_meter(tmp_path):
    """A machine-wide TDP model on a fake /proc/stat, the constant RAM model, a manual clock."""
    stat = tmp_path / "stat"
    write_stat(stat, 1000)
    clock = ManualClock()
    cpu = CpuTdpSensor(40.0, "fake cpu", ncpu=4, proc_stat=str(stat))
    m = Meter([cpu, RamModelSensor(total_bytes=16 * 10**9)], clock=clock)
    yield m, stat, clock
    m.close()


def test_tick_keeps_raw_proc_stat_and_decodes_to_the_generic_figures(stat_meter, tmp_path):
    m, stat, clock = stat_meter
    # a second meter on its own copy of the same file, sampled only on the generic path
    stat2 = tmp_path / "stat2"
    write_stat(stat2, 1000)
    generic = Meter([CpuTdpSensor(40.0, "fake cpu", ncpu=4, proc_stat=str(stat2)),
                     RamModelSensor(total_bytes=16 * 10**9)], clock=clock)
    j_per_tick = 40.0 / 4 / HZ
    user = 1000
    for t, more in ((0.5, 30), (1.5, 100), (2.5, 0), (2.51, 7), (4.0, 250)):
        user += more
        write_stat(stat, user)
        write_stat(stat2, user)
        clock.t = t
        rec = m.sampler.tick()
        assert type(rec) is RawSample and isinstance(rec.joules[0], bytes)  # nothing parsed
        s = m.sampler.decode(rec)
        g = generic.snapshot()
        assert type(s) is Sample and s.mono == g.mono == t
        assert s.joules == g.joules  # the same formula on both paths, to the bit
        assert s.joules[0] == pytest.approx(j_per_tick * (user - 1000))
        assert s.watts[1] == pytest.approx(6.0)
    # watts: the mean over the interval since the fetch before
    assert s.watts[0] == pytest.approx(j_per_tick * 250 / 1.49)
    assert m.sampler.latest() == s and m.sampler.samples_after(2.0)[0] == s
    assert [x.mono for x in m.sampler.samples_after(0.0)] == [4.0, 2.51, 2.5, 1.5, 0.5]
    generic.close()


def test_a_window_may_start_on_one_path_and_end_on_the_other(stat_meter):
    m, stat, clock = stat_meter
    clock.t = 1.0
    w = m.begin()  # the generic path
    write_stat(stat, 1400)
    clock.t = 3.0
    m.sampler.tick()
    seconds, joules = w.so_far()  # the decoded tick
    assert seconds == pytest.approx(2.0)
    assert joules == pytest.approx(40.0 / 4 / HZ * 400 + 6.0 * 2.0)
    assert w.peek().energy_j == pytest.approx(joules, rel=1e-12)
    write_stat(stat, 1500)
    clock.t = 4.0
    r = w.end()
    assert r.by_component["cpu"].energy_j == pytest.approx(40.0 / 4 / HZ * 500)


def test_listeners_get_decoded_samples(stat_meter):
    m, stat, clock = stat_meter
    seen = []
    m.sampler.add_listener(seen.append)
    clock.t = 1.0
    write_stat(stat, 1100)
    rec = m.sampler.tick()
    assert type(seen[0]) is Sample and seen[0] == m.sampler.decode(rec)
    assert seen[0].watts[0] == pytest.approx(40.0 / 4 / HZ * 100 / 1.0)


def test_a_fetch_that_fails_marks_the_sensor_and_the_others_go_on(stat_meter):
    m, stat, clock = stat_meter
    clock.t = 1.0
    write_stat(stat, 1100)
    before = m.sampler.sample_now()
    m.sensors[0].close()  # the CPU's descriptor is gone: every fetch raises from now on
    clock.t = 2.0
    s = m.sampler.tick()  # taken on the generic path instead
    assert type(s) is Sample and m.channels[0].failed
    assert s.joules[0] == before.joules[0] and s.watts[0] == 0.0  # what it had, kept
    assert s.joules[1] == pytest.approx(6.0 * 2.0)  # RAM goes on
    clock.t = 3.0
    s = m.sampler.tick()  # the recomposed tick: no fetch of the failed sensor
    assert type(s) is Sample and s.joules[1] == pytest.approx(6.0 * 3.0)
    assert m.sampler.samples_taken == 3
    # the record taken before the failure still decodes, beside those after it
    assert [x.joules[0] for x in m.sampler.samples_after(0.0)] == [before.joules[0]] * 3


def test_raw_data_that_does_not_decode_counts_as_nothing_new(stat_meter):
    m, stat, clock = stat_meter
    clock.t = 1.0
    write_stat(stat, 1100)
    good = m.sampler.sample_now()
    m.snapshot()  # the channel commits the same figure
    stat.write_text("garbage\n")
    clock.t = 2.0
    s = m.sampler.sample_now()
    assert s.joules[0] == good.joules[0] and s.watts[0] == 0.0
    assert s.joules[1] == pytest.approx(12.0)


def test_process_mode_cpu_model_is_deferred_too():
    clock = ManualClock()
    m = Meter([CpuTdpSensor(100.0, "cpu", process=True, ncpu=2)], clock=clock)
    clock.t = 1.0
    rec = m.sampler.tick()
    assert type(rec) is RawSample and isinstance(rec.joules[0], os.times_result)
    t0 = sum(os.times()[:4])
    x = 0
    while sum(os.times()[:4]) < t0 + 0.05:  # burn 50 ms of CPU
        x += 1
    clock.t = 2.0
    s = m.sampler.sample_now()
    assert s.joules[0] >= 100.0 / 2 * 0.05 * 0.99
    assert s.watts[0] == pytest.approx(s.joules[0] - m.sampler.decode(rec).joules[0])


def test_meters_without_deferred_sensors_keep_plain_samples():
    m = Meter([RamModelSensor(total_bytes=8 * 10**9)])
    s = m.sampler.tick()
    assert type(s) is Sample and m.sampler.decode(s) is s

import os
import time

import pytest

pynvml = pytest.importorskip("pynvml")

from fakes import FakeGpu, patch_nvml  # noqa: E402
from jupyter_carbon.engine import Meter  # noqa: E402
from jupyter_carbon.sensors.nvml import discover_nvml, visible_indices  # noqa: E402


def gpus():
    return [FakeGpu(uuid="GPU-aaaa-1111", energy_mj=1_000_000, power_mw=300_000),
            FakeGpu(name="Tesla P100", uuid="GPU-bbbb-2222", power_mw=150_000, counter=False),
            FakeGpu(uuid="GPU-cccc-3333", energy_mj=5_000, power_mw=50_000)]


def test_counter_and_power_gpus(monkeypatch):
    g = gpus()
    state = patch_nvml(monkeypatch, g)
    d = discover_nvml(env={})
    assert [s.method for s in d.sensors] == ["nvml-energy", "nvml-power", "nvml-energy"]
    assert d.sensors[1].name == "Tesla P100 #1"
    t = iter([0.0, 1.0, 2.0])
    m = Meter(d.sensors, clock=lambda: next(t))
    w = m.begin()
    g[0].energy_mj += 250_000  # 250 J in the window
    g[2].energy_mj += 40_000
    g[1].power_mw = 250_000  # power-only GPU: trapezoid of 150 W -> 250 W over 1 s
    r = w.end()
    per = {d.name: d.energy_j for d in r.devices}
    assert per["NVIDIA H100 80GB HBM3 #0"] == pytest.approx(250.0)
    assert per["Tesla P100 #1"] == pytest.approx(200.0)
    assert per["NVIDIA H100 80GB HBM3 #2"] == pytest.approx(40.0)
    assert r.by_component["gpu"].energy_j == pytest.approx(490.0)
    assert r.by_component["gpu"].method == "nvml-energy+nvml-power"
    assert r.by_component["gpu"].devices == 3
    d.close()
    assert state["shutdown"] == 1


@pytest.mark.parametrize("spec,expected", [
    (None, [0, 1, 2]), ("", []), ("-1", []), ("2,0", [2, 0]), ("1,7,2", [1]),
    ("GPU-cccc", [2]), ("cccc-3333,GPU-aaaa-1111", [2, 0]), ("0,0", [0]), ("GPU-zzzz,1", []),
])
def test_cuda_visible_devices(spec, expected):
    uuids = ["GPU-aaaa-1111", "GPU-bbbb-2222", "GPU-cccc-3333"]
    env = {} if spec is None else {"CUDA_VISIBLE_DEVICES": spec}
    assert visible_indices(3, uuids, env) == expected


def test_only_visible_gpus_get_sensors(monkeypatch):
    patch_nvml(monkeypatch, gpus())
    d = discover_nvml(env={"CUDA_VISIBLE_DEVICES": "GPU-cccc-3333"})
    assert [(s.index, s.uuid) for s in d.sensors] == [(2, "GPU-cccc-3333")]
    d.close()


def test_error_mid_run_fails_one_sensor_only(monkeypatch):
    g = gpus()
    patch_nvml(monkeypatch, g)
    d = discover_nvml(env={})
    clock = iter(float(i) for i in range(1000)).__next__
    m = Meter(d.sensors, clock=clock)
    w = m.begin()
    g[0].energy_mj += 100_000
    g[2].energy_mj += 10_000
    m.snapshot()
    g[0].fail = pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
    g[0].energy_mj += 999_000  # never seen: the GPU is gone
    g[2].energy_mj += 10_000
    r = w.end()
    per = {x.name: x for x in r.devices}
    lost = per["NVIDIA H100 80GB HBM3 #0"]
    assert lost.failed and "GPU is lost" in lost.failed
    assert lost.energy_j == pytest.approx(100.0)  # what it measured before failing is kept
    assert per["NVIDIA H100 80GB HBM3 #2"].energy_j == pytest.approx(20.0)
    assert per["NVIDIA H100 80GB HBM3 #2"].failed is None
    assert [s.name for s, _ in m.failed()] == ["NVIDIA H100 80GB HBM3 #0"]
    d.close()


def test_no_driver_is_silent(monkeypatch):
    import jupyter_carbon.sensors.nvml as nv

    monkeypatch.setattr(nv, "_driver_present", lambda: True)

    def boom():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    monkeypatch.setattr(pynvml, "nvmlInit", boom)
    d = discover_nvml(env={})
    assert d.sensors == [] and d.message is None


def test_real_machine_without_gpu_gives_no_sensor():
    d = discover_nvml()
    # This test machine has no NVIDIA driver; on a GPU machine it must find its GPUs.
    assert isinstance(d.sensors, list)
    for s in d.sensors:
        assert s.method in ("nvml-energy", "nvml-power", "nvml-power-avg")
    d.close()


def test_one_nvml_call_per_gpu_per_read(monkeypatch):
    g = [FakeGpu(uuid="GPU-a", energy_mj=10_000), FakeGpu(uuid="GPU-b", counter=False, power_mw=200_000,
                                                          avg_power_mw=90_000)]
    state = patch_nvml(monkeypatch, g)
    d = discover_nvml(env={})
    for k in ("energy", "fields", "power"):
        state[k] = 0
    for s in d.sensors:
        s.read(0.0)
    assert (state["energy"], state["fields"], state["power"]) == (1, 1, 0)
    # the power-sampled GPU reports the instantaneous field, not the 1 s average
    assert d.sensors[1].read(1.0) == (None, 200.0)
    assert d.sensors[0].read(1.0)[1] is None  # (joules, watts): derived from the counter by the channel
    d.close()


def test_counter_watts_are_derived_from_the_counter(monkeypatch):
    g = [FakeGpu(energy_mj=0)]
    patch_nvml(monkeypatch, g)
    d = discover_nvml(env={})
    t = iter([0.0, 0.5, 1.5]).__next__
    m = Meter(d.sensors, clock=t)
    w = m.begin()
    g[0].energy_mj += 300_000  # 300 J in 1 s
    r = w.end(sync=False)
    assert r.devices[0].energy_j == pytest.approx(300.0)
    assert m.channels[0].watts == pytest.approx(300.0)
    d.close()


def test_old_driver_without_the_instant_field_uses_the_average(monkeypatch):
    g = [FakeGpu(counter=False, instant=False, power_mw=120_000)]
    patch_nvml(monkeypatch, g)
    d = discover_nvml(env={})
    assert d.sensors[0].method == "nvml-power-avg"
    assert d.sensors[0].read(0.0) == (None, 120.0)
    d.close()


def test_gpu_shares_from_per_process_utilisation_and_memory(monkeypatch):
    from jupyter_carbon.attribution.gpu import GpuUsers

    me, other = os.getpid(), 1  # pid 1 exists in this namespace: another program
    g = [FakeGpu(uuid="GPU-a"), FakeGpu(uuid="GPU-b"), FakeGpu(uuid="GPU-c"), FakeGpu(uuid="GPU-d"),
         FakeGpu(uuid="GPU-e")]
    g[0].procs = {me: 2 << 30}  # only this kernel: wholly its own, idle or not
    g[1].procs = {me: 1 << 30, other: 1 << 30}
    g[1].util = [(me, 30, 10), (other, 90, 11), (me, 0, 12)]  # by SM use: 30 / 120
    g[2].procs = {me: 1 << 30, other: 3 << 30}  # no samples: by memory, 1 / 4
    # g[3]: nobody -> 0
    g[4].procs = {999_999_999: 1 << 30}  # a pid this namespace cannot see (a container)
    patch_nvml(monkeypatch, g)
    d = discover_nvml(env={})
    users = GpuUsers(pynvml, [s._handle for s in d.sensors], cuda_active=lambda: True)
    assert users.shares({me}) == pytest.approx((1.0, 0.25, 0.25, 0.0, 1.0))
    # samples already seen are not counted again: GPU b falls back to memory (1/2)
    assert users.shares({me})[1] == pytest.approx(0.5)
    users.cuda_active = lambda: False
    assert users.shares({me})[4] == 0.0
    d.close()


def test_kernel_mode_splits_each_gpu_by_its_share(monkeypatch):
    from jupyter_carbon.config import Settings
    from jupyter_carbon.runtime import build_meter

    me = os.getpid()
    g = [FakeGpu(uuid="GPU-a", energy_mj=0), FakeGpu(uuid="GPU-b", energy_mj=0)]
    g[0].procs = {me: 1 << 30}
    g[1].procs = {me: 1 << 30, 1: 3 << 30}
    patch_nvml(monkeypatch, g)
    m, setup = build_meter(Settings(env={}), env={})
    try:
        m.attribution.refresh()
        w = m.begin()
        g[0].energy_mj += 100_000
        g[1].energy_mj += 400_000
        time.sleep(0.05)
        e = w.end()
        per = [d.energy_j for d in e.devices if d.component == "gpu"]
        machine = [d.energy_j for d in e.machine_devices if d.component == "gpu"]
        assert machine == pytest.approx([100.0, 400.0])
        assert per == pytest.approx([100.0, 100.0])  # whole GPU a; a quarter of GPU b
        assert e.shares["gpu"] == pytest.approx((1.0, 0.25))
    finally:
        m.close()
        setup.close()

"""Kernel-mode attribution with real processes: the process tree, the CPU/RAM/GPU shares,
GPU synchronisation at window ends (a fake torch: this machine has no CUDA) and the
per-process GPU shares through the patched pynvml entry points."""
import os
import subprocess
import sys
import time
import types

import pytest

from jupyter_carbon.attribution.share import KernelShare
from jupyter_carbon.attribution.tree import ProcessTree, children_of
from jupyter_carbon.config import Settings
from jupyter_carbon.gpusync import sync_devices
from jupyter_carbon.runtime import build_meter

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}:\n    pass\n"
FOREVER = "while True: pass"


def outside_burner():
    """A CPU burner that is NOT in this process's tree: started through a shell that exits at
    once, so it is re-parented away from us. Returns its pid (kill it with ``os.kill``)."""
    out = subprocess.run(["sh", "-c", f'{sys.executable} -c "{FOREVER.strip()}" >/dev/null 2>&1 & echo $!'],
                         capture_output=True, text=True, check=True)
    pid = int(out.stdout.strip())
    from jupyter_carbon.attribution.tree import ProcessTree

    t = ProcessTree()
    assert pid not in t.pids  # really outside
    t.close()
    return pid


def kill(pid):
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def burn(seconds):
    t = time.process_time()
    while time.process_time() - t < seconds:
        pass


@pytest.fixture
def meter():
    m, setup = build_meter(Settings(env={}))
    m.start()
    yield m
    m.close()
    setup.close()


def window(meter, fn):
    w = meter.begin()
    fn()
    return w.end()


def cpu_ratio(e):
    return e.by_component["cpu"].energy_j / e.machine["cpu"].energy_j


def test_kernel_is_the_default_mode_and_rows_keep_the_machine(meter):
    assert Settings(env={})["tracking_mode"] == "kernel"
    assert isinstance(meter.attribution, KernelShare)
    e = window(meter, lambda: burn(0.2))
    assert e.machine_devices is not None and set(e.shares) == {"cpu", "ram", "gpu"}
    for comp, c in e.by_component.items():
        assert c.energy_j <= e.machine[comp].energy_j + 1e-9


def test_the_span_between_cells_adds_up_as_the_full_record_would(meter):
    """``Window.span`` (the time between cells: totals only) gives the kernel's and the
    machine's joules that ``Window.end`` (a record per device) gives for the same edges."""
    for mode_meter in (meter, build_meter(Settings(env={"JUPYTER_CARBON_TRACKING_MODE": "machine"}))[0]):
        for work in (lambda: burn(0.2), lambda: time.sleep(0.2)):
            a, b = mode_meter.begin(), None
            b = mode_meter.begin(start=a.start_edge)
            work()
            edge = mode_meter.edge()
            full, span = a.end(edge), b.span(edge)
            assert span.duration_s == full.duration_s
            assert span.joules == pytest.approx(full.energy_j, rel=1e-12, abs=1e-12)
            assert span.machine_joules == pytest.approx(full.machine_energy_j, rel=1e-12, abs=1e-12)
            assert span.shares == full.shares
            assert b.end_edge is edge  # the next window can start where this one ended
    mode_meter.close()


def test_sleeping_cell_under_outside_load_is_charged_under_a_tenth(meter):
    burner = outside_burner()
    try:
        time.sleep(0.5)
        e = window(meter, lambda: time.sleep(1.5))
    finally:
        kill(burner)
    machine = e.machine["cpu"].energy_j
    assert machine > 0  # the burner made the machine busy
    assert e.by_component["cpu"].energy_j < 0.10 * machine


def test_busy_cell_on_a_quiet_machine_is_charged_over_half(meter):
    """Other sessions may share this machine: look for a window in which the rest of the
    machine was quiet (under 0.1 CPU-s besides us in half a second) and check that one; the share rule
    itself is checked on every attempt."""
    quiet = []
    for _ in range(10):
        tree0, mach0 = meter.attribution.tree.cpu_seconds(), meter.attribution.machine.busy_seconds()
        e = window(meter, lambda: burn(0.5))
        tree = meter.attribution.tree.cpu_seconds() - tree0
        others = meter.attribution.machine.busy_seconds() - mach0 - tree
        assert cpu_ratio(e) == pytest.approx(e.shares["cpu"], rel=1e-6)
        assert e.shares["cpu"] == pytest.approx(min(tree / (tree + max(others, 0)), 1.0), abs=0.15)
        if others < 0.1:
            quiet.append(cpu_ratio(e))
            break
    if not quiet:
        pytest.skip("the machine was never quiet (other programs kept it busy); rule checked above")
    assert quiet[0] > 0.5


def test_live_cpu_share_follows_a_cell_that_starts_working(meter):
    """The live views' CPU share is read over the time since the last refresh: a cell that
    starts burning after an idle spell shows its share at once, not after the next refresh
    (5 s later: until then the running cell's line showed the idle spell's share, ~0 W)."""
    share = meter.attribution
    cpu = [s.component for s in meter.sensors].index("cpu")
    for _ in range(10):
        time.sleep(0.3)
        share.refresh()  # the refresh period ends idle
        tree0, mach0 = share._prev
        burn(0.6)
        live = share.live_weights()[cpu]
        tree = share.tree.cpu_seconds() - tree0
        busy = share.machine.busy_seconds() - mach0
        assert live == pytest.approx(min(tree / busy, 1.0), abs=0.1)
        if busy - tree < 0.1:  # nobody else used the CPU meanwhile
            assert live > 0.6
            return
    pytest.skip("the machine was never quiet (other programs kept it busy); rule checked above")


def test_live_weights_of_one_sample_read_the_clocks_once(meter, monkeypatch):
    """The live views ask several times per sample (watts, the running cell; widget and lab
    comm): the tree's CPU clocks are read once for them, again once the sample is past."""
    from jupyter_carbon.attribution.share import LIVE_REUSE_S

    share = meter.attribution
    reads, real = [], share.tree.cpu_seconds
    monkeypatch.setattr(share.tree, "cpu_seconds", lambda: reads.append(1) or real())
    t = [100.0]
    monkeypatch.setattr(share, "clock", lambda: t[0])
    first = share.live_weights()
    assert share.live_weights() == first and len(reads) == 1
    t[0] += 2 * LIVE_REUSE_S
    share.live_weights()
    assert len(reads) == 2


def test_a_child_process_that_burns_cpu_is_charged_to_the_cell(meter):
    def run_child():
        subprocess.run([sys.executable, "-c", BURN.format(s=1.0)], check=True)

    e = window(meter, run_child)
    # the child's second of CPU is the kernel's: at the TDP model's rate, >= 0.8 CPU-s worth
    j_per_s = meter.channels[[c.sensor.component for c in meter.channels].index("cpu")].sensor.j_per_busy_s
    assert e.by_component["cpu"].energy_j >= 0.8 * j_per_s


CHILDREN_CHECK = """
import subprocess, sys, time
from jupyter_carbon.attribution.tree import ProcessTree, has_children
assert not has_children()  # a fresh interpreter has no child
p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
assert has_children() and ProcessTree().descendants() == [p.pid]
p.wait()
assert not has_children()
q = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if open(f"/proc/{q.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
        break  # ended, not yet reaped
    time.sleep(0.02)
assert has_children()  # a zombie is still a child
assert q.wait() == 3  # the check reaped nothing: the owner still gets the exit status
assert not has_children()
print("ok")
"""


def test_the_children_check_sees_live_and_unreaped_children_and_reaps_nothing():
    """``has_children`` lets a refresh skip the walk when the kernel has no child; it must see
    a running child and an ended one not yet reaped, and leave the exit status to its owner.
    (In a fresh interpreter: this one may have children of other tests.)"""
    out = subprocess.run([sys.executable, "-c", CHILDREN_CHECK], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_a_background_grandchild_is_found_by_the_tree():
    tree = ProcessTree()
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BURN.format(s=1.5)!r}])"
    p = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tree.refresh()
            if len(tree.pids) >= 3:
                break
            time.sleep(0.05)
        assert p.pid in tree.pids and len(tree.pids) >= 3  # kernel, child, grandchild
        assert p.pid in children_of(os.getpid())
        before = tree.cpu_seconds()
        p.wait()
        after = tree.cpu_seconds()  # the grandchild's time survives both exits (reaped)
        assert after - before > 0.5
        tree.refresh()
        assert tree.pids == {os.getpid()}
    finally:
        p.kill()
        tree.close()


def test_tree_time_never_goes_backwards():
    tree = ProcessTree()
    p = subprocess.Popen([sys.executable, "-c", BURN.format(s=0.5)], start_new_session=True)
    tree.refresh()
    t1 = tree.cpu_seconds()
    p.wait()
    # reaped by us: its time moves to our cutime; had it been reaped elsewhere it would vanish
    t2 = tree.cpu_seconds()
    assert t2 >= t1
    tree.close()


def test_ram_share_is_the_trees_resident_memory_over_memory_in_use(meter):
    import psutil

    share = meter.attribution
    share.refresh()
    e = window(meter, lambda: time.sleep(0.2))
    vm = psutil.virtual_memory()
    expected = psutil.Process().memory_info().rss / (vm.total - vm.available)
    assert e.shares["ram"] == pytest.approx(expected, rel=0.5)
    assert 0 < e.shares["ram"] < 1


class CountingMachine:
    """The real machine figures, counting the reads of the memory in use."""

    def __init__(self):
        from jupyter_carbon.attribution.machine import MachineUsage

        self.real = MachineUsage()
        self.memory_reads = 0

    def busy_seconds(self):
        return self.real.busy_seconds()

    def used_memory_bytes(self):
        self.memory_reads += 1
        return self.real.used_memory_bytes()

    def close(self):
        self.real.close()


class OneGpu:
    handles = [object()]

    def shares(self, pids):
        return (0.5,)


@pytest.mark.parametrize("gpus", [None, OneGpu()], ids=["no-gpu", "nvml-gpu"])
def test_a_quiet_tree_keeps_its_memory_share_until_it_works_or_30_s_pass(gpus):
    from jupyter_carbon.attribution import share as share_mod

    now = [1000.0]
    machine = CountingMachine()
    comps = ("cpu", "ram") if gpus is None else ("cpu", "gpu", "ram")
    share = KernelShare(comps, gpus, tree=ProcessTree(), machine=machine, clock=lambda: now[0])
    try:
        def reads_after(step_s, work=lambda: None):
            before = machine.memory_reads
            work()
            now[0] += step_s
            share.refresh()
            return machine.memory_reads - before

        quiet = 0 if gpus is None else 1  # NVML attributes GPUs: never skipped
        assert reads_after(5.0) == quiet  # the tree did not run: its memory cannot have grown
        assert reads_after(5.0, lambda: burn(0.2)) == 1  # 0.2 CPU-s in 5 s: over 1 % of a core
        assert reads_after(5.0) == quiet
        assert reads_after(share_mod.QUIET_REFRESH_S) == 1  # other programs' memory moves too
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            time.sleep(0.2)
            assert reads_after(5.0) == 1  # a new process in the tree: its memory counts at once
            assert child.pid in share.tree.pids
        finally:
            child.kill()
            child.wait()
        assert reads_after(5.0) == 1  # and when it is gone
        # the CPU figures move on every refresh, quiet or not
        burn(0.01)
        now[0] += 5.0
        share.refresh()
        assert share._recent[0] > 0
    finally:
        share.close()


# --- GPU synchronisation -------------------------------------------------------------------
class FakeCuda:
    def __init__(self, initialised):
        self.initialised = initialised
        self.synced = []

    def is_initialized(self):
        return self.initialised

    def synchronize(self, device=None):
        self.synced.append(device)

    def device_count(self):
        return 2


def fake_torch(monkeypatch, initialised, contexts=None):
    cuda = FakeCuda(initialised)
    mod = types.ModuleType("torch")
    mod.cuda = cuda
    if contexts is not None:
        mod._C = types.SimpleNamespace(_cuda_hasPrimaryContext=lambda i: i in contexts)
    monkeypatch.setitem(sys.modules, "torch", mod)
    return cuda


def test_real_cpu_torch_is_never_synchronised_nor_initialised():
    torch = pytest.importorskip("torch")
    assert not torch.cuda.is_initialized()
    assert sync_devices() is False
    assert not torch.cuda.is_initialized()  # checking did not initialise CUDA


def test_sync_once_per_window_end_when_cuda_is_initialised(meter, monkeypatch):
    cuda = fake_torch(monkeypatch, initialised=True)
    e = window(meter, lambda: None)
    assert cuda.synced == [None] and e.gpu_synced is True
    window(meter, lambda: None)
    assert len(cuda.synced) == 2  # once per edge that ends a window


def test_sync_only_devices_with_a_context(meter, monkeypatch):
    cuda = fake_torch(monkeypatch, initialised=True, contexts={1})
    window(meter, lambda: None)
    assert cuda.synced == [1]


def test_no_sync_when_not_initialised_or_switched_off(meter, monkeypatch):
    cuda = fake_torch(monkeypatch, initialised=False)
    assert window(meter, lambda: None).gpu_synced is False
    meter.sync = None  # gpu_sync off
    cuda.initialised = True
    assert window(meter, lambda: None).gpu_synced is None
    assert cuda.synced == []


def test_a_failing_sync_never_breaks_the_window(meter, monkeypatch):
    cuda = fake_torch(monkeypatch, initialised=True)

    def boom(device=None):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
    cuda.synchronize = boom
    e = window(meter, lambda: None)
    assert e.gpu_synced is False and e.duration_s >= 0


# --- embodied emissions ----------------------------------------------------------------------
def test_embodied_factors_carry_source_and_year():
    import csv as _csv

    from jupyter_carbon.attribution.embodied import DATA

    with open(DATA, newline="") as fh:
        rows = list(_csv.DictReader(fh))
    assert {r["part"] for r in rows} >= {"server_base", "cpu", "ram", "gpu", "lifetime_years"}
    for r in rows:
        assert r["source"] and r["url"].startswith("https://") and 2000 < int(r["year"]) < 2100
        assert float(r["kg_co2e"]) > 0
    assert "uncertain" in next(r["note"] for r in rows if r["part"] == "gpu")
    assert (DATA.parent / "embodied.NOTICE").exists()


def test_embodied_window_share_is_amortised_and_split_by_component():
    from jupyter_carbon.attribution.embodied import YEAR_S, Embodied, Hardware, factors

    f = factors()
    e = Embodied(Hardware(cpus=2, ram_gb=64.0, gpus=1))
    total = f["server_base"] + 2 * f["cpu"] + 64 * f["ram"] + f["gpu"]
    assert e.total_kg == pytest.approx(total)
    life = f["lifetime_years"] * YEAR_S
    assert e.window_kg(3600, None, 1) == pytest.approx(total * 3600 / life)  # whole machine
    shares = {"cpu": 0.5, "ram": 0.25, "gpu": (0.0,)}
    expected = ((f["server_base"] + 2 * f["cpu"]) * 0.5 + 64 * f["ram"] * 0.25) * 3600 / life
    assert e.window_kg(3600, shares, 1) == pytest.approx(expected)
    own = Embodied(Hardware(cpus=2, ram_gb=64.0, gpus=1), total_kg=1000.0)
    assert own.total_kg == pytest.approx(1000.0)


# --- tools/gpu_check.py: the parts that need no GPU ---------------------------------------------
def test_gpu_check_compares_cells_within_one_percent():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "gpu_check", Path(__file__).resolve().parents[1] / "tools" / "gpu_check.py")
    gc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gc)
    ref = {"3": 1000.0, "4": 2000.0, "5": 1.0}
    rows = [
        {"execution_count": "3", "machine_gpu_energy": str(1005.0 / 3.6e6), "gpu_energy": str(1005.0 / 3.6e6),
         "duration": "10", "label": "train", "gpu_synced": "true"},
        {"execution_count": "4", "machine_gpu_energy": str(2100.0 / 3.6e6), "gpu_energy": str(2100.0 / 3.6e6),
         "duration": "20", "label": "", "gpu_synced": "true"},
        {"execution_count": "5", "machine_gpu_energy": str(3.0 / 3.6e6), "gpu_energy": "", "duration": "0.1",
         "label": "", "gpu_synced": "true"},
        {"execution_count": "6", "machine_gpu_energy": "", "gpu_energy": "", "duration": "1", "label": ""},
    ]
    cells = gc.compare(ref, rows, min_joules=50.0)
    assert [c["cell"] for c in cells] == ["3", "4", "5"]
    assert cells[0]["ok"] and cells[0]["err"] == pytest.approx(0.005)
    assert not cells[1]["ok"]  # 5 % off
    assert cells[2]["ok"] and not cells[2]["compared"]  # too small to compare
    md = gc.markdown("NVIDIA H100", cells, {"on": [1e-4, 1.2e-4], "off": [0.9e-4, 1e-4]}, "full")
    assert "NVIDIA H100" in md and "**FAIL**" in md and "cost of gpu_sync" in md


def test_cupy_and_jax_are_synchronised_only_when_they_hold_the_gpu(monkeypatch):
    calls = []
    pool = types.SimpleNamespace(total_bytes=lambda: 0)
    cupy = types.ModuleType("cupy")
    cupy.get_default_memory_pool = lambda: pool
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(deviceSynchronize=lambda: calls.append("cupy")))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert sync_devices() is False and calls == []  # CuPy allocated nothing: nothing pending
    pool.total_bytes = lambda: 1 << 20
    assert sync_devices() is True and calls == ["cupy"]

    monkeypatch.delitem(sys.modules, "cupy")
    arrays = [types.SimpleNamespace(block_until_ready=lambda: calls.append("jax"))]
    jax = types.ModuleType("jax")
    jax.live_arrays = lambda: arrays
    bridge = types.ModuleType("jax._src.xla_bridge")
    bridge._backends = {"cpu": object()}
    monkeypatch.setitem(sys.modules, "jax", jax)
    monkeypatch.setitem(sys.modules, "jax._src.xla_bridge", bridge)
    assert sync_devices() is False  # a CPU-only JAX is never waited on
    bridge._backends["cuda"] = object()
    assert sync_devices() is True and calls == ["cupy", "jax"]

import os

import pytest

from fakes import make_powercap, set_counter
from jupyter_carbon.engine import Meter
from jupyter_carbon.sensors.discover import discover
from jupyter_carbon.sensors.rapl import discover_rapl


def tree(tmp_path, **extra):
    zones = {
        "intel-rapl:0": {"name": "package-0", "energy_uj": 1_000_000, "max": 10_000_000},
        "intel-rapl:0:0": {"name": "core", "energy_uj": 500_000},
        "intel-rapl:0:1": {"name": "uncore", "energy_uj": 100_000},
        "intel-rapl:0:2": {"name": "dram", "energy_uj": 2_000_000, "max": 50_000_000},
        "intel-rapl:1": {"name": "psys", "energy_uj": 9_000_000},
        "intel-rapl:2": {"name": "package-1", "energy_uj": 0},
    }
    zones.update(extra)
    return make_powercap(tmp_path / "powercap", zones)


def test_packages_and_dram_found_subdomains_skipped(tmp_path):
    d = discover_rapl(tree(tmp_path))
    names = sorted((s.component, s.name) for s in d.sensors)
    assert names == [("cpu", "RAPL package-0 (intel-rapl:0)"), ("cpu", "RAPL package-1 (intel-rapl:2)"),
                     ("ram", "RAPL dram (intel-rapl:0:2)")]
    assert d.message is None
    pkg = next(s for s in d.sensors if "package-0" in s.name)
    assert pkg.wrap_j == pytest.approx(10.0)
    assert pkg.measured and pkg.method == "rapl"


def test_window_reads_counter_differences_across_a_wrap(tmp_path):
    root = tree(tmp_path)
    d = discover_rapl(root)
    pkg = next(s for s in d.sensors if "package-0" in s.name)
    clock = iter(range(100)).__next__
    m = Meter([pkg], clock=lambda: float(clock()))
    set_counter(root, "intel-rapl:0", 9_000_000)  # 9 J
    w = m.begin()
    set_counter(root, "intel-rapl:0", 9_800_000)
    m.snapshot()  # a sampler point in the middle
    set_counter(root, "intel-rapl:0", 1_500_000)  # wrapped at 10 J: +0.2 J then +1.5 J
    r = w.end()
    assert r.by_component["cpu"].energy_j == pytest.approx(0.8 + 0.2 + 1.5)
    assert r.by_component["cpu"].method == "rapl"
    pkg.close()


def test_unreadable_energy_gives_one_message_and_tdp_fallback(tmp_path):
    if os.geteuid() == 0:
        # root reads any file: emulate the permission error the kernel gives non-root users
        import jupyter_carbon.sensors.rapl as rapl

        real_open = os.open

        def deny(path, *a, **k):
            if str(path).endswith("energy_uj"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *a, **k)

        mp = pytest.MonkeyPatch()
        mp.setattr(rapl.os, "open", deny)
    else:
        mp = None
    try:
        root = tree(tmp_path)
        for z in ("intel-rapl:0", "intel-rapl:0:2", "intel-rapl:2"):
            os.chmod(root / z / "energy_uj", 0)
        setup = discover(powercap_root=str(root), gpu=False)
    finally:
        if mp:
            mp.undo()
    assert [s.method for s in setup.sensors] == ["tdp-model", "ram-model"]
    assert len(setup.messages) == 1  # one message; the TDP caveat waits in `%carbon` status
    msg = setup.messages[0]
    assert any("JUPYTER_CARBON_CPU_TDP" in n for n in setup.notes)
    assert "chmod a+r" in msg and str(root) in msg and "\n" not in msg
    setup.close()


def test_rapl_preferred_over_models_when_readable(tmp_path):
    setup = discover(powercap_root=str(tree(tmp_path)), gpu=False)
    assert sorted(s.method for s in setup.sensors) == ["rapl", "rapl", "rapl"]
    assert setup.describe() == "gpu: none, cpu: 2x rapl, ram: rapl"
    setup.close()


def test_process_mode_charges_the_kernel_process_share_of_the_machine(tmp_path):
    """``process`` mode reads the machine's counters, as every mode does, and charges the
    kernel process alone its share (its descendants are not followed)."""
    from jupyter_carbon import runtime
    from jupyter_carbon.config import Settings

    settings = Settings(None, env={"JUPYTER_CARBON_TRACKING_MODE": "process", "JUPYTER_CARBON_GPU": "0"})
    meter, setup = runtime.build_meter(settings, powercap_root=str(tree(tmp_path)))
    try:
        assert sorted(s.method for s in setup.sensors) == ["rapl", "rapl", "rapl"]
        assert meter.attribution is not None and meter.attribution.tree.children is False
        assert meter.attribution.tree.descendants() == []
    finally:
        meter.close()
        setup.close()


def test_no_powercap_no_message(tmp_path):
    d = discover_rapl(tmp_path / "absent")
    assert d.sensors == [] and d.message is None

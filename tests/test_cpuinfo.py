"""CPU identification from fake /proc/cpuinfo files and patched macOS/Windows sources."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import types

import pytest

from jupyter_carbon.hardware import cpuinfo


@pytest.fixture(autouse=True)
def _fresh_caches():
    cpuinfo.cpu_model_name.cache_clear()
    cpuinfo.is_virtual_machine.cache_clear()
    cpuinfo._cpuinfo_blocks.cache_clear()
    yield
    cpuinfo.cpu_model_name.cache_clear()
    cpuinfo.is_virtual_machine.cache_clear()
    cpuinfo._cpuinfo_blocks.cache_clear()


def _x86_block(proc: int, phys: int, core: int, flags: str = "fpu sse2 avx2") -> str:
    return textwrap.dedent(f"""\
        processor\t: {proc}
        vendor_id\t: GenuineIntel
        cpu family\t: 6
        model\t\t: 85
        model name\t: Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz
        physical id\t: {phys}
        siblings\t: 4
        core id\t\t: {core}
        cpu cores\t: 2
        flags\t\t: {flags}

        """)


def _write(tmp_path, text: str, name="cpuinfo") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_x86_two_sockets(tmp_path):
    text = "".join(_x86_block(i, i // 4, i % 2) for i in range(8))
    path = _write(tmp_path, text)
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == \
        "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz"
    assert cpuinfo.cpu_packages(path) == 2
    assert cpuinfo.is_virtual_machine(proc_cpuinfo=path, platform="linux") is False


def test_x86_vm_single_socket_and_hypervisor_flag(tmp_path):
    text = "".join(_x86_block(i, 0, i, flags="fpu sse2 hypervisor avx2") for i in range(2))
    path = _write(tmp_path, text)
    assert cpuinfo.cpu_packages(path) == 1
    assert cpuinfo.is_virtual_machine(proc_cpuinfo=path, platform="linux") is True


def test_whitespace_collapsed(tmp_path):
    path = _write(tmp_path, "processor\t: 0\nmodel name\t:   AMD Ryzen 7 5800H   with Radeon Graphics  \n")
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == \
        "AMD Ryzen 7 5800H with Radeon Graphics"


RPI4_ARM64 = """\
processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

processor\t: 1
BogoMIPS\t: 108.00
CPU implementer\t: 0x41
CPU part\t: 0xd08

Hardware\t: BCM2835
Revision\t: c03111
Model\t\t: Raspberry Pi 4 Model B Rev 1.1
"""


def test_arm64_without_model_name_uses_core_part(tmp_path):
    path = _write(tmp_path, RPI4_ARM64)
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == "ARM Cortex-A72"
    assert cpuinfo.cpu_packages(path) == 1  # no "physical id" on ARM
    assert cpuinfo.is_virtual_machine(proc_cpuinfo=path, platform="linux") is False


def test_arm32_generic_model_name_is_replaced_by_core_part(tmp_path):
    text = RPI4_ARM64.replace("BogoMIPS\t: 108.00\nFeatures",
                              "model name\t: ARMv7 Processor rev 3 (v7l)\nBogoMIPS\t: 108.00\nFeatures")
    path = _write(tmp_path, text)
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == "ARM Cortex-A72"


def test_graviton2(tmp_path):
    path = _write(tmp_path, "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n")
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == "ARM Neoverse-N1"


def test_unknown_arm_part_falls_back_to_hardware(tmp_path):
    path = _write(tmp_path, "processor\t: 0\nCPU implementer\t: 0x51\nCPU part\t: 0x803\n\n"
                            "Hardware\t: Qualcomm Technologies, Inc SDM845\n")
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == \
        "Qualcomm Technologies, Inc SDM845"


def test_unknown_arm_part_without_hardware(tmp_path):
    path = _write(tmp_path, "processor\t: 0\nCPU implementer\t: 0x51\nCPU part\t: 0x803\n")
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == \
        "ARM implementer 0x51 part 0x803"


@pytest.mark.parametrize("content", [None, "", "garbage without colons\n\n\n", "\x00\xff"])
def test_missing_or_empty_file_gives_none(tmp_path, content):
    path = str(tmp_path / "nope") if content is None else _write(tmp_path, content)
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") is None
    assert cpuinfo.cpu_packages(path) == 1
    assert cpuinfo.is_virtual_machine(proc_cpuinfo=path, platform="linux") is False


def test_cached(tmp_path):
    path = _write(tmp_path, "processor\t: 0\nmodel name\t: Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz\n")
    first = cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux")
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: changed\n")
    assert cpuinfo.cpu_model_name(proc_cpuinfo=path, platform="linux") == first


def test_macos_sysctl(monkeypatch):
    calls = []

    def fake_run(cmd, **kw):
        calls.append((cmd, kw))
        out = {"machdep.cpu.brand_string": "Apple M2 Pro\n", "kern.hv_vmm_present": "0\n"}[cmd[-1]]
        return subprocess.CompletedProcess(cmd, 0, out, "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert cpuinfo.cpu_model_name(platform="darwin") == "Apple M2 Pro"
    assert cpuinfo.is_virtual_machine(platform="darwin") is False
    assert calls[0][0] == ["sysctl", "-n", "machdep.cpu.brand_string"]
    assert 0 < calls[0][1]["timeout"] <= 5


@pytest.mark.parametrize("exc", [subprocess.TimeoutExpired(["sysctl"], 2), FileNotFoundError("sysctl")])
def test_macos_sysctl_failure_is_none(monkeypatch, exc):
    def fake_run(cmd, **kw):
        raise exc

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert cpuinfo.cpu_model_name(platform="darwin") is None
    assert cpuinfo.is_virtual_machine(platform="darwin") is False


def test_macos_sysctl_nonzero_exit(monkeypatch):
    monkeypatch.setattr(subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "unknown oid"))
    assert cpuinfo.cpu_model_name(platform="darwin") is None


def _fake_winreg(value=None, error=None):
    class Key:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def open_key(root, path):
        assert path == r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
        if error:
            raise error
        return Key()

    return types.SimpleNamespace(HKEY_LOCAL_MACHINE=object(), OpenKey=open_key,
                                 QueryValueEx=lambda key, name: (value, 1))


def test_windows_registry(monkeypatch):
    monkeypatch.setitem(sys.modules, "winreg",
                        _fake_winreg("Intel(R) Core(TM) i7-10510U CPU @ 1.80GHz      "))
    assert cpuinfo.cpu_model_name(platform="win32") == "Intel(R) Core(TM) i7-10510U CPU @ 1.80GHz"


def test_windows_registry_missing_key(monkeypatch):
    monkeypatch.setitem(sys.modules, "winreg", _fake_winreg(error=FileNotFoundError()))
    assert cpuinfo.cpu_model_name(platform="win32") is None


def test_windows_without_winreg_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "winreg", None)  # import fails, as off Windows
    assert cpuinfo.cpu_model_name(platform="win32") is None


def test_this_machine():
    name = cpuinfo.cpu_model_name()
    assert name is None or (isinstance(name, str) and name.strip() == name and name)
    if sys.platform.startswith("linux"):
        assert isinstance(name, str)
    assert cpuinfo.cpu_packages() >= 1
    assert cpuinfo.logical_cpus() >= 1
    assert isinstance(cpuinfo.is_virtual_machine(), bool)

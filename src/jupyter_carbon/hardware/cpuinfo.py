"""The CPU's marketing name, socket count and whether we run in a VM, read cheaply per OS.

No ``py-cpuinfo``: it spawns a subprocess and takes about a second per call, which would
show up in ``%load_ext`` time. Everything here is a file read, one short ``sysctl`` call on
macOS or one registry read on Windows, is cached per argument set, and never raises: an
unknown CPU is ``None`` and the TDP lookup falls back to its documented default.
"""
from __future__ import annotations

import functools
import logging
import os
import re
import sys

log = logging.getLogger(__name__)

PROC_CPUINFO = "/proc/cpuinfo"
_SYSCTL_TIMEOUT_S = 2.0

# ARM cores by (implementer, part) as the Linux kernel prints them. ARM Linux has no
# "model name" on arm64 (or only "ARMv7 Processor rev N (v7l)" on 32-bit), so the core
# design is the best name there is. Not in the TDP table on purpose: a core design is
# not a chip (a Raspberry Pi and a 64-core server can share one), so these get the default.
_ARM_PARTS = {
    ("0x41", "0xd03"): "ARM Cortex-A53",
    ("0x41", "0xd04"): "ARM Cortex-A35",
    ("0x41", "0xd05"): "ARM Cortex-A55",
    ("0x41", "0xd07"): "ARM Cortex-A57",
    ("0x41", "0xd08"): "ARM Cortex-A72",
    ("0x41", "0xd09"): "ARM Cortex-A73",
    ("0x41", "0xd0a"): "ARM Cortex-A75",
    ("0x41", "0xd0b"): "ARM Cortex-A76",
    ("0x41", "0xd0c"): "ARM Neoverse-N1",
    ("0x41", "0xd0d"): "ARM Cortex-A77",
    ("0x41", "0xd40"): "ARM Neoverse-V1",
    ("0x41", "0xd41"): "ARM Cortex-A78",
    ("0x41", "0xd44"): "ARM Cortex-X1",
    ("0x41", "0xd46"): "ARM Cortex-A510",
    ("0x41", "0xd47"): "ARM Cortex-A710",
    ("0x41", "0xd48"): "ARM Cortex-X2",
    ("0x41", "0xd49"): "ARM Neoverse-N2",
    ("0x41", "0xd4f"): "ARM Neoverse-V2",
    ("0x41", "0xd80"): "ARM Cortex-A520",
    ("0x41", "0xd81"): "ARM Cortex-A720",
    ("0x41", "0xd82"): "ARM Cortex-X4",
    ("0x41", "0xd84"): "ARM Neoverse-V3",
}
_GENERIC_ARM = re.compile(r"^ARMv\d+\S*\s+Processor\b", re.IGNORECASE)


@functools.lru_cache(maxsize=8)
def _cpuinfo_blocks(path: str) -> tuple[dict[str, str], ...]:
    """One dict per blank-line separated block. ARM puts "Hardware"/"Model" in a trailing block."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ()
    blocks: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                blocks.append(cur)
                cur = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            cur.setdefault(key.strip().lower(), value.strip())
    if cur:
        blocks.append(cur)
    return tuple(blocks)


def _first(blocks, key: str) -> str | None:
    for b in blocks:
        v = b.get(key)
        if v:
            return v
    return None


def _linux_model(path: str) -> str | None:
    blocks = _cpuinfo_blocks(path)
    name = _first(blocks, "model name")
    if name and not _GENERIC_ARM.match(name):
        return name
    impl, part = _first(blocks, "cpu implementer"), _first(blocks, "cpu part")
    if impl and part:
        arm = _ARM_PARTS.get((impl.lower(), part.lower()))
        if arm:
            return arm
    # An unlisted ARM core: the SoC ("BCM2835", "Qualcomm ... SDM845") names the chip.
    hardware = _first(blocks, "hardware")
    if hardware:
        return hardware
    if impl and part:
        return f"ARM implementer {impl} part {part}"
    return name  # the generic "ARMv7 Processor rev 3 (v7l)" beats nothing


def _macos_sysctl(key: str) -> str | None:
    import subprocess  # macOS only: most kernels never pay for its import

    try:
        out = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True,
                             timeout=_SYSCTL_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def _windows_model() -> str | None:
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined]  # Windows only
                            r"HARDWARE\DESCRIPTION\System\CentralProcessor\0") as key:
            value, _ = winreg.QueryValueEx(key, "ProcessorNameString")  # type: ignore[attr-defined]
    except Exception:  # ImportError off Windows, OSError for a missing key
        log.debug("no CPU name from the Windows registry", exc_info=True)
        return None
    return str(value)


@functools.lru_cache(maxsize=8)
def cpu_model_name(*, proc_cpuinfo: str = PROC_CPUINFO, platform: str = sys.platform) -> str | None:
    """The CPU's name as the OS reports it (e.g. "Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz").

    ``None`` when nothing usable is found. Whitespace is collapsed (Windows pads the
    registry value with spaces) but the name is otherwise left as printed: the TDP
    lookup does its own normalisation, and the CSV's ``cpu_model`` should show what the
    user would recognise.
    """
    try:
        if platform.startswith("linux"):
            name = _linux_model(proc_cpuinfo)
        elif platform == "darwin":
            name = _macos_sysctl("machdep.cpu.brand_string")
        elif platform in ("win32", "cygwin"):
            name = _windows_model()
        else:  # BSDs and others: a cpuinfo file if one exists, else unknown
            name = _linux_model(proc_cpuinfo)
    except Exception:
        log.debug("no CPU model name", exc_info=True)
        return None
    name = " ".join(name.split()) if name else ""
    return name or None


def cpu_packages(proc_cpuinfo: str = PROC_CPUINFO) -> int:
    """Number of CPU sockets, so a table TDP (per package) can be scaled to the machine.

    Distinct "physical id" values in /proc/cpuinfo; 1 where the OS does not say (ARM,
    macOS, Windows), which is right for nearly every laptop and workstation.
    """
    try:
        ids = {b["physical id"] for b in _cpuinfo_blocks(proc_cpuinfo) if "physical id" in b}
    except Exception:
        log.debug("no physical ids in cpuinfo", exc_info=True)
        return 1
    return max(1, len(ids))


def logical_cpus() -> int:
    """Logical CPUs the OS shows (vCPUs in a VM): the unit of the default TDP."""
    return os.cpu_count() or 1


@functools.lru_cache(maxsize=8)
def is_virtual_machine(*, proc_cpuinfo: str = PROC_CPUINFO, platform: str = sys.platform) -> bool:
    """True when a hypervisor says so. In a VM the CPU name is the host's, but the guest
    only gets some of its threads, so a whole-package TDP would overstate the guest's power.

    x86 Linux guests carry the ``hypervisor`` CPU flag; macOS guests set
    ``kern.hv_vmm_present``. Elsewhere (Windows, ARM Linux) this returns False: the caller
    then uses the table figure unchanged, as on bare metal.
    """
    try:
        if platform == "darwin":
            return _macos_sysctl("kern.hv_vmm_present") == "1"
        flags = _first(_cpuinfo_blocks(proc_cpuinfo), "flags") or ""
        return "hypervisor" in flags.split()
    except Exception:
        log.debug("cannot tell whether this is a virtual machine", exc_info=True)
        return False

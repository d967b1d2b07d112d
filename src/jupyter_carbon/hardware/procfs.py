"""CPU time and memory from Linux procfs, parsed in one place: the machine's busy seconds
(first line of ``/proc/stat``), its memory in use (head of ``/proc/meminfo``) and a process's
own CPU seconds and resident memory (``/proc/<pid>/stat``).

Readers keep a descriptor open and ``pread`` it each sample (a few microseconds); psutil
covers platforms without procfs. psutil is imported only there: its import takes about a fifth
of IPython's, which a script's first ``jc.track()`` or a terminal IPython's ``%load_ext`` would
otherwise pay (a Jupyter kernel has usually imported it already).
"""
from __future__ import annotations

import os

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# Bytes of /proc/stat read per sample: its first 8 numbers fit even at 20 digits each.
STAT_HEAD = 256


def busy_seconds(head: bytes) -> float:
    """user + nice + system + irq + softirq of every CPU from /proc/stat's first line
    (idle, iowait and steal are not busy). ValueError on another layout."""
    f = head.split(None, 8)
    if len(f) < 9 or f[0] != b"cpu":
        raise ValueError("unexpected /proc/stat layout")
    return TICK_S * (int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7]))


#: Bytes of /proc/meminfo read per look: its first three lines (MemTotal, MemFree, MemAvailable).
MEMINFO_HEAD = 256


def used_memory(head: bytes) -> int:
    """Bytes in use (MemTotal - MemAvailable, as psutil's ``total - available``) from the head
    of /proc/meminfo. ValueError on another layout (a kernel before 3.14 has no MemAvailable)."""
    fields = dict(line.split(b":", 1) for line in head.split(b"\n")[:3] if b":" in line)
    try:
        return (int(fields[b"MemTotal"].split()[0]) - int(fields[b"MemAvailable"].split()[0])) * 1024
    except (KeyError, IndexError, ValueError):
        raise ValueError("unexpected /proc/meminfo layout") from None


def total_memory_bytes() -> int:
    """Installed memory (psutil's ``virtual_memory().total``, MemTotal) without psutil where
    the OS says it through ``sysconf``."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * PAGE
    except (AttributeError, OSError, ValueError):
        import psutil

        return int(psutil.virtual_memory().total)


def logical_cpus() -> int:
    """Logical CPUs (psutil's ``cpu_count()``), at least 1."""
    return os.cpu_count() or 1


def psutil_used_memory() -> int:
    import psutil

    vm = psutil.virtual_memory()
    return int(vm.total - vm.available)


def psutil_busy_seconds() -> float:
    """The same figure through psutil, where /proc/stat is not there."""
    import psutil

    t = psutil.cpu_times()
    return float(t.user + getattr(t, "nice", 0.0) + t.system + getattr(t, "irq", 0.0)
                 + getattr(t, "softirq", 0.0))


def _process_fields(raw: bytes) -> list[bytes]:
    """A /proc/<pid>/stat line's fields from the state on (the name in parentheses may hold
    spaces and parentheses, so fields are counted from the last ')')."""
    return raw[raw.rindex(b")") + 2:].split()


def process_seconds(raw: bytes) -> float:
    """utime + stime of one process from its /proc/<pid>/stat."""
    f = _process_fields(raw)
    return TICK_S * (int(f[11]) + int(f[12]))


def process_tree_stat(raw: bytes) -> tuple[float, int]:
    """(CPU seconds including reaped children: utime + stime + cutime + cstime, RSS bytes)."""
    f = _process_fields(raw)
    return TICK_S * (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])), int(f[21]) * PAGE


def open_readonly(path: str) -> int:
    return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

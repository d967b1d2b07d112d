"""procfs parsing on this machine's real /proc, and on odd process names."""
import os
import time

import pytest

from jupyter_carbon.hardware import procfs


def burn(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_machine_busy_seconds_grow_with_work_and_agree_with_psutil():
    fd = procfs.open_readonly("/proc/stat")
    try:
        a, pa = procfs.busy_seconds(os.pread(fd, procfs.STAT_HEAD, 0)), procfs.psutil_busy_seconds()
        burn(0.3)
        b, pb = procfs.busy_seconds(os.pread(fd, procfs.STAT_HEAD, 0)), procfs.psutil_busy_seconds()
    finally:
        os.close(fd)
    assert b - a >= 0.2  # at least our own busy loop
    assert a == pytest.approx(pa, abs=1.0) and b == pytest.approx(pb, abs=1.0)


def test_process_seconds_match_os_times_and_survive_odd_names():
    raw = open(f"/proc/{os.getpid()}/stat", "rb").read()
    t = os.times()
    assert procfs.process_seconds(raw) == pytest.approx(t.user + t.system, abs=0.05)
    head, tail = raw.split(b" (", 1)
    odd = head + b" (a) (b c" + tail[tail.rindex(b")"):]  # a name with ") (" and spaces
    assert procfs.process_seconds(odd) == procfs.process_seconds(raw)


def test_another_layout_is_an_error_not_a_number():
    with pytest.raises(ValueError):
        procfs.busy_seconds(b"intr 1 2 3\n")


def test_machine_facts_agree_with_psutil_without_importing_it():
    import psutil

    assert procfs.total_memory_bytes() == psutil.virtual_memory().total
    assert procfs.logical_cpus() == psutil.cpu_count()


def test_loading_and_a_first_window_never_import_psutil():
    """psutil's import is about a fifth of IPython's: %load_ext, a cell and a first
    jc.track() window must not pay it where /proc and sysconf answer (a fresh interpreter)."""
    import subprocess
    import sys

    code = ("import os, sys, tempfile\nos.chdir(tempfile.mkdtemp())\n"
            "os.environ.update(JUPYTER_CARBON_WIDGET='0', JUPYTER_CARBON_COUNTRY='FR')\n"
            "from IPython.testing.globalipapp import start_ipython\nsh = start_ipython()\n"
            "sh.run_line_magic('load_ext', 'jupyter_carbon')\nsh.run_cell('x = 1')\n"
            "import jupyter_carbon as jc\nwith jc.track('first'):\n    pass\n"
            "print('psutil' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_CARBON_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout

"""The new row columns in a real IPython shell and a real kernel: between-cells energy that
makes the rows add up, the machine's figures, embodied emissions apart, gpu_synced; and the
kernel-mode share rule with a real outside load in a kernel started by nbclient."""
import csv
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_carbon.log.schema import ATTRIBUTION_COLUMNS, COLUMNS, NOTEBOOK_COLUMNS
from shells import session_of


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run(shell, src):
    return shell.run_cell(src, store_history=True)


def f(x):
    return float(x) if x else 0.0


def test_new_columns_are_appended_after_the_old_header():
    assert COLUMNS[-len(ATTRIBUTION_COLUMNS):] == ATTRIBUTION_COLUMNS
    assert COLUMNS.index(NOTEBOOK_COLUMNS[-1]) == len(COLUMNS) - len(ATTRIBUTION_COLUMNS) - 1


def test_rows_add_up_to_the_session_total_with_between_cells(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "x = sum(range(10**5))")
    time.sleep(0.4)  # the user reads: between cells
    run(shell, "import time; time.sleep(0.2)")
    time.sleep(0.3)
    run(shell, "y = sum(range(10**6))")
    s = session_of(shell)
    totals = s.totals
    log = rows(notebook_dir / "analysis.carbon.csv")
    assert [r["tracking_mode"] for r in log] == ["kernel"] * len(log)
    assert log[0]["idle_energy_before"] == ""  # the %load_ext cell: nothing before it
    assert all(r["idle_energy_before"] != "" for r in log[1:])
    rows_total = sum(f(r["energy_consumed"]) + f(r["idle_energy_before"]) for r in log)
    assert rows_total == pytest.approx(totals.session_kwh, rel=1e-5)
    assert totals.between_kwh > 0
    assert totals.session_kwh == pytest.approx(totals.energy_kwh + totals.between_kwh)
    # energy_consumed does not include the time between cells
    assert sum(f(r["energy_consumed"]) for r in log) == pytest.approx(totals.energy_kwh, rel=1e-5)
    for r in log:
        assert f(r["cpu_energy"]) <= f(r["machine_cpu_energy"]) * (1 + 1e-6)
        assert f(r["energy_consumed"]) <= f(r["machine_energy"]) * (1 + 1e-6)
        assert r["gpu_synced"] == "false"  # gpu_sync on; no framework initialised CUDA


def test_embodied_is_apart_from_emissions_and_can_be_set_or_turned_off(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "import time; time.sleep(0.3)")
    run(shell, "%carbon config --embodied 10000")
    run(shell, "time.sleep(0.3)")
    run(shell, "%carbon config --embodied off")
    run(shell, "time.sleep(0.3)")
    log = rows(notebook_dir / "analysis.carbon.csv")
    r1 = log[1]
    intensity = f(r1["intensity"])
    assert f(r1["emissions"]) == pytest.approx(f(r1["energy_consumed"]) * intensity / 1000, rel=1e-5)
    assert f(r1["embodied_emissions"]) > 0
    # a 10 t machine over 4 years, at most the whole machine for ~0.3-1 s
    big = log[3]
    assert 0 < f(big["embodied_emissions"]) <= 10000 * 2.0 / (4 * 365.25 * 86400)
    assert log[-1]["embodied_emissions"] == ""


def test_gpu_sync_setting_empties_the_column(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%carbon config --gpu_sync off")
    run(shell, "1 + 1")
    log = rows(notebook_dir / "analysis.carbon.csv")
    assert log[-1]["gpu_synced"] == ""


def test_machine_and_process_modes_remain(shell, notebook_dir, monkeypatch):
    monkeypatch.setenv("JUPYTER_CARBON_TRACKING_MODE", "machine")
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "1 + 1")
    run(shell, "%carbon config --tracking_mode process")
    run(shell, "2 + 2")
    log = rows(notebook_dir / "analysis.carbon.csv")
    m = log[1]
    assert m["tracking_mode"] == "machine" and m["cpu_energy"] == m["machine_cpu_energy"]
    p = log[-1]
    assert p["tracking_mode"] == "process" and float(p["machine_energy"]) >= float(p["energy_consumed"])


def test_status_and_summary_show_the_share_and_between(shell, notebook_dir, capsys):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "1 + 1")
    time.sleep(1.2)  # a sample and a refresh of the shares
    run(shell, "2 + 2")
    capsys.readouterr()
    run(shell, "%carbon")
    out = capsys.readouterr().out
    assert "charged: kernel mode" in out and "of the machine's" in out
    assert "between cells" in out
    run(shell, "%%carbon\nsum(range(10**5))")
    out = capsys.readouterr().out
    assert "this kernel" in out and "of the machine's" in out


def test_an_old_file_with_the_previous_header_is_not_overwritten(shell, notebook_dir):
    old = notebook_dir / "analysis.carbon.csv"
    old_cols = COLUMNS[:-len(ATTRIBUTION_COLUMNS)]
    old.write_text(",".join(old_cols) + "\n")
    before = old.read_text()
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "1 + 1")
    assert old.read_text() == before
    moved = [p for p in notebook_dir.glob("analysis.carbon*.csv") if p != old]
    assert moved and rows(moved[0])[-1]["tracking_mode"] == "kernel"


def outside_burner():
    out = subprocess.run(["sh", "-c", f'{sys.executable} -c "while True: pass" >/dev/null 2>&1 & echo $!'],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.kernel
def test_real_kernel_charges_a_sleeping_cell_little_and_its_children_fully(notebook_dir):
    nb_path = notebook_dir / "analysis.ipynb"
    child = ("import subprocess, sys\n"
             "subprocess.run([sys.executable, '-c', 'import time\\nt=time.process_time()\\n"
             "while time.process_time()-t<1.0: pass'])")
    rate = ("from jupyter_carbon.runtime import get_meter\n"
            "print([c.sensor.j_per_busy_s for c in get_meter().channels if c.sensor.component == 'cpu'][0])")
    cells = ["%load_ext jupyter_carbon", "import time\ntime.sleep(2.0)  # sleeps under outside load",
             child, rate]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook_dir)}})
    burner = None

    def on_cell(cell, cell_index):
        nonlocal burner
        if "outside load" in cell.source:
            burner = outside_burner()
            time.sleep(0.3)
        elif burner is not None:
            os.kill(burner, signal.SIGKILL)
            burner = None

    client.on_cell_execute = on_cell
    try:
        client.execute()
    finally:
        if burner is not None:
            os.kill(burner, signal.SIGKILL)
    log = rows(notebook_dir / "analysis.carbon.csv")
    assert len(log) == 4 and all(r["tracking_mode"] == "kernel" for r in log)
    j_per_cpu_s = float(nb.cells[3].outputs[0]["text"])  # the CPU model's joules per busy CPU-second
    sleeping, children = log[1], log[2]
    assert f(sleeping["machine_cpu_energy"]) > 0
    assert f(sleeping["cpu_energy"]) < 0.10 * f(sleeping["machine_cpu_energy"])
    # the child's CPU second is the kernel's: its cell is charged at least ~0.8 CPU-s at the model's rate
    assert f(children["cpu_energy"]) * 3.6e6 >= 0.8 * j_per_cpu_s


def test_read_log_types_the_new_columns(shell, notebook_dir):
    import jupyter_carbon as jc

    run(shell, "%load_ext jupyter_carbon")
    run(shell, "1 + 1")
    run(shell, "2 + 2")
    df = jc.read_log(notebook_dir / "analysis.carbon.csv")
    for col in ("machine_cpu_energy", "machine_energy", "idle_energy_before", "embodied_emissions"):
        assert str(df[col].dtype) == "float64", col
    assert str(df["gpu_synced"].dtype) == "boolean"
    assert not bool(df["gpu_synced"].iloc[-1])  # false: nothing had initialised CUDA
    assert df["idle_energy_before"].iloc[-1] >= 0


def test_a_gpu_held_between_cells_is_charged_to_the_next_row(shell, notebook_dir, monkeypatch):
    pytest.importorskip("pynvml")
    from fakes import FakeGpu, patch_nvml

    gpu = FakeGpu(uuid="GPU-held", energy_mj=1_000_000)
    gpu.procs = {os.getpid(): 4 << 30}  # this kernel holds memory on it: wholly its own
    other = FakeGpu(uuid="GPU-free", energy_mj=1_000_000)  # nobody's: charged to nobody
    patch_nvml(monkeypatch, [gpu, other])
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "1 + 1")
    gpu.energy_mj += 60_000  # 60 J while the user reads
    other.energy_mj += 60_000
    time.sleep(1.2)  # a refresh of the shares
    run(shell, "2 + 2")
    log = rows(notebook_dir / "analysis.carbon.csv")
    before = f(log[-1]["idle_energy_before"]) * 3.6e6  # J
    assert before >= 60.0  # the held GPU's 60 J (+ a little CPU and RAM), not the free one's
    assert before < 119.0
    assert f(log[-1]["machine_gpu_energy"]) * 3.6e6 < 1.0  # the cell itself drew ~nothing
    assert log[-1]["gpu_method"] == "nvml-energy" and log[-1]["gpu_synced"] == "false"

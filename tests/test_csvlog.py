"""The cell and samples CSV logs, on real files: header, types, locking, foreign files, fallback."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jupyter_carbon.engine.energy import DeviceEnergy
from jupyter_carbon.measurement import Measurement
from jupyter_carbon.intensity.model import Intensity
from jupyter_carbon.log.csvlog import CsvLog, read_log
from jupyter_carbon.log.samples import SamplesLog
from jupyter_carbon.log.schema import COLUMNS, CellInfo, HostInfo, make_row

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def measurement(duration=2.0, pue=1.2, baseline=None, label="train"):
    devices = (
        DeviceEnergy("RAPL package-0", "cpu", "rapl", True, 30.0, 15.0),
        DeviceEnergy("NVIDIA H100 #0", "gpu", "nvml-energy", True, 600.0, 300.0),
        DeviceEnergy("NVIDIA H100 #1", "gpu", "nvml-energy", True, 400.0, 200.0),
        DeviceEnergy("RAM 64 GB", "ram", "ram-model", False, 1e-6, 5e-7),
    )
    return Measurement(label, T0, T0 + timedelta(seconds=duration), duration, devices,
                       Intensity(56.0, "table:Ember 2023", "FR", "France", None), pue, baseline)


class FakeSensor:
    def __init__(self, component, name):
        self.component, self.name = component, name


HOST = HostInfo.collect([FakeSensor("gpu", "NVIDIA H100 #0"), FakeSensor("gpu", "NVIDIA H100 #1"),
                         FakeSensor("cpu", "RAPL package-0")], "machine", cpu_model="Test CPU")
CELL = CellInfo("work/a.ipynb", "sess-1", 7, "cell-abc", None, "ok", "proj", "run-1")


def row(**cell):
    return make_row(measurement(), CELL._replace(**cell), HOST)


def lines(path):
    return Path(path).read_text(encoding="utf-8").splitlines()


def header_line():
    return ",".join(COLUMNS)


# -- schema ----------------------------------------------------------------------------

def test_make_row_has_exactly_the_columns_and_consistent_values():
    m = measurement(baseline={"cpu": 5.0, "gpu": 100.0, "ram": 0.0})
    r = make_row(m, CELL, HOST)
    assert list(r) == list(COLUMNS)
    assert all(isinstance(v, str) for v in r.values())
    f = {k: float(r[k]) for k in ("duration", "emissions", "emissions_rate", "cpu_energy",
                                  "gpu_energy", "ram_energy", "energy_consumed", "pue", "intensity")}
    parts = f["cpu_energy"] + f["gpu_energy"] + f["ram_energy"]
    assert f["energy_consumed"] == pytest.approx(parts * 1.2, rel=1e-6)
    assert f["energy_consumed"] == pytest.approx(m.energy_kwh, rel=1e-6)
    assert f["emissions"] == pytest.approx(f["energy_consumed"] * 56.0 / 1000, rel=1e-6)
    assert f["emissions_rate"] == pytest.approx(f["emissions"] / 2.0, rel=1e-6)
    assert float(r["gpu_power"]) == pytest.approx(500.0)  # two GPUs summed
    assert float(r["gpu_energy"]) == pytest.approx(1000.0 / 3.6e6, rel=1e-6)
    # a micro-joule of RAM keeps its significant digits
    assert float(r["ram_energy"]) == pytest.approx(1e-6 / 3.6e6, rel=1e-6)
    assert r["country_iso_code"] == "FRA" and r["country_name"] == "France"
    assert r["gpu_count"] == "2" and r["gpu_model"] == "2 x NVIDIA H100"
    assert r["cpu_model"] == "Test CPU"
    assert r["cpu_method"] == "rapl" and r["gpu_method"] == "nvml-energy" and r["ram_method"] == "ram-model"
    assert (r["cpu_measured"], r["ram_measured"]) == ("true", "false")
    assert r["label"] == "train" and r["status"] == "ok" and r["execution_count"] == "7"
    assert r["timestamp"] == r["ended_at"] == "2024-05-01T12:00:02.123456+00:00"
    assert r["started_at"] == "2024-05-01T12:00:00.123456+00:00"
    # above idle: cpu 30-10, gpu 1000-200, ram 0 -> 820 J, on the energy_consumed (PUE) basis
    assert float(r["energy_above_idle"]) == pytest.approx(820.0 / 3.6e6 * 1.2, rel=1e-6)


def test_make_row_leaves_absent_components_and_baseline_empty():
    m = Measurement(None, T0, T0 + timedelta(seconds=0.05), 0.05,
                    (DeviceEnergy("cpu", "cpu", "tdp-model", False, 0.5, 10.0),))
    r = make_row(m, CellInfo(status="error"), HOST)
    assert r["gpu_power"] == r["gpu_energy"] == r["gpu_method"] == r["gpu_measured"] == ""
    assert r["energy_above_idle"] == "" and r["label"] == "" and r["execution_count"] == ""
    assert r["country_iso_code"] == "" and r["country_name"] == "World"
    assert r["intensity_source"] == "world-average" and r["status"] == "error"


# -- the cell log ----------------------------------------------------------------------

def test_header_once_and_read_log_types(tmp_path):
    path = tmp_path / "a.carbon.csv"
    said = []
    log = CsvLog(path, announce=said.append)
    for i in range(3):
        assert log.append(row(execution_count=i + 1, label="x,\"quoted\"\nline" if i == 1 else None))
    log2 = CsvLog(path, announce=said.append)  # a second kernel, same file
    assert log2.append(row(execution_count=4))
    text = lines(path)
    assert text[0] == header_line() and text.count(header_line()) == 1
    assert said == [] and log.path == path

    df = read_log(path)
    assert len(df) == 4 and list(df.columns) == list(COLUMNS)
    for col in ("timestamp", "started_at", "ended_at"):
        assert str(df[col].dtype) == "datetime64[ns, UTC]"
    for col in ("duration", "emissions", "energy_consumed", "cpu_power", "gpu_energy", "pue",
                "intensity", "ram_total_size", "emissions_rate"):
        assert str(df[col].dtype) == "float64", col
    for col in ("cpu_count", "gpu_count", "execution_count"):
        assert str(df[col].dtype) == "Int64", col
    for col in ("notebook", "label", "status", "cpu_method", "country_iso_code"):
        assert str(df[col].dtype) == "string", col
    assert str(df["cpu_measured"].dtype) == "boolean"
    assert df["execution_count"].tolist() == [1, 2, 3, 4]
    assert df["label"][1] == "x,\"quoted\"\nline"
    assert df["timestamp"][0] == datetime(2024, 5, 1, 12, 0, 2, 123456, tzinfo=timezone.utc)
    assert df["energy_above_idle"].isna().all() and df["gpu_count"][0] == 2


def test_read_log_accepts_the_notebook_path(tmp_path):
    CsvLog(tmp_path / "nb.carbon.csv").append(row())
    assert len(read_log(tmp_path / "nb.ipynb")) == 1


def test_file_removed_or_emptied_between_cells_gets_a_header_again(tmp_path):
    path = tmp_path / "a.carbon.csv"
    log = CsvLog(path)
    log.append(row())
    path.unlink()
    log.append(row())
    assert lines(path)[0] == header_line() and len(lines(path)) == 2
    path.write_bytes(b"")
    log.append(row())
    assert lines(path)[0] == header_line() and len(lines(path)) == 2


def test_a_hand_edited_last_line_without_newline_is_not_joined(tmp_path):
    path = tmp_path / "a.carbon.csv"
    log = CsvLog(path)
    log.append(row(execution_count=1))
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    log.append(row(execution_count=2))
    assert read_log(path)["execution_count"].tolist() == [1, 2]


def test_foreign_header_is_left_alone_and_rows_go_to_a_suffixed_file(tmp_path):
    path = tmp_path / "a.carbon.csv"
    foreign = b"timestamp,project_name,emissions\n2024-01-01,p,1.0\n"
    path.write_bytes(foreign)
    (tmp_path / "a.carbon-2.csv").write_bytes(b"something,else\n")  # also foreign
    said = []
    log = CsvLog(path, announce=said.append)
    for i in range(3):
        assert log.append(row(execution_count=i))
    assert path.read_bytes() == foreign
    assert (tmp_path / "a.carbon-2.csv").read_bytes() == b"something,else\n"
    assert log.path == tmp_path / "a.carbon-3.csv"
    assert lines(log.path)[0] == header_line() and len(lines(log.path)) == 4
    assert len(said) == 1 and "a.carbon.csv" in said[0] and "a.carbon-3.csv" in said[0]
    # another kernel lands in the same compatible file, and read_log finds it from the notebook
    CsvLog(path, announce=said.append).append(row(execution_count=9))
    assert len(lines(tmp_path / "a.carbon-3.csv")) == 5
    assert read_log(tmp_path / "a.ipynb")["execution_count"].tolist() == [0, 1, 2, 9]


def test_file_replaced_by_a_foreign_one_mid_session_is_not_appended_to(tmp_path):
    path = tmp_path / "a.carbon.csv"
    said = []
    log = CsvLog(path, announce=said.append)
    log.append(row())
    tmp = tmp_path / "other.csv"
    tmp.write_bytes(b"x,y\n1,2\n")
    os.replace(tmp, path)
    log.append(row())
    assert path.read_bytes() == b"x,y\n1,2\n"
    assert len(lines(tmp_path / "a.carbon-2.csv")) == 2 and len(said) == 1


def test_unwritable_directory_falls_back_once_and_loses_nothing(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a regular file")  # a path under a file fails for root too (ENOTDIR)
    fallback = tmp_path / "fallback"
    said = []
    log = CsvLog(blocker / "a.carbon.csv", fallback_dir=fallback, announce=said.append)
    for i in range(5):
        assert log.append(row(execution_count=i))
    assert log.path == fallback / "a.carbon.csv"
    assert len(said) == 1 and str(blocker / "a.carbon.csv") in said[0] and str(log.path) in said[0]
    assert read_log(log.path)["execution_count"].tolist() == list(range(5))


def test_missing_directory_falls_back(tmp_path):
    said = []
    log = CsvLog(tmp_path / "gone" / "a.carbon.csv", fallback_dir=tmp_path / "fb", announce=said.append)
    assert log.append(row())
    assert (tmp_path / "fb" / "a.carbon.csv").exists() and len(said) == 1


@pytest.mark.skipif(IS_ROOT, reason="root ignores directory permission bits; the ENOTDIR case covers root")
@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_chmod_readonly_directory_falls_back(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        said = []
        log = CsvLog(ro / "a.carbon.csv", fallback_dir=tmp_path / "fb", announce=said.append)
        log.append(row())
        log.append(row())
        assert len(lines(tmp_path / "fb" / "a.carbon.csv")) == 3 and len(said) == 1
        assert not (ro / "a.carbon.csv").exists()
    finally:
        ro.chmod(0o700)


def test_when_even_the_fallback_fails_rows_wait_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    fb_blocker = tmp_path / "fbfile"
    fb_blocker.write_text("x")
    said = []

    def announce(msg):
        said.append(msg)
        raise RuntimeError("a broken announcer must not reach the caller either")

    log = CsvLog(blocker / "a.carbon.csv", fallback_dir=fb_blocker / "sub", announce=announce)
    assert log.append(row(execution_count=1)) is False
    assert log.append(row(execution_count=2)) is False
    assert log.pending == 2 and len(said) == 1 and "memory" in said[0]
    fb_blocker.unlink()  # the fallback location becomes usable
    assert log.append(row(execution_count=3)) is True
    assert log.pending == 0
    assert read_log(fb_blocker / "sub" / "a.carbon.csv")["execution_count"].tolist() == [1, 2, 3]


def test_user_data_dir_is_platform_specific(monkeypatch, tmp_path):
    from jupyter_carbon.log import csvlog

    monkeypatch.setattr(csvlog.sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert csvlog.user_data_dir() == tmp_path / "jupyter-carbon"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert csvlog.user_data_dir() == Path.home() / ".local" / "share" / "jupyter-carbon"
    monkeypatch.setattr(csvlog.sys, "platform", "darwin")
    assert csvlog.user_data_dir() == Path.home() / "Library" / "Application Support" / "jupyter-carbon"
    monkeypatch.setattr(csvlog.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    assert csvlog.user_data_dir() == tmp_path / "jupyter-carbon"


WRITER = textwrap.dedent("""
    import sys, time
    from jupyter_carbon.log.csvlog import CsvLog
    from jupyter_carbon.log.schema import COLUMNS
    path, tag, go = sys.argv[1], sys.argv[2], sys.argv[3]
    log = CsvLog(path)
    big = tag * 3000  # long rows: unlocked appends would interleave
    while not __import__("os").path.exists(go):
        time.sleep(0.001)
    for i in range(500):
        row = {c: f"{tag}{i}" for c in COLUMNS}
        row["label"] = big
        log.append(row)  # False when the other writer held the lock past the wait: kept pending
    deadline = time.monotonic() + 30
    while log.pending and time.monotonic() < deadline:  # what the sampler's retry chore does
        log.flush()
        time.sleep(0.005)
    assert log.pending == 0
""")


def test_two_processes_append_concurrently_without_interleaving(tmp_path):
    path = tmp_path / "shared.carbon.csv"
    go = tmp_path / "go"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(path), tag, str(go)])
             for tag in ("A", "B")]
    go.write_text("")
    for p in procs:
        assert p.wait(timeout=60) == 0
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(COLUMNS)
    body = rows[1:]
    assert len(body) == 1000
    seen = set()
    for r in body:
        assert len(r) == len(COLUMNS)
        tag = r[0][0]
        i = r[0][1:]
        assert all(v == f"{tag}{i}" for c, v in zip(COLUMNS, r, strict=True) if c != "label")
        assert r[COLUMNS.index("label")] == tag * 3000
        seen.add(r[0])
    assert seen == {f"{t}{i}" for t in "AB" for i in range(500)}


# -- samples ---------------------------------------------------------------------------

def test_samples_log_writes_batches(tmp_path):
    path = tmp_path / "a.carbon-samples.csv"
    log = SamplesLog(path, devices=["NVIDIA H100 #0"])
    assert log.columns == ("timestamp", "session_id", "execution_count", "elapsed_s", "cpu_power",
                           "gpu_power", "ram_power", "total_power", "nvidia_h100_0_power")
    for i in range(5):
        log.add({"timestamp": T0 + timedelta(seconds=i), "session_id": "s", "execution_count": 3,
                 "elapsed_s": float(i), "cpu_power": 10.5, "gpu_power": 300.0 + i, "ram_power": None,
                 "total_power": 310.5 + i, "nvidia_h100_0_power": 300.0 + i})
    assert len(log) == 5 and not path.exists()  # buffered
    assert log.flush()
    assert len(lines(path)) == 6 and len(log) == 0
    log.add({"timestamp": T0.timestamp() + 0.25, "elapsed_s": 9.0, "cpu_power": 1.0})
    log.flush()
    log.flush()  # nothing new: no empty write, no second header
    df = read_log(path)
    assert len(df) == 6
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(df["gpu_power"].dtype) == "float64" and str(df["execution_count"].dtype) == "Int64"
    assert df["gpu_power"].tolist()[:5] == [300.0, 301.0, 302.0, 303.0, 304.0]
    assert df["ram_power"].isna().all()
    assert df["timestamp"][5] == T0 + timedelta(seconds=0.25)  # epoch seconds kept to the us


def test_samples_log_has_one_column_per_component_in_a_stable_order(tmp_path):
    log = SamplesLog(tmp_path / "s.csv", ["gpu", "ram", "gpu", "cpu"])
    assert log.columns[4:] == ("cpu_power", "gpu_power", "ram_power", "total_power")
    assert SamplesLog(tmp_path / "s.csv", ["cpu", "ram"]).columns[4:] == ("cpu_power", "ram_power", "total_power")


def test_samples_log_bounds_memory_when_nothing_is_writable(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    said = []
    log = SamplesLog(blocker / "s.csv", fallback_dir=blocker / "fb", announce=said.append, max_pending=10)
    for _ in range(5):
        for i in range(4):
            log.add({"elapsed_s": float(i)})
        assert log.flush() is False
    assert log.pending == 10 and log.dropped == 10 and len(said) == 1


def test_samples_log_skips_a_row_it_cannot_format_and_keeps_the_batch(tmp_path):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no text")

    said = []
    log = SamplesLog(tmp_path / "s.csv", announce=said.append)
    log.add({"elapsed_s": 1.0, "cpu_power": 2.0})
    log.add({"elapsed_s": 2.0, "session_id": Unprintable()})
    log.add({"elapsed_s": 3.0, "cpu_power": 4.0})
    assert log.flush()
    df = read_log(tmp_path / "s.csv")
    assert df["elapsed_s"].tolist() == [1.0, 3.0] and df["cpu_power"].tolist() == [2.0, 4.0]
    assert len(said) == 1 and "could not format a sample" in said[0]

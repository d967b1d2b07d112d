"""The cell log when things go wrong, on real files and real processes: a lock another process
keeps, a file size limit that cuts a write short, a header edited mid-session, torn rows,
spreadsheet formulas and carriage returns in text, failed sensors."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import jupyter_carbon
from jupyter_carbon.engine.energy import DeviceEnergy
from jupyter_carbon.intensity.model import Intensity
from jupyter_carbon.log.csvlog import CsvLog, read_log
from jupyter_carbon.log.samples import SamplesLog
from jupyter_carbon.log.schema import COLUMNS, CellInfo, HostInfo, make_row
from jupyter_carbon.measurement import Measurement

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
HOST = HostInfo("Linux", "3.11", 8, "Test CPU", 0, None, 16.0)
POSIX = pytest.mark.skipif(os.name == "nt", reason="flock and RLIMIT_FSIZE are POSIX")
SRC = str(Path(jupyter_carbon.__file__).resolve().parent.parent)  # the package under test


def measurement(devices=None, label=None):
    devices = devices or (DeviceEnergy("cpu", "cpu", "tdp-model", False, 30.0, 15.0),)
    return Measurement(label, T0, T0 + timedelta(seconds=2), 2.0, tuple(devices),
                       Intensity(56.0, "table:Ember 2023", "FR", "France", None))


def row(n=1, **cell):
    info = {"notebook": "a.ipynb", "session_id": "s", "execution_count": n, "cell_id": "c", **cell}
    return make_row(measurement(), CellInfo(**info), HOST)


def counts(path):
    return read_log(path)["execution_count"].tolist()


def sub_env(**extra):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}
    return env


# -- a lock held by another process (a stopped kernel, a hung file server) ---------------

HOLDER = textwrap.dedent("""
    import fcntl, os, sys
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.readline()  # hold the lock until told
""")


class Holder:
    """A real second process holding ``flock(LOCK_EX)`` on the file."""

    def __init__(self, path):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)


def in_thread(fn):
    """Run ``fn`` in a thread; (finished, result). A blocking flock would never finish."""
    box = []
    t = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    t.start()
    t.join(30)
    return (not t.is_alive()), (box[0] if box else None)


@POSIX
def test_a_lock_held_by_another_process_never_holds_the_cell_and_loses_nothing(tmp_path):
    path = tmp_path / "a.carbon.csv"
    said = []
    log = CsvLog(path, fallback_dir=tmp_path / "fb", announce=said.append)
    assert log.append(row(1))
    holder = Holder(path)
    try:
        finished, results = in_thread(lambda: [log.append(row(n)) for n in range(2, 7)])
        assert finished, "append waited on the other process's lock"
        assert results == [False] * 5 and log.pending == 5
        assert counts(path) == [1]  # nothing half-written meanwhile
        finished, retried = in_thread(log.retry_pending)
        assert finished and retried is False and log.pending == 5
    finally:
        holder.release()
    assert log.retry_pending() is True and log.pending == 0  # the background chore's call
    assert counts(path) == [1, 2, 3, 4, 5, 6]
    assert len(said) <= 1 and not (tmp_path / "fb").exists()  # at most one line, no fallback
    assert log.append(row(7)) and counts(path)[-1] == 7


@POSIX
def test_pending_rows_are_written_by_the_next_append_in_order(tmp_path):
    path = tmp_path / "a.carbon.csv"
    log = CsvLog(path, announce=None)
    log.open()
    holder = Holder(path)
    try:
        assert log.append(row(1)) is False
    finally:
        holder.release()
    assert log.append(row(2)) is True
    assert counts(path) == [1, 2]


@POSIX
def test_close_with_the_lock_still_held_writes_to_the_fallback_once(tmp_path):
    path = tmp_path / "a.carbon.csv"
    said = []
    log = CsvLog(path, fallback_dir=tmp_path / "fb", announce=said.append)
    log.open()
    holder = Holder(path)
    try:
        for n in range(1, 4):
            log.append(row(n))
        finished, done = in_thread(lambda: log.close(wait=0.05))
        assert finished and done is True and log.pending == 0
    finally:
        holder.release()
    assert counts(tmp_path / "fb" / "a.carbon.csv") == [1, 2, 3]
    assert len(said) == 1 and "locked" in said[0] and str(tmp_path / "fb") in said[0]


EXITER = textwrap.dedent("""
    import sys
    from jupyter_carbon.log.csvlog import CsvLog
    from jupyter_carbon.log.schema import COLUMNS
    log = CsvLog(sys.argv[1], announce=print)
    for n in range(3):
        log.append({c: "" for c in COLUMNS} | {"execution_count": str(n)})
    print("pending", log.pending, flush=True)
    if sys.argv[2] == "drop":
        del log  # a session replaced without closing its log
        __import__("gc").collect()
    # no close(): the interpreter's exit must still save the rows
""")


@POSIX
@pytest.mark.parametrize("how", ["keep", "drop"])
def test_rows_pending_at_interpreter_exit_go_to_the_user_data_dir(tmp_path, how):
    path = tmp_path / "a.carbon.csv"
    path.write_bytes(b"")
    data_home = tmp_path / "xdg"
    holder = Holder(path)
    try:
        out = subprocess.run([sys.executable, "-c", EXITER, str(path), how], capture_output=True,
                             text=True, timeout=60, env=sub_env(XDG_DATA_HOME=str(data_home)))
    finally:
        holder.release()
    assert out.returncode == 0, out.stderr
    assert "pending 3" in out.stdout and out.stdout.count("jupyter-carbon:") == 1
    assert counts(data_home / "jupyter-carbon" / "a.carbon.csv") == [0, 1, 2]


# -- short writes (a file size limit, a full disk) ---------------------------------------

SHORT = textwrap.dedent("""
    import os, resource, sys
    from jupyter_carbon.log.csvlog import CsvLog
    from jupyter_carbon.log.schema import COLUMNS
    path, fb = sys.argv[1], sys.argv[2]
    log = CsvLog(path, fallback_dir=fb, announce=print)
    def row(n):
        return {c: "" for c in COLUMNS} | {"execution_count": str(n), "label": "x" * 300}
    assert log.append(row(0))
    # The next row fits only partly: the kernel writes part of it, then refuses (EFBIG).
    size = os.path.getsize(path)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
    print("wrote", log.append(row(1)), log.pending, flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert log.append(row(2))
""")


@POSIX
def test_a_short_write_leaves_no_torn_row_and_the_row_goes_to_the_fallback(tmp_path):
    path, fb = tmp_path / "a.carbon.csv", tmp_path / "fb"
    out = subprocess.run([sys.executable, "-c", SHORT, str(path), str(fb)], capture_output=True,
                         text=True, timeout=60, env=sub_env())
    assert out.returncode == 0, out.stderr
    assert "wrote True 0" in out.stdout and out.stdout.count("jupyter-carbon:") == 1
    text = path.read_bytes()
    assert text.endswith(b"\n") and text.count(b"\n") == 2  # header and row 0, whole
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torn row to skip either
        assert counts(path) == [0]
        assert counts(fb / "a.carbon.csv") == [1, 2]


@POSIX
def test_a_full_device_sends_rows_to_the_fallback(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    said = []
    log = CsvLog("/dev/full", fallback_dir=tmp_path / "fb", announce=said.append)
    assert log.append(row(1)) and counts(tmp_path / "fb" / "full") == [1]
    assert len(said) == 1


def test_a_fifo_in_place_of_the_log_is_not_written_and_never_blocks(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs")
    fifo = tmp_path / "a.carbon.csv"
    os.mkfifo(fifo)
    log = CsvLog(fifo, fallback_dir=tmp_path / "fb", announce=None)
    finished, ok = in_thread(lambda: log.append(row(1)))
    assert finished and ok and counts(tmp_path / "fb" / "a.carbon.csv") == [1]


# -- the header and torn rows ------------------------------------------------------------

def test_a_header_edited_in_place_mid_session_is_detected_before_appending(tmp_path):
    path = tmp_path / "a.carbon.csv"
    said = []
    log = CsvLog(path, announce=said.append)
    assert log.append(row(1))
    with open(path, "r+b") as f:  # same file (same inode), header changed
        f.write(b"TIMESTAMP")
    edited = path.read_bytes()
    assert log.append(row(2))
    assert path.read_bytes() == edited
    assert log.path == tmp_path / "a.carbon-2.csv" and counts(log.path) == [2]
    assert len(said) == 1 and "different header" in said[0]


def _torn(path, cut_inside_quotes):
    log = CsvLog(path, announce=None)
    log.append(row(1, label="one, quoted"))
    whole = path.read_bytes()
    log.append(row(2, label="two, quoted"))
    second = path.read_bytes()[len(whole):]
    cut = second.index(b'"two') + 3 if cut_inside_quotes else second.index(b"two") - 5
    path.write_bytes(whole + second[:cut])  # a crash mid-row: no newline, maybe an open quote
    return log


@pytest.mark.parametrize("inside_quotes", [False, True])
def test_read_log_skips_a_torn_row_and_warns_once(tmp_path, inside_quotes):
    path = tmp_path / "a.carbon.csv"
    log = _torn(path, inside_quotes)
    log.append(row(3, label="three"))
    log.append(row(4, label="four"))
    with pytest.warns(UserWarning, match="incomplete") as caught:
        df = read_log(path)
    assert len([w for w in caught if "incomplete" in str(w.message)]) == 1
    assert df["execution_count"].tolist() == [1, 3, 4]
    assert df["label"].tolist() == ["one, quoted", "three", "four"]
    with open(path, newline="", encoding="utf-8") as f:  # the csv module sees the same
        recs = list(csv.reader(f))
    assert [r[COLUMNS.index("label")] for r in recs if len(r) == len(COLUMNS)][1:] == \
        ["one, quoted", "three", "four"]


# -- spreadsheet safety and line breaks in text --------------------------------------------

TEXTS = ["=1+1", "+SUM(A1:A2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\t=1", "\r=1", "\n=1",
         "\uff1d1+1", "'=already quoted", "''@x", "-1.5", "+3", "-", "a\rb", "a\r\nb", "a\nb\rc",
         'q"uote,comma', "'plain", "plain", "  =spaced", ""]


def test_a_row_encoded_at_once_equals_the_row_encoded_field_by_field():
    """``encode_row`` takes a whole-row shortcut for plain rows; it must give exactly the
    field-by-field encoding (quoting, formula escape, truncation) for every row."""
    import random

    from jupyter_carbon.log.csvtext import MAX_FIELD, encode_field, encode_row

    rnd = random.Random(15)
    alphabet = list("ab1.,\"'\r\n -+=@\t") + ["\uff1d", "\uff0d", "\u00e9"]
    rows = [["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 4))) for _ in range(rnd.randint(1, 6))]
            for _ in range(20000)]
    rows += [["x" * (MAX_FIELD + 5), "y"], ["-1.5", "1e-09"], [""], ["plain", "text", "3.2"]]
    for fields in rows:
        assert encode_row(fields) == (",".join(encode_field(f) for f in fields) + "\n").encode(), fields


def test_formulas_are_neutralised_and_read_log_gives_the_text_back(tmp_path):
    path = tmp_path / "a.carbon.csv"
    log = CsvLog(path, announce=None)
    for i, text in enumerate(TEXTS):
        assert log.append(row(i, label=text, cell_id=text, project_name=text, notebook=text))
    raw = path.read_bytes()
    assert b'"\'=1+1"' in raw and b'"\'@SUM(1)"' in raw and b'"\'\t=1"' in raw
    assert b",-1.5," in raw  # a plain number is not a formula
    # The csv module: one record per row, every dangerous field starts with the quote.
    with open(path, newline="", encoding="utf-8") as f:
        recs = list(csv.reader(f))[1:]
    assert len(recs) == len(TEXTS)
    danger = "=+-@\t\r\n\uff1d"
    for rec, text in zip(recs, TEXTS):
        for col in ("label", "cell_id", "project_name", "notebook"):
            field = rec[COLUMNS.index(col)]
            assert not (field and field[0] in danger and text != field), (text, field)
            if text and text[0] in danger and text not in ("-1.5", "+3"):
                assert field == "'" + text
    # pandas' own reader: no row split by a carriage return
    import pandas as pd

    assert len(pd.read_csv(path, dtype=str, keep_default_na=False)) == len(TEXTS)
    df = read_log(path)
    for col in ("label", "cell_id", "project_name", "notebook"):
        assert df[col].fillna("").tolist() == TEXTS, col


def test_a_carriage_return_never_splits_a_row(tmp_path):
    path = tmp_path / "a.carbon.csv"
    log = CsvLog(path, announce=None)
    log.append(row(1, label="a\rb"))
    log.append(row(2, label="c"))
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert df["label"].tolist() == ["a\rb", "c"] and df["execution_count"].tolist() == ["1", "2"]
    with open(path, newline="", encoding="utf-8") as f:
        assert [r[COLUMNS.index("label")] for r in csv.reader(f)][1:] == ["a\rb", "c"]
    assert read_log(path)["label"].tolist() == ["a\rb", "c"]


def test_text_that_utf8_cannot_encode_still_logs_the_row(tmp_path):
    path = tmp_path / "a.carbon.csv"
    log = CsvLog(path, announce=None)
    assert log.append(row(1, label="bad \ud800 surrogate")) and log.append(row(2, label="\x00nul"))
    df = read_log(path)
    assert df["execution_count"].tolist() == [1, 2] and df["label"][1] == "\x00nul"


def test_samples_log_quotes_the_same_way(tmp_path):
    log = SamplesLog(tmp_path / "s.csv", announce=None)
    log.add({"session_id": "=cmd", "elapsed_s": -0.5, "cpu_power": 3.0})
    assert log.flush()
    assert b"\"'=cmd\",,-0.5,3" in (tmp_path / "s.csv").read_bytes()
    df = read_log(tmp_path / "s.csv")
    assert df["session_id"][0] == "=cmd" and df["elapsed_s"][0] == -0.5


# -- failed sensors ------------------------------------------------------------------------

def test_a_failed_sensor_is_empty_never_zero_and_its_method_says_failed():
    lost = "NVMLError_GpuIsLost: GPU is lost"
    devs = (DeviceEnergy("cpu", "cpu", "rapl", True, 30.0, 15.0),
            DeviceEnergy("GPU #0", "gpu", "nvml-energy", True, 0.0, 0.0, lost))
    r = make_row(measurement(devs), CellInfo(), HOST)
    assert r["gpu_energy"] == r["gpu_power"] == r["gpu_measured"] == ""
    assert r["gpu_method"] == "nvml-energy (failed)"
    assert float(r["cpu_energy"]) > 0 and r["cpu_method"] == "rapl"
    assert float(r["energy_consumed"]) == pytest.approx(30.0 / 3.6e6)
    devs2 = (DeviceEnergy("GPU #0", "gpu", "nvml-energy", True, 0.0, 0.0, lost),
             DeviceEnergy("GPU #1", "gpu", "nvml-energy", True, 100.0, 50.0))
    r2 = make_row(measurement(devs2), CellInfo(), HOST)
    assert r2["gpu_method"] == "nvml-energy (1 of 2 failed)"
    assert float(r2["gpu_energy"]) == pytest.approx(100.0 / 3.6e6)


def test_a_sensor_failing_in_a_real_meter_leaves_later_rows_empty(tmp_path):
    from jupyter_carbon.engine import Meter
    from jupyter_carbon.sensors.base import Sensor

    class LostGpu(Sensor):  # NVML on a GPU that fell off the bus: reads raise from then on
        component, method, measured, name = "gpu", "nvml-energy", True, "NVIDIA T4 #0"
        lost = False

        def read(self, now):
            if self.lost:
                raise RuntimeError("NVMLError_GpuIsLost")
            return now * 70.0, 70.0

    gpu = LostGpu()
    clock = iter(float(t) for t in range(1000, 2000))
    meter = Meter([gpu], clock=lambda: next(clock))
    try:
        w = meter.begin()
        ok = w.end()
        gpu.lost = True
        meter.begin().end()  # the cell in which it fails
        later = meter.begin().end()
    finally:
        meter.close()
    log = CsvLog(tmp_path / "a.carbon.csv", announce=None)
    fr = Intensity(56.0, "table:Ember 2023", "FR", "France", None)
    for e in (ok, later):
        log.append(make_row(Measurement.of(e, fr, 1.0), CellInfo(), HOST))
    df = read_log(log.path)
    assert df["gpu_energy"][0] > 0 and df["gpu_method"][0] == "nvml-energy"
    assert pd_isna(df["gpu_energy"][1]) and df["gpu_method"][1] == "nvml-energy (failed)"


def pd_isna(v):
    import pandas as pd

    return bool(pd.isna(v))


def test_read_log_on_a_log_written_before_these_changes(tmp_path):
    """Files written by earlier versions (csv module, no prefixes) read the same."""
    path = tmp_path / "old.carbon.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerow([row(5, label="old, label")[c] for c in COLUMNS])
    path.write_text(buf.getvalue(), encoding="utf-8")
    df = read_log(path)
    assert df["execution_count"].tolist() == [5] and df["label"][0] == "old, label"
    CsvLog(path, announce=None).append(row(6))  # same header bytes: appended, not suffixed
    assert counts(path) == [5, 6]


def test_the_fast_and_the_exact_reader_agree(tmp_path, monkeypatch):
    from jupyter_carbon.log import reader

    path = tmp_path / "a.carbon.csv"
    log = CsvLog(path, announce=None)
    for i, text in enumerate(TEXTS):
        log.append(row(i, label=text, cell_id="c,1", project_name=text))
    fast = read_log(path)
    monkeypatch.setattr(reader, "_fast_frame", lambda data: None)
    exact = read_log(path)
    assert fast.equals(exact) and fast["label"].fillna("").tolist() == TEXTS


def test_a_bare_carriage_return_from_an_older_writer_is_skipped_not_returned(tmp_path):
    path = tmp_path / "old.carbon.csv"
    lines = [",".join(COLUMNS)] + [",".join(row(n, label=lab)[c] for c in COLUMNS)
                                   for n, lab in ((1, "ok"), (2, "a\rb"), (3, "fine"))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    with pytest.warns(UserWarning, match="2 incomplete"):
        df = read_log(path)
    assert df["execution_count"].tolist() == [1, 3]

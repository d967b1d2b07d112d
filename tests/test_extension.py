"""The extension in a real IPython shell: hooks, rows, %%carbon semantics, %carbon."""
import csv
import threading

import pytest
from IPython.core.error import UsageError

from shells import extension_of, session_of


def sampler_threads():
    return [t for t in threading.enumerate() if t.name == "jupyter-carbon-sampler"]


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run(shell, src, **kw):
    return shell.run_cell(src, store_history=True, **kw)


def test_load_prints_one_line_and_is_idempotent(shell, notebook_dir, capsys):
    run(shell, "%load_ext jupyter_carbon")
    out = capsys.readouterr().out.strip().splitlines()
    status = [line for line in out if "measuring" in line]
    assert len(status) == 1
    assert len(out) == 1, out  # ONE line (no RAPL, a notebook path: nothing else to say)
    assert "cpu: tdp-model" in status[0] and "FR" in status[0]
    assert "log: analysis.carbon.csv" in status[0]  # relative to the working directory
    run(shell, "%load_ext jupyter_carbon")
    assert "measuring" not in capsys.readouterr().out
    assert len(sampler_threads()) == 1


def test_reload_twice_leaves_one_sampler_and_one_set_of_hooks(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%reload_ext jupyter_carbon")
    run(shell, "%reload_ext jupyter_carbon")
    assert len(sampler_threads()) == 1
    pre = [f for f in shell.events.callbacks["pre_run_cell"] if "jupyter_carbon" in f.__module__]
    post = [f for f in shell.events.callbacks["post_run_cell"] if "jupyter_carbon" in f.__module__]
    assert len(pre) == 1 and len(post) == 1
    before = len(rows(notebook_dir / "analysis.carbon.csv"))
    for i in range(3):
        run(shell, f"x = {i}")
    after = rows(notebook_dir / "analysis.carbon.csv")
    assert len(after) == before + 3
    assert [r["status"] for r in after[-3:]] == ["ok"] * 3


def test_unload_stops_thread_and_removes_hooks(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%unload_ext jupyter_carbon")
    assert sampler_threads() == []
    assert not any("jupyter_carbon" in f.__module__ for f in shell.events.callbacks["post_run_cell"])
    n = len(rows(notebook_dir / "analysis.carbon.csv"))
    run(shell, "y = 1")
    assert len(rows(notebook_dir / "analysis.carbon.csv")) == n


def test_rows_carry_count_cell_id_status_and_energy(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    r_ok = run(shell, "import time; time.sleep(0.05)", cell_id="cell-a")
    r_err = run(shell, "1/0", cell_id="cell-b")
    r_int = run(shell, "raise KeyboardInterrupt", cell_id="cell-c")
    log = rows(notebook_dir / "analysis.carbon.csv")[-3:]
    assert [r["cell_id"] for r in log] == ["cell-a", "cell-b", "cell-c"]
    assert [r["status"] for r in log] == ["ok", "error", "interrupted"]
    assert [int(r["execution_count"]) for r in log] == [r_ok.execution_count, r_err.execution_count,
                                                        r_int.execution_count]
    first = log[0]
    assert float(first["duration"]) >= 0.05
    assert float(first["ram_energy"]) > 0
    assert first["cpu_method"] == "tdp-model" and first["ram_method"] == "ram-model"
    assert first["intensity_source"].startswith("table:") and first["country_iso_code"] in ("FR", "FRA")
    assert first["notebook"].endswith("analysis.ipynb")
    assert float(first["emissions"]) == pytest.approx(
        float(first["energy_consumed"]) * float(first["intensity"]) / 1000, rel=1e-4)


def test_carbon_cell_is_transparent(shell, notebook_dir, capsys):
    run(shell, "%load_ext jupyter_carbon")
    res = run(shell, "%%carbon --label fit --quiet\nz = 6 * 7\nz")
    assert res.result == 42 and shell.user_ns["z"] == 42
    res = run(shell, "%%carbon --label boom\nx = 1\n1/0")
    assert isinstance(res.error_in_exec, ZeroDivisionError)
    out = capsys.readouterr().out
    assert "----> 3 1/0" in out  # the user's own line number in the cell
    assert "jupyter_carbon" not in out.split("ZeroDivisionError", 1)[1].split("jupyter-carbon ·")[0]
    log = rows(notebook_dir / "analysis.carbon.csv")
    assert [(r["label"], r["status"]) for r in log[-2:]] == [("fit", "ok"), ("boom", "error")]
    assert "jupyter-carbon · boom:" in out and "[error]" in out  # the summary still shows


def test_carbon_cell_options_apply_to_that_cell_only(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%%carbon --intensity 100 --pue 1.5 --quiet\npass")
    run(shell, "pass")
    a, b = rows(notebook_dir / "analysis.carbon.csv")[-2:]
    assert (float(a["intensity"]), a["intensity_source"], float(a["pue"])) == (100.0, "explicit", 1.5)
    assert b["intensity_source"].startswith("table:") and float(b["pue"]) == 1.0
    run(shell, "%%carbon --country DE --quiet\npass")
    c = rows(notebook_dir / "analysis.carbon.csv")[-1]
    assert c["country_iso_code"] in ("DE", "DEU")


@pytest.mark.parametrize("line,needle", [
    ("--intensity -5", "intensity"), ("--pue 0.5", "PUE"), ("--country Frnace", "France"),
    ("--bogus 1", "unrecognized"), ("--label 'unterminated", "cannot parse"),
])
def test_bad_cell_options_raise_usage_error_and_skip_the_body(shell, notebook_dir, capsys, line, needle):
    run(shell, "%load_ext jupyter_carbon")
    shell.user_ns.pop("ran", None)
    res = run(shell, f"%%carbon {line}\nran = True")
    assert "ran" not in shell.user_ns
    err = capsys.readouterr()
    text = err.out + err.err
    assert "UsageError" in text and needle.lower() in text.lower()
    usage = [ln for ln in text.splitlines() if "UsageError" in ln]
    assert len(usage) == 1
    assert res.error_in_exec is not None


@pytest.mark.parametrize("line,needle", [
    ("%carbon statsu", "did you mean status"), ("%carbon config --interval 100", "interval"),
    ("%carbon config --country Atlantis", "country"), ("%carbon baseline abc", "seconds"),
    ("%carbon report --top 0", "--top"), ("%carbon pause now", "no arguments"),
    ("%carbon config --pue x", "PUE"),
])
def test_bad_line_magic_input(shell, notebook_dir, capsys, line, needle):
    run(shell, "%load_ext jupyter_carbon")
    before = session_of(shell).settings.table()
    run(shell, line)
    text = capsys.readouterr()
    text = text.out + text.err
    assert "UsageError" in text and needle.lower() in text.lower()
    assert session_of(shell).settings.table() == before  # nothing half-applied


def test_config_shows_value_and_source_and_precedence(shell, notebook_dir, capsys, monkeypatch):
    monkeypatch.setenv("JUPYTER_CARBON_PUE", "1.2")
    shell.config.CarbonConfig.interval = 0.5
    shell.config.CarbonConfig.pue = 1.1
    try:
        run(shell, "%load_ext jupyter_carbon")
        s = session_of(shell)
        assert s.settings["pue"] == 1.2 and s.settings.source("pue") == "JUPYTER_CARBON_PUE"
        assert s.settings["interval"] == 0.5 and s.settings.source("interval") == "c.CarbonConfig.interval"
        assert s.meter.sampler.interval == 0.5
        run(shell, "%carbon config --pue 1.3 --interval 0.25")
        out = capsys.readouterr().out
        assert "%carbon config" in out and "1.3" in out
        assert s.settings["pue"] == 1.3 and s.meter.sampler.interval == 0.25
        run(shell, "%%carbon --pue 1.4 --quiet\npass")
        assert float(rows(notebook_dir / "analysis.carbon.csv")[-1]["pue"]) == 1.4
        run(shell, "%carbon config --reset pue")
        assert s.settings["pue"] == 1.2
    finally:
        del shell.config.CarbonConfig["interval"]
        del shell.config.CarbonConfig["pue"]


def test_pause_resume_status_off_on(shell, notebook_dir, capsys):
    run(shell, "%load_ext jupyter_carbon")
    path = notebook_dir / "analysis.carbon.csv"
    run(shell, "%carbon pause")
    n = len(rows(path))
    run(shell, "a = 1")
    assert len(rows(path)) == n
    run(shell, "%carbon resume")
    run(shell, "a = 2")
    assert len(rows(path)) == n + 1  # the resume cell began paused; the next one counts
    run(shell, "%carbon")
    out = capsys.readouterr().out
    assert "tdp-model" in out and "session:" in out and str(path) in out
    for note in session_of(shell).setup.notes:  # e.g. the TDP default's caveat
        assert f"note: {note}" in out
    run(shell, "%carbon off")
    assert sampler_threads() == []
    run(shell, "%carbon on")
    assert len(sampler_threads()) == 1


def test_sensor_settings_rebuild_the_meter_between_cells(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    s = session_of(shell)
    run(shell, "%carbon config --cpu_tdp 123")
    cpu = [x for x in s.meter.sensors if x.component == "cpu"]  # not sensors[0]: a GPU comes first
    assert len(cpu) == 1 and cpu[0].tdp_w == 123
    assert len(sampler_threads()) == 1


def test_summary_threshold_prints_a_line_for_long_cells(shell, notebook_dir, capsys):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%carbon config --summary_threshold 0")
    capsys.readouterr()
    run(shell, "b = 1")
    assert "jupyter-carbon: [" in capsys.readouterr().out


def test_baseline(shell, notebook_dir, capsys):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%carbon baseline 0.5")
    assert "idle baseline" in capsys.readouterr().out
    run(shell, "import time; time.sleep(0.1)")
    row = rows(notebook_dir / "analysis.carbon.csv")[-1]
    assert row["energy_above_idle"] != ""
    assert float(row["energy_above_idle"]) <= float(row["energy_consumed"])


def test_track_api_outside_ipython():
    import jupyter_carbon as jc

    with jc.track("block", intensity=200) as m:
        sum(range(200_000))
        live = m.energy_j
    assert m.duration_s > 0 and m.energy_kwh > 0 and live >= 0
    assert m.emissions_kg == pytest.approx(m.energy_kwh * 0.2)
    assert set(m.by_component) >= {"cpu", "ram"}

    @jc.track("f", intensity=100)
    def f(n):
        return sum(range(n))

    assert f(1000) == 499500
    assert f.last is not None and f.last.label == "f"
    from jupyter_carbon import runtime

    assert len(sampler_threads()) == 1  # one process-wide sampler for every track()
    runtime.shutdown()
    assert sampler_threads() == []


def test_foreign_csv_is_never_overwritten(shell, notebook_dir, capsys):
    foreign = notebook_dir / "analysis.carbon.csv"
    foreign.write_text("when,what\nyesterday,something else\n")
    before = foreign.read_bytes()
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "q = 1")
    run(shell, "q = 2")
    assert foreign.read_bytes() == before
    moved = notebook_dir / "analysis.carbon-2.csv"
    assert len(rows(moved)) >= 2
    out = capsys.readouterr().out
    assert out.count("analysis.carbon-2.csv") >= 1
    notes = [ln for ln in out.splitlines() if "header" in ln.lower()]
    assert len(notes) == 1  # said once


def test_a_log_path_that_cannot_be_a_file_is_refused_and_loses_nothing(shell, notebook_dir, capsys,
                                                                       monkeypatch):
    blocker = notebook_dir / "not-a-dir"
    blocker.write_text("a regular file where a directory should be")  # fails even for root
    monkeypatch.setenv("JUPYTER_CARBON_LOG", str(blocker / "nb.carbon.csv"))
    run(shell, "%load_ext jupyter_carbon")
    for i in range(3):
        run(shell, f"w = {i}")
    log = rows(notebook_dir / "analysis.carbon.csv")  # the default, beside the notebook
    assert len(log) >= 4  # the load cell and the three cells
    assert [r["status"] for r in log[-3:]] == ["ok"] * 3
    out = capsys.readouterr().out
    said = [ln for ln in out.splitlines() if "JUPYTER_CARBON_LOG" in ln]
    assert len(said) == 1 and "Traceback" not in out
    for bad in (".", "/", "..", "x" * 400 + ".csv"):
        res = run(shell, f"%carbon config --log {bad}")
        assert isinstance(res.error_in_exec, UsageError), bad
    run(shell, "w = 4")
    assert rows(notebook_dir / "analysis.carbon.csv")[-1]["status"] == "ok"


def test_track_inside_the_notebook_shares_the_one_sampler(shell, notebook_dir):
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%carbon config --pue 1.25")
    run(shell, "import jupyter_carbon as jc\nwith jc.track('inner', intensity=100) as m:\n    sum(range(10**5))")
    assert shell.user_ns["m"].energy_j > 0 and shell.user_ns["m"].pue == 1.25
    run(shell, "with jc.track('follows') as m2:\n    pass")
    m2 = shell.user_ns["m2"]
    assert m2.intensity.country_iso == "FR" and m2.pue == 1.25  # the notebook's settings
    assert len(sampler_threads()) == 1
    from jupyter_carbon import runtime

    assert runtime.get_meter() is session_of(shell).meter
    run(shell, "%unload_ext jupyter_carbon")
    assert sampler_threads() == []


def test_report_lists_costliest_cells_first(shell, notebook_dir, capsys):
    import matplotlib

    matplotlib.use("Agg")
    run(shell, "%load_ext jupyter_carbon")
    run(shell, "%%carbon --label busy --quiet\nimport time\nt = time.perf_counter()\n"
               "while time.perf_counter() - t < 0.4:\n    pass")
    run(shell, "c = 1")
    from jupyter_carbon.report import report_frame

    s = session_of(shell)
    df = report_frame(extension_of(shell).cell_log.path, notebook=s.notebook, session_id=s.session_id, top=2)
    assert len(df) == 2
    assert df.loc[0, "cell"].endswith("busy")
    assert list(df["co2e_g"]) == sorted(df["co2e_g"], reverse=True)
    assert abs(df["share"].iloc[0]) <= 100
    run(shell, "%carbon report --top 2")
    out = capsys.readouterr().out
    assert "busy" in out and "UsageError" not in out


def test_background_threads_never_print(shell, notebook_dir, capsys):
    run(shell, "%load_ext jupyter_carbon")
    s = session_of(shell)
    t = threading.Thread(target=s.say_once, args=("samples log trouble",))
    t.start()
    t.join()
    assert "samples log trouble" not in capsys.readouterr().out
    run(shell, "x = 1")  # shown at the next cell end, on the main thread, once
    run(shell, "x = 2")
    assert capsys.readouterr().out.count("jupyter-carbon: samples log trouble") == 1


def test_a_failure_underneath_is_one_line_not_a_traceback(shell, notebook_dir, capsys, monkeypatch):
    import jupyter_carbon.runtime as runtime

    def broken(**kw):
        raise OSError("sysfs exploded")
    monkeypatch.setattr(runtime, "discover", broken)
    res = run(shell, "%load_ext jupyter_carbon")
    out = capsys.readouterr().out
    assert res.error_in_exec is None and "Traceback" not in out
    assert [ln for ln in out.splitlines() if ln.strip()] == [
        ln for ln in out.splitlines() if "could not start (OSError: sysfs exploded)" in ln]
    assert sampler_threads() == []
    assert run(shell, "v = 41 + 1").error_in_exec is None and shell.user_ns["v"] == 42

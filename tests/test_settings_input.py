"""Bad input from every settings layer: one line naming the setting, the value and what is
used instead; the bad value never applied; every cell still logged."""
import csv

import pytest
from IPython.core.error import UsageError

from jupyter_carbon.config import OPTIONS, Settings

from shells import session_of


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("var, value", [
    ("COUNTRY", "EU"), ("COUNTRY", "XX"), ("REGION", "US-XX"), ("LOG", "."), ("LOG", "/"), ("LOG", ".."),
    ("LOG", "x" * 400 + ".csv"), ("INTERVAL", "nan"), ("PUE", "0.5"), ("INTENSITY", "-1"),
    ("TRACKING_MODE", "everything"), ("WIDGET", "maybe"),
])
def test_a_bad_environment_value_is_one_line_and_every_cell_is_logged(shell, notebook_dir, capsys, monkeypatch,
                                                                    var, value):
    monkeypatch.setenv(f"JUPYTER_CARBON_{var}", value)
    res = shell.run_cell("%load_ext jupyter_carbon", store_history=True)
    assert res.error_in_exec is None
    for i in range(2):
        shell.run_cell(f"z = {i}", store_history=True)
    out = capsys.readouterr()
    said = [ln for ln in out.out.splitlines() if f"ignoring JUPYTER_CARBON_{var}" in ln]
    assert len(said) == 1 and "instead" in said[0], out.out
    assert "Traceback" not in out.out + out.err
    key = var.lower()
    assert session_of(shell).settings.source(key) != f"JUPYTER_CARBON_{var}"  # never applied
    log = rows(notebook_dir / "analysis.carbon.csv")
    assert len(log) == 3 and all(r["status"] == "ok" for r in log)


def test_a_bad_profile_value_is_reported_like_an_environment_value():
    from traitlets.config import Config

    cfg = Config()
    cfg.CarbonConfig.country = "XX"
    cfg.CarbonConfig.pue = 0.2
    s = Settings(cfg, env={})
    assert len(s.problems) == 2
    assert all("c.CarbonConfig." in p and "instead" in p for p in s.problems)
    assert s["country"] is None and s["pue"] == 1.0


FUZZ = ["nan", "inf", "-inf", "1e309", "-1", "0", "", "''", "ünïcödé", "'\"", "$(rm -rf /)", "; ls", "`id`",
        "9" * 400, "\\x00", "%s%s%s", "None"]


@pytest.mark.parametrize("name", [n for n in OPTIONS if n not in ("project_name",)])
def test_fuzzed_config_values_are_usage_errors_or_valid(shell, notebook_dir, name):
    shell.run_cell("%load_ext jupyter_carbon", store_history=True)
    s = session_of(shell)
    for raw in FUZZ:
        before = s.settings.table()
        res = shell.run_cell(f"%carbon config --{name} {raw!r}", store_history=True)
        err = res.error_in_exec
        if err is not None:
            assert isinstance(err, UsageError), (name, raw, err)
            assert "\n" not in str(err).strip(), (name, raw)
            assert s.settings.table() == before, (name, raw)  # nothing applied
        shell.run_cell(f"%carbon config --reset {name}", store_history=True)
    assert shell.run_cell("ok = 1", store_history=True).error_in_exec is None


def test_a_failed_sensor_is_said_once_at_the_next_cell_end_and_its_energy_left_empty(
        shell, notebook_dir, capsys, monkeypatch, tmp_path):
    from fakes import make_powercap

    root = make_powercap(tmp_path / "powercap", {"intel-rapl:0": {"name": "package-0", "energy_uj": 1000},
                                                  "intel-rapl:1": {"name": "dram", "energy_uj": 10}})
    monkeypatch.setenv("JUPYTER_CARBON_POWERCAP_ROOT", str(root))
    shell.run_cell("%load_ext jupyter_carbon", store_history=True)
    shell.run_cell("a = 1", store_history=True)
    capsys.readouterr()
    with open(root / "intel-rapl:1" / "energy_uj", "r+") as f:  # the DRAM counter breaks
        f.write("garbage\n")
        f.truncate()
    for i in range(3):
        shell.run_cell(f"b = {i}", store_history=True)
    out = capsys.readouterr().out
    said = [ln for ln in out.splitlines() if "failed" in ln and "ram" in ln]
    assert len(said) == 1, out
    log = rows(notebook_dir / "analysis.carbon.csv")
    assert log[1]["ram_energy"] != ""  # before it failed: measured
    for r in log[-2:]:  # after: empty, never a measured-looking 0, and the method says so
        assert r["ram_energy"] == "" and "failed" in r["ram_method"]
        assert r["cpu_energy"] != ""

"""tools/upstream_suites.py and its pytest plugin, without downloading anything: the plugin
really loads jupyter_carbon into new shells (the CSV rows prove it), the profile it writes
makes an IPython app load it, and the comparison tells regressions from upstream failures."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))

import jc_upstream_plugin as plugin  # noqa: E402
import upstream_suites as us  # noqa: E402


def _env(tmp_path, mode):
    env = us.run_env(tmp_path, mode)
    env.pop("JPY_SESSION_NAME", None)
    return env


def test_load_into_a_fresh_shell_logs_its_cells(shell, notebook_dir):
    assert plugin.load_into(shell) is True
    assert "jupyter_carbon" in shell.extension_manager.loaded
    shell.run_cell("1 + 1")
    shell.run_cell("2 + 2")
    assert us.count_rows(notebook_dir) == 2
    assert us.count_sessions(notebook_dir) == 1


def test_plugin_hooks_every_new_shell_after_its_outermost_init(tmp_path):
    """In a subprocess (the hook is process-wide): a terminal shell made after install()
    and a subclass defined after it both get the extension, once, fully built."""
    script = textwrap.dedent("""
        import jc_upstream_plugin as p
        from IPython.terminal.interactiveshell import TerminalInteractiveShell
        sh = TerminalInteractiveShell.instance()
        assert hasattr(sh, "pt_app") or sh.simple_prompt, "loaded into a half-built shell"
        print("loaded", "jupyter_carbon" in sh.extension_manager.loaded)
        sh.run_cell("x = 1")
        class Later(TerminalInteractiveShell):
            def __init__(self, **kw):
                super().__init__(**kw)
                self.built = True
        later = Later()
        print("later", "jupyter_carbon" in later.extension_manager.loaded, later.built)
        print("loads", p._loads)
    """)
    env = _env(tmp_path, "loaded")
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "loaded True" in proc.stdout
    assert "later True True" in proc.stdout
    assert "'loaded': 2, 'failed': 0" in proc.stdout
    assert us.count_rows(tmp_path / "carbon") == 1


def test_baseline_mode_loads_nothing(tmp_path):
    script = ("import jc_upstream_plugin\nfrom IPython.core.interactiveshell import InteractiveShell\n"
              "print('jupyter_carbon' in InteractiveShell.instance().extension_manager.loaded)")
    proc = subprocess.run([sys.executable, "-c", script], env=_env(tmp_path, "baseline"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "False", proc.stderr


@pytest.mark.parametrize("loaded", [True, False])
def test_profile_makes_ipython_apps_load_the_extension(tmp_path, loaded):
    profile = us.write_profile(tmp_path / "ipython", loaded=loaded)
    assert profile == tmp_path / "ipython" / "profile_default"
    text = (profile / "ipython_config.py").read_text()
    assert ('c.InteractiveShellApp.extensions = ["jupyter_carbon"]' in text) is loaded
    env = _env(tmp_path, "loaded" if loaded else "baseline")
    proc = subprocess.run([sys.executable, "-m", "IPython", "--colors=nocolor", "-c",
                           "print('EXT', 'jupyter_carbon' in get_ipython().extension_manager.loaded)"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert f"EXT {loaded}" in proc.stdout, proc.stdout + proc.stderr


def test_run_env_keeps_csvs_out_of_the_suite_and_the_users_settings_out(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CARBON_INTERVAL", "5")
    env = us.run_env(tmp_path, "loaded")
    assert "JUPYTER_CARBON_INTERVAL" not in env
    assert env["JUPYTER_CARBON_WIDGET"] == "0" and env["JUPYTER_CARBON_COUNTRY"] == "FR"
    assert Path(env["JUPYTER_CARBON_LOG"]).parent == tmp_path / "carbon"
    assert env["IPYTHONDIR"] == str(tmp_path / "ipython")
    assert str(TOOLS) in env["PYTHONPATH"].split(os.pathsep)
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert not any(k.startswith("JUPYTER_CARBON_") for k in us.run_env(tmp_path / "b", "baseline"))
    beside = us.run_env(tmp_path / "c", "loaded-beside")
    assert "JUPYTER_CARBON_LOG" not in beside and beside["JUPYTER_CARBON_WIDGET"] == "0"


def test_comparison_tells_regressions_from_upstream_failures():
    base = us.Run("baseline", outcomes={"a": "passed", "b": "failed", "c": "passed", "d": "skipped",
                                        "e": "error"})
    loaded = us.Run("loaded", outcomes={"a": "passed", "b": "failed", "c": "failed", "d": "error",
                                        "e": "error"})
    assert us.regressions(base, loaded) == ["c", "d"]
    assert us.upstream_failures(base, loaded) == ["b", "e"]


def test_outcomes_recorded_per_test(tmp_path):
    (tmp_path / "test_x.py").write_text("import pytest\ndef test_ok(): pass\ndef test_bad(): assert 0\n"
                                        "@pytest.mark.xfail\ndef test_xf(): assert 0\n")
    env = _env(tmp_path, "baseline")
    subprocess.run([sys.executable, "-m", "pytest", "-p", "jc_upstream_plugin", "-p", "no:cacheprovider", "-q",
                    "test_x.py"], env=env, cwd=tmp_path, capture_output=True, timeout=120)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["outcomes"] == {"test_x.py::test_ok": "passed", "test_x.py::test_bad": "failed",
                                "test_x.py::test_xf": "xfailed"}


def test_test_requirements_come_from_the_sdists_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.optional-dependencies]\ntest = ["pytest>=7", "pre-commit", "flaky"]\n')
    assert us.test_requirements(tmp_path) == ["pytest>=7", "flaky"]


def test_test_requirements_read_a_dependency_group_too(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[dependency-groups]\ntest = ["ipyparallel", {include-group = "lint"}]\n')
    assert us.test_requirements(tmp_path) == ["ipyparallel"]

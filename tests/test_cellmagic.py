"""``%%carbon`` as transparent as IPython's own cell magics, and the extension's off/on."""
import csv
import gc
import weakref

import pytest
from IPython.core.error import UsageError

from shells import extension_of, session_of


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run(shell, code):
    return shell.run_cell(code, store_history=True)


@pytest.fixture
def loaded(shell):
    run(shell, "%load_ext jupyter_carbon")
    return shell


@pytest.mark.parametrize("other", ["%%time", "%%capture cap", "%%writefile out.txt"])
def test_carbon_composes_with_other_cell_magics_in_both_orders(loaded, notebook_dir, other):
    for cell in (f"%%carbon --label a --quiet\n{other}\nx = 6 * 7\n",
                 f"{other}\n%%carbon --label b --quiet\nx = 6 * 7\n"):
        loaded.user_ns.pop("x", None)
        res = run(loaded, cell)
        assert res.error_in_exec is None and res.error_before_exec is None, cell
        if "writefile" not in other:
            assert loaded.user_ns["x"] == 42, cell
    labels = [r["label"] for r in rows(notebook_dir / "analysis.carbon.csv")]
    if "writefile" in other:  # the second order writes the %%carbon cell to the file, as IPython does
        assert "a" in labels and "%%carbon --label b" in (notebook_dir / "out.txt").read_text()
    else:
        assert "a" in labels and "b" in labels


def test_body_is_dedented_and_its_value_is_out(loaded):
    res = run(loaded, "%%carbon --quiet\n    y = 2\n    y + 40\n")
    assert res.error_in_exec is None and res.result == 42
    assert loaded.user_ns["Out"][res.execution_count] == 42
    assert run(loaded, "%%carbon --quiet\n1 + 1;\n").result is None  # a trailing ; hides it


def test_tracebacks_show_the_users_lines(loaded, capsys):
    res = run(loaded, "%%carbon --quiet\na = 1\nraise ValueError('boom in line 3')\n")
    assert isinstance(res.error_in_exec, ValueError)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "raise ValueError('boom in line 3')" in text and "run_line_magic" not in text
    assert "----> 3" in text or "line 3" in text


def test_it_is_incomplete_until_the_body_is_typed(loaded):
    tm = loaded.input_transformer_manager
    assert tm.check_complete("%%carbon\n")[0] == "incomplete"
    assert tm.check_complete("%%carbon --label x\nx = 1\n")[0] in ("incomplete", "complete")


def test_run_cell_magic_runs_ipython_syntax_and_returns_the_value(loaded):
    res = run(loaded, "get_ipython().run_cell_magic('carbon', '--quiet', '%time z = 3\\nz * 2')")
    assert res.error_in_exec is None and res.result == 6


def test_bad_options_are_one_line_usage_errors_and_the_body_does_not_run(loaded):
    for opts in ("--pue nan", "--pue inf", "--intensity -5", "--intensity 1e309", "--country XX",
                 "--country EU", "--pue ''", "--bogus 1", "--pue 'x; rm -rf /'",
                 "--country 'ünï'", '--label "unclosed'):
        loaded.user_ns["ran"] = False
        res = run(loaded, f"%%carbon {opts}\nran = True\n")
        assert isinstance(res.error_in_exec, UsageError), opts
        assert "\n" not in str(res.error_in_exec).strip(), opts
        assert loaded.user_ns["ran"] is False, opts
    assert run(loaded, "v = 1").error_in_exec is None


def test_after_off_the_body_runs_unmeasured_with_one_note(loaded, capsys):
    run(loaded, "%carbon off")
    capsys.readouterr()
    res = run(loaded, "%%carbon\nw = 5\nw")
    assert res.result == 5 and "unmeasured" in capsys.readouterr().out
    run(loaded, "%unload_ext jupyter_carbon")
    assert run(loaded, "%%carbon --quiet\n7").result == 7


def test_a_cell_running_cells_gets_one_row_with_its_own_count(loaded, notebook_dir):
    before = len(rows(notebook_dir / "analysis.carbon.csv"))
    res = run(loaded, "get_ipython().run_cell('q = 1')\nget_ipython().run_cell('q += 1')\nq")
    assert loaded.user_ns["q"] == 2
    res2 = run(loaded, "r = 3")
    log = rows(notebook_dir / "analysis.carbon.csv")[before:]
    assert [int(r["execution_count"]) for r in log] == [res.execution_count, res2.execution_count]


def test_off_then_on_keeps_settings_baseline_and_totals(loaded, notebook_dir):
    run(loaded, "%carbon config --pue 1.3")
    s = session_of(loaded)
    s.baseline_w = {"cpu": 1.0}
    run(loaded, "x = 1")
    cells = s.totals.cells
    run(loaded, "%carbon off")
    assert session_of(loaded) is None
    run(loaded, "%carbon on")
    s2 = session_of(loaded)
    assert s2 is s and s2.settings["pue"] == 1.3 and s2.meter.baseline_w == {"cpu": 1.0}
    assert s2.totals.cells >= cells


def test_load_ext_after_off_measures_again(loaded, notebook_dir, capsys):
    run(loaded, "%carbon off")
    capsys.readouterr()
    run(loaded, "%load_ext jupyter_carbon")
    assert "already loaded" not in capsys.readouterr().out
    before = len(rows(notebook_dir / "analysis.carbon.csv"))
    run(loaded, "y = 2")
    assert len(rows(notebook_dir / "analysis.carbon.csv")) == before + 1


def test_reloads_free_the_old_sessions(loaded):
    refs = []
    for _ in range(5):
        refs.append(weakref.ref(session_of(loaded)))
        run(loaded, "%reload_ext jupyter_carbon")
    gc.collect()
    assert sum(r() is not None for r in refs) == 0
    assert extension_of(loaded).active


def test_an_interrupt_inside_a_hook_loses_no_row_and_prints_no_traceback(loaded, notebook_dir, capsys):
    import _thread

    hooks = extension_of(loaded).hooks
    real = hooks._post

    def interrupted_post(result):
        _thread.interrupt_main()  # SIGINT arrives while the hook runs
        real(result)
    hooks._post = interrupted_post
    before = len(rows(notebook_dir / "analysis.carbon.csv"))
    for i in range(20):
        run(loaded, f"k = {i}")
    hooks._post = real
    assert len(rows(notebook_dir / "analysis.carbon.csv")) == before + 20
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err and "KeyboardInterrupt" not in out.out + out.err

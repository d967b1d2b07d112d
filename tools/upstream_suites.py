"""Run IPython's, ipykernel's, nbclient's and nbconvert's own test suites twice, plain and
with jupyter-carbon loaded into every shell and kernel they start, and report what differs.

    nice -n 19 .venv/bin/python tools/upstream_suites.py [--only ipython,nbclient]

Why: the project promises those suites pass unchanged with the extension loaded (issue 14).
Steps, per suite: download the sdist of the version installed in this venv into a cache dir
(never the repo), install its ``test`` extra if anything is missing (pinned to what is
installed), run pytest in the unpacked sdist plain (baseline) and then loaded, and compare
test by test. Loaded means: ``jc_upstream_plugin`` (beside this file) loads the extension into
every ``InteractiveShell`` made in the pytest process, and a fresh ``IPYTHONDIR`` whose
default profile says ``c.InteractiveShellApp.extensions = ["jupyter_carbon"]`` loads it into
every kernel and ``ipython`` subprocess; the CSV rows it writes (one per executed cell, all to
one CSV in the run's directory) prove it really ran. A test passing plain and failing loaded
is a regression (rerun once to tell flaky ones apart); exit status 1 when any remain.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

TOOLS = Path(__file__).resolve().parent
PLUGIN = "jc_upstream_plugin"
SUITES = {"ipython": "ipython", "ipykernel": "ipykernel", "nbclient": "nbclient", "nbconvert": "nbconvert"}
# the suites' own markers for tests that need the internet (nbconvert's downloads Chromium)
SUITE_ARGS = {"nbconvert": ["-m", "not network"]}
SKIP_EXTRAS = {"pre-commit"}  # a git-hook manager in ipykernel's test extra: no test imports it
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jupyter-carbon-upstream"
PROFILE = """\
# Written by jupyter-carbon's tools/upstream_suites.py: every IPython app (terminal, kernel)
# started with this IPYTHONDIR loads jupyter_carbon, as a user's profile would.
c.InteractiveShellApp.extensions = ["jupyter_carbon"]
"""


@dataclass
class Run:
    mode: str
    rc: int = 0
    seconds: float = 0.0
    outcomes: dict[str, str] = field(default_factory=dict)
    loads: dict[str, int] = field(default_factory=dict)
    load_failures: list[str] = field(default_factory=list)
    csv_rows: int = 0
    csv_sessions: int = 0
    log_path: Path | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)


def write_profile(ipythondir: Path, loaded: bool) -> Path:
    """A fresh IPYTHONDIR; its default profile loads the extension when ``loaded``."""
    profile = ipythondir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_config.py").write_text(PROFILE if loaded else "# plain: nothing loaded\n")
    return profile


def run_env(workdir: Path, mode: str) -> dict[str, str]:
    """The environment of one pytest run: the plugin importable, a fresh IPYTHONDIR, and
    (loaded) the extension's settings: no widget, a fixed country, CSVs in ``workdir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_CARBON_")}
    # the venv's scripts (jupyter-execute, jupyter-nbconvert) on PATH, as in an activated venv
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH", "")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TOOLS), env.get("PYTHONPATH", "")) if p)
    env["IPYTHONDIR"] = str(workdir / "ipython")
    env["JC_UPSTREAM_MODE"] = mode
    env["JC_UPSTREAM_RESULTS"] = str(workdir / "results.json")
    write_profile(workdir / "ipython", loaded=mode.startswith("loaded"))
    if mode.startswith("loaded"):
        env.update(JUPYTER_CARBON_WIDGET="0", JUPYTER_CARBON_COUNTRY="FR")
        (workdir / "carbon").mkdir(exist_ok=True)
    if mode == "loaded":  # "loaded-beside": the default log path, beside the notebook or in the cwd
        env["JUPYTER_CARBON_LOG"] = str(workdir / "carbon" / "upstream.carbon.csv")
    return env


def _cell_rows(directory: Path):
    """Every data row of every cell CSV under ``directory`` (samples logs, headers excluded)."""
    for path in sorted(directory.rglob("*carbon*.csv")) if directory.is_dir() else []:
        if "samples" not in path.name:
            with open(path, newline="", encoding="utf-8", errors="replace") as f:
                yield from (r for r in csv.DictReader(f) if r.get("session_id") != "session_id")


def count_rows(directory: Path) -> int:
    return sum(1 for _ in _cell_rows(directory))


def count_sessions(directory: Path) -> int:
    """Distinct ``session_id`` values: one per shell or kernel that logged a cell."""
    return len({r.get("session_id") or "" for r in _cell_rows(directory)} - {""})


def installed_version(dist: str) -> str:
    return metadata.version(dist)


def fetch_sdist(dist: str, version: str, cache: Path, python: str) -> Path:
    """The unpacked sdist of ``dist==version`` under ``cache/src`` (downloaded once)."""
    names = {f"{dist}-{version}", f"{dist.replace('-', '_')}-{version}"}
    src, sdists = cache / "src", cache / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    if not any((sdists / f"{n}.tar.gz").exists() for n in names):
        # --no-binary for this package only: its build backend may come as a wheel
        subprocess.run([python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", dist,
                        f"{dist}=={version}", "-d", str(sdists)], check=True)
    archive = next(sdists / f"{n}.tar.gz" for n in sorted(names) if (sdists / f"{n}.tar.gz").exists())
    if not any((src / n).is_dir() for n in names):
        with tarfile.open(archive) as tar:
            tar.extractall(src, filter="data")
    return next(src / n for n in sorted(names) if (src / n).is_dir())


def test_requirements(srcdir: Path) -> list[str]:
    """The sdist's ``test`` extra, or its ``test`` dependency group (PEP 735: ipykernel's),
    from its pyproject.toml (ipykernel's PKG-INFO has neither)."""
    try:
        data = tomllib.loads((srcdir / "pyproject.toml").read_text())
        reqs = list(data.get("project", {}).get("optional-dependencies", {}).get("test", []))
        reqs += [r for r in data.get("dependency-groups", {}).get("test", []) if isinstance(r, str)]
    except (OSError, tomllib.TOMLDecodeError):
        log.debug("no test extra in %s", srcdir, exc_info=True)
        reqs = []
    return [r for r in reqs if r.split(";")[0].split("[")[0].split("<")[0].split(">")[0]
            .split("=")[0].strip() not in SKIP_EXTRAS]


def install_missing(reqs: list[str], python: str, workdir: Path) -> list[str]:
    """Install the requirements not yet satisfied, never changing an installed package's
    version (pip constraints = this venv's freeze). Returns the packages pip added."""
    if not reqs:
        return []
    freeze = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True,
                            text=True, check=True).stdout
    pins = [ln for ln in freeze.splitlines() if "==" in ln and not ln.startswith("-")]
    constraints = workdir / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "-c", str(constraints), *reqs],
                          capture_output=True, text=True)
    if proc.returncode:
        print(f"  pip could not install every test requirement ({proc.stderr.strip().splitlines()[-1:]});"
              " going on with what is there", file=sys.stderr)
    after = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True,
                           text=True, check=True).stdout
    return sorted(set(after.splitlines()) - set(freeze.splitlines()))


def pinned_options(python: str) -> list[str]:
    """Options that keep a newer test plugin from failing a suite before it starts, the same
    in both runs: pytest-asyncio >= 0.24 warns (an error under the suites' ``filterwarnings =
    error``) when its loop scope is unset."""
    probe = subprocess.run([python, "-c", "import pytest_asyncio"], capture_output=True)
    return ["-o", "asyncio_default_fixture_loop_scope=function"] if probe.returncode == 0 else []


def run_pytest(srcdir: Path, workdir: Path, mode: str, python: str, timeout: float,
               extra_args: list[str], nodeids: list[str] | None = None) -> Run:
    """One pytest run of the suite in ``srcdir``; outcomes come from the plugin's JSON."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = run_env(workdir, mode)
    # a fresh copy per run: a killed run leaves state behind (IPython's conftest refuses to
    # start when its ./tmp-ipython-pytest-profiledir exists) and one run must not see another's
    suite_args = SUITE_ARGS.get(srcdir.name.rsplit("-", 1)[0], [])
    srcdir = Path(shutil.copytree(srcdir, workdir / "src", dirs_exist_ok=True))
    # `python -m pytest`: the unpacked sdist (same version as installed) comes first on sys.path,
    # so doctest collection of its modules does not meet the installed copy (ImportPathMismatch)
    cmd = [python, "-m", "pytest", "-p", PLUGIN, "-p", "no:cacheprovider", "--color=no", "-q",
           *pinned_options(python), *suite_args, *extra_args,
           *(nodeids or [])]
    log_path = workdir / "pytest.log"
    run = Run(mode, log_path=log_path)
    t0 = time.monotonic()
    with open(log_path, "w") as out:
        try:
            run.rc = subprocess.run(cmd, cwd=srcdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            run.rc = -1
            out.write(f"\n[upstream_suites] timed out after {timeout:.0f} s\n")
    run.seconds = time.monotonic() - t0
    results = workdir / "results.json"
    if results.exists():
        data = json.loads(results.read_text())
        run.outcomes, run.loads, run.load_failures = data["outcomes"], data["loads"], data["load_failures"]
    # loaded-beside: the rows that landed in the suite's own tree (its temp dirs are gone)
    where = workdir / "carbon" if mode == "loaded" else srcdir
    run.csv_rows, run.csv_sessions = count_rows(where), count_sessions(where)
    return run


def regressions(base: Run, loaded: Run) -> list[str]:
    """Tests that passed (or were skipped/xfailed alike) plain and fail or error loaded."""
    ok = ("passed", "skipped", "xfailed")
    return sorted(t for t, o in loaded.outcomes.items()
                  if o in ("failed", "error", "xpassed") and base.outcomes.get(t) in ok)


def upstream_failures(base: Run, loaded: Run) -> list[str]:
    bad = ("failed", "error")
    return sorted(t for t, o in base.outcomes.items() if o in bad and loaded.outcomes.get(t, o) in bad)


def summary_lines(log_path: Path | None, tests: list[str]) -> dict[str, str]:
    """Each test's one-line reason from pytest's short summary (``FAILED id - msg``)."""
    out: dict[str, str] = {}
    if log_path is None or not log_path.exists():
        return out
    for line in log_path.read_text(errors="replace").splitlines():
        for kind in ("FAILED ", "ERROR "):
            if line.startswith(kind):
                rest = line[len(kind):]
                for t in tests:
                    if rest.startswith(t):
                        out.setdefault(t, rest[len(t):].lstrip(" -")[:300])
    return out


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(SUITES), help="comma-separated suites (default: all four)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"sdists and runs (default {DEFAULT_CACHE})")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per pytest run (default 1800)")
    ap.add_argument("--no-install", action="store_true", help="do not install missing test requirements")
    ap.add_argument("--no-rerun", action="store_true", help="do not rerun regressions to tell flaky ones apart")
    ap.add_argument("--log-beside", action="store_true", help="loaded run with the default CSV path (beside "
                    "the notebook / in the cwd, as a user gets) instead of one CSV in the run dir; rows not counted")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    a = ap.parse_args(argv)
    python = sys.executable
    loaded_mode = "loaded-beside" if a.log_beside else "loaded"
    chosen = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SUITES]
    if unknown:
        ap.error(f"unknown suite(s) {unknown}; choose from {list(SUITES)}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = [["suite", "version", "baseline pass/fail", "loaded pass/fail", "regressions", "flaky",
             "upstream's own", "shells loaded", "CSV rows (sessions)", "minutes"]]
    report: list[str] = []
    total_regressions = 0
    for suite in chosen:
        dist = SUITES[suite]
        version = installed_version(dist)
        print(f"== {suite} {version}", flush=True)
        srcdir = fetch_sdist(dist, version, a.cache, python)
        runs = a.cache / "runs" / f"{stamp}-{suite}"
        runs.mkdir(parents=True, exist_ok=True)
        if not a.no_install:
            added = install_missing(test_requirements(srcdir), python, runs)
            print(f"  installed for its tests: {', '.join(added) or 'nothing (all present)'}", flush=True)
        base = run_pytest(srcdir, runs / "baseline", "baseline", python, a.timeout, a.pytest_args)
        print(f"  baseline: {base.count('passed')} passed, {base.count('failed') + base.count('error')} "
              f"failed/errors in {base.seconds / 60:.1f} min (rc {base.rc}; {base.log_path})", flush=True)
        loaded = run_pytest(srcdir, runs / "loaded", loaded_mode, python, a.timeout, a.pytest_args)
        print(f"  loaded:   {loaded.count('passed')} passed, {loaded.count('failed') + loaded.count('error')} "
              f"failed/errors in {loaded.seconds / 60:.1f} min (rc {loaded.rc}; {loaded.log_path}); "
              f"{loaded.loads.get('loaded', 0)} in-process shells loaded, {loaded.csv_rows} CSV rows", flush=True)
        regs, flaky = regressions(base, loaded), []
        reruns = [t for t in regs if not t.endswith("::<collection>")]
        if regs and reruns and not a.no_rerun:
            again = run_pytest(srcdir, runs / "loaded-rerun", loaded_mode, python, a.timeout, a.pytest_args, reruns)
            flaky = [t for t in reruns if again.outcomes.get(t) == "passed"]
            regs = [t for t in regs if t not in flaky]
        own = upstream_failures(base, loaded)
        reasons = summary_lines(loaded.log_path, regs)
        total_regressions += len(regs)
        fails = lambda r: r.count("failed") + r.count("error")  # noqa: E731
        rows.append([suite, version, f"{base.count('passed')}/{fails(base)}", f"{loaded.count('passed')}/{fails(loaded)}",
                     str(len(regs)), str(len(flaky)), str(len(own)),
                     f"{loaded.loads.get('loaded', 0)}/{loaded.loads.get('shells', 0)}",
                     f"{loaded.csv_rows} ({loaded.csv_sessions})",
                     f"{(base.seconds + loaded.seconds) / 60:.1f}"])
        if not loaded.csv_rows and not loaded.loads.get("loaded") and not a.log_beside:
            report.append(f"{suite}: WARNING the extension left no trace (no shell loaded, no CSV row)")
        for t in regs:
            report.append(f"{suite}: REGRESSION {t}: {reasons.get(t, 'see ' + str(loaded.log_path))}")
        report += [f"{suite}: flaky (failed loaded, passed on rerun) {t}" for t in flaky]
        report += [f"{suite}: upstream's own failure (plain too) {t}" for t in own]
        report += [f"{suite}: load failure {f}" for f in loaded.load_failures]
    print()
    print(table(rows))
    print()
    print("\n".join(report) if report else "no regressions, no upstream failures")
    return 1 if total_regressions else 0


if __name__ == "__main__":
    sys.exit(main())

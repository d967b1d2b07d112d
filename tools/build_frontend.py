"""hatch-jupyter-builder's build function for jupyter-carbon's two front-ends.

``npm run build`` (package.json) makes both: the anywidget bundle (js/ -> src/jupyter_carbon/
widget/static/) and the prebuilt JupyterLab / Notebook 7 extension (labextension/ + js/render/ ->
src/jupyter_carbon/labextension/). hatch-jupyter-builder's own ``npm_builder`` decides staleness
from one source folder; the two front-ends share js/render/, so this looks at every source, and
runs npm only when an output is missing or older than a source. A wheel built from the sdist
(which carries the outputs) needs no node.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["js", "labextension/src", "labextension/schema", "labextension/style", "labextension/package.json",
           "labextension/install.json", "labextension/core-meta", "package.json", "package-lock.json"]
OUTPUTS = ["src/jupyter_carbon/widget/static/widget.js", "src/jupyter_carbon/labextension/package.json",
           "src/jupyter_carbon/labextension/static/style.js", "src/jupyter_carbon/labextension/install.json"]

log = logging.getLogger("jupyter_carbon.build")


def _newest(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)


def stale(root: Path = ROOT) -> bool:
    outputs = [root / o for o in OUTPUTS]
    if not all(o.exists() for o in outputs):
        return True
    built = min(o.stat().st_mtime for o in outputs)
    return any(_newest(root / s) > built for s in SOURCES if (root / s).exists())


def build(target_name: str, version: str, force: bool = False, **_kwargs) -> None:
    """The hook's entry point (``build-function = "tools.build_frontend.build"``)."""
    if os.environ.get("HATCH_JUPYTER_BUILDER_SKIP_NPM") == "1":
        log.info("jupyter-carbon: skipping npm as asked (HATCH_JUPYTER_BUILDER_SKIP_NPM=1)")
        return
    if not force and not stale():
        log.info("jupyter-carbon: front-ends are up to date")
        return
    npm = shutil.which("npm")
    if npm is None:
        if all((ROOT / o).exists() for o in OUTPUTS):
            log.warning("jupyter-carbon: npm not found; using the front-ends already built")
            return
        raise RuntimeError("jupyter-carbon: building the front-ends needs node and npm (https://nodejs.org)")
    install = "ci" if (ROOT / "package-lock.json").exists() and not (ROOT / "node_modules").exists() else "install"
    subprocess.run([npm, install, "--no-audit", "--no-fund"], cwd=ROOT, check=True)
    subprocess.run([npm, "run", "build"], cwd=ROOT, check=True)


if __name__ == "__main__":
    build("wheel", "standard", force=True)

"""The widget's bundled front-end files (built by esbuild from js/ into static/)."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_MISSING_ESM = """
export default { render({ el }) {
  el.textContent = "jupyter-carbon: the widget's front-end was not built; run `npm install && npm run build` "
    + "in the source checkout, or reinstall the package.";
} };
"""


def _asset(name: str) -> Path | None:
    """The bundled front-end file; in a source checkout without a build, the source."""
    built = _HERE / "static" / name
    if built.is_file():
        return built
    source = _HERE.parents[2] / "js" / name  # <repo>/src/jupyter_carbon/widget -> <repo>/js
    if source.is_file():
        return source
    return None

"""The widget's bundled front-end (built by esbuild from js/ into static/), as text.

Text, not a path: anywidget turns a path attribute into a class-level file watcher and
connects every instance to it, so no closed widget (nor its session) could ever be freed.
"""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
MISSING_ESM = """
export default { render({ el }) {
  el.textContent = "jupyter-carbon: the widget's front-end was not built; run `npm install && npm run build` "
    + "in the source checkout, or reinstall the package.";
} };
"""


def asset_text(name: str, default: str) -> str:
    """The bundled front-end file; in a source checkout without a build, the source."""
    built = _HERE / "static" / name
    if built.is_file():
        return built.read_text(encoding="utf-8")
    source = _HERE.parents[2] / "js" / name  # <repo>/js: usable unbundled only without imports
    if source.is_file():
        text = source.read_text(encoding="utf-8")
        if not any(line.startswith(("import ", "export {")) for line in text.splitlines()):
            return text
    return default

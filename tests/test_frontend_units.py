"""Front-end unit tests (TypeScript/JS logic) run with node from pytest: the shared formatting
(js/render/format.js) and the lab extension's kernel link (labextension/src/link.ts, bundled by
esbuild first). Cheap: no browser, no Jupyter server."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    return node


def test_shared_formatting():
    out = subprocess.run([_node(), "--test", str(ROOT / "labextension" / "test" / "format.test.mjs")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# fail 0" in out.stdout and "# pass 4" in out.stdout


def test_kernel_link(tmp_path):
    node = _node()
    if not ESBUILD.exists():
        pytest.skip("node_modules missing: run npm ci")
    bundle = tmp_path / "link.cjs"
    subprocess.run([str(ESBUILD), str(ROOT / "labextension" / "src" / "link.ts"), "--bundle", "--format=cjs",
                    "--platform=node", f"--outfile={bundle}"], check=True, capture_output=True, cwd=ROOT,
                   timeout=60)
    out = subprocess.run([node, "--test", str(ROOT / "labextension" / "test" / "link.test.mjs")],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "JC_LINK_MODULE": bundle.as_uri()})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# fail 0" in out.stdout and "# pass 4" in out.stdout

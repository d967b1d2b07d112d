#!/usr/bin/env bash
# Set up a development environment from scratch (idempotent; quick when already done):
# Debian's chromium for the browser tests, a venv in .venv, the CPU build of PyTorch FIRST
# (a bare `torch` requirement would pull several GB of CUDA packages), then the package
# in editable mode with every extra; pip's build runs npm to bundle the widget.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]} and not root: install them with your package manager" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
# A `jupyter labextension develop` link would make pip write (and, on the next install, delete)
# the lab extension's files through it, inside src/: drop such a link first. The editable
# install itself puts the built lab extension in .venv/share/jupyter/labextensions (shared-data),
# so `.venv/bin/jupyter lab` shows it; after `npm run build`, run this script again to refresh it.
ext=.venv/share/jupyter/labextensions/jupyter-carbon
if [ -L "$ext" ]; then rm "$ext"; fi
.venv/bin/python -m pip install -q -e ".[test,examples,report,sidebar,bench]"
if [ "$(id -u)" = 0 ]; then
  # Jupyter refuses to start as root unless told; this venv's own config says so, so that the
  # README's `.venv/bin/jupyter lab ...` works on a fresh root machine (containers, CI).
  # (a conf.d file is not enough: `jupyter lab` reads allow_root from jupyter_server_config only)
  mkdir -p .venv/etc/jupyter
  [ -e .venv/etc/jupyter/jupyter_server_config.json ] ||
    echo '{"ServerApp": {"allow_root": true}}' > .venv/etc/jupyter/jupyter_server_config.json
fi
echo "setup: done — .venv is ready ($(.venv/bin/python -c 'import jupyter_carbon as j; print("jupyter-carbon", j.__version__)'))"

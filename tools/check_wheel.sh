#!/usr/bin/env bash
# `pip install .` alone must ship the JupyterLab / Notebook 7 extension: clone the committed tree,
# build a wheel from scratch (npm builds both front-ends), install it into a fresh venv and check
# that `jupyter labextension list` shows jupyter-carbon enabled and OK. Takes a few minutes.
#   bash tools/check_wheel.sh        (uses /tmp/jc-clean, /tmp/jc-wheel, /tmp/jc-venv)
set -e
rm -rf /tmp/jc-clean /tmp/jc-wheel /tmp/jc-venv
git clone -q "$(cd "$(dirname "$0")/.." && pwd)" /tmp/jc-clean
cd /tmp/jc-clean
python3 -m venv /tmp/jc-venv
/tmp/jc-venv/bin/pip install -q --upgrade pip
/tmp/jc-venv/bin/pip wheel -q --no-deps -w /tmp/jc-wheel .
unzip -l /tmp/jc-wheel/*.whl | grep -E "labextensions|static/widget" | head
/tmp/jc-venv/bin/pip install -q /tmp/jc-wheel/*.whl jupyterlab 2>&1 | tail -2
/tmp/jc-venv/bin/jupyter labextension list 2>&1 | tee /tmp/jc-labext.txt
grep -q "jupyter-carbon v.*enabled.*OK" /tmp/jc-labext.txt && echo "check_wheel: OK, jupyter-carbon is installed by pip alone"

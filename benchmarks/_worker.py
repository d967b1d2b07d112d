"""``python -m benchmarks._worker MODULE FUNC JSON_ARGS``: one measurement in a fresh interpreter.

Installs the network guard first, calls ``benchmarks.MODULE.FUNC(**args)`` and prints its JSON
result after a marker line, adding the refused network attempts (there should be none).
"""
from __future__ import annotations

import importlib
import json
import logging
import sys

from . import _nonet
from ._util import MARK


def main() -> None:
    module, func, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    _nonet.install()
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    fn = getattr(importlib.import_module(f"benchmarks.{module}"), func)
    result = fn(**args)
    result["network_attempts"] = list(_nonet.attempts)
    sys.stdout.flush()
    print("\n" + MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

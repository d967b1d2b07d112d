"""tools/cell_bytecodes.py: the per-cell bytecode count that does not move with the machine."""
import re
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "cell_bytecodes.py"


def test_counts_the_hooks_bytecodes_and_names_where_they_go():
    out = subprocess.run([sys.executable, str(TOOL), "--mode", "machine", "--cells", "5", "--top", "40"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    m = re.search(r"tracking_mode=machine: ([\d,]+) bytecodes per cell", out.stdout)
    assert m and int(m.group(1).replace(",", "")) > 500  # a row, two edges, two windows: real work
    assert "session.py:end_cell" in out.stdout and "schema.py:make_row" in out.stdout
    assert "cell_bytecodes.py" not in out.stdout  # the tool's own frames are left out

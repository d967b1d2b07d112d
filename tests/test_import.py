"""`import jupyter_carbon` must be cheap and side-effect free."""
import subprocess
import sys


def test_import_has_no_side_effects():
    code = (
        "import sys, threading, socket\n"
        "opened = []\n"
        "real = socket.socket.connect\n"
        "socket.socket.connect = lambda self, *a: opened.append(a) or real(self, *a)\n"
        "import jupyter_carbon as jc\n"
        "assert callable(jc.track) and callable(jc.read_log)\n"
        "heavy = [m for m in ('pynvml', 'pandas', 'anywidget', 'ipywidgets', 'matplotlib', 'psutil')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not opened\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

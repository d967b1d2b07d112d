"""The trackers under test, as the benchmark workers start them (imported lazily in workers)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ._util import CC_KW


def carbon_session(interval: float = 1.0, **settings):
    """jupyter-carbon's per-kernel session outside IPython, as ``%load_ext`` assembles it
    without a widget: discovered sensors, the sampler thread (started), the per-cell CSV and
    the batched samples CSV (``JPY_SESSION_NAME`` says where). The outputs are kept on the
    session as ``bench_outputs`` (``samples_output(s)`` finds the samples CSV's)."""
    from jupyter_carbon import runtime
    from jupyter_carbon.config import Settings
    from jupyter_carbon.outputs.cell_log import CellLog
    from jupyter_carbon.outputs.samples_log import SamplesOutput
    from jupyter_carbon.session import CarbonSession

    env = {**os.environ, "JUPYTER_CARBON_INTERVAL": str(interval),
           **{f"JUPYTER_CARBON_{k.upper()}": str(v) for k, v in settings.items()}}
    nb = os.environ.get("JPY_SESSION_NAME") or str(Path(tempfile.mkdtemp()) / "bench.ipynb")
    s = CarbonSession(Settings(None, env=env), runtime.build_meter, notebook=Path(nb),
                      announce=lambda _m: None).start()
    s.bench_outputs = [CellLog(s), SamplesOutput(s)]
    return s


def samples_output(outputs):
    """The samples CSV's output among ``outputs`` (an extension's ``ext.outputs``, or
    ``carbon_session(...).bench_outputs``)."""
    from jupyter_carbon.outputs.samples_log import SamplesOutput

    return next(o for o in outputs if isinstance(o, SamplesOutput))


def close_session(s) -> None:
    """Close what ``carbon_session`` made: outputs flushed and closed, then the session."""
    for out in reversed(getattr(s, "bench_outputs", [])):
        out.close()
    s.close()


def codecarbon(measure_power_secs: float = 15.0):
    import logging

    from codecarbon import OfflineEmissionsTracker

    tr = OfflineEmissionsTracker(measure_power_secs=measure_power_secs, **CC_KW)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    return tr


def cc_pause(tr) -> None:
    """Stop CodeCarbon's two timer threads (periodic measurement and 1 s power monitor)."""
    tr._scheduler.stop()
    tr._scheduler_monitor_power.stop()


def cc_resume(tr) -> None:
    tr._scheduler.start()
    tr._scheduler_monitor_power.start()


def cc_count_calls(tr) -> dict:
    """Count the calls of CodeCarbon's two periodic functions (measure, monitor)."""
    calls = {"measure": 0, "monitor": 0}
    for key, sched in (("measure", tr._scheduler), ("monitor", tr._scheduler_monitor_power)):
        fn = sched.function

        def counted(*a, _fn=fn, _key=key, **kw):
            calls[_key] += 1
            return _fn(*a, **kw)

        sched.function = counted
    return calls

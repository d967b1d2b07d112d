"""The session's events reach each subscriber by type: routing, failures, samples, a real shell."""
import logging

from jupyter_carbon.events import (EVENT_TYPES, CellEnded, CellEnding, CellStarted, MeterStarted, SampleTaken,
                                   SessionClosing, SettingsChanged, Subscribers)
from jupyter_carbon.outputs.footprint import FootprintPrinter

from shells import session_of


def test_each_event_goes_only_to_handlers_that_asked_for_its_type():
    bus, got = Subscribers(), []
    every = lambda e: got.append(("every", type(e)))  # noqa: E731
    ends = lambda e: got.append(("ends", type(e)))  # noqa: E731
    bus.subscribe(every)
    bus.subscribe(ends, events=(CellEnded,))
    bus.emit(SettingsChanged("interval"))
    bus.emit(CellEnded(None, None))
    assert got == [("every", SettingsChanged), ("every", CellEnded), ("ends", CellEnded)]
    assert bus.handling(SettingsChanged) == (every,)
    assert bus.handling(CellEnded) == (every, ends)
    bus.subscribe(ends, events=(SettingsChanged,))  # subscribing again replaces the types
    assert bus.handling(CellEnded) == (every,) and bus.handling(SettingsChanged) == (every, ends)
    assert bus.handlers == [every, ends]  # once each
    bus.unsubscribe(every)
    assert all(bus.handling(k) in ((), (ends,)) for k in EVENT_TYPES)


def test_a_failing_handler_is_logged_and_the_next_still_runs(caplog):
    bus, got = Subscribers(), []

    def broken(_e):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(got.append, events=(SessionClosing,))
    with caplog.at_level(logging.DEBUG, logger="jupyter_carbon.events"):
        bus.emit(SessionClosing())
    assert got == [SessionClosing()]
    assert any("SessionClosing" in r.getMessage() and r.exc_info for r in caplog.records)


def test_samples_only_to_handlers_that_asked_and_nothing_made_without_them():
    bus, got = Subscribers(), []
    bus.subscribe(got.append, events=())  # no cell events, no samples
    bus.emit_sample("a sample")
    assert got == []
    bus.subscribe(got.append, events=(), samples=True)
    bus.emit_sample("a sample")
    assert got == [SampleTaken("a sample")]
    bus.emit(MeterStarted(None))
    assert got == [SampleTaken("a sample")]  # asked for no cell or meter event
    bus.clear()
    bus.emit_sample("another")
    assert len(got) == 1 and bus.handling(CellEnded) == ()


def test_a_loaded_extension_routes_cell_events_to_the_outputs_that_use_them(shell, notebook_dir):
    shell.run_cell("%load_ext jupyter_carbon", store_history=True)
    s = session_of(shell)
    printer = next(fn for fn in s.subscribers.handlers if isinstance(getattr(fn, "__self__", None), FootprintPrinter))
    assert printer in s.subscribers.handling(CellEnded)
    assert printer not in s.subscribers.handling(CellStarted)
    assert printer not in s.subscribers.handling(CellEnding)
    ending = s.subscribers.handling(CellEnding)
    assert 0 < len(ending) < len(s.subscribers.handling(CellEnded))  # the cluster's part only
    count = shell.execution_count
    shell.run_cell("x = 1", store_history=True)
    assert s.history[-1].execution_count == count and s.history[-1].status == "ok"
    with open(notebook_dir / "analysis.carbon.csv") as f:
        assert sum(1 for _ in f) == 3  # the header, the %load_ext cell, this cell


def test_the_sampler_calls_the_session_only_while_someone_wants_samples(notebook_dir):
    import time

    from jupyter_carbon.config import Settings
    from jupyter_carbon.runtime import build_meter
    from jupyter_carbon.session import CarbonSession

    s = CarbonSession(Settings(None, env={"JUPYTER_CARBON_INTERVAL": "0.05"}), build_meter,
                      notebook=notebook_dir / "n.ipynb", kernel_id="t", announce=lambda msg: None).start()
    try:
        listeners = lambda: list(s.meter.sampler._listeners)  # noqa: E731
        s.subscribe(lambda e: None, events=(CellEnded,))
        assert listeners() == []  # headless: a tick keeps its sample and calls nothing
        got: list = []
        s.subscribe(got.append, events=(), samples=True)
        assert listeners() == [s.subscribers.emit_sample]
        time.sleep(0.3)
        assert got and all(isinstance(e, SampleTaken) for e in got)
        s.stop()
        s.start()  # a rebuilt meter listens as the old one did
        assert listeners() == [s.subscribers.emit_sample]
        s.unsubscribe(got.append)
        assert listeners() == []
    finally:
        s.close()

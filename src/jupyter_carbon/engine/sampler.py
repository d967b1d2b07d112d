"""The one background thread: samples every channel on a fixed interval.

It keeps a fixed-size ring buffer (memory is bounded over a day-long session), never
prints, never touches the network, and calls listeners with each sample; a listener that
raises is counted and dropped after repeated failures, never allowed to stop sampling.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from ..errors import ConfigError
from .channel import Channel, read_channels
from .sample import Sample, samples_after

log = logging.getLogger(__name__)

MIN_INTERVAL_S, MAX_INTERVAL_S = 0.05, 60.0
DEFAULT_INTERVAL_S = 1.0
DEFAULT_BUFFER = 4096
_LISTENER_MAX_FAILURES = 5
_THREAD_CLOCKS = hasattr(time, "pthread_getcpuclockid")  # Linux and most Unixes, not macOS


def check_interval(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"interval must be a number of seconds between {MIN_INTERVAL_S} and "
                          f"{MAX_INTERVAL_S:g}, got {value!r}") from None
    if not MIN_INTERVAL_S <= v <= MAX_INTERVAL_S:
        raise ConfigError(f"interval must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S:g} "
                          f"seconds, got {v:g}")
    return v


class Sampler:
    """Reads ``channels`` every ``interval`` seconds on one daemon thread.

    It is given what it reads (the channels and the clock), not the meter that owns them.
    """

    def __init__(self, channels: Sequence[Channel], clock: Callable[[], float],
                 interval: float = DEFAULT_INTERVAL_S, buffer: int = DEFAULT_BUFFER):
        self.channels = channels
        self.clock = clock
        self._interval = check_interval(interval)
        self.buffer: deque[Sample] = deque(maxlen=buffer)
        self._listeners: dict[Callable[[Sample], None], int] = {}
        self._chores: list[list] = []  # [due (monotonic), period, fn]
        self._next_chore = math.inf
        # The thread sleeps by acquiring this held lock with a timeout; releasing it wakes
        # the thread early (stop, or a new interval).
        self._sleep = threading.Lock()
        self._sleep.acquire()
        self._stop_token = [True]  # one per thread: a late-exiting old thread never revives
        self._thread: threading.Thread | None = None
        self._cpu_clock: int | None = None
        self._cpu_before = 0.0  # CPU seconds of earlier (stopped) sampler threads
        self.samples_taken = 0

    def tick(self) -> Sample:
        """Take one sample of every channel, keep it and tell the listeners; from any thread."""
        s = read_channels(self.channels, self.clock, time.time)
        self.buffer.append(s)
        self.samples_taken += 1
        if self._listeners:
            self._notify(s)
        return s

    # --- lifecycle -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop_token = token = [False]
        self._sleep.acquire(blocking=False)  # drop a wake-up left by an earlier stop
        self._thread = threading.Thread(target=self._run, args=(token,), name="jupyter-carbon-sampler",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_token[0] = True
        self._poke()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._thread = None

    def _poke(self) -> None:
        try:
            self._sleep.release()
        except RuntimeError:  # already released: a wake-up is pending
            pass

    @property
    def cpu_s(self) -> float | None:
        """CPU seconds the sampler threads have used in all (waking and waiting included).

        Read from the thread's CPU clock by whoever asks, so the thread pays nothing for
        being measured; None where the platform has no per-thread CPU clock.
        """
        if not _THREAD_CLOCKS:
            return None
        clock = self._cpu_clock
        if clock is not None:
            try:
                return self._cpu_before + time.clock_gettime(clock)
            except OSError:  # the thread ended between the two reads
                pass
        return self._cpu_before

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, value: float) -> None:
        self._interval = check_interval(value)
        self._poke()  # apply now, not after the old interval

    # --- listeners -------------------------------------------------------------------
    def add_listener(self, fn: Callable[[Sample], None]) -> None:
        self._listeners.setdefault(fn, 0)

    def remove_listener(self, fn: Callable[[Sample], None]) -> None:
        self._listeners.pop(fn, None)

    def add_chore(self, fn: Callable[[], None], every_s: float) -> None:
        """Run ``fn`` on the sampler thread every ``every_s`` seconds, after a tick.

        For periodic work (writing the samples log) that must not cost anything on the ticks
        in between: checking for a due chore is one comparison per tick. A chore that raises
        is kept; it runs again at its next due time.
        """
        self._chores.append([time.monotonic() + every_s, float(every_s), fn])
        self._next_chore = min(c[0] for c in self._chores)

    def remove_chore(self, fn: Callable[[], None]) -> None:
        self._chores = [c for c in self._chores if c[2] != fn]
        self._next_chore = min((c[0] for c in self._chores), default=math.inf)

    def _run_chores(self, now: float) -> None:
        for chore in list(self._chores):
            if chore[0] <= now:
                chore[0] = now + chore[1]
                try:
                    chore[2]()
                except Exception:
                    log.debug("sampler chore %r failed", chore[2], exc_info=True)
        self._next_chore = min((c[0] for c in self._chores), default=math.inf)

    def latest(self) -> Sample | None:
        try:
            return self.buffer[-1]
        except IndexError:
            return None

    def samples_after(self, mono: float) -> list[Sample]:
        """The samples taken after ``mono``, newest first (see ``engine.sample.samples_after``)."""
        return samples_after(self.buffer, mono)

    # --- the loop --------------------------------------------------------------------
    def _notify(self, s: Sample) -> None:
        for fn in tuple(self._listeners):
            try:
                fn(s)
            except Exception:
                log.debug("sampler listener %r failed", fn, exc_info=True)
                n = self._listeners.get(fn, 0) + 1
                if n >= _LISTENER_MAX_FAILURES:
                    self._listeners.pop(fn, None)
                elif fn in self._listeners:
                    self._listeners[fn] = n

    def _run(self, token: list[bool]) -> None:
        clock = None
        if _THREAD_CLOCKS:
            try:
                self._cpu_clock = clock = time.pthread_getcpuclockid(threading.get_ident())
            except OSError:
                pass
        try:
            self._loop(token)
        finally:
            used = time.thread_time()
            if clock is not None and self._cpu_clock == clock:
                self._cpu_clock = None
            self._cpu_before += used

    def _loop(self, token: list[bool]) -> None:
        sleep, monotonic = self._sleep.acquire, time.monotonic
        next_at = monotonic()
        while not token[0]:
            try:
                self.tick()
            except Exception:  # never let the thread die; the next tick tries again
                log.debug("sampler tick failed", exc_info=True)
            next_at += self._interval
            now = monotonic()
            if now >= self._next_chore:
                self._run_chores(now)
                now = monotonic()
            if next_at < now:  # we fell behind (suspended laptop, busy machine): re-anchor
                next_at = now + self._interval
            if sleep(True, next_at - now):  # woken early: stop, or a new interval
                next_at = monotonic()

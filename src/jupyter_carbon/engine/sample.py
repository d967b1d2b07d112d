"""One sample of every channel, and reading the newest ones from another thread."""
from __future__ import annotations

from typing import NamedTuple


class Sample(NamedTuple):
    """One instant: wall time, monotonic time, and per-channel (joules, watts)."""

    wall: float
    mono: float
    joules: tuple[float, ...]
    watts: tuple[float, ...]

    @property
    def total_w(self) -> float:
        return sum(self.watts)


class RawSample(Sample):
    """A tick's record before decoding: a deferred channel's slot holds its raw data in
    ``joules`` and ``(time, raw data)`` of the fetch before in ``watts``. Only the sampler's
    ring buffer holds these; ``Sampler.decode`` turns one into a Sample."""

    __slots__ = ()


def samples_after(buffer, mono: float, decode=None) -> list[Sample]:
    """The samples in ``buffer`` taken after ``mono``, newest first, from any thread.

    Readers take what is new since their last look instead of walking the whole ring
    buffer; the copy is retried if the sampler appends meanwhile. ``decode`` (the
    sampler's) turns the buffer's records into Samples.
    """
    for _ in range(3):
        out = []
        try:
            for s in reversed(buffer):
                if s.mono <= mono:
                    break
                out.append(s)
            return [decode(s) for s in out] if decode is not None else out
        except RuntimeError:  # "deque mutated during iteration": try again
            continue
    return []

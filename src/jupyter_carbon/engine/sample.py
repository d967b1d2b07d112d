"""One sample of every channel, and reading the newest ones from another thread."""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Sample(NamedTuple):
    """One instant: wall time, monotonic time, and per-channel cumulative joules and watts.

    ``approx`` lists the channels whose figures are the latest committed point rather than
    a read at this instant (an edge read that ran past its time budget).
    """

    wall: float
    mono: float
    joules: tuple[float, ...]
    watts: tuple[float, ...]
    approx: tuple[int, ...] = ()


def samples_after(buffer: Iterable[Sample], mono: float) -> list[Sample]:
    """The samples in ``buffer`` (a deque the sampler appends to) taken after ``mono``,
    newest first, from any thread.

    Readers take what is new since their last look instead of walking the whole ring
    buffer; the copy is retried if the sampler appends meanwhile.
    """
    for _ in range(3):
        out = []
        try:
            for s in reversed(buffer):  # type: ignore[call-overload]
                if s.mono <= mono:
                    break
                out.append(s)
            return out
        except RuntimeError:  # "deque mutated during iteration": try again
            continue
    return []

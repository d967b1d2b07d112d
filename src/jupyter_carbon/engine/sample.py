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


def samples_after(buffer, mono: float) -> list[Sample]:
    """The samples in ``buffer`` taken after ``mono``, newest first, from any thread.

    Readers take what is new since their last look instead of walking the whole ring
    buffer; the copy is retried if the sampler appends meanwhile.
    """
    for _ in range(3):
        out = []
        try:
            for s in reversed(buffer):
                if s.mono <= mono:
                    break
                out.append(s)
            return out
        except RuntimeError:  # "deque mutated during iteration": try again
            continue
    return []

"""Clock offsets between hosts, measured once at registration, NTP style.

A report is stamped with the worker's ``time.time()``; the worker converts it to the
scheduler's clock, and the kernel converts the scheduler's clock to its own, so a cell's
edges (kernel clock) and a host's energy counters (worker clock) meet on one time line.
One round trip gives the offset to within half its duration, which the registration keeps
as the uncertainty (milliseconds on a LAN; energy is interpolated between one-second
reports, so that error is ~0.1 % of a one-second window's edge).
"""
from __future__ import annotations

from typing import NamedTuple


class Offset(NamedTuple):
    """``remote clock = local clock + offset_s``, within ``error_s``."""

    offset_s: float
    error_s: float

    @classmethod
    def from_roundtrip(cls, sent: float, remote: float, received: float) -> Offset:
        """``sent``/``received``: local times around a request answered at ``remote``."""
        rtt = max(received - sent, 0.0)
        return cls(remote - (sent + received) / 2.0, rtt / 2.0)

    def to_remote(self, local_t: float) -> float:
        return local_t + self.offset_s

    def to_local(self, remote_t: float) -> float:
        return remote_t - self.offset_s


ZERO = Offset(0.0, 0.0)

"""``<notebook>.carbon-samples.csv``: the power time series, written in batches with the
cell log's machinery (bounded lock wait, whole rows only, fallback, pending rows)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone

from .csvlog import CsvLog
from .csvtext import encode_row
from .filelock import DEFAULT_WAIT
from .schema import fmt, num_text

log = logging.getLogger(__name__)

__all__ = ["SAMPLE_COLUMNS", "SamplesLog"]

SAMPLE_COLUMNS = ("timestamp", "session_id", "execution_count", "elapsed_s",
                  "cpu_power", "gpu_power", "ram_power", "total_power")
#: Where the power columns start (``sample_texts`` writes the four before them).
FIRST_POWER_COLUMN = SAMPLE_COLUMNS.index("cpu_power")


class SamplesLog(CsvLog):
    """``<notebook>.carbon-samples.csv``: the sampler's watts, buffered and written in batches.

    ``add`` only keeps the row; ``flush`` writes the batch with the cell log's locking. A row
    is a dict keyed by column name (``timestamp`` a UTC datetime or epoch seconds; missing keys
    are written empty), or, from ``add_texts``, every column's text in order (the sampler's own
    rows: see ``sample_texts``). If nothing can be written, at most ``max_pending`` samples are
    kept, so a day-long session stays bounded.
    """

    def __init__(self, path, components: Sequence[str] = ("cpu", "gpu", "ram"),
                 devices: Sequence[str] = (), *, fallback_dir=None,
                 announce: Callable[[str], object] | None = print, max_pending: int = 100_000,
                 lock_wait: float = DEFAULT_WAIT):
        comps = dict.fromkeys(c for c in ("cpu", "gpu", "ram") if c in components)  # stable order,
        comps.update(dict.fromkeys(components))  # one column per component however many devices
        cols = list(SAMPLE_COLUMNS[:4]) + [f"{c}_power" for c in comps] + ["total_power"]
        cols += [f"{_slug(d)}_power" for d in devices]
        super().__init__(path, cols, fallback_dir=fallback_dir, announce=announce,
                         max_pending=max_pending, lock_wait=lock_wait)
        self._rows: list[Sequence[str]] = []

    def add(self, sample_row: Mapping) -> None:
        try:
            texts = [_sample_value(c, sample_row.get(c)) for c in self.columns]
        except Exception as exc:  # one bad row is said and skipped; the batch is kept
            log.debug("could not format a sample", exc_info=True)
            self._say("encode", f"jupyter-carbon: could not format a sample ({exc!r})")
            return
        self._rows.append(texts)

    def add_texts(self, texts: Sequence[str]) -> None:
        """A row already made as text, one per column in ``columns`` order."""
        self._rows.append(texts)

    def __len__(self) -> int:
        return len(self._rows)

    def _encode_buffered(self) -> bool:
        rows, self._rows = self._rows, []
        try:  # one bytes object per sample, so that a bounded backlog drops whole samples
            self._pending.extend(encode_row(r) for r in rows)
        except Exception as exc:
            log.debug("could not format samples", exc_info=True)
            self._say("encode", f"jupyter-carbon: could not format samples ({exc!r})")
            return False
        return True

    def flush(self) -> bool:
        if not self._encode_buffered():
            return False
        return self._drain()

    def close(self, wait: float = 0.5) -> bool:
        self._encode_buffered()
        return super().close(wait)


def _sample_value(col: str, v) -> str:
    if col == "timestamp" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return epoch_text(v)  # %.7g would drop the time
    return fmt(v)


def epoch_text(seconds: float) -> str:
    """Epoch seconds as the log's UTC timestamp text (to the microsecond)."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="microseconds")


def sample_texts(wall: float, session_id: str, count: int | None, elapsed_s: float,
                 watts: Sequence[float | None]) -> list[str]:
    """A samples-log row as text: ``watts`` are the power columns in order (None: unknown)."""
    return [epoch_text(wall), session_id, "" if count is None else str(count), num_text(elapsed_s),
            *[num_text(w) for w in watts]]


def _slug(name: str) -> str:
    """A device name made safe as a column stem: ``NVIDIA H100 #1`` -> ``nvidia_h100_1``."""
    out = "".join(ch if ch.isalnum() else "_" for ch in str(name).strip().lower())
    return "_".join(p for p in out.split("_") if p) or "device"

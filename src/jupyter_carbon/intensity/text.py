"""Values quoted in error messages, kept short: a pasted megabyte stays a one-line error."""
from __future__ import annotations

__all__ = ["shown"]


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 4] + "...'"

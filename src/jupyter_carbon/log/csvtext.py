"""CSV text that is always whole and safe to open in a spreadsheet.

Two jobs the ``csv`` module does not do for us:

* Quoting: with ``lineterminator="\\n"`` the ``csv`` writer leaves a field holding a bare
  carriage return unquoted, so ``"a\\rb"`` becomes two lines in most readers. Here any field
  holding ``,``, ``"``, ``\\r`` or ``\\n`` is quoted (RFC 4180).
* Formula injection (OWASP, "CSV Injection"): a field starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return is run as a formula by Excel, LibreOffice and Sheets. Such a
  field is prefixed with a single quote and quoted. Plain numbers (``-1.5``) are left alone:
  they are not formulas. Line feed and the full-width forms of the four signs (which some
  spreadsheets fold to ASCII) are treated the same way, to be safe.

The prefix is reversible: :func:`restore` removes it, so ``jc.read_log`` returns the text that
was logged. To keep that exact, text that already starts with quotes followed by one of those
characters gets one more quote (``'=x`` is written ``''=x``). Text fields are capped at
``MAX_FIELD`` characters: a spreadsheet cell holds at most 32,767 and the ``csv`` module
refuses fields over 131,072 by default.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["DANGER", "MAX_FIELD", "encode_field", "encode_row", "encode_rows", "neutralise",
           "restore"]

DANGER = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
MAX_FIELD = 32_000
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# A leading run of quotes followed by a dangerous character: the escape restore() undoes.
_ESCAPED = re.compile("^'(?='*[" + re.escape("".join(sorted(DANGER))) + "])")
_FIRST = DANGER | {"'"}  # a field starting with one of these may need the escape
_AFTER_COMMA = tuple("," + c for c in sorted(_FIRST))


def _risky(text: str) -> bool:
    first = text[0]
    if first == "'":
        rest = text.lstrip("'")
        return bool(rest) and rest[0] in DANGER
    return first in DANGER and _NUMBER.fullmatch(text) is None


def neutralise(text: str) -> str:
    """``=1+1`` -> ``'=1+1``; anything else unchanged (unquoted; see :func:`encode_field`)."""
    return "'" + text if text and _risky(text) else text


def restore(text: str) -> str:
    """The inverse of :func:`neutralise` for one field as read back from the file."""
    return text[1:] if text[:1] == "'" and _ESCAPED.match(text) else text


def encode_field(text: str) -> str:
    """One field as CSV text: neutralised, then quoted when it must be."""
    if not text:
        return text
    if len(text) > MAX_FIELD:
        text = text[:MAX_FIELD - 1] + "\u2026"
    if _risky(text):
        return "\"'" + text.replace('"', '""') + '"'
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _plain(line: str, n: int) -> bool:
    """Do ``n`` fields joined into ``line`` need no quoting, escape or cut? (The usual row,
    checked on the joined text with a few substring searches rather than field by field.)"""
    return (line.count(",") == n - 1 and len(line) <= MAX_FIELD and '"' not in line and "\r" not in line
            and "\n" not in line and line[:1] not in _FIRST and not any(s in line for s in _AFTER_COMMA))


def encode_row(fields: Sequence[str]) -> bytes:
    """One record, ``\\n``-terminated, as UTF-8 (text that cannot be encoded, such as a lone
    surrogate, is written as its escape rather than losing the row)."""
    line = ",".join(fields)
    if not _plain(line, len(fields)):
        line = ",".join([encode_field(f) for f in fields])
    line += "\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        return line.encode("utf-8", "backslashreplace")


def encode_rows(rows: Iterable[Sequence[str]]) -> bytes:
    return b"".join(encode_row(r) for r in rows)

"""``once``: a property computed at its first read and kept on the instance.

``functools.cached_property`` does the same, but before Python 3.12 it takes a lock at every
first read; the records of a cell (``Energy``, ``Measurement``) are made and read on one
thread, several times per cell, so the lock is pure cost here.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class once(Generic[T]):
    """Like ``functools.cached_property`` (the value goes into the instance's ``__dict__``,
    which frozen dataclasses allow), without the lock."""

    def __init__(self, fn: Callable[[Any], T]):
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> once[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | once[T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value

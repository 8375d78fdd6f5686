"""Python source fragments: spec values become literals here and nowhere else.

Templates may only output `PyCode` (the renderer refuses anything else), and the only ways to
make `PyCode` are `literal()`, which turns data into an exact Python literal, and `name()`, which
accepts a plain identifier. A spec value therefore cannot reach a generated file as code.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping, Sequence

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PyCode(str):
    """A fragment of Python source, safe to place in a template as it is."""

    __slots__ = ()

    def __repr__(self) -> str:
        # Inside a container literal, a PyCode element is placed as code, not as a string.
        return str(self)


def name(identifier: str) -> PyCode:
    """A reference to a Python name the generator itself defines (a constant, a variable)."""
    if not _IDENTIFIER.match(identifier) or keyword.iskeyword(identifier):
        raise ValueError(f"not a Python identifier: {identifier!r}")
    return PyCode(identifier)


def call(function: str, *args: object, **kwargs: object) -> PyCode:
    """A call of a dotted name the generator chooses, with literal arguments."""
    for part in function.split("."):
        name(part)
    arguments = [literal(arg) for arg in args]
    arguments += [f"{name(key)}={literal(value)}" for key, value in kwargs.items()]
    return PyCode(f"{function}({', '.join(arguments)})")


def literal(value: object) -> PyCode:
    """An exact Python literal for `value`: str, int, float, bool, None, and lists, tuples and
    dicts of those; `PyCode` elements (names from `name()`) are placed as code."""
    return PyCode(_literal(value))


def _literal(value: object) -> str:
    if isinstance(value, PyCode):
        return str(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"no Python literal for {value!r}")
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_literal(key)}: {_literal(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    raise TypeError(f"no Python literal for {type(value).__name__}")


_COMMENT_SAFE = re.compile(r"^[^\x00-\x1f\x7f\u2028\u2029\x85]*$")


def comment(text: str) -> PyCode:
    """Text for a `#` comment: one line, so it cannot end the comment and start code."""
    if not _COMMENT_SAFE.match(text):
        raise ValueError(f"comment text must be a single line without control characters: {text!r}")
    return PyCode(text)

"""Limits on what a spec may hold, so that a broken or hostile file fails in a moment with a
message instead of using minutes and gigabytes. A real spec is a few kilobytes, a few hundred
keys and values, and four or five levels deep: the limits are far above that."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator

from generator.errors import FieldPath, Position

MAX_FILE_BYTES = 1024 * 1024
# A generated file is some tens of kilobytes; what modalgen reads back of one is bounded too.
MAX_GENERATED_BYTES = 8 * 1024 * 1024
# Keys and values, counted one each (a table or list counts once, besides what it holds).
MAX_NODES = 20_000
# Tables and lists nested in each other; the file's top-level table is level 1.
MAX_DEPTH = 32
# Files read for one spec through `extends`: the spec itself and each base each time it is
# reached (bases that share a base read it twice).
MAX_SPEC_FILES = 16

TOO_LARGE = f"the file is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB, the limit for a spec"
TOO_MANY_NODES = f"the file holds more than {MAX_NODES} keys and values, the limit for a spec"
TOO_DEEP = f"tables and lists are nested more than {MAX_DEPTH} levels deep, the limit for a spec"
TOO_MANY_FILES = (
    f"a spec and its bases may read at most {MAX_SPEC_FILES} files through `extends` "
    "(a base counts each time it is reached)"
)
ANCHORS = (
    "anchors and aliases (&name, *name) are not supported in specs; "
    "use `extends: [...]` with a base spec for reuse"
)

MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1
OUT_OF_RANGE = "integers in a spec are 64-bit: from -2**63 to 2**63 - 1"
NOT_FINITE = "nan and infinities are not supported in specs"

# Python refuses to convert longer decimal numbers to and from text (CVE-2020-10735).
MAX_DIGITS = sys.get_int_max_str_digits()
TOO_LONG_NUMBER = f"a number has more than {MAX_DIGITS} digits"
_LONG_NUMBER = re.compile(rf"[0-9][0-9_]{{{MAX_DIGITS},}}")


def find_excess(data: object) -> tuple[FieldPath, str] | None:
    """The first value, in document order, at which `data` goes over MAX_NODES or MAX_DEPTH,
    with the message to report; None when it stays within both."""
    nodes = 0
    for path, value, depth in _walk(data):
        nodes += 1 + (len(value) if isinstance(value, dict) else 0)  # a table's keys count too
        if nodes > MAX_NODES:
            return path, TOO_MANY_NODES
        if depth > MAX_DEPTH and isinstance(value, dict | list):
            return path, TOO_DEEP
    return None


def unusable_number(data: object) -> tuple[FieldPath, str] | None:
    """The first number no spec value can take, with the message to report: an integer beyond
    64 bits (TOML says integers are 64-bit and a parser must refuse the rest; YAML gets the same
    range), or nan or an infinity (no option takes one, and generated code has no literal)."""
    for path, value, _ in _walk(data):
        if type(value) is int and not MIN_INTEGER <= value <= MAX_INTEGER:
            return path, OUT_OF_RANGE
        if isinstance(value, float) and not math.isfinite(value):
            return path, NOT_FINITE
    return None


def _walk(data: object) -> Iterator[tuple[FieldPath, object, int]]:
    """Every value with its path and its depth (the top-level table's is 1), in document order,
    without recursion. Goes no deeper than MAX_DEPTH + 1."""
    stack: list[tuple[FieldPath, object, int]] = [((), data, 1)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, dict):
            items: list[tuple[str | int, object]] = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            continue
        stack.extend(((*path, key), item, depth + 1) for key, item in reversed(items))


def long_number_position(text: str) -> Position | None:
    """Where the first number too long for Python to read is written, if one can be found."""
    match = _LONG_NUMBER.search(text)
    if match is None:
        return None
    return offset_position(text, match.start())


def offset_position(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(text.count("\n", 0, offset) + 1, offset - line_start + 1)


def bracket_depth_position(text: str) -> Position | None:
    """Where `[` and `{` first nest deeper than MAX_DEPTH, skipping strings and comments. A rough
    scan, for a TOML file too deeply nested for the parser to say where."""
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char in "\"'":
            end = index + 1
            while end < len(text) and text[end] not in (char, "\n"):
                end += 2 if char == '"' and text[end] == "\\" else 1
            index = end
        elif char == "#":
            index = text.find("\n", index)
            if index == -1:
                return None
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return offset_position(text, index)
        elif char in "]}":
            depth = max(depth - 1, 0)
        index += 1
    return None

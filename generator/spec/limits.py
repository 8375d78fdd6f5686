"""Limits on what a spec may hold, so that a broken or hostile file fails in a moment with a
message instead of using minutes and gigabytes. A real spec is a few kilobytes, a few hundred
keys and values, and four or five levels deep: the limits are far above that."""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from collections.abc import Iterator

from generator.spec.errors import FieldPath, Position

MAX_FILE_BYTES = 1024 * 1024
# A generated file is some tens of kilobytes; what modalgen reads back of one is bounded too.
MAX_GENERATED_BYTES = 8 * 1024 * 1024
# Keys and values, counted one each (a table or list counts once, besides what it holds).
MAX_NODES = 20_000
# Tables and lists nested in each other; the file's top-level table is level 1.
MAX_DEPTH = 32
# Parts of one dotted key or table header (`a.b.c` has 3): each part nests a table, so a key
# of more parts than MAX_DEPTH could never be within it; `tomllib` is quadratic in them.
MAX_KEY_PARTS = MAX_DEPTH
# Files read for one spec through `extends`: the spec itself and each base each time it is
# reached (bases that share a base read it twice).
MAX_SPEC_FILES = 16

TOO_LARGE = f"the file is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB, the limit for a spec"
TOO_MANY_NODES = f"the file holds more than {MAX_NODES} keys and values, the limit for a spec"
TOO_DEEP = f"tables and lists are nested more than {MAX_DEPTH} levels deep, the limit for a spec"
TOO_MANY_PARTS = (
    f"a key or table header has more than {MAX_KEY_PARTS} dotted parts, the limit for a spec"
)
TOO_MANY_FILES = (
    f"a spec and its bases may read at most {MAX_SPEC_FILES} files through `extends` "
    "(a base counts each time it is reached)"
)
# Files and folders in a folder an image layer copies (`add_local_dir`), links followed: each is
# looked at on every validate, and uploaded on every deploy.
MAX_FOLDER_ENTRIES = 20_000
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


def unusable_values(data: object) -> list[tuple[FieldPath, str]]:
    """Every value no spec field can take, in document order, with the message to report: an
    integer beyond 64 bits (TOML says integers are 64-bit and a parser must refuse the rest;
    YAML gets the same range), nan or an infinity (no option takes one, and generated code has
    no literal), and a date or time (TOML's offset and local date-times, dates and times, and
    YAML's timestamps): no field takes one, and a value that means text must be quoted."""
    found: list[tuple[FieldPath, str]] = []
    for path, value, _ in _walk(data):
        if type(value) is int and not MIN_INTEGER <= value <= MAX_INTEGER:
            found.append((path, OUT_OF_RANGE))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append((path, NOT_FINITE))
        elif isinstance(value, dt.date | dt.time):  # a datetime is a date
            found.append((path, _not_a_date(value)))
    return found


def _not_a_date(value: dt.date | dt.time) -> str:
    kind = (
        "a date-time"
        if isinstance(value, dt.datetime)
        else "a date"
        if isinstance(value, dt.date)
        else "a time"
    )
    return (
        f"{kind} ({value.isoformat()}) is not a spec value: no field takes dates or times; "
        "quote it if it is meant as text"
    )


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


def describe_bytes(size: int) -> str:
    """`1 MiB`, `64 KiB`, `100 bytes`: a limit as a message gives it."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"

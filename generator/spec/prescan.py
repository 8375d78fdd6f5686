"""A cheap look at a TOML spec's text before it is parsed, for the shapes that make parsing slow
or deep: `tomllib` takes time and memory quadratic in the parts of one dotted key (a key of
40,000 parts: 31 s and 9.4 GB), recurses once per nested array or inline table (3,000 deep: a
RecursionError), and builds every value before the spec's limits are counted.

One pass, linear in the text: strings and comments are skipped as TOML reads them, and only
brackets, braces, `=`, `,` and `.` outside them are looked at. It does not validate: text it
lets through may still be invalid TOML, which `tomllib` then reports. It never refuses a file
that the limits counted after parsing (`limits.find_excess`) would accept.
"""

from __future__ import annotations

import re

from generator.spec import limits
from generator.spec.errors import Position

# What the scan stops at: everything else is skipped in bulk.
_SIGNIFICANT = re.compile(r"[\[\]{}=,.#\"'\n]")
_BASIC = re.compile(r'"(?:[^"\\\n]++|\\.)*+"?')
_MULTILINE_BASIC = re.compile(r'"""(?:[^"\\]++|\\[\s\S]|"(?!""))*+(?:"""\"{0,2})?')
_MULTILINE_LITERAL = re.compile(r"'''(?:[^']++|'(?!''))*+(?:'''\'{0,2})?")
_LITERAL = re.compile(r"'[^'\n]*+'?")
_SPACE = re.compile(r"[ \t]*+")


def toml_problem(text: str) -> tuple[Position, str] | None:
    """Where the text first goes over a structural limit, and the message to report: a key
    with more than MAX_KEY_PARTS dotted parts, arrays and inline tables nested more than
    MAX_DEPTH deep, or more keys and list items than MAX_NODES; None when it stays within."""
    stack: list[str] = []  # the open `[` and `{` of values
    in_key = True  # reading a key (or a table header), not a value
    in_header = False
    key_start = 0  # where the key being read starts (before its spaces)
    parts = 1  # of the key being read
    # What `find_excess` will count at the least: 2 for each key (its value, and itself in its
    # table), 2 for each [table] (each header names a table of its own), 1 for each [[table]]
    # and each list item beyond a list's first.
    nodes = 0
    position = 0
    while True:
        match = _SIGNIFICANT.search(text, position)
        if match is None:
            return None
        index = match.start()
        char = text[index]
        position = index + 1
        if char == "\n":
            if not stack:
                in_key, in_header, key_start, parts = True, False, position, 1
        elif char == "#":
            newline = text.find("\n", index)
            if newline == -1:
                return None
            position = newline
        elif char in "\"'":
            position = _string_end(text, index)
        elif char == ".":
            if in_key:
                parts += 1
                if parts > limits.MAX_KEY_PARTS:
                    return _at(text, _SPACE.match(text, key_start).end()), limits.TOO_MANY_PARTS
        elif char == "=":
            if in_key and not in_header:
                nodes += 2
                in_key, parts = False, 1
        elif char == "[":
            if in_key and not stack and not in_header:
                in_header, key_start, parts = True, index, 1
                nodes += 2
                if text.startswith("[", position):
                    position += 1
                    nodes -= 1
            else:
                stack.append("[")
                if len(stack) > limits.MAX_DEPTH:
                    return _at(text, index), limits.TOO_DEEP
        elif char == "{":
            stack.append("{")
            if len(stack) > limits.MAX_DEPTH:
                return _at(text, index), limits.TOO_DEEP
            in_key, key_start, parts = True, position, 1
        elif char in "]}":
            if in_header:
                in_header, in_key = False, False  # the rest of the line is a comment or wrong
            elif stack:
                stack.pop()
                in_key = False
        elif char == "," and stack:
            if stack[-1] == "{":
                in_key, key_start, parts = True, position, 1
            else:
                nodes += 1
        if nodes > limits.MAX_NODES:
            return _at(text, index), limits.TOO_MANY_NODES


def _string_end(text: str, start: int) -> int:
    """Where the string that starts at `start` ends (or where it breaks off, when it is not
    closed: TOML reports that)."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        pattern = _MULTILINE_BASIC if quote == '"' else _MULTILINE_LITERAL
    else:
        pattern = _BASIC if quote == '"' else _LITERAL
    match = pattern.match(text, start)
    return match.end() if match else start + 1


def _at(text: str, offset: int) -> Position:
    return limits.offset_position(text, offset)

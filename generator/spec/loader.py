"""Read a spec file into plain data, remembering where each key was written.

TOML is parsed by `tomllib`, which keeps no positions, so a small scanner recovers the line and
column of each key from the text; YAML is composed by pyyaml's safe loader, whose nodes carry
their marks. Both give the same `SourceDocument`: the data and a map from field path to position.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from generator.locations import SUFFIXES
from generator.spec import limits, prescan, safe_files
from generator.spec.errors import FieldPath, Position, Problem, SpecError


@dataclass(frozen=True)
class SourceDocument:
    """A spec file's data, before validation."""

    path: Path
    display_path: str
    data: dict[str, Any]
    positions: Mapping[FieldPath, Position]
    # For a spec merged from bases: the file that set each field, where it is not this one.
    origins: Mapping[FieldPath, str] = dataclass_field(default_factory=dict)
    # Credentials found in each file read, scanned as written, before any merge, so that a base
    # value a child overrides is still refused where it is written; None when not scanned yet.
    credential_problems: tuple[Problem, ...] | None = None
    # For a spec merged from bases: each base's display path -> its file (for editing it).
    sources: Mapping[str, Path] = dataclass_field(default_factory=dict)

    def position_of(self, field: FieldPath) -> Position | None:
        """Position of the field, or of its closest enclosing field that has one."""
        for end in range(len(field), -1, -1):
            position = self.positions.get(field[:end])
            if position is not None:
                return position
        return None

    def file_of(self, field: FieldPath) -> str:
        """The file that set the field (or its closest enclosing field)."""
        for end in range(len(field), -1, -1):
            if field[:end] in self.positions:
                return self.origins.get(field[:end], self.display_path)
        return self.display_path

    def problem(self, message: str, field: FieldPath = ()) -> Problem:
        """A problem with `field`, located in the file and at the line that set it."""
        return Problem(self.file_of(field), message, field, self.position_of(field))


def load_document(path: Path, display_path: str, root: Path | None = None) -> SourceDocument:
    """Read and parse the spec at `path`, a regular file inside the project `root` (by default
    the folder that holds its `specs/` folder) within the size limit."""
    if path.suffix not in SUFFIXES:
        raise SpecError(
            [
                Problem(
                    display_path,
                    f"unknown spec extension {path.suffix!r}; expected one of "
                    f"{', '.join(SUFFIXES)}",
                )
            ]
        )
    return parse_document(read_spec_text(path, display_path, root), path, display_path)


def read_spec_text(path: Path, display_path: str, root: Path | None = None) -> str:
    """The text of a spec file, read as every spec and base is read: inside the project, a
    regular file, at most MAX_FILE_BYTES, UTF-8. Raises SpecError."""
    root = safe_files.project_root(path) if root is None else root
    try:
        raw = safe_files.read_bytes(root, path, limits.MAX_FILE_BYTES)
    except safe_files.TooLarge:
        raise SpecError([Problem(display_path, limits.TOO_LARGE)]) from None
    except safe_files.FileRefused as refused:
        problem = Problem(display_path, f"the spec {refused.reason}")
        raise SpecError([problem]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(
            [Problem(display_path, f"the file is not UTF-8 text (byte {error.start} is invalid)")]
        ) from None


def parse_document(text: str, path: Path, display_path: str) -> SourceDocument:
    """Parse spec text as the file `path` would hold it (its suffix picks the format)."""
    if len(text) > limits.MAX_FILE_BYTES:
        raise SpecError([Problem(display_path, limits.TOO_LARGE)])
    if "\x00" in text:
        raise SpecError([Problem(display_path, "the file is not text (it contains NUL bytes)")])
    if not text.strip():
        raise SpecError(
            [Problem(display_path, "the file is empty; a spec starts with `version = 1`")]
        )

    if path.suffix == ".toml":
        found = prescan.toml_problem(text)
        if found is not None:
            position, message = found
            raise SpecError([Problem(display_path, message, position=position)])
        data, positions = _parse_toml(text, display_path)
    else:
        # Imported by the first YAML spec: TOML-only projects never pay for PyYAML.
        from generator.spec.yaml_loader import parse_yaml

        data, positions = parse_yaml(text, display_path)
    excess = limits.find_excess(data)
    if excess is not None:
        field, message = excess
        raise SpecError([Problem(display_path, message, position=_near(positions, field))])
    unusable = limits.unusable_values(data)
    if unusable:
        raise SpecError(
            [
                Problem(display_path, message, field, _near(positions, field))
                for field, message in unusable
            ]
        )
    if not isinstance(data, dict):
        raise SpecError(
            [
                Problem(
                    display_path,
                    f"a spec must be a mapping of keys to values, not {_kind(data)}",
                    position=Position(1, 1),
                )
            ]
        )
    return SourceDocument(path, display_path, data, positions)


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _near(positions: Mapping[FieldPath, Position], field: FieldPath) -> Position | None:
    """The position of `field`, else of its closest enclosing field, else of the first field
    inside it (a header such as `[a.b.c]` gives no position to `a` or `a.b`)."""
    position = SourceDocument(Path(), "", {}, positions).position_of(field)
    if position is not None:
        return position
    inside = [value for key, value in positions.items() if key[: len(field)] == field]
    return min(inside, default=None)


# --- TOML -------------------------------------------------------------------------------------

_TOML_ERROR = re.compile(r"^(?P<message>.*?) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
# A key as written: bare, "basic" or 'literal' parts joined by dots. Possessive quantifiers
# (`*+`, `++`) and alternatives that start differently: a long line never makes it backtrack.
_KEY = r"""(?:[A-Za-z0-9_\-]++|"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+'|[ \t]*+\.[ \t]*+)++"""
_TOML_HEADER = re.compile(
    rf"^\s*+(?P<open>\[\[?+)[ \t]*+(?P<path>{_KEY})[ \t]*+\]\]?+[ \t]*+(?:#.*)?$"
)
_TOML_KEY = re.compile(rf"^\s*+(?P<key>{_KEY})[ \t]*+=")
_TOML_INLINE_KEY = re.compile(rf"(?:^|[{{,])\s*+(?P<key>{_KEY})[ \t]*+=")


def _parse_toml(text: str, display_path: str) -> tuple[Any, dict[FieldPath, Position]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_ERROR.match(str(error))
        if match is None:
            raise SpecError([Problem(display_path, f"invalid TOML: {error}")]) from None
        position = Position(int(match["line"]), int(match["column"]))
        raise SpecError(
            [
                Problem(
                    display_path, f"invalid TOML: {_toml_hint(match['message'])}", position=position
                )
            ]
        ) from None
    except RecursionError:  # nesting the pre-scan let through: it should not
        raise SpecError([Problem(display_path, limits.TOO_DEEP)]) from None
    except ValueError:  # an integer too long to convert
        position = limits.long_number_position(text)
        raise SpecError(
            [Problem(display_path, limits.TOO_LONG_NUMBER, position=position)]
        ) from None
    return data, _toml_positions(text)


def _toml_hint(message: str) -> str:
    if message.startswith(("Cannot overwrite a value", "Cannot declare")):
        return f"{message}: a key or table is set twice"
    return message


def _split_dotted(key: str) -> list[str]:
    """The parts of a dotted key as written, quoted parts unquoted and unescaped."""
    if '"' not in key and "'" not in key:
        return [part.strip() for part in key.split(".")]
    try:
        table = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        return [key]
    parts: list[str] = []
    while isinstance(table, dict) and len(table) == 1:
        ((part, table),) = table.items()
        parts.append(part)
    return parts


def _toml_positions(text: str) -> dict[FieldPath, Position]:
    """Line and column of each key. Covers headers, dotted keys and one-line inline tables,
    which is how specs are written; multi-line values keep the position of their key."""
    positions: dict[FieldPath, Position] = {}
    table: FieldPath = ()
    array_counts: dict[FieldPath, int] = {}
    in_multiline = False
    for number, line in enumerate(text.split("\n"), start=1):  # TOML's lines, not Unicode's
        if in_multiline:
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = False
            continue
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _TOML_HEADER.match(line)
        if header and not _TOML_KEY.match(line):
            path: FieldPath = tuple(_split_dotted(header["path"]))
            column = header.start("open") + 1
            if header["open"] == "[[":
                index = array_counts.get(path, 0)
                array_counts[path] = index + 1
                positions.setdefault(path, Position(number, column))
                path = (*path, index)
            positions.setdefault(path, Position(number, column))
            table = path
            continue
        key = _TOML_KEY.match(line)
        if key is None:
            continue
        key_path = (*table, *_split_dotted(key["key"]))
        positions.setdefault(key_path, Position(number, key.start("key") + 1))
        value = line[key.end() :]
        if value.count('"""') % 2 == 1 or value.count("'''") % 2 == 1:
            in_multiline = True
        brace = value.find("{")
        if brace != -1:
            offset = key.end() + brace
            for inner in _TOML_INLINE_KEY.finditer(line, offset):
                inner_path = (*key_path, *_split_dotted(inner["key"]))
                positions.setdefault(inner_path, Position(number, inner.start("key") + 1))
    return positions

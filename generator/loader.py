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
from typing import TYPE_CHECKING, Any

from generator.errors import FieldPath, Position, Problem, SpecError
from generator.locations import SUFFIXES

if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True)
class SourceDocument:
    """A spec file's data, before validation."""

    path: Path
    display_path: str
    data: dict[str, Any]
    positions: Mapping[FieldPath, Position]
    # For a spec merged from bases: the file that set each field, where it is not this one.
    origins: Mapping[FieldPath, str] = dataclass_field(default_factory=dict)

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


def load_document(path: Path, display_path: str) -> SourceDocument:
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
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError(
            [Problem(display_path, f"cannot read the file: {error.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(
            [Problem(display_path, f"the file is not UTF-8 text (byte {error.start} is invalid)")]
        ) from None
    return parse_document(text, path, display_path)


def parse_document(text: str, path: Path, display_path: str) -> SourceDocument:
    """Parse spec text as the file `path` would hold it (its suffix picks the format)."""
    if "\x00" in text:
        raise SpecError([Problem(display_path, "the file is not text (it contains NUL bytes)")])
    if not text.strip():
        raise SpecError(
            [Problem(display_path, "the file is empty; a spec starts with `version = 1`")]
        )

    if path.suffix == ".toml":
        data, positions = _parse_toml(text, display_path)
    else:
        data, positions = _parse_yaml(text, display_path)
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


# --- TOML -------------------------------------------------------------------------------------

_TOML_ERROR = re.compile(r"^(?P<message>.*?) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_HEADER = re.compile(r"^\s*(?P<open>\[\[?)\s*(?P<path>[^\]]+?)\s*\]\]?")
_TOML_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_\-\"'. ]+?)\s*=")
_TOML_INLINE_KEY = re.compile(r"(?:^|[{,])\s*(?P<key>[A-Za-z0-9_\-\"']+)\s*=")


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
    return data, _toml_positions(text)


def _toml_hint(message: str) -> str:
    if message.startswith(("Cannot overwrite a value", "Cannot declare")):
        return f"{message}: a key or table is set twice"
    return message


def _split_dotted(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in key.split(".")]


def _toml_positions(text: str) -> dict[FieldPath, Position]:
    """Line and column of each key. Covers headers, dotted keys and one-line inline tables,
    which is how specs are written; multi-line values keep the position of their key."""
    positions: dict[FieldPath, Position] = {}
    table: FieldPath = ()
    array_counts: dict[FieldPath, int] = {}
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
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
            column = line.index(header["open"]) + 1
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
        positions.setdefault(key_path, Position(number, line.index(key["key"][0]) + 1))
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


# --- YAML -------------------------------------------------------------------------------------


def _yaml_problem(error: yaml.MarkedYAMLError, display_path: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    position = Position(mark.line + 1, mark.column + 1) if mark else None
    problem = error.problem or error.context or "syntax error"
    return Problem(display_path, f"invalid YAML: {problem}", position=position)


def _parse_yaml(text: str, display_path: str) -> tuple[Any, dict[FieldPath, Position]]:
    import yaml  # imported by the first YAML spec: TOML-only projects never pay for it

    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as error:
        raise SpecError([_yaml_problem(error, display_path)]) from None
    except yaml.YAMLError as error:
        raise SpecError([Problem(display_path, f"invalid YAML: {error}")]) from None
    nodes = [node for node in nodes if node is not None]
    if not nodes:
        raise SpecError(
            [Problem(display_path, "the file is empty; a spec starts with `version: 1`")]
        )
    if len(nodes) > 1:
        second = nodes[1].start_mark
        raise SpecError(
            [
                Problem(
                    display_path,
                    "a spec file holds one YAML document, this one holds several",
                    position=Position(second.line + 1, second.column + 1),
                )
            ]
        )
    positions: dict[FieldPath, Position] = {}
    problems: list[Problem] = []
    _index_yaml(nodes[0], (), positions, problems, display_path)
    if problems:
        raise SpecError(problems)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:  # such as a tag the safe loader refuses
        raise SpecError([_yaml_problem(error, display_path)]) from None
    return data, positions


def _index_yaml(
    node: yaml.Node,
    path: FieldPath,
    positions: dict[FieldPath, Position],
    problems: list[Problem],
    display_path: str,
) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: dict[object, Position] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            position = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in seen:
                first = seen[key]
                problems.append(
                    Problem(
                        display_path,
                        f"duplicate key {key!r} (first set at line {first.line}); YAML would "
                        "silently keep only the last value",
                        field=(*path, key),
                        position=position,
                    )
                )
                continue
            seen[key] = position
            positions[(*path, key)] = position
            _index_yaml(value_node, (*path, key), positions, problems, display_path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions[(*path, index)] = Position(
                item.start_mark.line + 1, item.start_mark.column + 1
            )
            _index_yaml(item, (*path, index), positions, problems, display_path)

"""YAML specs: composed with pyyaml's safe loader, whose nodes carry their positions.

Anchors and aliases are refused while composing, before anything is constructed (an alias bomb
never expands), and the limits of `generator.spec.limits` hold as nodes are composed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

from generator.spec import limits
from generator.spec.errors import FieldPath, Position, Problem, SpecError


class _Refused(yaml.MarkedYAMLError):
    """Something a spec may not hold, found while composing, before anything is constructed."""

    def __init__(self, message: str, mark: yaml.Mark) -> None:
        super().__init__(problem=message, problem_mark=mark)


BOOL_TAG = "tag:yaml.org,2002:bool"


class _SpecLoader(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases (an alias-bomb file, whose aliases nest
    aliases, would expand to billions of values) and holding a document to the spec limits.

    Booleans are YAML 1.2's, as TOML's: `true` and `false` only. pyyaml follows YAML 1.1, where
    `yes`, `no`, `on`, `off` are booleans too, so `memory_snapshot: yes` would pass where
    `memory_snapshot = "yes"` is refused, and a string field given `no` (Norway's code) would
    read a boolean. Here they are strings: a boolean field refuses them with its message.
    """

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if event.anchor is not None:  # an anchor, `&name`, or an alias, `*name`
            raise _Refused(limits.ANCHORS, event.start_mark)
        self._nodes += 1
        if self._nodes > limits.MAX_NODES:
            raise _Refused(limits.TOO_MANY_NODES, event.start_mark)
        nests = isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent)
        self._depth += nests
        try:
            if self._depth > limits.MAX_DEPTH:
                raise _Refused(limits.TOO_DEEP, event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= nests


_SpecLoader.add_implicit_resolver(
    BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_limited(text: str) -> Any:
    """The data of one YAML document, composed within the spec limits (anchors refused), for a
    reader that needs no positions; raises yaml.YAMLError."""
    loader = _SpecLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_problem(error: yaml.MarkedYAMLError, display_path: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    position = Position(mark.line + 1, mark.column + 1) if mark else None
    if isinstance(error, _Refused):
        return Problem(display_path, str(error.problem), position=position)
    problem = error.problem or error.context or "syntax error"
    return Problem(display_path, f"invalid YAML: {problem}", position=position)


def parse_yaml(text: str, display_path: str) -> tuple[Any, dict[FieldPath, Position]]:
    loader = _SpecLoader(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
    except yaml.MarkedYAMLError as error:
        raise SpecError([_yaml_problem(error, display_path)]) from None
    except yaml.YAMLError as error:
        raise SpecError([Problem(display_path, f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
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
        data = loader.construct_document(nodes[0])
    except yaml.MarkedYAMLError as error:  # such as a tag the safe loader refuses
        raise SpecError([_yaml_problem(error, display_path)]) from None
    except ValueError:  # an integer too long to convert
        position = limits.long_number_position(text)
        raise SpecError(
            [Problem(display_path, limits.TOO_LONG_NUMBER, position=position)]
        ) from None
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
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(
                        display_path, "a key must be a name, not a list or mapping", path, position
                    )
                )
                continue
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

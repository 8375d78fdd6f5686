"""Problems found in a spec, reported as `file:line:column: field: message`."""

from __future__ import annotations

from dataclasses import dataclass

FieldPath = tuple[str | int, ...]


def format_field_path(path: FieldPath) -> str:
    """`("server", "gpu", "count")` -> `server.gpu.count`; list indices as `volumes[1]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _plain(part) else repr(part)
            text += f".{name}" if text else name
    return text


def _plain(key: object) -> bool:
    """A key that reads unambiguously unquoted: text, neither empty nor padded nor with line
    breaks or other control characters."""
    return isinstance(key, str) and key != "" and key == key.strip() and key.isprintable()


@dataclass(frozen=True, order=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one spec file."""

    file: str
    message: str
    field: FieldPath = ()
    position: Position | None = None

    def __str__(self) -> str:
        # A file name with a line break or an escape sequence stays on its line, inert.
        where = self.file if self.file.isprintable() else repr(self.file)[1:-1]
        if self.position is not None:
            where += f":{self.position.line}:{self.position.column}"
        field = format_field_path(self.field)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec could not be loaded or validated; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems

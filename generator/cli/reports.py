"""What `validate` and `check` found, printed for a person (`text`), for a program (`json`: one
document) or for GitHub Actions (`github`: workflow commands that annotate the files of a pull
request)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

from generator.spec.errors import Problem, format_field_path

FORMATS = ("text", "json", "github")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem, warning or drift, with where it is."""

    severity: Severity
    file: str
    message: str
    field: str = ""
    line: int | None = None
    column: int | None = None
    kind: str = "spec"  # "spec", or the drift's kind ("stale", "orphaned", ...)
    diff: str = ""

    @classmethod
    def from_problem(cls, problem: Problem, severity: Severity) -> Finding:
        position = problem.position
        return cls(
            severity,
            problem.file,
            problem.message,
            format_field_path(problem.field),
            position.line if position else None,
            position.column if position else None,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field or None,
            "message": self.message,
        }


@dataclass
class Report:
    """Everything one command found, and the files it looked at."""

    command: str
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(finding.severity is Severity.ERROR for finding in self.findings)

    def as_json(self) -> str:
        document = {
            "command": self.command,
            "ok": self.ok,
            "files": self.files,
            "problems": [finding.as_json() for finding in self.findings],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def as_github(self) -> str:
        """One workflow command a finding: `::error file=F,line=L,col=C,title=T::message`."""
        lines = []
        for finding in self.findings:
            properties = [f"file={_property(finding.file)}"]
            if finding.line is not None:
                properties.append(f"line={finding.line}")
            if finding.column is not None:
                properties.append(f"col={finding.column}")
            title = f"modalgen {self.command}: {finding.field or finding.kind}"
            properties.append(f"title={_property(title)}")
            message = f"{finding.field}: {finding.message}" if finding.field else finding.message
            lines.append(f"::{finding.severity.value} {','.join(properties)}::{_data(message)}")
        return "".join(line + "\n" for line in lines)


def _data(text: str) -> str:
    """A workflow command's message, escaped as the runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value, escaped as the runner unescapes it."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")

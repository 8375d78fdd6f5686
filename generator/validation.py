"""Turn a `SourceDocument` into a validated `Spec`, or every problem with it at once."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from generator.checks import run_checks
from generator.credentials import redact, spec_findings
from generator.errors import FieldPath, Problem, SpecError
from generator.inherit import load_layered
from generator.loader import SourceDocument
from generator.models import PATTERN_EXPECTATIONS, SPEC_VERSION, Spec


@dataclass(frozen=True)
class LoadedSpec:
    """A spec that passed every check, with the file it came from."""

    spec: Spec
    document: SourceDocument

    @property
    def display_path(self) -> str:
        return self.document.display_path


def load_spec(path: Path, display_path: str | None = None) -> LoadedSpec:
    try:
        document = load_layered(path, display_path or path.as_posix())
    except SpecError as error:
        raise _redacted(error) from None
    return LoadedSpec(validate_document(document), document)


def validate_document(document: SourceDocument) -> Spec:
    """The validated spec; else every problem, with any credential in them redacted."""
    try:
        return _validate(document)
    except SpecError as error:
        raise _redacted(error) from None


def _validate(document: SourceDocument) -> Spec:
    _check_version(document)
    # Credentials are looked for in the data itself, so they are reported even in a spec that
    # is invalid otherwise.
    problems = [document.problem(message, field) for field, message in spec_findings(document.data)]
    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as error:
        problems += [_problem_from_pydantic(document, item) for item in error.errors()]
        raise SpecError(sorted(problems, key=_problem_order)) from None
    problems += [document.problem(message, field) for field, message in run_checks(spec)]
    if problems:
        raise SpecError(sorted(problems, key=_problem_order))
    return spec


def _redacted(error: SpecError) -> SpecError:
    """The same problems, with credentials in messages and keys replaced by their previews."""
    return SpecError(
        [
            dataclasses.replace(
                problem,
                message=redact(problem.message),
                field=tuple(
                    redact(part) if isinstance(part, str) else part for part in problem.field
                ),
            )
            for problem in error.problems
        ]
    )


def _problem_order(problem: Problem) -> tuple[int, int]:
    if problem.position is None:
        return (0, 0)
    return (problem.position.line, problem.position.column)


def _check_version(document: SourceDocument) -> None:
    version = document.data.get("version")
    if version is None:
        raise SpecError(
            [
                Problem(
                    document.display_path,
                    f"missing `version`; add `version = {SPEC_VERSION}` as the first line",
                    ("version",),
                )
            ]
        )
    if type(version) is not int or version != SPEC_VERSION:  # not 1.0 or true, which equal 1
        raise SpecError(
            [
                Problem(
                    document.display_path,
                    f"unknown spec version {version!r}; this modalgen reads version {SPEC_VERSION}",
                    ("version",),
                    document.position_of(("version",)),
                )
            ]
        )


def _problem_from_pydantic(document: SourceDocument, item: dict[str, Any]) -> Problem:
    field: FieldPath = tuple(
        part for part in item["loc"] if not (isinstance(part, str) and _is_union_tag(part))
    )
    kind = item["type"]
    if kind == "extra_forbidden":
        message = f"unknown key {field[-1]!r}"
        known = _known_keys(field[:-1])
        close = difflib.get_close_matches(str(field[-1]), known, n=1, cutoff=0.6)
        if close:
            message += f"; did you mean `{close[0]}`?"
        elif known:
            message += f"; expected one of: {', '.join(known)}"
    elif kind == "missing":
        message = "required key is missing"
        description = _description(field)
        if description:
            message += f": {description}"
    elif kind == "string_pattern_mismatch":
        pattern = item["ctx"]["pattern"]
        expected = PATTERN_EXPECTATIONS.get(pattern, f"text matching {pattern}")
        message = f"expected {expected}; given {_show(item['input'])}"
    else:
        message = f"{item['msg'][0].lower()}{item['msg'][1:]}; given {_show(item['input'])}"
    return document.problem(message, field)


def _is_union_tag(part: str) -> bool:
    # pydantic names the union member that failed, e.g. `list[str]` or `function-after[...]`
    return "[" in part or part in {"str", "int", "float", "bool"}


def _show(value: object) -> str:
    # Redacted before it is shortened, so that no part of a credential is shown.
    text = redact(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def _description(field: FieldPath) -> str | None:
    model = _model_at(field[:-1])
    info = model.model_fields.get(str(field[-1])) if model is not None else None
    return info.description if info is not None else None


def _known_keys(parent: FieldPath) -> list[str]:
    model = _model_at(parent)
    return sorted(model.model_fields) if model is not None else []


def _model_at(parent: FieldPath) -> type[BaseModel] | None:
    """The spec model found at `parent`, if any."""
    model: type[BaseModel] | None = Spec
    for part in parent:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        model = _model_in(info.annotation)
    return model


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None

"""Turn a `SourceDocument` into a validated `Spec`, or every problem with it at once."""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from generator.checks.checks import run_checks
from generator.engines.registry import ENGINES
from generator.engines.sections import DEFAULT_ENGINE, ENGINE_SECTIONS
from generator.exposure import DEFAULT_KIND, KINDS, hint_for
from generator.model.image import LAYERS, AddLocalDir, AddLocalFile, RunScript
from generator.model.models import PATTERN_EXPECTATIONS, SPEC_VERSION, Spec
from generator.spec import safe_files
from generator.spec.credentials import redact, spec_findings
from generator.spec.errors import FieldPath, Problem, SpecError
from generator.spec.fields import ENGINE_FLAG, GPU_EXAMPLE, Gpu, closest_choice
from generator.spec.inherit import load_layered
from generator.spec.loader import SourceDocument


@dataclass(frozen=True)
class LoadedSpec:
    """A spec that passed every check, with the file it came from."""

    spec: Spec
    document: SourceDocument

    @property
    def display_path(self) -> str:
        return self.document.display_path


def load_spec(path: Path, display_path: str | None = None, root: Path | None = None) -> LoadedSpec:
    """The spec at `path`, of the project `root` (by default the folder that holds the spec's
    `specs/` folder), with its bases, validated."""
    root = safe_files.project_root(path) if root is None else root
    try:
        document = load_layered(path, display_path or path.as_posix(), root)
    except SpecError as error:
        raise _redacted(error) from None
    return LoadedSpec(validate_document(document, root), document)


def validate_document(document: SourceDocument, root: Path | None = None) -> Spec:
    """The validated spec; else every problem, with any credential in them redacted. Local
    files are looked for in `root` (by default the folder that holds the `specs/` folder)."""
    root = safe_files.project_root(document.path) if root is None else root
    try:
        return _validate(document, root)
    except SpecError as error:
        raise _redacted(error) from None


def _validate(document: SourceDocument, root: Path) -> Spec:
    _check_version(document)
    # Credentials are looked for in the data itself, so they are reported even in a spec that
    # is invalid otherwise; in each file as written, where the document was read from files.
    found = document.credential_problems
    if found is None:
        found = tuple(
            document.problem(message, field) for field, message in spec_findings(document.data)
        )
    problems = list(found)
    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as error:
        problems += [_problem_from_pydantic(document, item) for item in error.errors()]
        raise SpecError(sorted(problems, key=_problem_order)) from None
    problems += [
        document.problem(message, _as_written(document, field))
        for field, message in run_checks(spec)
    ]
    problems += [
        document.problem(message, field) for field, message in local_path_problems(spec, root)
    ]
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


# Fields the spec may write under an older name: a problem names the key as written.
OLD_NAMES = {("image", "engine_version"): ("image", "sglang_version")}


def _as_written(document: SourceDocument, field: FieldPath) -> FieldPath:
    old = OLD_NAMES.get(field)
    return old if old is not None and old in document.positions else field


def local_paths(spec: Spec) -> list[tuple[str, bool]]:
    """The project paths the spec's image adds, as written, each with whether it is a folder."""
    paths = [
        (layer.add_local_file, False)
        if isinstance(layer, AddLocalFile)
        else (layer.run_script, False)
        if isinstance(layer, RunScript)
        else (layer.add_local_dir, True)
        for layer in spec.image.layers
        if isinstance(layer, AddLocalFile | AddLocalDir | RunScript)
    ]
    paths += [(file.add_local_file, False) for sidecar in spec.sidecars for file in sidecar.files]
    for adapter in spec.model.adapters:
        if adapter.path is not None:  # the folder, and the file that makes it an adapter
            paths += [(adapter.path, True), (f"{adapter.path}/{ADAPTER_CONFIG}", False)]
    return paths


def local_path_problems(spec: Spec, root: Path) -> list[tuple[FieldPath, str]]:
    """What is wrong with the files and folders the image layers copy from the project `root`
    (paths relative to it): each must lie inside it, links resolved, and be a regular file, or
    a folder whose every entry is a regular file or a folder of the project (see
    `safe_files.folder_problems`). Looks at the disk as it is now: call it again before
    trusting an earlier answer."""
    found: list[tuple[FieldPath, str]] = []
    added: list[tuple[FieldPath, object]] = [
        (("image", "layers", index), layer) for index, layer in enumerate(spec.image.layers)
    ]
    added += [
        (("sidecars", index, "files", number), file)
        for index, sidecar in enumerate(spec.sidecars)
        for number, file in enumerate(sidecar.files)
    ]
    for where, layer in added:
        if isinstance(layer, AddLocalFile):
            key, local, what = "add_local_file", layer.add_local_file, "file"
        elif isinstance(layer, AddLocalDir):
            key, local, what = "add_local_dir", layer.add_local_dir, "folder"
        elif isinstance(layer, RunScript):
            key, local, what = "run_script", layer.run_script, "file"
        else:
            continue
        found += _local_path_problems(root, (*where, key), local, what)
    for index, adapter in enumerate(spec.model.adapters):
        if adapter.path is None:
            continue
        field = ("model", "adapters", index, "path")
        problems = _local_path_problems(root, field, adapter.path, "folder")
        found += problems
        if not problems:
            found += _adapter_folder_problems(root, field, adapter.path)
    return found


def _local_path_problems(
    root: Path, field: FieldPath, local: str, what: str
) -> list[tuple[FieldPath, str]]:
    """What is wrong with one project file or folder (`what`) the image adds from `local`."""
    shown_root = safe_files.resolve_root(root)
    is_folder = what == "folder"
    try:
        if Path(local).is_absolute():
            raise safe_files.OutsideProject(f"lies outside the project ({shown_root})")
        safe_files.inspect(root, root / local, folder=is_folder)
    except safe_files.Missing:
        return [(field, f"no {what} {local!r} in the project ({shown_root}); {_RELATIVE}")]
    except safe_files.FileRefused as refused:
        return [(field, f"{local!r} {refused.reason}; {_RELATIVE}")]
    if not is_folder:
        return []
    return [
        (field, problem) for problem in safe_files.folder_problems(root, root / local, shown=local)
    ]


# What the engines read first in an adapter's folder (PEFT's `adapter_config.json`).
ADAPTER_CONFIG = "adapter_config.json"


def _adapter_folder_problems(
    root: Path, field: FieldPath, local: str
) -> list[tuple[FieldPath, str]]:
    """A LoRA adapter's folder holds PEFT's adapter_config.json, which the engines read."""
    try:
        safe_files.inspect(root, root / local / ADAPTER_CONFIG)
    except safe_files.FileRefused as refused:
        return [
            (
                field,
                f"{local}/{ADAPTER_CONFIG} {refused.reason}: a LoRA adapter's folder holds "
                f"PEFT's {ADAPTER_CONFIG} and its weights (what `save_pretrained` writes)",
            )
        ]
    return []


_RELATIVE = "paths are relative to the project, the folder that holds specs/"


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


@dataclass(frozen=True)
class KindedSection:
    """A spec section whose `kind` chooses its model: the server kinds, the engines."""

    label: str  # "server kind"
    models: dict[str, type[BaseModel]]
    default: str
    # (kind, key, document) -> what to write instead, if known
    hint: Callable[[str, str, SourceDocument], str | None]

    def kind_in(self, document: SourceDocument, section: str) -> str | None:
        value = document.data.get(section)
        kind = value.get("kind", self.default) if isinstance(value, dict) else None
        return kind if isinstance(kind, str) else None

    def misplaced(self, kind: str, key: str, document: SourceDocument) -> str | None:
        """What to say of `key`, which the section's model for `kind` does not have."""
        hint = self.hint(kind, key, document)
        if hint:
            return f"`{key}` is not a setting of {self.label} {kind!r}: {hint}"
        others = [other for other, model in self.models.items() if key in model.model_fields]
        if others and kind not in others:
            takes = " and ".join(repr(other) for other in others)
            return f"`{key}` is a setting of {self.label} {takes}, not of {kind!r}"
        return None


def _engine_option_hint(kind: str, key: str, document: SourceDocument) -> str | None:
    """A key of [engine] that is an option of the engine's server command: where it goes."""
    engine = ENGINES.get(kind)
    table = engine.hint_table(document.data.get("image")) if engine is not None else None
    flag = "--" + key.lstrip("-").replace("_", "-")
    if table is None or flag not in table.by_string:
        return None
    section = document.data.get("engine")
    value = section.get(key) if isinstance(section, dict) else None
    shown = json.dumps(value) if isinstance(value, str | int | float | bool) else "..."
    return (
        f"`{flag}` is an option of `{table.command}` ({table.engine} {table.version}), which "
        f"has no typed field here: write it under `engine.extra_args`, as `{json.dumps(flag)} = "
        f"{shown}`"
    )


KINDED_SECTIONS = {
    "server": KindedSection(
        "server kind",
        {kind: KINDS[kind].SECTION for kind in KINDS},
        DEFAULT_KIND,
        lambda kind, key, document: hint_for(kind, key),
    ),
    "engine": KindedSection("engine", dict(ENGINE_SECTIONS), DEFAULT_ENGINE, _engine_option_hint),
}


# pydantic's errors for a value that should have been a model, a dataclass or a dict.
TABLE_ERRORS = {"model_type", "model_attributes_type", "dict_type", "dataclass_type"}
TABLE = "a table (TOML `[section]` or `{ key = value }`, a YAML mapping)"


def _not_a_table(item: dict[str, Any]) -> bool:
    """Whether the error is a value given where a table belongs; a kinded section that is not
    a table has no kind to find."""
    if item["type"] == "union_tag_not_found":
        return not isinstance(item["input"], dict)
    return item["type"] in TABLE_ERRORS


def _problem_from_pydantic(document: SourceDocument, item: dict[str, Any]) -> Problem:
    field = _field_of(document.data, item["loc"])
    kind = item["type"]
    section = KINDED_SECTIONS.get(str(field[0])) if len(field) == 2 else None
    if kind == "extra_forbidden":
        message = f"unknown key {field[-1]!r}"
        chosen = section.kind_in(document, str(field[0])) if section else None
        misplaced = (
            section.misplaced(chosen, str(field[-1]), document) if section and chosen else None
        )
        known = _known_keys(field[:-1], document)
        close = difflib.get_close_matches(str(field[-1]), known, n=1, cutoff=0.6)
        top_level = len(field) > 1 and field[-1] in Spec.model_fields and field[-1] not in known
        if misplaced:
            message = misplaced
        elif top_level:
            message += (
                f" in `{'.'.join(map(str, field[:-1]))}`: `{field[-1]}` is a top-level key (in "
                "TOML, write it above the first `[table]`)"
            )
        elif close:
            message += f"; did you mean `{close[0]}`?"
        elif known:
            message += f"; expected one of: {', '.join(known)}"
    elif kind == "union_tag_invalid" and str(field[0]) in KINDED_SECTIONS:
        section = KINDED_SECTIONS[str(field[0])]
        field = (*field, "kind")
        expected = ", ".join(f"`{tag}`" for tag in section.models)
        message = f"unknown {section.label} {item['ctx']['tag']!r}; expected one of: {expected}"
    elif kind == "union_tag_not_found" and field[:2] == ("image", "layers"):
        keys = ", ".join(f"`{key}`" for key in LAYERS)
        message = f"expected one of the layer keys: {keys}"
    elif kind == "missing":
        message = "required key is missing"
        description = _description(field, document)
        if description:
            message += f": {description}"
    elif _not_a_table(item):
        # pydantic's own message names the model class ("instance of Gpu"), not the spec.
        message = f"expected {TABLE}"
        if _model_at(field, document) is Gpu:
            message += f" or a string such as {GPU_EXAMPLE}"
        message += f"; given {_show(item['input'])}"
    elif kind == "string_pattern_mismatch":
        pattern = item["ctx"]["pattern"]
        expected = PATTERN_EXPECTATIONS.get(pattern, f"text matching {pattern}")
        message = f"expected {expected}; given {_show(item['input'])}"
        given = item["input"]
        if pattern == ENGINE_FLAG and isinstance(given, str) and "_" in given:
            # vLLM's parser takes `--tokenizer_mode`, SGLang's and the catalogs do not.
            dashed = "--" + given.lstrip("-").replace("_", "-")
            message = f"option names are written with dashes: `{dashed}`; given {_show(given)}"
    elif kind in ("bool_type", "bool_parsing"):
        # Strict: `"yes"`, `"true"` and `1` are refused rather than read as true.
        message = (
            "expected true or false, unquoted (a TOML or YAML boolean); given "
            f"{_show(item['input'])}"
        )
    elif kind == "enum":
        message = f"{item['msg'][0].lower()}{item['msg'][1:]}; given {_show(item['input'])}"
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", item["ctx"]["expected"])
        close = closest_choice(item["input"], choices) if isinstance(item["input"], str) else None
        if close:
            message += f"; did you mean {close!r}?"
    elif kind == "value_error":  # a rule of the model's own, which says what it wants
        message = item["msg"].removeprefix("Value error, ")
        if not isinstance(item["input"], dict):  # a whole section is not worth quoting
            message += f"; given {_show(item['input'])}"
    else:
        message = f"{item['msg'][0].lower()}{item['msg'][1:]}; given {_show(item['input'])}"
    return document.problem(message, field)


def _field_of(data: Any, location: tuple[str | int, ...]) -> FieldPath:
    """The spec field of a pydantic error location, without the union members pydantic names
    along the way. The kind of a kinded section or image layer, which pydantic names right
    after it, is never a field; otherwise a part that is a key or index of the data is one."""
    field: list[str | int] = []
    tag_skipped_at = -1
    for part in location:
        in_mapping = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if _is_kind_tag(field, part) and tag_skipped_at != len(field):
            tag_skipped_at = len(field)  # one kind a level: what follows is a field
            continue
        if in_mapping or in_list:
            data = data[part]
        elif _is_union_tag(part):
            continue  # pydantic names the union member it validated
        else:
            data = None
        field.append(part)
    return tuple(field)


def _is_union_tag(part: str | int) -> bool:
    # pydantic names the union member that failed, e.g. `list[str]` or `function-after[...]`
    return isinstance(part, str) and (
        "[" in part or part.startswith("constrained-") or part in {"str", "int", "float", "bool"}
    )


def _show(value: object) -> str:
    # Redacted before it is shortened, so that no part of a credential is shown.
    text = redact(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def _is_kind_tag(field: list[str | int], part: str | int) -> bool:
    """Whether `part`, right after a kinded section's name, is the kind pydantic validated."""
    if len(field) == 1 and str(field[0]) in KINDED_SECTIONS:
        return part in KINDED_SECTIONS[str(field[0])].models
    if len(field) == 3 and field[:2] == ["image", "layers"]:  # an image layer's key
        return part in LAYERS
    return False


def _description(field: FieldPath, document: SourceDocument) -> str | None:
    model = _model_at(field[:-1], document)
    info = model.model_fields.get(str(field[-1])) if model is not None else None
    return info.description if info is not None else None


def _known_keys(parent: FieldPath, document: SourceDocument) -> list[str]:
    model = _model_at(parent, document)
    return sorted(model.model_fields) if model is not None else []


def _model_at(parent: FieldPath, document: SourceDocument) -> type[BaseModel] | None:
    """The spec model found at `parent`, if any; the server section of the spec's kind."""
    model: type[BaseModel] | None = Spec
    for part in parent:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if model is Spec and part in KINDED_SECTIONS:
            section = KINDED_SECTIONS[part]
            kind = section.kind_in(document, part)
            model = section.models.get(kind) if kind else None
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

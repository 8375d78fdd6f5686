"""`modalgen upgrade` and `modalgen flags --diff`: move specs to another engine release.

What changed between two releases is read from the option catalogs of every catalogued release
between them, one step at a time, so that a rename is followed even when the old name is gone
from the newest release (SGLang's `--cuda-graph-max-bs` became a deprecated name of
`--cuda-graph-max-bs-decode` in 0.5.14 and was removed in 0.5.20). From one release to the
next, an option keeps its name when the next release still accepts it, and is renamed when:

- the next release marks the name deprecated with a plain flag as its `replacement`;
- the name is gone and one of its aliases is an option of the next release (an alias that
  became the name);
- the name is gone, and exactly one option of the next release that is not deprecated has its
  argparse destination (`dest`) and action: the same setting under a new flag;
- the engine lists the rename (`Engine.option_renames`: vLLM names its new flags only in help
  text and pull requests), and the next release deprecates or lacks the old name and has the
  new one; such a rename may also give the value the new option takes for the old bare flag.

Anything else that is gone is removed; so is a gone `--no-x` alias, which never becomes the
`--x` it negates.

An upgrade edits, in the file that sets it (a base for a field a base sets): the engine version
(`image.engine_version`, the registry tag, keeping its suffix scheme, or an exact `ENGINE==X`
pin in a layer), and each renamed key of `engine.extra_args` and `engine.config`. An option
removed with no plain replacement, or a value the new release refuses (a choice that is gone, a
type that changed), cannot be translated: it is reported at its file:line, and nothing is
written unless the user forces it. Typed fields need no edit: the engine module passes each as
the new release spells it. `check_upgraded` then reads every spec the edits change from the
edited texts, in memory, validates it against its new release (a typed field the release has no
option for is reported here) and renders its generated file, for the dry run's second diff.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from generator.authoring.spec_edit import SpecEditor, SpecFile, specs_reading
from generator.engines.base import Argument, Engine, OptionRename
from generator.engines.option_table import Option, OptionTable, version_key
from generator.model.models import Spec
from generator.project.drift import unified_diff
from generator.spec.errors import FieldPath, Problem, SpecError, format_field_path
from generator.spec.inherit import load_layered
from generator.spec.loader import SourceDocument

if TYPE_CHECKING:
    from generator.project.project import Project

_FLAG = re.compile(r"--[A-Za-z0-9][A-Za-z0-9_-]*")
_VERSION_IN_LABEL = re.compile(
    r"^(v?)(\d+\.\d+\.\d+(?:\.\d+)?(?:\.post\d+|rc\d+|\.dev\d+)?)(?=-|$)"
)


class UpgradeError(Exception):
    """An upgrade that cannot be planned (an unknown version, no version found); the message
    says why and what to do."""


# --- what changed between two releases ---------------------------------------------------------


@dataclass(frozen=True)
class Renamed:
    old: str
    new: str
    since: str  # the first release with the new name
    how: str  # "deprecated, replaced by", "alias became the name", "same destination"
    value: Any = None  # what `new` takes where `old` was a bare flag; None: the same value
    note: str | None = None  # what else to know (an engine's curated rename says)


@dataclass(frozen=True)
class Removed:
    name: str
    since: str  # the first release without it
    hint: str | None  # the deprecation's advice, when it named no plain flag
    advice: str | None = None  # the engine's advice, where modalgen lists one, with its source

    def explained(self) -> str:
        """What a message about the removal adds: `; its deprecation said: use X`, the engine's
        advice with its source, both, or nothing."""
        text = f"; its deprecation said: use {self.hint}" if self.hint else ""
        return text + (f"; {self.advice}" if self.advice else "")


@dataclass(frozen=True)
class Changed:
    name: str  # the name in the new release
    what: str  # "type", "choices" or "default"
    old: Any
    new: Any


@dataclass
class OptionDiff:
    """How the options of `old` became those of `new`."""

    engine: str
    old: str
    new: str
    renamed: dict[str, Renamed] = field(default_factory=dict)  # by every old name and alias
    removed: dict[str, Removed] = field(default_factory=dict)  # likewise
    added: list[Option] = field(default_factory=list)
    changed: dict[str, list[Changed]] = field(default_factory=dict)  # by the new name
    old_table: OptionTable | None = None
    new_table: OptionTable | None = None

    def follow(self, flag: str) -> str | Removed:
        """The full name `flag` (a full name or alias of `old`) has in `new`, or its removal."""
        if flag in self.removed:
            return self.removed[flag]
        if flag in self.renamed:
            return self.renamed[flag].new
        return flag


def releases_between(engine: Engine, old: str, new: str) -> list[str]:
    """The catalogued releases from `old` to `new`, both included, oldest first."""
    known = engine.available_versions()
    for version in (old, new):
        if version not in known:
            raise UpgradeError(
                f"no {engine.title} {version} option catalog (catalogs: {', '.join(known)}); "
                f"create it with `{engine.extract_command(version)}`"
            )
    low, high = version_key(old), version_key(new)
    return sorted(
        (version for version in known if low <= version_key(version) <= high), key=version_key
    )


def option_diff(engine: Engine, old: str, new: str) -> OptionDiff:
    """What changed in the server options of `engine` from release `old` to `new`."""
    if version_key(new) < version_key(old):
        raise UpgradeError(f"{new} is older than {old}: give the older release first")
    chain = releases_between(engine, old, new)
    tables = [engine.server_options_table(version) for version in chain]
    first, last = tables[0], tables[-1]
    diff = OptionDiff(engine.kind, old, new, old_table=first, new_table=last)
    curated = {rename.old: rename for rename in engine.option_renames}
    advice = {item.old: item for item in engine.removal_advice}
    for option in first.options:
        for name in option.names:
            current, outcome = name, None
            renames: list[tuple[str, str, str]] = []
            listed: OptionRename | None = None
            for previous, following, version in zip(tables, tables[1:], chain[1:], strict=False):
                rename = curated.get(current)
                step = _step(current, previous, following, version, rename)
                if isinstance(step, Removed):
                    outcome = step
                    break
                if step[0] != current:
                    if rename is not None and step[0] == rename.new:
                        listed = rename  # since the release the engine renamed it in
                        renames.append((step[0], rename.since, step[1]))
                    else:
                        renames.append((step[0], version, step[1]))
                current = step[0]
            if outcome is not None:
                listed_advice = advice.get(outcome.name)
                if listed_advice is not None:
                    text = f"{listed_advice.advice} ({listed_advice.source})"
                    outcome = replace(outcome, advice=text)
                diff.removed[name] = outcome
            elif current != name:  # renamed once or more: say when it was first
                value = listed.value if listed else None
                note = listed.note if listed else None
                diff.renamed[name] = Renamed(
                    name, current, renames[0][1], renames[0][2], value, note
                )
        final = diff.follow(option.name)
        translated = option.name in diff.renamed and diff.renamed[option.name].value is not None
        if isinstance(final, str) and not translated:  # a new value is no change of the old
            target = last.by_string.get(final)
            if target is not None:
                changes = _changes(option, target)
                if changes:
                    diff.changed[target.name] = changes
    reached = {diff.follow(name) for option in first.options for name in option.names}
    diff.added = [
        option
        for option in last.options
        if not any(name in reached or name in first.by_string for name in option.names)
    ]
    return diff


def _step(
    name: str,
    previous: OptionTable,
    following: OptionTable,
    version: str,
    curated: OptionRename | None = None,
) -> tuple[str, str] | Removed:
    """`name` of `previous` in the next release `following`: (its name there, how), or gone.
    `curated` is the engine's own rename of `name`, if it lists one."""
    before = previous.by_string[name]
    now = following.by_string.get(name)
    if (
        curated is not None
        and version_key(curated.since) <= version_key(version)
        and (now is None or now.deprecated)
        and curated.new in following.by_string
    ):
        return curated.new, f"a curated rename, from {curated.source}"
    if now is not None:
        replacement = now.replacement if now.deprecated else None
        if replacement and _FLAG.fullmatch(replacement) and replacement in following.by_string:
            return replacement, "deprecated, replaced by"
        return name, ""
    for alias in before.names:
        if alias != name and alias in following.by_string and not _negation(alias, name):
            return following.by_string[alias].name, "an alias that became the name"
    if before.deprecated and before.replacement and before.replacement in following.by_string:
        return before.replacement, "deprecated, replaced by"
    if before.dest:
        same = [
            option
            for option in following.options
            if option.dest == before.dest
            and option.action == before.action
            and not option.deprecated
        ]
        if len(same) == 1:
            return same[0].name, "the same destination"
    hint = before.replacement if before.deprecated else None
    return Removed(name, version, hint)


def _negation(one: str, other: str) -> bool:
    """`--no-x` and `--x`, either way round: one option's two opposite spellings."""
    return one == f"--no-{other[2:]}" or other == f"--no-{one[2:]}"


def _changes(old: Option, new: Option) -> list[Changed]:
    found = []
    if old.describe_type() != new.describe_type():
        found.append(Changed(new.name, "type", old.describe_type(), new.describe_type()))
    before, after = set(old.choices or ()), set(new.choices or ())
    if before != after and old.choices is not None and new.choices is not None:
        lost = [choice for choice in old.choices if choice not in after]
        gained = [choice for choice in new.choices if choice not in before]
        found.append(Changed(new.name, "choices", tuple(lost), tuple(gained)))
    elif (old.choices is None) != (new.choices is None):
        found.append(Changed(new.name, "choices", old.choices, new.choices))
    if old.default != new.default and not (old.is_flag and new.is_flag):
        found.append(Changed(new.name, "default", old.default, new.default))
    return found


def format_diff(diff: OptionDiff, pattern: re.Pattern[str] | None = None) -> list[str]:
    """`modalgen flags --diff` lines: renamed, removed, changed, added."""

    def wanted(*names: str) -> bool:
        return pattern is None or any(pattern.search(name) for name in names)

    lines: list[str] = []
    assert diff.old_table is not None
    for option in diff.old_table.options:
        if option.name in diff.renamed and wanted(option.name, diff.renamed[option.name].new):
            item = diff.renamed[option.name]
            new = item.new if item.value is None else f"{item.new} {item.value}"
            note = f"; {item.note}" if item.note else ""
            lines.append(f"renamed  {item.old} -> {new}  (in {item.since}: {item.how}{note})")
    for option in diff.old_table.options:
        if option.name in diff.removed and wanted(option.name):
            gone = diff.removed[option.name]
            lines.append(f"removed  {gone.name}  (gone in {gone.since}{gone.explained()})")
    for name, changes in diff.changed.items():
        if wanted(name):
            for change in changes:
                if change.what == "choices" and change.old is not None and change.new is not None:
                    text = f"lost {_show(change.old)}; gained {_show(change.new)}"
                else:
                    text = f"{_show(change.old)} -> {_show(change.new)}"
                lines.append(f"changed  {name}  {change.what}: {text}")
    for option in diff.added:
        if wanted(*option.names):
            lines.append(f"added    {option.name}  [{option.describe_type()}]")
    return lines


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value) or "none"
    return "none" if value is None else repr(value)


# --- where a spec says its version --------------------------------------------------------------


def retag(tag: str, version: str) -> str | None:
    """`tag` naming `version` instead, its prefix and suffix kept; None when it names none."""
    reference, at, digest = tag.partition("@")
    repository, colon, label = reference.rpartition(":")
    if not colon or "/" in label:
        return None
    match = _VERSION_IN_LABEL.match(label)
    if match is None:
        return None
    del at, digest  # a digest names the old image: it is dropped with the old version
    return f"{repository}:{match.group(1)}{version}{label[match.end() :]}"


def _repin(requirement: str, package: str, old: str, version: str) -> str | None:
    pattern = re.compile(
        rf"^(\s*{re.escape(package)}(?:\[[^\]]*\])?\s*===?\s*){re.escape(old)}(\s*)$"
    )
    match = pattern.match(requirement)
    return f"{match.group(1)}{version}{match.group(2)}" if match else None


# --- planning an upgrade ---------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One edit of an upgrade, in the file that sets the field."""

    file: str
    field: FieldPath
    before: str
    after: str
    specs: tuple[str, ...]  # the specs this edit changes
    note: str | None = None


@dataclass
class Plan:
    edits: list[Edit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # specs already on the version
    upgraded: list[str] = field(default_factory=list)  # specs moved to the version
    diffs: dict[str, OptionDiff] = field(default_factory=dict)  # by upgraded spec

    @property
    def affected(self) -> list[str]:
        """Every spec the edits change: those upgraded, and those reading an edited base."""
        return sorted({*self.upgraded, *(spec for edit in self.edits for spec in edit.specs)})


def plan_upgrade(
    items: Iterable[tuple[SourceDocument, Engine, str]],
    target: str | None,
    editor: SpecEditor,
    every_document: list[SourceDocument],
) -> Plan:
    """Edit, in `editor`, each (document, engine, its current version) to `target` (None: the
    engine's newest catalogued release); nothing is written. `every_document` is the project's
    specs, to name those an edit of a base changes. What the edited specs then pass is checked
    by `check_upgraded`."""
    result = Plan()
    done: set[tuple[str, FieldPath]] = set()
    diffs: dict[tuple[str, str, str], OptionDiff] = {}  # specs on one release share its diff
    resolve = functools.cache(Path.resolve)  # every edit asks of every spec's files
    for document, engine, current in items:
        version = target or max(engine.available_versions(), key=version_key)
        if version_key(version) < version_key(current):
            raise UpgradeError(
                f"{document.display_path}: its {engine.title} {current} is newer than {version}; "
                "`modalgen upgrade` moves specs forward only"
            )
        if version == current:
            result.current.append(document.display_path)
            continue
        start = current
        if current not in engine.available_versions():
            start = engine.closest_older_version(current) or current
        key = (engine.kind, start, version)
        if key not in diffs:
            diffs[key] = option_diff(engine, start, version)
        diff = diffs[key]
        result.diffs[document.display_path] = diff
        edits = _version_edits(document, engine, current, version)
        edits += _option_edits(document, diff, result.problems)
        for field_path, change, note in edits:
            target_file = editor.owner(document, field_path)
            key = (target_file.display_path, field_path)
            if key in done:
                continue
            done.add(key)
            before, after = change(target_file)
            readers = specs_reading(field_path, target_file, every_document, resolve)
            result.edits.append(
                Edit(
                    target_file.display_path,
                    field_path,
                    before,
                    after,
                    tuple(reader.display_path for reader in readers),
                    note,
                )
            )
        result.upgraded.append(document.display_path)
    return result


_Change = Any  # a callable: SpecFile -> (before, after), making the edit


def _version_edits(
    document: SourceDocument, engine: Engine, current: str, version: str
) -> list[tuple[FieldPath, _Change, str | None]]:
    data = document.data
    image = data.get("image") if isinstance(data.get("image"), dict) else {}
    edits: list[tuple[FieldPath, _Change, str | None]] = []
    for key in ("engine_version", "sglang_version"):
        if isinstance(image.get(key), str):
            edits.append((("image", key), _setter(("image", key), version), None))
    tag = image.get("registry_tag")
    if isinstance(tag, str) and engine.version_in_tag(tag) is not None:
        new_tag = retag(tag, version)
        if new_tag is not None:
            note = (
                f"the tag {new_tag!r} follows the old tag's naming: modalgen cannot see the "
                "registry, so check that it exists before deploying"
            )
            edits.append(
                (("image", "registry_tag"), _setter(("image", "registry_tag"), new_tag), note)
            )
    layers = image.get("layers")
    for index, layer in enumerate(layers if isinstance(layers, list) else []):
        if not isinstance(layer, dict):
            continue
        for method in ("pip_install", "uv_pip_install"):
            packages = layer.get(method)
            for position, requirement in enumerate(packages if isinstance(packages, list) else []):
                if not isinstance(requirement, str):
                    continue
                repinned = _repin(requirement, engine.kind, current, version)
                if repinned is not None:
                    where = ("image", "layers", index, method, position)
                    edits.append((where, _setter(where, repinned), None))
    if not edits:
        raise UpgradeError(
            f"{document.display_path}: cannot tell where its {engine.title} version {current} is "
            "written (no `image.engine_version`, no version in the registry tag, no "
            f"`{engine.kind}==X` in a layer); change it by hand"
        )
    return edits


def _option_edits(
    document: SourceDocument, diff: OptionDiff, problems: list[Problem]
) -> list[tuple[FieldPath, _Change, str | None]]:
    engine_table = document.data.get("engine")
    if not isinstance(engine_table, dict):
        return []
    assert diff.old_table is not None and diff.new_table is not None
    edits: list[tuple[FieldPath, _Change, str | None]] = []
    for section, to_flag, from_flag in (
        ("extra_args", lambda key: key, lambda flag: flag),
        ("config", lambda key: f"--{key}", lambda flag: flag.removeprefix("--")),
    ):
        table = engine_table.get(section)
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            field_path: FieldPath = ("engine", section, key)
            flag = to_flag(key)
            try:
                full = diff.old_table.resolve(flag).expanded
            except ValueError:
                continue  # not an option of the old release: validation says so already
            outcome = diff.follow(full)
            if isinstance(outcome, Removed):
                problems.append(
                    document.problem(
                        f"`{full}` is gone from {diff.engine} {outcome.since} (checked up to "
                        f"{diff.new}) with no option that replaces it{outcome.explained()}; "
                        "remove it or change it by hand",
                        field_path,
                    )
                )
                continue
            option = diff.new_table.by_string[outcome]
            renamed = diff.renamed.get(full)
            new_value = value
            if renamed is not None and renamed.value is not None:
                if value is not True:  # only the bare flag has a translation
                    problems.append(
                        document.problem(
                            f"`{full}` became `{renamed.new} {renamed.value}` in {diff.engine} "
                            f"{renamed.since} ({renamed.how}), for the bare flag (`true`) only; "
                            "change it by hand",
                            field_path,
                        )
                    )
                    continue
                new_value = renamed.value
            refused = diff.new_table.check_value(option, new_value)
            if refused is not None:
                problems.append(
                    document.problem(f"in {diff.engine} {diff.new}: {refused}", field_path)
                )
            new_key = from_flag(outcome)
            if new_key != key:
                note = None
                if renamed is not None:
                    note = f"{renamed.old} -> {renamed.new} in {renamed.since} ({renamed.how})"
                    if renamed.note:
                        note += f"; {renamed.note}"
                edits.append((field_path, _renamer(field_path, new_key, new_value), note))
    return edits


def _typed_problems(
    document: SourceDocument, typed: list[Argument], diff: OptionDiff
) -> list[Problem]:
    """A typed field of the upgraded spec whose option the new release lacks: the engine module
    would pass it (it passes each field's option as the new release spells it, where it has
    one)."""
    assert diff.new_table is not None
    found = []
    for argument in typed:
        if argument.flag is None or argument.value is None or argument.value is False:
            continue
        if argument.field[:2] in {("engine", "extra_args"), ("engine", "config")}:
            continue
        if argument.flag in diff.new_table.by_string:
            continue
        gone = diff.removed.get(argument.flag)
        when = f"{diff.engine} {gone.since} removed it" if gone else f"{diff.engine} has none"
        found.append(
            document.problem(
                f"modalgen passes `{argument.flag}` for this field, and {when} (checked up to "
                f"{diff.new}); remove the field, or stay on an older release",
                argument.field,
            )
        )
    return found


# --- the upgraded specs, before anything is written ---------------------------------------------


@dataclass(frozen=True)
class GeneratedChange:
    """A generated file as it is and as the upgraded spec would generate it."""

    path: str  # relative to the project's root
    before: str
    after: str

    def diff(self) -> str:
        return unified_diff(Path(self.path), self.before, self.after)


@dataclass
class Upgraded:
    """What the upgraded specs would be: their problems, and their generated files (rendered
    only when asked, and only for specs that validate)."""

    problems: list[Problem] = field(default_factory=list)
    generated: list[GeneratedChange] = field(default_factory=list)
    unrendered: list[str] = field(default_factory=list)  # invalid upgraded specs


def check_upgraded(
    plan: Plan,
    editor: SpecEditor,
    project: Project,
    paths: dict[str, Path],
    render: bool,
) -> Upgraded:
    """Load every spec the plan changes from the edited texts in `editor` (nothing is read
    from a file it edits, nothing is written), validate it against its new release, and with
    `render` generate its file in memory. `paths` gives each spec's file by display path."""
    from generator.checks.validation import LoadedSpec, validate_document
    from generator.engines.registry import engine_for
    from generator.render.render import render_all

    result = Upgraded()
    texts = editor.texts()
    reported = {(problem.file, problem.field) for problem in plan.problems}
    loaded: list[LoadedSpec] = []
    for display in plan.affected:
        document = load_layered(paths[display], display, project.root, texts)
        problems: list[Problem] = []
        diff = plan.diffs.get(display)
        if diff is not None:
            try:
                draft = Spec.model_validate(document.data)
            except ValidationError:
                pass  # reported by the validation below
            else:
                problems += _typed_problems(document, engine_for(draft).arguments(draft), diff)
        reported |= {(problem.file, problem.field) for problem in problems}
        try:
            spec = validate_document(document, project.root)
        except SpecError as error:
            problems += [p for p in error.problems if (p.file, p.field) not in reported]
            result.unrendered.append(display)
        else:
            loaded.append(LoadedSpec(spec, document))
        result.problems += problems
    if render and loaded:
        for output in render_all(loaded, project.generated_dir):
            target = project.root / output.path
            before = target.read_text(encoding="utf-8") if target.is_file() else ""
            if before != output.content:
                result.generated.append(
                    GeneratedChange(output.path.as_posix(), before, output.content)
                )
    return result


def _setter(field_path: FieldPath, value: str) -> _Change:
    def change(file: SpecFile) -> tuple[str, str]:
        before = file.get(field_path)
        file.set(field_path, value)
        return str(before), value

    return change


def _renamer(field_path: FieldPath, new_key: str, value: Any) -> _Change:
    """Rename the key of `field_path` to `new_key`, and give it `value` where that differs."""

    def change(file: SpecFile) -> tuple[str, str]:
        old_value = file.get(field_path)
        file.rename(field_path, new_key)
        if type(value) is not type(old_value) or value != old_value:
            file.set((*field_path[:-1], new_key), value)
            return (
                f"{field_path[-1]} = {json.dumps(old_value)}",
                f"{new_key} = {json.dumps(value)}",
            )
        return str(field_path[-1]), new_key

    return change


def describe(edit: Edit) -> str:
    """`specs/x.toml: image.registry_tag 'a' -> 'b'`, the specs it reaches, and any note."""
    text = f"{edit.file}: {format_field_path(edit.field)} {edit.before!r} -> {edit.after!r}"
    others = [spec for spec in edit.specs if spec != edit.file]
    if others:
        text += f"; changes {', '.join(others)}"
    if edit.note:
        text += f" ({edit.note})"
    return text

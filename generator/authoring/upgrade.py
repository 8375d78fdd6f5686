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
  argparse destination (`dest`) and action: the same setting under a new flag.

Anything else that is gone is removed. An upgrade edits, in the file that sets it (a base for a
field a base sets): the engine version (`image.engine_version`, the registry tag, keeping its
suffix scheme, or an exact `ENGINE==X` pin in a layer), and each renamed key of
`engine.extra_args` and `engine.config`. An option removed with no plain replacement, or a value
the new release refuses (a choice that is gone, a type that changed), cannot be translated:
it is reported at its file:line, and nothing is written unless the user forces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from generator.authoring.spec_edit import SpecEditor, SpecFile, specs_reading
from generator.engines.base import Argument, Engine
from generator.engines.option_table import Option, OptionTable, version_key
from generator.spec.errors import FieldPath, Problem, format_field_path
from generator.spec.loader import SourceDocument

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


@dataclass(frozen=True)
class Removed:
    name: str
    since: str  # the first release without it
    hint: str | None  # the deprecation's advice, when it named no plain flag


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
    for option in first.options:
        for name in option.names:
            current, outcome = name, None
            renames: list[tuple[str, str, str]] = []
            for previous, following, version in zip(tables, tables[1:], chain[1:], strict=False):
                step = _step(current, previous, following, version)
                if isinstance(step, Removed):
                    outcome = step
                    break
                if step[0] != current:
                    renames.append((step[0], version, step[1]))
                current = step[0]
            if outcome is not None:
                diff.removed[name] = outcome
            elif current != name:  # renamed once or more: say when it was first
                diff.renamed[name] = Renamed(name, current, renames[0][1], renames[0][2])
        final = diff.follow(option.name)
        if isinstance(final, str):
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
    name: str, previous: OptionTable, following: OptionTable, version: str
) -> tuple[str, str] | Removed:
    """`name` of `previous` in the next release `following`: (its name there, how), or gone."""
    before = previous.by_string[name]
    now = following.by_string.get(name)
    if now is not None:
        replacement = now.replacement if now.deprecated else None
        if replacement and _FLAG.fullmatch(replacement) and replacement in following.by_string:
            return replacement, "deprecated, replaced by"
        return name, ""
    for alias in before.names:
        if alias != name and alias in following.by_string:
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
            lines.append(f"renamed  {item.old} -> {item.new}  (in {item.since}: {item.how})")
    for option in diff.old_table.options:
        if option.name in diff.removed and wanted(option.name):
            gone = diff.removed[option.name]
            hint = f"; its deprecation said: use {gone.hint}" if gone.hint else ""
            lines.append(f"removed  {gone.name}  (gone in {gone.since}{hint})")
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


def plan_upgrade(
    items: Iterable[tuple[SourceDocument, Engine, str, list[Argument]]],
    target: str | None,
    editor: SpecEditor,
    every_document: list[SourceDocument],
) -> Plan:
    """Edit, in `editor`, each (document, engine, its current version, the options its typed
    fields pass) to `target` (None: the engine's newest catalogued release); nothing is
    written. `every_document` is the project's specs, to name those an edit of a base changes."""
    result = Plan()
    done: set[tuple[str, FieldPath]] = set()
    for document, engine, current, typed in items:
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
        diff = option_diff(engine, start, version)
        edits = _version_edits(document, engine, current, version)
        edits += _option_edits(document, diff, result.problems)
        result.problems += _typed_problems(document, typed, diff)
        for field_path, change, note in edits:
            target_file = editor.owner(document, field_path)
            key = (target_file.display_path, field_path)
            if key in done:
                continue
            done.add(key)
            before, after = change(target_file)
            readers = specs_reading(field_path, target_file, every_document)
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
                hint = f"; its deprecation said: use {outcome.hint}" if outcome.hint else ""
                problems.append(
                    document.problem(
                        f"`{full}` is gone from {diff.engine} {outcome.since} (checked up to "
                        f"{diff.new}) with no option that replaces it{hint}; remove it or change "
                        "it by hand",
                        field_path,
                    )
                )
                continue
            option = diff.new_table.by_string[outcome]
            refused = diff.new_table.check_value(option, value)
            if refused is not None:
                problems.append(
                    document.problem(f"in {diff.engine} {diff.new}: {refused}", field_path)
                )
            new_key = from_flag(outcome)
            if new_key != key:
                note = None
                if full in diff.renamed:
                    item = diff.renamed[full]
                    note = f"{item.old} -> {item.new} in {item.since} ({item.how})"
                edits.append((field_path, _renamer(field_path, new_key), note))
    return edits


def _typed_problems(
    document: SourceDocument, typed: list[Argument], diff: OptionDiff
) -> list[Problem]:
    """A typed field whose option the new release removed: the engine module would pass it."""
    found = []
    for argument in typed:
        if argument.flag is None or argument.value is None or argument.value is False:
            continue
        if argument.field[:2] in {("engine", "extra_args"), ("engine", "config")}:
            continue
        outcome = diff.follow(argument.flag)
        if isinstance(outcome, Removed):
            found.append(
                document.problem(
                    f"modalgen passes `{argument.flag}` for this field, and {diff.engine} "
                    f"{outcome.since} removed it (checked up to {diff.new}); remove the field, "
                    "or stay on an older release",
                    argument.field,
                )
            )
    return found


def _setter(field_path: FieldPath, value: str) -> _Change:
    def change(file: SpecFile) -> tuple[str, str]:
        before = file.get(field_path)
        file.set(field_path, value)
        return str(before), value

    return change


def _renamer(field_path: FieldPath, new_key: str) -> _Change:
    def change(file: SpecFile) -> tuple[str, str]:
        file.rename(field_path, new_key)
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

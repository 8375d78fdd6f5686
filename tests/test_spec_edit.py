"""The spec editor: one edit changes that value's text and nothing else, in every committed spec;
a field a base sets is edited in the base; writes refuse a file changed since it was read."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from generator.authoring.spec_edit import (
    EditError,
    FileChanged,
    SpecEditor,
    SpecFile,
    specs_reading,
)
from generator.spec.errors import FieldPath
from generator.spec.inherit import load_layered

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted(
    [
        *(ROOT / "specs").rglob("*.toml"),
        *(ROOT / "specs").rglob("*.yaml"),
        *(ROOT / "examples" / "modal-examples" / "specs").glob("*.toml"),
        *(ROOT / "examples" / "modal-examples" / "specs").glob("*.yaml"),
    ]
)
NEW_REVISION = "fedcba9876543210fedcba9876543210fedcba98"


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(removed, added) line pairs; fails the test when lines were added or removed."""
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new), "".join(difflib.unified_diff(old, new, lineterm="\n"))
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def _scalar_fields(data: object, prefix: FieldPath = ()) -> list[FieldPath]:
    if isinstance(data, dict):
        return [f for key, value in data.items() for f in _scalar_fields(value, (*prefix, key))]
    if isinstance(data, list):
        return [f for i, value in enumerate(data) for f in _scalar_fields(value, (*prefix, i))]
    return [prefix] if isinstance(data, str | int) and not isinstance(data, bool) else []


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_committed_spec_is_covered() -> None:
    assert any(path.suffix == ".yaml" for path in COMMITTED)
    assert len(COMMITTED) >= 6


@pytest.mark.parametrize("path", COMMITTED, ids=_relative)
def test_each_value_edit_changes_only_its_text(path: Path) -> None:
    """Every string and integer of every committed spec, set to another value of its kind: only
    that value's line changes, and only where the value was written."""
    original = path.read_text(encoding="utf-8")
    fields = _scalar_fields(SpecFile.read(path).data())
    assert fields
    for field in fields:
        spec = SpecFile.read(path, _relative(path))
        old = spec.get(field)
        new = old + 7 if isinstance(old, int) else f"{old}-x"
        spec.set(field, new)
        assert spec.get(field) == new
        ((before, after),) = _changed_lines(original, spec.text)
        if any(character in str(new) for character in '"\\'):
            continue  # written with escapes; the one changed line and the value read are checked
        assert str(new) in after and after.replace(str(new), "", 1).strip()
        start = before.find(str(old)) if str(old) in before else None
        if start is not None:  # the text before the value is untouched
            assert after[:start] == before[:start], (field, before, after)


@pytest.mark.parametrize("path", COMMITTED, ids=_relative)
def test_revision_edit_of_same_length_changes_only_the_hash(path: Path) -> None:
    spec = SpecFile.read(path)
    if not spec.has(("model", "revision")):
        pytest.skip("this file sets no revision (a base)")
    old = spec.get(("model", "revision"))
    spec.set(("model", "revision"), NEW_REVISION)
    ((before, after),) = _changed_lines(spec.original, spec.text)
    assert after == before.replace(old, NEW_REVISION)


def test_toml_keeps_comments_and_layout_on_every_edit(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(
        "version = 1  # the format\n\n[model]\n# pinned below\n"
        'name = "org/m"\nrevision = "main"     # a branch\n'
        'download = "build"  # at build time\n\n[server]\ngpu = { type = "H100", count = 1 }\n'
    )
    spec = SpecFile.read(path)
    spec.set(("model", "revision"), NEW_REVISION)
    spec.set(("server", "gpu", "count"), 2)
    spec.rename(("model", "download"), "weights")
    spec.set(("engine", "extra_args", "--cuda-graph-max-bs"), 16)
    spec.remove(("version",))
    assert spec.text == (
        "\n[model]\n# pinned below\n"
        f'name = "org/m"\nrevision = "{NEW_REVISION}"     # a branch\n'
        'weights = "build"  # at build time\n\n[server]\ngpu = { type = "H100", count = 2 }\n'
        "\n[engine.extra_args]\n--cuda-graph-max-bs = 16\n\n"
    )


def test_yaml_keeps_comments_quotes_and_long_lines(tmp_path: Path) -> None:
    long = "a sentence long enough to be wrapped by a YAML dumper at eighty columns, " * 2
    path = tmp_path / "spec.yaml"
    path.write_text(
        "version: 1\nmodel:\n  # the model\n  name: org/m\n  revision: 'main'  # a branch\n"
        f'probe:\n  system_prompt: {long.strip()}\n  session_id: "0"\n\nserver:\n'
        "  volumes:\n  - name: a\n  - name: b   # second\n"
    )
    spec = SpecFile.read(path)
    spec.set(("model", "revision"), NEW_REVISION)
    spec.set(("server", "volumes", 1, "name"), "c")
    spec.rename(("probe", "session_id"), "session")
    assert spec.text == (
        f"version: 1\nmodel:\n  # the model\n  name: org/m\n  revision: '{NEW_REVISION}'  # a "
        f'branch\nprobe:\n  system_prompt: {long.strip()}\n  session: "0"\n\nserver:\n'
        "  volumes:\n  - name: a\n  - name: c   # second\n"
    )


def test_a_field_set_by_a_base_is_edited_in_the_base(tmp_path: Path) -> None:
    (tmp_path / "_base.toml").write_text('[model]\nname = "org/m"\nrevision = "main"  # b\n')
    for name in ("a", "b"):
        (tmp_path / f"{name}.toml").write_text(f'extends = ["_base.toml"]\nversion = 1  # {name}\n')
    (tmp_path / "c.toml").write_text(
        f'extends = ["_base.toml"]\n[model]\nrevision = "{"1" * 40}"\n'
    )
    documents = [load_layered(tmp_path / f"{n}.toml", f"{n}.toml") for n in ("a", "b", "c")]
    editor = SpecEditor()
    edited = editor.set(documents[0], ("model", "revision"), NEW_REVISION)
    assert edited.display_path == "_base.toml"
    affected = specs_reading(("model", "revision"), edited, documents)
    assert [document.display_path for document in affected] == ["a.toml", "b.toml"]
    assert "+revision = " in editor.diff() and "a/_base.toml" in editor.diff()
    assert [file.display_path for file in editor.write()] == ["_base.toml"]
    assert (tmp_path / "_base.toml").read_text() == (
        f'[model]\nname = "org/m"\nrevision = "{NEW_REVISION}"  # b\n'
    )
    assert (tmp_path / "a.toml").read_text() == 'extends = ["_base.toml"]\nversion = 1  # a\n'


def test_a_field_no_file_sets_goes_into_the_spec_not_the_base(tmp_path: Path) -> None:
    (tmp_path / "_base.toml").write_text('[model]\nname = "org/m"\n')
    (tmp_path / "a.toml").write_text('extends = ["_base.toml"]\nversion = 1\n')
    document = load_layered(tmp_path / "a.toml", "a.toml")
    editor = SpecEditor()
    assert editor.set(document, ("model", "revision"), "main").display_path == "a.toml"


def test_write_refuses_a_file_edited_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text('[model]\nrevision = "main"\n')
    spec = SpecFile.read(path)
    spec.set(("model", "revision"), NEW_REVISION)
    path.write_text('[model]\nrevision = "main"  # the user was here\n')
    with pytest.raises(FileChanged, match="changed on disk"):
        spec.write()
    assert path.read_text() == '[model]\nrevision = "main"  # the user was here\n'
    assert [p.name for p in tmp_path.iterdir()] == ["spec.toml"]  # no temporary file left


def test_write_is_atomic_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("model:\n  revision: main\n")
    path.chmod(0o640)
    spec = SpecFile.read(path)
    assert spec.write() is False  # nothing to write
    spec.set(("model", "revision"), NEW_REVISION)
    assert spec.write() is True
    assert path.read_text() == f"model:\n  revision: {NEW_REVISION}\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["spec.yaml"]


def test_an_editor_writes_none_when_one_file_changed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.toml").write_text('[model]\nrevision = "main"\n')
    documents = [load_layered(tmp_path / f"{n}.toml", f"{n}.toml") for n in ("a", "b")]
    editor = SpecEditor()
    for document in documents:
        editor.set(document, ("model", "revision"), NEW_REVISION)
    (tmp_path / "b.toml").write_text('[model]\nrevision = "dev"\n')
    with pytest.raises(FileChanged):
        editor.write()
    assert (tmp_path / "a.toml").read_text() == '[model]\nrevision = "main"\n'


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda spec: spec.remove(("model", "nothing")), "not set"),
        (lambda spec: spec.rename(("model", "name"), "revision"), "already set"),
        (lambda spec: spec.set(("model", "name", "inner"), 1), "holds a value"),
        (lambda spec: spec.set((), 1), "field path"),
    ],
)
def test_impossible_edits_are_errors_that_change_nothing(
    tmp_path: Path, action: object, message: str
) -> None:
    path = tmp_path / "spec.toml"
    path.write_text('[model]\nname = "org/m"\nrevision = "main"\n')
    spec = SpecFile.read(path)
    with pytest.raises(EditError, match=message):
        action(spec)  # type: ignore[operator]
    assert not spec.changed

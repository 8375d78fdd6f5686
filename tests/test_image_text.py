"""No line break or continuation reaches an image instruction: every text of the image section
is one line (one rule, by type), commands end without a backslash, package lists hold no
options, and a header value is printable ASCII. Free text that never reaches the image (a
warm-up message) keeps its line breaks."""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator, StringConstraints, TypeAdapter

from generator.checks.validation import validate_document
from generator.model.image import ImageSection
from generator.spec import fields
from generator.spec.errors import FieldPath, SpecError
from generator.spec.fields import (
    CONTROL_CHARACTERS,
    ENV_VAR_NAME,
    MODAL_OBJECT_NAME,
    SGLANG_VERSION,
    HeaderValue,
    OneLine,
    ShellCommand,
)
from generator.spec.loader import SourceDocument
from tests.test_checks import MINIMAL

# Every control character the rule refuses, one of each kind.
CONTROLS = ["\n", "\r", "\t", "\x00", "\x0b", "\x1b", "\x1f", "\x7f", "\x85", "\u2028", "\u2029"]
# Patterns strict enough to refuse any control character themselves.
STRICT_PATTERNS = {ENV_VAR_NAME, MODAL_OBJECT_NAME, SGLANG_VERSION, r"^3\.[0-9]{1,2}$"}


def _text_types(annotation: Any, seen: set[type]) -> typing.Iterator[Any]:
    """Every string type inside `annotation`, with its metadata, through models, unions,
    lists and mappings."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *_ = get_args(annotation)
        if base is str:
            yield annotation
        else:
            yield from _text_types(base, seen)
    elif annotation is str:
        yield annotation
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for info in annotation.model_fields.values():
            field_type = info.annotation
            if info.metadata:
                field_type = Annotated[(field_type, *info.metadata)]
            yield from _text_types(field_type, seen)
    elif origin in (Union, types.UnionType, list, dict, tuple):
        for argument in get_args(annotation):
            yield from _text_types(argument, seen)


def _guarded(text_type: Any) -> bool:
    metadata = get_args(text_type)[1:] if get_origin(text_type) is Annotated else ()
    patterns = {m.pattern for m in metadata if isinstance(m, StringConstraints) and m.pattern}
    return any(isinstance(m, BeforeValidator) for m in metadata) or bool(patterns & STRICT_PATTERNS)


def test_every_text_of_the_image_section_refuses_control_characters() -> None:
    found = list(_text_types(ImageSection, set()))
    assert len(found) > 10  # the walk reaches the layers
    unguarded = [text_type for text_type in found if not _guarded(text_type)]
    assert unguarded == [], "image text without the one-line rule (use fields.OneLine)"


@pytest.mark.parametrize("pattern", sorted(STRICT_PATTERNS))
@pytest.mark.parametrize("control", CONTROLS)
def test_the_strict_patterns_refuse_every_control_character(pattern: str, control: str) -> None:
    adapter = TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])
    for text in (f"A{control}", f"{control}A", f"3.1{control}2", f"0.5.1{control}"):
        with pytest.raises(ValueError):
            adapter.validate_python(text)


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("text_type", [OneLine, ShellCommand, HeaderValue])
def test_the_one_line_types_name_the_character_found(text_type: Any, control: str) -> None:
    with pytest.raises(ValueError) as refused:
        TypeAdapter(text_type).validate_python(f"echo one{control}RUN touch /pwned")
    assert "at character 9" in str(refused.value)
    assert "without control characters" in str(refused.value)


def test_the_rule_and_the_schema_pattern_agree() -> None:
    for code in range(0x20):
        assert fields.control_character(chr(code)) is not None
    for char in "\x7f\x85\u2028\u2029":
        assert fields.control_character(char) is not None
    for char in " aZ~\u00e9\u20ac\U0001f600":
        assert fields.control_character(char) is None
    assert f"[^{CONTROL_CHARACTERS}]" in fields.ONE_LINE


@pytest.mark.parametrize("command", ["echo one \\", "echo one \\  ", "\\", "make install \\"])
def test_a_command_that_continues_on_the_next_line_is_refused(command: str) -> None:
    with pytest.raises(ValueError) as refused:
        TypeAdapter(ShellCommand).validate_python(command)
    assert "ends with a backslash" in str(refused.value)


@pytest.mark.parametrize(
    "command", ["echo 'a\\b'", "printf '%s\\n' x", "echo one && echo two", "echo \\ x"]
)
def test_a_backslash_inside_a_command_is_fine(command: str) -> None:
    assert TypeAdapter(ShellCommand).validate_python(command) == command


# A spec whose image uses every layer kind and every text field of the image section.
FULL_IMAGE = {
    "registry_tag": "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime",
    "add_python": "3.12",
    "registry_secret": "registry",
    "env": {"HF_HUB_CACHE": "/root/.cache/huggingface/hub"},
    "layers": [
        {
            "uv_pip_install": ["torch==2.8.0"],
            "index_url": "https://pypi.example.com/simple",
            "extra_index_url": "https://download.pytorch.org/whl/cu129",
            "find_links": "https://example.com/wheels/",
            "secrets": ["pypi"],
        },
        {"pip_install": ["numpy==2.0.0"], "index_url": "https://pypi.example.com/simple"},
        {"apt_install": ["git"]},
        {"run_commands": ["echo one", "echo two"], "secrets": ["github"]},
        {"env": {"SGLANG_LOG_LEVEL": "info"}},
        {"add_local_file": "spec.toml", "remote_path": "/root/spec.toml"},
        {"add_local_dir": "patches", "remote_path": "/root/patches", "ignore": ["*.pyc"]},
    ],
}


def _strings(value: Any, path: FieldPath = ()) -> list[FieldPath]:
    if isinstance(value, dict):
        return [field for key, item in value.items() for field in _strings(item, (*path, key))]
    if isinstance(value, list):
        return [field for i, item in enumerate(value) for field in _strings(item, (*path, i))]
    return [path] if isinstance(value, str) else []


IMAGE_STRINGS = _strings({"image": FULL_IMAGE})


def _set(data: dict, field: FieldPath, value: str) -> dict:
    planted = copy.deepcopy(data)
    target: Any = planted
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    return planted


def test_the_full_image_section_is_valid() -> None:
    ImageSection.model_validate(FULL_IMAGE)
    assert len(IMAGE_STRINGS) >= 20


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(IMAGE_STRINGS),
    control=st.sampled_from(CONTROLS),
    where=st.sampled_from(["start", "middle", "end"]),
    injected=st.sampled_from(["RUN touch /pwned", "", " #"]),
)
def test_a_control_character_anywhere_in_the_image_is_refused_at_its_field(
    field: FieldPath, control: str, where: str, injected: str
) -> None:
    data = {**copy.deepcopy(MINIMAL), "image": copy.deepcopy(FULL_IMAGE)}
    original = _get(data, field)
    broken = {
        "start": control + injected + original,
        "middle": original[:1] + control + injected + original[1:],
        "end": original + control + injected,
    }[where]
    document = SourceDocument(Path("spec.toml"), "spec.toml", _set(data, field, broken), {})
    with pytest.raises(SpecError) as refused:
        validate_document(document)
    assert any(problem.field == field for problem in refused.value.problems), str(refused.value)


def _get(data: Any, field: FieldPath) -> Any:
    for part in field:
        data = data[part]
    return data


@pytest.mark.parametrize(
    ("package", "advice"),
    [
        ("--index-url=https://pypi.example.com/simple", "`index_url` of this layer"),
        ("-i https://pypi.example.com/simple", "`index_url` of this layer"),
        ("--extra-index-url https://x.example.com", "`extra_index_url` of this layer"),
        ("--find-links=https://x.example.com", "`find_links` of this layer"),
        ("--pre", "`pre = true`"),
        ("-e git+https://github.com/org/repo.git#egg=repo", "`name @ git+https://"),
        ("-r requirements.txt", "list the packages themselves"),
        ("--no-build-isolation", "a `run_commands` layer"),
    ],
)
@pytest.mark.parametrize("layer", ["pip_install", "uv_pip_install"])
def test_an_option_in_a_package_list_is_refused_with_the_field_to_use(
    layer: str, package: str, advice: str
) -> None:
    with pytest.raises(ValueError) as refused:
        ImageSection.model_validate({**FULL_IMAGE, "layers": [{layer: ["torch", package]}]})
    assert "is an option, not a package" in str(refused.value)
    assert advice in str(refused.value)


def test_an_option_in_an_apt_list_is_refused() -> None:
    with pytest.raises(ValueError) as refused:
        ImageSection.model_validate({**FULL_IMAGE, "layers": [{"apt_install": ["-y", "git"]}]})
    assert "run `apt-get install` with options" in str(refused.value)


def _validate(**sections: Any) -> None:
    data = copy.deepcopy(MINIMAL)
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}

    validate_document(SourceDocument(Path("spec.toml"), "spec.toml", data, {}))


@pytest.mark.parametrize("session_id", ["abc\r\nX-Injected: 1", "a\tb", "caf\u00e9", "a\x00"])
def test_a_session_id_that_http_refuses_is_refused(session_id: str) -> None:
    with pytest.raises(SpecError) as refused:
        _validate(probe={"session_id": session_id})
    (problem,) = refused.value.problems
    assert problem.field == ("probe", "session_id")


def test_text_that_never_reaches_the_image_keeps_its_line_breaks() -> None:
    _validate(
        warmup={"message": {"text": "Line one.\nLine two.\r\n\tIndented."}},
        probe={"system_prompt": "You are brief.\nAnswer in one line.", "session_id": "s-1"},
    )

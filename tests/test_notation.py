"""The user's own notation: GPUs as Modal writes them (`"H100:2"`, a fallback list) and
durations as `"20m"`, normalized into the same spec as the table and integer forms."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import generator
from generator.checks.validation import validate_document
from generator.cli.cli import main
from generator.model.models import Spec
from generator.project.project import Project
from generator.spec.errors import SpecError
from generator.spec.fields import Gpu
from generator.spec.gpus import GpuType
from generator.spec.inherit import load_layered
from generator.spec.loader import SourceDocument
from tests.conftest import FLAT_SPECS, ROOT

MODAL_EXAMPLES = ROOT / "examples" / "modal-examples" / "specs"


@pytest.mark.parametrize(
    ("written", "gpu_type", "count"),
    [
        ("H100", GpuType.H100, 1),
        ("H100:2", GpuType.H100, 2),
        ("H100!:2", GpuType.H100_EXACT, 2),
        ("B200+", GpuType.B200_PLUS, 1),
        ("B300:8", GpuType.B300, 8),
        ("A10G", GpuType.A10G, 1),
        ("h100:2", GpuType.H100, 2),
        ("a100-80gb:4", GpuType.A100_80GB, 4),
        ({"type": "H100", "count": 2}, GpuType.H100, 2),
    ],
)
def test_gpu_strings_are_the_table(written: object, gpu_type: GpuType, count: int) -> None:
    gpu = Gpu.model_validate(written)
    assert (gpu.type, gpu.count, gpu.fallbacks) == (gpu_type, count, ())
    assert gpu.modal_spec == f"{gpu_type.value}:{count}"


def test_a_gpu_list_is_the_type_and_its_fallbacks() -> None:
    gpu = Gpu.model_validate(["H100:2", "a100-40gb:2"])
    assert gpu == Gpu(type=GpuType.H100, count=2, fallbacks=(GpuType.A100_40GB,))
    assert gpu.modal_spec == ["H100:2", "A100-40GB:2"]
    assert gpu.smallest == GpuType.A100_40GB


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("H900", "unknown GPU type; expected one of: T4, L4,"),
        ("H100:0", "expected a GPU count of at least 1 after the colon"),
        ("H100:two", "expected a GPU count of at least 1 after the colon"),
        (["H100", "A100-80GB:2"], "every GPU type in a fallback list takes the same count"),
        (["H100:2", "h100:2"], "expected each GPU type once"),
        ([], "expected at least one GPU"),
    ],
)
def test_bad_gpu_notation_is_refused(written: object, expected: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(expected)):
        Gpu.model_validate(written)


def flat_spec(name: str) -> dict[str, Any]:
    return tomllib.loads((FLAT_SPECS / name).read_text(encoding="utf-8"))


def spec_with(data: dict[str, Any], section: str, **values: object) -> dict[str, Any]:
    return {**data, section: {**data[section], **values}}


@pytest.mark.parametrize(
    ("written", "seconds"),
    [(90, 90), ("90s", 90), ("20m", 1200), ("2h", 7200), ("1h30m", 5400), ("1H", 3600)],
)
def test_durations_are_seconds(written: object, seconds: int) -> None:
    data = spec_with(flat_spec("qwen36_vlm.toml"), "server", timeout=written)
    assert Spec.model_validate(data).server.timeout == seconds


def test_a_zero_grace_period_is_allowed_as_a_duration_too() -> None:
    data = tomllib.loads((MODAL_EXAMPLES / "vllm_low_latency.toml").read_text())
    spec = Spec.model_validate(spec_with(data, "server", exit_grace_period="0s"))
    assert spec.server.exit_grace_period == 0


# The same app, written in the table/integer forms and in the notation.
NOTATION = {
    "qwen36_vlm.toml": (
        FLAT_SPECS / "qwen36_vlm.toml",
        {
            'gpu = { type = "H100!", count = 1 }': 'gpu = "h100!"',
            "timeout = 900": 'timeout = "15m"',
            "ready_timeout = 600": 'ready_timeout = "10m"',
            "timeout = 120": 'timeout = "2m"',
        },
    ),
    "vllm_low_latency.toml": (
        MODAL_EXAMPLES / "vllm_low_latency.toml",
        {
            'gpu = { type = "H100", count = 1 }': 'gpu = "H100:1"',
            "startup_timeout = 600": 'startup_timeout = "10m"',
            "exit_grace_period = 5": 'exit_grace_period = "5s"',
            "ready_timeout = 300": 'ready_timeout = "5m"',
        },
    ),
}


def rendered(root: Path, name: str, text: str) -> str:
    (root / "specs").mkdir(parents=True)
    (root / "specs" / name).write_text(text, encoding="utf-8")
    (output,) = Project(root).render([root / "specs" / name])
    return output.content


@pytest.mark.parametrize("name", NOTATION)
def test_the_notation_generates_the_same_app(name: str, tmp_path: Path) -> None:
    source, replacements = NOTATION[name]
    text = source.read_text(encoding="utf-8")
    notation = text
    for old, new in replacements.items():
        assert old in notation
        notation = notation.replace(old, new, 1)
    assert rendered(tmp_path / "notation", name, notation) == rendered(
        tmp_path / "table", name, text
    )


def test_a_gpu_list_renders_as_modal_list(tmp_path: Path) -> None:
    data = flat_spec("qwen36_vlm.toml")
    data = spec_with(data, "server", gpu=["H100!:1", "H200:1"])
    code = rendered(tmp_path, "qwen36_vlm.toml", tomli_w.dumps(data))
    assert "GPU = ['H100!:1', 'H200:1']" in code or 'GPU = ["H100!:1", "H200:1"]' in code


def test_a_fallback_with_less_memory_is_what_the_weights_must_fit() -> None:
    data = spec_with(flat_spec("qwen36_vlm.toml"), "server", gpu=["H100!:1", "L4:1"])
    document = SourceDocument(Path("spec.toml"), "spec.toml", data, {})
    with pytest.raises(SpecError, match=r"1 x L4 x 24 GB"):
        validate_document(document)


def test_show_prints_the_canonical_forms(tmp_path: Path) -> None:
    name, (source, replacements) = next(iter(NOTATION.items()))
    text = source.read_text(encoding="utf-8")
    for old, new in replacements.items():
        text = text.replace(old, new, 1)
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["show", str(tmp_path / name), "-C", str(tmp_path)])
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.output)
    assert shown["server"]["gpu"] == {"type": "H100!", "count": 1, "fallbacks": []}
    assert shown["server"]["timeout"] == 900
    assert shown["lifecycle"]["ready_timeout"] == 600
    assert shown["warmup"]["timeout"] == 120


# --- No message names a class of the implementation ------------------------------------------


def generator_class_names() -> set[str]:
    names = set()
    for module in pkgutil.walk_packages(generator.__path__, "generator."):
        if module.name.endswith("__main__"):
            continue  # runs the command line when imported
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__.startswith("generator")
            ):
                names.add(value.__name__)
    return names


# Values of every shape, put in place of each part of a valid spec in turn.
WRONG_VALUES: list[object] = [5, -1, 0, 1.5, True, "x", "soon", [1, 2], ["x"], [], {}, {"zz": 1}]


def parts(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += parts(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += parts(item, (*prefix, index))
    return found


def replaced(data: Any, field: tuple[str | int, ...], new: object) -> Any:
    if not field:
        return new
    head, *rest = field
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = replaced(data[head], tuple(rest), new)  # type: ignore[index]
    return copy


def broken_specs() -> list[dict[str, Any]]:
    bases = [
        load_layered(path, path.name).data
        for path in [*sorted(FLAT_SPECS.iterdir()), *sorted(MODAL_EXAMPLES.iterdir())]
    ]
    broken = [
        replaced(data, field, new)
        for data in bases
        for field in parts(data)
        if field != ("version",)
        for new in WRONG_VALUES
    ]
    cases = ROOT / "tests" / "cases"
    for folder in sorted(cases.iterdir()):
        spec = next(path for path in folder.iterdir() if path.name.startswith("spec."))
        with contextlib.suppress(SpecError):  # refused before validation: no pydantic message
            broken.append(load_layered(spec, spec.name).data)
    return broken


def test_no_message_names_a_class_of_the_implementation() -> None:
    class_names = generator_class_names()
    assert {"Gpu", "Spec", "ServerSection"} <= class_names
    # A Modal Volume is a word of the spec too, the class aside.
    implementation = sorted(class_names - {"Volume"})
    leaking = re.compile(r"instance of|discriminator|\b(?:" + "|".join(implementation) + r")\b")
    error_types: set[str] = set()
    messages: set[str] = set()
    for data in broken_specs():
        try:
            Spec.model_validate(data)
        except ValidationError as error:
            error_types |= {item["type"] for item in error.errors()}
        document = SourceDocument(Path("spec.toml"), "spec.toml", data, {})
        try:
            validate_document(document)
        except SpecError as error:
            messages |= {problem.message for problem in error.problems}
    # The errors whose pydantic message names a class were among those triggered.
    assert {"model_type", "union_tag_not_found", "dict_type", "duration", "gpu_type"} <= (
        error_types
    )
    named = sorted(message for message in messages if leaking.search(message))
    assert not named, "\n".join(named)


def test_a_section_written_as_a_list_is_a_table_in_the_message() -> None:
    data = {**flat_spec("qwen36_vlm.toml"), "server": [1, 2], "lifecycle": "soon"}
    document = SourceDocument(Path("spec.toml"), "spec.toml", data, {})
    with pytest.raises(SpecError) as raised:
        validate_document(document)
    messages = [problem.message for problem in raised.value.problems]
    table = "expected a table (TOML `[section]` or `{ key = value }`, a YAML mapping)"
    assert f"{table}; given [1, 2]" in messages
    assert f"{table}; given 'soon'" in messages


def test_a_gpu_of_the_wrong_shape_names_the_string_form() -> None:
    data = spec_with(flat_spec("qwen36_vlm.toml"), "server", gpu=5)
    document = SourceDocument(Path("spec.toml"), "spec.toml", data, {})
    with pytest.raises(SpecError, match=re.escape('or a string such as "H100:2"; given 5')):
        validate_document(document)


def test_the_notation_is_in_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(Spec.model_json_schema(mode="validation"))
    data = flat_spec("qwen36_vlm.toml")
    for gpu, timeout in (("h100!:2", "1h30m"), (["H100:2", "A100-80GB:2"], 90)):
        assert not list(validator.iter_errors(spec_with(data, "server", gpu=gpu, timeout=timeout)))
    for gpu, timeout in (("H100:2", "soon"), ("H100 2", 90), ([], 90)):
        assert list(validator.iter_errors(spec_with(data, "server", gpu=gpu, timeout=timeout)))


# Every character other than 0-9 that `str.isdigit` takes: other scripts' digits, which `int()`
# reads, and superscripts and circled digits, which it trips on.
NON_ASCII_DIGITS = [chr(code) for code in range(0x80, 0x110000) if chr(code).isdigit()]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NON_ASCII_DIGITS), st.sampled_from(["{}", "1{}", "{}0", "{}{}"]))
def test_numbers_in_every_notation_take_ascii_digits_only(digit: str, shape: str) -> None:
    written = shape.format(digit, digit)
    for gpu in (f"H100:{written}", [f"H100:{written}", f"A100-80GB:{written}"]):
        with pytest.raises(ValidationError, match="expected a GPU count"):
            Gpu.model_validate(gpu)
    data = flat_spec("qwen36_vlm.toml")
    for duration in (written, f"{written}s", f"{written}m", f"1h{written}m"):
        with pytest.raises(ValidationError):
            Spec.model_validate(spec_with(data, "server", timeout=duration))
    image = {**data["image"], "engine_version": f"0.5.{written}"}
    with pytest.raises(ValidationError, match="engine_version"):
        Spec.model_validate({**data, "image": image})
    engine = {**data["engine"], "extra_args": {"--max-running-requests": written}}
    with pytest.raises(SpecError, match="takes an integer"):
        validate_document(
            SourceDocument(Path("spec.toml"), "spec.toml", {**data, "engine": engine}, {})
        )


def test_every_kind_of_non_ascii_digit_is_covered() -> None:
    assert {"\u00b2", "\u0661", "\uff11", "\U0001d7da", "\u2460"} <= set(NON_ASCII_DIGITS)


@settings(max_examples=100, deadline=None)
@given(
    st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]),
    st.integers(0, len("lmsysorg/sglang:v0.5.9")),
)
def test_a_registry_tag_with_a_control_character_or_a_space_is_refused(
    character: str, at: int
) -> None:
    tag = "lmsysorg/sglang:v0.5.9"
    data = flat_spec("qwen36_vlm.toml")
    image = {**data["image"], "registry_tag": tag[:at] + character + tag[at:]}
    with pytest.raises(ValidationError, match="registry_tag"):
        Spec.model_validate({**data, "image": image})


@pytest.mark.parametrize(
    "tag",
    [
        "lmsysorg/sglang:v0.5.10.post1-cu130-runtime",
        "vllm/vllm-openai:v0.11.2",
        "nvidia/cuda:12.4.0-devel-ubuntu22.04",
        "ghcr.io/org/team/image:1.0",
        "registry.example.com:5000/model-server",
        "lmsysorg/sglang@sha256:" + "a" * 64,
        "lmsysorg/sglang:v0.5.9@sha256:" + "0" * 64,
    ],
)
def test_registry_tags_as_docker_reads_them_are_accepted(tag: str) -> None:
    data = flat_spec("qwen36_vlm.toml")
    Spec.model_validate({**data, "image": {**data["image"], "registry_tag": tag}})

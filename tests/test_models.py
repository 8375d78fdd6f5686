"""The spec models: strict, described, and with defaults from the references."""

from __future__ import annotations

import types
import typing

import pytest
from pydantic import BaseModel, ValidationError

from generator.engines.sglang.engine import cuda_graph_max_bs
from generator.model import models
from generator.model.models import Spec


def spec_models() -> list[type[BaseModel]]:
    return [
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, models.SpecModel)
    ]


@pytest.mark.parametrize("model", spec_models(), ids=lambda model: model.__name__)
def test_every_field_is_described_and_unknown_keys_are_refused(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"


def test_validated_specs_are_immutable() -> None:
    spec = Spec.model_validate(
        {
            "version": 1,
            "app": {"name": "x", "class_name": "Server"},
            "image": {"registry_tag": "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"},
            "model": {"name": "Qwen/Qwen3-8B", "revision": "0" * 40},
            "server": {"gpu": {"type": "H100"}},
        }
    )
    with pytest.raises(ValidationError):
        spec.server.port = 1  # type: ignore[misc]
    # Defaults drawn from the reference apps.
    assert spec.server.port == 8000
    assert spec.server.target_inputs == 10
    assert cuda_graph_max_bs(spec) == 20
    assert spec.engine.enable_metrics is True
    assert spec.warmup.max_tokens == 16
    assert spec.deep_gemm_enabled and spec.deep_gemm.fail_build_on_error


def test_request_extras_take_nested_tables_but_not_the_stream_settings() -> None:
    extras = {"top_k": 20, "chat_template_kwargs": {"enable_thinking": False, "depth": [1, 2]}}
    assert models.ProbeSection(request_extras=extras).request_extras == extras
    with pytest.raises(ValidationError, match="`stream`: the test client sets it itself"):
        models.ProbeSection(request_extras={"stream": False})


def test_warm_up_extras_go_into_each_request_but_leave_its_length_alone() -> None:
    assert models.WarmupSection(request_extras={"temperature": 0}).request_extras == {
        "temperature": 0
    }
    with pytest.raises(ValidationError, match="`max_tokens`: the warm-up"):
        models.WarmupSection(request_extras={"max_tokens": 99})


def test_a_download_table_without_at_is_a_build_time_download() -> None:
    table = models.DownloadSection.model_validate({"ignore_patterns": ["*.pth"]})
    assert (table.at, table.ignore_patterns) == ("build", ["*.pth"])
    assert models.DownloadSection.model_validate("build").at == "build"
    assert models.DownloadSection().at == "start"  # no `download` at all
    with pytest.raises(ValidationError, match="`ignore_patterns`: settings of the build-time"):
        models.DownloadSection.model_validate({"at": "start", "ignore_patterns": ["*.pth"]})


def all_spec_models() -> list[type[BaseModel]]:
    """Every spec model, wherever it is defined (engines, server kinds, image layers)."""
    found: list[type[BaseModel]] = []
    pending = [models.SpecModel]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found and subclass.__module__.startswith("generator."):
                found.append(subclass)
                pending.append(subclass)
    return found


def _is_bool(annotation: object) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_bool(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_bool(arg) for arg in typing.get_args(annotation))
    return annotation is bool


# Fields where a boolean is one of several scalar types, strings and numbers included: the
# default of a probe request option (its type is its default's).
ANY_SCALAR_FIELDS = {("RequestOption", "default")}
BOOL_FIELDS = [
    (model, name)
    for model in all_spec_models()
    for name, field in model.model_fields.items()
    if _is_bool(field.annotation) and (model.__name__, name) not in ANY_SCALAR_FIELDS
]


def field_errors(model: type[BaseModel], name: str, value: object) -> list[str]:
    """The error types of field `name` when `value` is given for it (other fields may fail)."""
    try:
        model.model_validate({name: value})
    except ValidationError as error:
        return [detail["type"] for detail in error.errors() if detail["loc"][:1] == (name,)]
    return []


def test_the_bool_fields_are_found() -> None:
    names = {f"{model.__name__}.{name}" for model, name in BOOL_FIELDS}
    assert {"LifecycleSection.memory_snapshot", "UvPipInstall.pre", "BenchSection.enabled"} <= names
    assert {"VllmEngineSection.enforce_eager", "HttpServerSection.h2_enabled"} <= names
    assert len(BOOL_FIELDS) >= 25


@pytest.mark.parametrize(
    ("model", "name"), BOOL_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in BOOL_FIELDS]
)
def test_booleans_are_strict(model: type[BaseModel], name: str) -> None:
    """`memory_snapshot = "yes"` is a mistake to report, not true: only true and false pass."""
    for value in ("yes", "true", "on", "1", 1, 0, 1.0):
        # Refused as a boolean (a field that also takes a list says so for the list too).
        assert "bool_type" in field_errors(model, name, value), f"{value!r} accepted"
    for value in (True, False):
        assert field_errors(model, name, value) == []

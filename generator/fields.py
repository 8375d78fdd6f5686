"""Building blocks of the spec models: the strict base model, patterns and shared types.

Kept apart from `models` so that the server kinds (`generator.exposure`) and the engines
(`generator.engines`) can define their own sections without importing the whole spec.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from generator.gpus import GPU_INFO, GpuType

# Modal's timeout when a function sets none (`modal.App.cls(timeout=300)`).
MODAL_DEFAULT_TIMEOUT = 300

PYTHON_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
ENV_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,255}$"
# Modal's rule for App, Volume and Secret names (modal._utils.name_utils.is_valid_object_name):
# at most 64 characters, letters, digits, dashes, underscores and periods, and not an App id.
# The App-id rule is in `checks.app_names`.
MODAL_OBJECT_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
HF_REPO_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$"
GIT_COMMIT = r"^[0-9a-f]{40}$"
# A model revision: a full commit hash, or the name of a branch or tag (`main`, `v1.0`,
# `refs/pr/3`), which `validate_revision` holds to git's rules for ref names.
MODEL_REVISION = r"^[A-Za-z0-9_][A-Za-z0-9._+/-]*$"
_ABBREVIATED_COMMIT = re.compile(r"[0-9a-fA-F]{7,39}")
_COMMIT_ANY_CASE = re.compile(r"[0-9a-fA-F]{40}")
ENGINE_FLAG = r"^--[a-z0-9][a-z0-9-]*$"
ABSOLUTE_PATH = r"^/[^\x00]*$"
SPECULATIVE_ALGORITHM = r"^[A-Z][A-Z0-9_]*$"
SGLANG_VERSION = r"^\d+\.\d+\.\d+(?:\.post\d+|rc\d+|\.dev\d+)?$"

PythonIdentifier = Annotated[str, StringConstraints(pattern=PYTHON_IDENTIFIER)]
ModalObjectName = Annotated[str, StringConstraints(pattern=MODAL_OBJECT_NAME)]
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_NAME)]
AbsolutePosixPath = Annotated[str, StringConstraints(pattern=ABSOLUTE_PATH)]

# A duration as people write it: "90s", "20m", "2h", "1h30m" (the pattern is the schema's too,
# so written for editors' regular expressions as well as Python's).
DURATION = r"^(?=\d)(?:(\d+)[hH])?(?:(\d+)[mM])?(?:(\d+)[sS])?$"
_DURATION = re.compile(DURATION)
_DURATION_EXPECTED = 'expected seconds (an integer) or a duration such as "90s", "20m" or "2h"'


def _seconds(value: object) -> object:
    """A duration string as int seconds; anything else is left to the integer validation."""
    if not isinstance(value, str) or value.isdigit():
        return value
    match = _DURATION.match(value)
    if match is None:
        raise PydanticCustomError("duration", _DURATION_EXPECTED)
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _duration_schema(minimum: dict[str, int]) -> WithJsonSchema:
    integer = {"type": "integer", **minimum}
    return WithJsonSchema({"anyOf": [integer, {"type": "string", "pattern": DURATION}]})


# Seconds as an integer or a duration string; `modalgen show` prints the integer.
Seconds = Annotated[
    int, BeforeValidator(_seconds), Field(gt=0), _duration_schema({"exclusiveMinimum": 0})
]
NonNegativeSeconds = Annotated[
    int, BeforeValidator(_seconds), Field(ge=0), _duration_schema({"minimum": 0})
]

# What each pattern means, for error messages: "expected <this>".
PATTERN_EXPECTATIONS = {
    PYTHON_IDENTIFIER: "a Python identifier: letters, digits and underscores, not starting "
    "with a digit",
    MODAL_OBJECT_NAME: "a Modal object name: at most 64 letters, digits, dashes, underscores "
    "or periods",
    ENV_VAR_NAME: "an environment variable name: letters, digits and underscores, not "
    "starting with a digit",
    HF_REPO_ID: "a Hugging Face repository id, `org/name`",
    GIT_COMMIT: "a full 40-character lower-case commit hash (pin the exact revision; a branch "
    "or tag can move under you)",
    MODEL_REVISION: "a full 40-character commit hash, or a branch or tag name such as `main` "
    "(letters, digits, `.`, `_`, `-`, `+` and `/`)",
    ENGINE_FLAG: "a full option name such as `--enable-torch-compile`",
    ABSOLUTE_PATH: "an absolute path starting with `/`",
    r"^[^\n\r\x00]*$": "one line, without a line break or NUL (it stays one literal)",
    SGLANG_VERSION: "an engine release such as `0.5.10.post1` or `0.11.2`",
    SPECULATIVE_ALGORITHM: "an algorithm name as SGLang writes it, in capitals, such as `EAGLE`",
}


def is_commit(revision: str) -> bool:
    """A full commit hash, as opposed to a branch or tag name, which can move."""
    return re.fullmatch(GIT_COMMIT, revision) is not None


def validate_revision(revision: str) -> str:
    """A model revision the Hub can resolve and a reader cannot mistake; ValueError otherwise."""
    if _COMMIT_ANY_CASE.fullmatch(revision) and not is_commit(revision):
        raise ValueError(f"a commit hash is written in lower case: {revision.lower()!r}")
    if _ABBREVIATED_COMMIT.fullmatch(revision) and any(c.isdigit() for c in revision):
        raise ValueError(
            f"{revision!r} looks like an abbreviated commit hash, which the Hub would read as a "
            "branch or tag name: write the full 40-character hash"
        )
    if (
        ".." in revision
        or "//" in revision
        or revision.endswith(("/", ".", ".lock"))
        or "/." in revision
    ):
        raise ValueError(
            f"{revision!r} is not a branch or tag name git allows (no `..`, `//` or `/.`, and "
            "no `/`, `.` or `.lock` at the end)"
        )
    return revision


def closest_choice(given: str, choices: list[str]) -> str | None:
    """The choice `given` is most likely a typo of (`L40` -> `L40S`), in any case; or None."""
    by_folded = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(given.casefold(), list(by_folded), n=1, cutoff=0.8)
    return by_folded[close[0]] if close else None


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors and validated specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Modal reads GPU types regardless of case: "h100:2" is "H100:2".
GPU_TYPES = {gpu_type.value.upper(): gpu_type for gpu_type in GpuType}
GPU_STRING = r"^[A-Za-z0-9-]+[!+]?(?::[0-9]+)?$"
GPU_EXAMPLE = '"H100:2"'


class Gpu(SpecModel):
    """The GPUs of a container: a table, or Modal's own notation, `"H100:2"` or a list of such
    strings (types Modal may fall back to, in order, each with the same count)."""

    type: GpuType = Field(
        description="GPU type as Modal names it; `H100!` never upgrades to an H200, `B200+` may "
        "upgrade to a B300."
    )
    count: int = Field(default=1, ge=1, description="Number of GPUs attached to each container.")
    fallbacks: tuple[GpuType, ...] = Field(
        default=(),
        description="GPU types Modal may use instead, in order, when `type` is unavailable; "
        "with the same count.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_notation(cls, value: Any) -> Any:
        """`"H100:2"` and `["H100:2", "A100-80GB:2"]` as the table; types in any case."""
        if isinstance(value, str):
            gpu_type, count = _parse_gpu(value)
            return {"type": gpu_type, "count": count}
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return _fallback_table(value)
        if isinstance(value, dict) and isinstance(value.get("type"), str):
            return {**value, "type": GPU_TYPES.get(value["type"].upper(), value["type"])}
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        table = handler.resolve_ref_schema(handler(core_schema))
        text = {"type": "string", "pattern": GPU_STRING}
        return {"anyOf": [table, text, {"type": "array", "items": text, "minItems": 1}]}

    @property
    def types(self) -> tuple[GpuType, ...]:
        """The type, then its fallbacks."""
        return (self.type, *self.fallbacks)

    @property
    def smallest(self) -> GpuType:
        """The type with the least memory: what the weights must fit."""
        return min(self.types, key=lambda gpu_type: GPU_INFO[gpu_type].memory_gb)

    @property
    def modal_spec(self) -> str | list[str]:
        """What Modal's `gpu=` argument takes: `"H100:2"`, or a list with the fallbacks."""
        specs = [f"{gpu_type.value}:{self.count}" for gpu_type in self.types]
        return specs[0] if len(specs) == 1 else specs


def _parse_gpu(text: str) -> tuple[GpuType, int]:
    name, colon, count = text.strip().partition(":")
    gpu_type = GPU_TYPES.get(name.upper())
    if gpu_type is None:
        known = ", ".join(gpu_type.value for gpu_type in GpuType)
        close = closest_choice(name, [gpu_type.value for gpu_type in GpuType])
        guess = f"did you mean {close}? " if close else ""
        raise PydanticCustomError(
            "gpu_type",
            f"unknown GPU type; {guess}expected one of: {known}, with a count after a colon if "
            f"more than one, such as {GPU_EXAMPLE}",
        )
    if not colon:
        return gpu_type, 1
    if not count.isdigit() or int(count) < 1:
        raise PydanticCustomError(
            "gpu_count",
            f"expected a GPU count of at least 1 after the colon, such as {GPU_EXAMPLE}",
        )
    return gpu_type, int(count)


def _fallback_table(texts: list[str]) -> dict[str, Any]:
    """A list of GPUs Modal may choose from, in order, as the table."""
    if not texts:
        raise PydanticCustomError("gpu_list", f"expected at least one GPU, such as [{GPU_EXAMPLE}]")
    parsed = [_parse_gpu(text) for text in texts]
    counts = {count for _, count in parsed}
    if len(counts) > 1:
        raise PydanticCustomError(
            "gpu_list", "every GPU type in a fallback list takes the same count"
        )
    types = [gpu_type for gpu_type, _ in parsed]
    if len(set(types)) < len(types):
        raise PydanticCustomError("gpu_list", "expected each GPU type once in a fallback list")
    return {"type": types[0], "count": counts.pop(), "fallbacks": types[1:]}

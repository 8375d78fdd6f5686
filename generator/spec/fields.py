"""Building blocks of the spec models: the strict base model, patterns and shared types.

Kept apart from `models` so that the server kinds (`generator.exposure`) and the engines
(`generator.engines`) can define their own sections without importing the whole spec.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
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

from generator.spec.gpus import GPU_INFO, GpuType
from generator.spec.reserved_names import refusal

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
# Characters that end a line or are not text somewhere: C0 controls (tab, line feed, carriage
# return, NUL, ...), DEL, and Unicode's next-line, line and paragraph separators.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f\x85\u2028\u2029"
ONE_LINE = rf"^[^{CONTROL_CHARACTERS}]*$"
ABSOLUTE_PATH = rf"^/[^{CONTROL_CHARACTERS}]*$"
SPECULATIVE_ALGORITHM = r"^[A-Z][A-Z0-9_]*$"
SGLANG_VERSION = r"^[0-9]+\.[0-9]+\.[0-9]+(?:\.post[0-9]+|rc[0-9]+|\.dev[0-9]+)?$"

# A container image reference as Docker reads it (distribution/reference's grammar):
# [registry[:port]/]path[:tag][@algorithm:hex], ASCII only, no spaces or control characters.
_DOMAIN_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REGISTRY_IMAGE = (
    rf"^(?:(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?/)?"
    rf"{_PATH_PART}(?:/{_PATH_PART})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$"
)

_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_CONTROL_NAMES = {
    "\n": "a line break (\\n)",
    "\r": "a carriage return (\\r)",
    "\t": "a tab (\\t)",
    "\x00": "a NUL character",
    "\x85": "a next-line character (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}


def control_character(text: str) -> str | None:
    """What the first control character of `text` is, in words, and where; None if it has none."""
    match = _CONTROL.search(text)
    if match is None:
        return None
    char = match.group()
    what = _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
    return f"{what} at character {match.start() + 1}"


def _one_line(where: str) -> BeforeValidator:
    """A rule that refuses a control character, saying which and where, and why it matters
    `where` the value goes; a value that is not text is left to the type's own validation."""

    def refuse_control_characters(value: object) -> object:
        found = control_character(value) if isinstance(value, str) else None
        if found is not None:
            raise PydanticCustomError(
                "control_character",
                "holds {found}: {where}; write it on one line, without control characters",
                {"found": found, "where": where},
            )
        return value

    return BeforeValidator(refuse_control_characters)


_IN_THE_IMAGE = _one_line(
    "it is written into an instruction of the image (a Dockerfile line), where a line break "
    "ends the instruction and starts another"
)
_IN_A_COMMAND = _one_line(
    "it is written into an instruction of the image (a Dockerfile line), where a line break "
    "ends the instruction and starts another (a heredoc or a longer script goes in a file of "
    "the project, run by a `run_script` layer)"
)
_IN_A_HEADER = _one_line(
    "it is sent as an HTTP header value, which may not hold one (aiohttp refuses the request "
    "at run time)"
)


def _no_continuation(value: object) -> object:
    """Refuse a command that ends with a backslash, which a Dockerfile reads as `continued on
    the next line`: the next instruction would become part of this one."""
    if isinstance(value, str) and re.search(r"\\[ ]*$", value):
        raise PydanticCustomError(
            "line_continuation",
            "ends with a backslash, which continues a Dockerfile line: the image's next "
            "instruction would be joined to this command; write each command whole, without a "
            "backslash at its end (join steps with `&&` in one entry)",
        )
    return value


# Text that reaches an image instruction: one line, refused with a message that names the
# character found (the pattern is the JSON Schema's, and a second guard).
OneLine = Annotated[str, StringConstraints(pattern=ONE_LINE), _IN_THE_IMAGE]
NonEmptyLine = Annotated[
    str,
    StringConstraints(min_length=1, pattern=ONE_LINE),
    _IN_THE_IMAGE,
]
# A shell command or an image reference that Modal writes into a Dockerfile unquoted: one line,
# and no backslash at its end.
SHELL_COMMAND = rf"^(?:[^{CONTROL_CHARACTERS}]*[^{CONTROL_CHARACTERS}\\ ])? *$"
ShellCommand = Annotated[
    str,
    StringConstraints(min_length=1, pattern=SHELL_COMMAND),
    BeforeValidator(_no_continuation),
    _IN_A_COMMAND,
]
# A registry image reference: one line (the same message for a control character), and of the
# shape registries accept.
RegistryImage = Annotated[str, StringConstraints(pattern=REGISTRY_IMAGE), _IN_THE_IMAGE]

PythonIdentifier = Annotated[str, StringConstraints(pattern=PYTHON_IDENTIFIER)]


def _free_name(value: str) -> str:
    reason = refusal(value)
    if reason is not None:
        raise PydanticCustomError("reserved_name", "{reason}", {"reason": reason})
    return value


# A spec value that becomes a name of the generated module: an identifier that neither Python
# nor the generated code has a use for already (`generator.spec.reserved_names`).
GeneratedName = Annotated[PythonIdentifier, AfterValidator(_free_name)]
ModalObjectName = Annotated[str, StringConstraints(pattern=MODAL_OBJECT_NAME)]
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_NAME)]
AbsolutePosixPath = Annotated[str, StringConstraints(pattern=ABSOLUTE_PATH), _IN_THE_IMAGE]
# A header value the test client and the load test send: printable ASCII, which every HTTP
# client and proxy passes as it is.
HEADER_VALUE = r"^[\x20-\x7e]*$"
HeaderValue = Annotated[str, StringConstraints(pattern=HEADER_VALUE), _IN_A_HEADER]

# A duration as people write it: "90s", "20m", "2h", "1h30m" (the pattern is the schema's too,
# so written for editors' regular expressions as well as Python's). Numbers in every notation
# are ASCII digits: `\d` and `str.isdigit` also take superscripts and other scripts'
# digits, which `int()` reads or trips on.
DURATION = r"^(?=[0-9])(?:([0-9]+)[hH])?(?:([0-9]+)[mM])?(?:([0-9]+)[sS])?$"
_DURATION = re.compile(DURATION)
_DURATION_EXPECTED = 'expected seconds (an integer) or a duration such as "90s", "20m" or "2h"'


def _seconds(value: object) -> object:
    """A duration string as int seconds; anything else is left to the integer validation."""
    if not isinstance(value, str) or ascii_digits(value):
        return value
    match = _DURATION.match(value)
    if match is None:
        raise PydanticCustomError("duration", _DURATION_EXPECTED)
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def ascii_digits(text: str) -> bool:
    """Whether `text` is a number written in ASCII digits, and only them."""
    return text.isascii() and text.isdigit()


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

# A field of a JSON request body, as a dotted path (`chat_template_kwargs.reasoning_effort`).
DOTTED_FIELD = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"

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
    REGISTRY_IMAGE: "a registry image such as `lmsysorg/sglang:v0.5.9-cu129-amd64-runtime` or "
    "`repo@sha256:<hex>`: lower-case path, no spaces, tabs or other control characters",
    ONE_LINE: "one line, without control characters",
    HEADER_VALUE: "a header value of printable ASCII characters",
    SHELL_COMMAND: "a command on one line, without control characters or a backslash at its end",
    DOTTED_FIELD: "a field of the request body, as names joined by dots, such as "
    "`chat_template_kwargs.reasoning_effort`",
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
    if not ascii_digits(count) or len(count) > 18 or int(count) < 1:
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

"""Building blocks of the spec models: the strict base model, patterns and shared types.

Kept apart from `models` so that the server kinds (`generator.exposure`) and the engines
(`generator.engines`) can define their own sections without importing the whole spec.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from generator.gpus import GpuType

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
ENGINE_FLAG = r"^--[a-z0-9][a-z0-9-]*$"
ABSOLUTE_PATH = r"^/[^\x00]*$"
SGLANG_VERSION = r"^\d+\.\d+\.\d+(?:\.post\d+|rc\d+|\.dev\d+)?$"

PythonIdentifier = Annotated[str, StringConstraints(pattern=PYTHON_IDENTIFIER)]
ModalObjectName = Annotated[str, StringConstraints(pattern=MODAL_OBJECT_NAME)]
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_NAME)]
AbsolutePosixPath = Annotated[str, StringConstraints(pattern=ABSOLUTE_PATH)]
Seconds = Annotated[int, Field(gt=0)]

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
    ENGINE_FLAG: "a full option name such as `--enable-torch-compile`",
    ABSOLUTE_PATH: "an absolute path starting with `/`",
    r"^[^\n\r\x00]*$": "one line, without a line break or NUL (it stays one literal)",
    SGLANG_VERSION: "an engine release such as `0.5.10.post1` or `0.11.2`",
}


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors and validated specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Gpu(SpecModel):
    type: GpuType = Field(
        description="GPU type as Modal names it; `H100!` never upgrades to an H200, `B200+` may "
        "upgrade to a B300."
    )
    count: int = Field(default=1, ge=1, description="Number of GPUs attached to each container.")

    @property
    def modal_spec(self) -> str:
        """The string Modal's `gpu=` argument takes."""
        return f"{self.type.value}:{self.count}"

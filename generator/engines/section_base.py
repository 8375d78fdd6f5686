"""What every engine section shares: the served name, the bind address, the API key, and a
typed pass-through for options the spec does not name."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from generator.spec.fields import ENGINE_FLAG, EnvVarName, ModalObjectName, SpecModel


def _dashed(flag: str) -> str:
    """Refuse `--tokenizer_mode` with the name to write: the catalogs and SGLang's argparse know
    only the dashed form (vLLM's parser rewrites underscores, so both spellings would pass)."""
    if flag.startswith("--") and "_" in flag:
        dashed = "--" + flag[2:].replace("_", "-")
        raise PydanticCustomError(
            "engine_flag", "option names are written with dashes: `{dashed}`", {"dashed": dashed}
        )
    return flag


EngineArgValue = str | int | float | bool | list[str]
EngineFlag = Annotated[str, AfterValidator(_dashed), StringConstraints(pattern=ENGINE_FLAG)]
CONFIG_KEY = r"^[a-z0-9][a-z0-9_-]*$"


class EngineSectionBase(SpecModel):
    # Whether the image build pre-compiles DeepGEMM kernels unless `deep_gemm.enabled` says.
    builds_deep_gemm: ClassVar[bool] = False

    host: str = Field(default="0.0.0.0", description="Address the server binds to (`--host`).")
    reasoning_parser: str | None = Field(
        default=None,
        min_length=1,
        description="Parser that splits reasoning from content (`--reasoning-parser`).",
    )
    tool_call_parser: str | None = Field(
        default=None, min_length=1, description="Parser for tool calls (`--tool-call-parser`)."
    )
    api_key_secret: ModalObjectName | None = Field(
        default=None,
        description="Name of a Modal Secret holding an API key the engine then requires "
        "(`--api-key`, read from the Secret at run time, never written into the file); the test "
        "client sends it as `Authorization: Bearer`, from the same variable in your shell.",
    )
    api_key_variable: EnvVarName = Field(
        default="API_KEY",
        description="The variable of `api_key_secret` that holds the key.",
    )
    config: dict[Annotated[str, StringConstraints(pattern=CONFIG_KEY)], Any] = Field(
        default_factory=dict,
        description="The engine's config file, as a table of option names without `--` "
        "(`mem-fraction-static = 0.85`): written by the app when the container starts and "
        "passed with `--config`. Its keys are checked against the engine's options.",
    )
    extra_args: dict[EngineFlag, EngineArgValue] = Field(
        default_factory=dict,
        description="Further server options, by full flag name. `true` passes a bare flag, "
        "`false` omits it, a list passes several values.",
    )

    def default_tensor_parallel(self, gpus: int, nodes: int) -> int:
        """Tensor parallelism when the spec gives none: every GPU of the replica."""
        return gpus * nodes

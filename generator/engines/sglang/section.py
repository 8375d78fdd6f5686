"""The SGLang section of a spec: `engine.kind = "sglang"` (the default)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictBool, StringConstraints

from generator.engines.section_base import EngineSectionBase
from generator.spec.fields import SPECULATIVE_ALGORITHM, SpecModel

# SGLang's algorithm names (EAGLE, EAGLE3, NEXTN, STANDALONE, NGRAM, and newer releases DFLASH,
# DSPARK, UNO, or any a fork registers): checked against the image's catalog where it lists them.
SpeculativeAlgorithm = Annotated[str, StringConstraints(pattern=SPECULATIVE_ALGORITHM)]
# The one algorithm without a draft model, whose tuning the draft-tree rules do not apply to.
NGRAM = "NGRAM"


class MambaSchedulerStrategy(StrEnum):
    AUTO = "auto"
    NO_BUFFER = "no_buffer"
    EXTRA_BUFFER = "extra_buffer"


class SpeculativeDecoding(SpecModel):
    algorithm: SpeculativeAlgorithm = Field(
        description="Speculative decoding algorithm (`--speculative-algorithm`), as SGLang names "
        "it: `EAGLE` uses the model's multi-token-prediction head; also `EAGLE3`, `NEXTN`, "
        "`STANDALONE`, `NGRAM` and what newer releases add, checked against the image's version."
    )
    num_steps: int | None = Field(
        default=None, ge=1, description="Draft steps per verification (`--speculative-num-steps`)."
    )
    eagle_topk: int | None = Field(
        default=None,
        ge=1,
        description="Branching factor of the draft tree (`--speculative-eagle-topk`).",
    )
    num_draft_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Draft tokens verified per step (`--speculative-num-draft-tokens`).",
    )


class SglangEngineSection(EngineSectionBase):
    builds_deep_gemm: ClassVar[bool] = True

    kind: Literal["sglang"] = Field(
        default="sglang", description="The inference engine: `sglang` (the default) or `vllm`."
    )
    served_model_name: str | None = Field(
        default=None,
        min_length=1,
        description="Model name clients put in requests (`--served-model-name`); defaults to the "
        "model's repository id.",
    )
    tensor_parallel_size: int | None = Field(
        default=None,
        ge=1,
        description="Tensor parallelism (`--tp-size`); defaults to the GPU count.",
    )
    cuda_graph_max_bs: int | None = Field(
        default=None,
        ge=1,
        description="Largest batch size captured in CUDA graphs (`--cuda-graph-max-bs`, from "
        "SGLang 0.5.15 on `--cuda-graph-max-bs-decode`); defaults to twice the server's "
        "concurrency target.",
    )
    enable_metrics: StrictBool = Field(
        default=True, description="Expose Prometheus metrics (`--enable-metrics`)."
    )
    decode_log_interval: int | None = Field(
        default=None, ge=1, description="Log every N decoded tokens (`--decode-log-interval`)."
    )
    mem_fraction_static: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Fraction of GPU memory for weights and KV cache (`--mem-fraction-static`).",
    )
    context_length: int | None = Field(
        default=None, ge=1, description="Maximum context length in tokens (`--context-length`)."
    )
    mamba_scheduler_strategy: MambaSchedulerStrategy | None = Field(
        default=None,
        description="Scheduling of Mamba state for hybrid models (`--mamba-scheduler-strategy`).",
    )
    speculative: SpeculativeDecoding | None = Field(
        default=None, description="Speculative decoding; off when absent."
    )
    launcher: Literal["launch_server", "serve"] = Field(
        default="launch_server",
        description="The command that starts the server: `launch_server` is "
        "`python -m sglang.launch_server` (every version); `serve` is `sglang serve`, the "
        "command SGLang recommends from 0.5.5 on (same options).",
    )


# The SGLang options `lifecycle.memory_snapshot` adds. The memory saver (torch_memory_saver) lets
# SGLang release and resume its GPU memory and keeps the virtual addresses, so CUDA graphs stay
# valid; without the CPU backup, released weights (target and draft) come back uninitialised.
MEMORY_SNAPSHOT_FLAGS = ("--enable-memory-saver", "--enable-weights-cpu-backup")
# The commands `engine.launcher` names. `sglang serve` (the `sglang` console script,
# `sglang.cli.main:main`) is in the wheels from 0.5.5 on, not in 0.5.4.post3 or before.
LAUNCHERS = {
    "launch_server": ("python", "-m", "sglang.launch_server"),
    "serve": ("sglang", "serve"),
}
SERVE_SINCE = (0, 5, 5)

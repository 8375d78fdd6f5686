"""The vLLM section of a spec: `engine.kind = "vllm"`, started as `vllm serve MODEL [options]`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool

from generator.engines.section_base import EngineSectionBase

UvicornLogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


class VllmEngineSection(EngineSectionBase):
    kind: Literal["vllm"] = Field(description="The inference engine: `vllm`.")
    served_model_name: str | list[str] | None = Field(
        default=None,
        min_length=1,
        description="Model name, or names, clients put in requests (`--served-model-name`); "
        "defaults to the model's repository id.",
    )
    tensor_parallel_size: int | None = Field(
        default=None,
        ge=1,
        description="Tensor parallelism (`--tensor-parallel-size`); defaults to the GPU count, "
        "passed when it is above 1 or set here.",
    )
    pipeline_parallel_size: int | None = Field(
        default=None,
        ge=1,
        description="Pipeline parallelism (`--pipeline-parallel-size`); on a cluster defaults to "
        "the node count, each node a stage.",
    )
    data_parallel_size: int | None = Field(
        default=None, ge=1, description="Data parallelism (`--data-parallel-size`)."
    )
    max_model_len: int | None = Field(
        default=None, ge=1, description="Maximum context length in tokens (`--max-model-len`)."
    )
    gpu_memory_utilization: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Fraction of GPU memory vLLM may use (`--gpu-memory-utilization`).",
    )
    max_num_seqs: int | None = Field(
        default=None, ge=1, description="Most sequences in one batch (`--max-num-seqs`)."
    )
    enforce_eager: StrictBool = Field(
        default=False,
        description="Skip CUDA graphs and compilation (`--enforce-eager`): faster start, slower "
        "serving.",
    )
    kv_cache_dtype: str | None = Field(
        default=None, min_length=1, description="Data type of the KV cache (`--kv-cache-dtype`)."
    )
    enable_prefix_caching: StrictBool | None = Field(
        default=None,
        description="Prefix caching on (`--enable-prefix-caching`) or off "
        "(`--no-enable-prefix-caching`); vLLM's default when unset.",
    )
    enable_auto_tool_choice: StrictBool = Field(
        default=False,
        description="Let the model decide when to call tools (`--enable-auto-tool-choice`).",
    )
    speculative_config: dict[str, Any] | None = Field(
        default=None,
        description="Speculative decoding (`--speculative-config`), a table passed as JSON.",
    )
    compilation_config: dict[str, Any] | None = Field(
        default=None,
        description="torch.compile and CUDA graph settings (`--compilation-config`), a table "
        "passed as JSON.",
    )
    uvicorn_log_level: UvicornLogLevel | None = Field(
        default=None, description="Log level of the HTTP server (`--uvicorn-log-level`)."
    )
    disable_uvicorn_access_log: StrictBool = Field(
        default=False,
        description="No log line per request (`--disable-uvicorn-access-log`).",
    )
    disable_log_requests: StrictBool = Field(
        default=False,
        description="No log of each request's prompt: `--disable-log-requests` before vLLM "
        "0.10.1; from 0.10.1 on vLLM does not log them by default, and nothing is passed.",
    )

    def default_tensor_parallel(self, gpus: int, nodes: int) -> int:
        """Tensor parallelism within a node, pipeline parallelism across nodes (vLLM's
        advice: "the tensor parallel size is the number of GPUs in each node, and the pipeline
        parallel size is the number of nodes")."""
        return gpus

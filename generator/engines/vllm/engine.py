"""vLLM: `vllm serve MODEL [options]`, its options, and sleep mode for memory snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from generator.engines.base import (
    Argument,
    ClusterLaunch,
    Engine,
    MemoryRoute,
    RankOption,
    RerankAnswer,
    SnapshotSupport,
)
from generator.engines.option_table import OptionTable
from generator.engines.vllm import catalog
from generator.engines.vllm.renames import ADVICE, RENAMES
from generator.engines.vllm.section import VllmEngineSection
from generator.spec.errors import FieldPath
from generator.workloads.section import WorkloadKind

if TYPE_CHECKING:
    from generator.model.models import Spec

# What `lifecycle.memory_snapshot` adds: sleep mode, whose routes (`/sleep`, `/wake_up`) vLLM
# serves only in its development mode.
SLEEP_MODE_FLAG = "--enable-sleep-mode"
# The runner flag of vLLM 0.10.1 and later; older versions choose the runner by `--task`.
RUNNER_FLAG = "--runner"
# The `--task` of each workload that pools its input, before the pooling runner: `embed`, and
# `score` for a cross-encoder, whose `/score` and `/rerank` it serves.
POOLING_TASKS = {WorkloadKind.EMBEDDING: "embed", WorkloadKind.RERANK: "score"}


# vLLM's own multi-node mode (docs: serving/parallelism_scaling, "multiprocessing" across nodes;
# the LeaderWorkerSet deployment runs `vllm serve ... --nnodes 2 --node-rank 1 --master-addr
# LEADER --distributed-executor-backend mp --headless` on the worker): every node runs `vllm
# serve` with the same parallelism, rank 0 serves HTTP, the others run `--headless`. Its options
# exist from vLLM 0.11.1 on (the catalogs).
NNODES = "--nnodes"
MASTER_PORT = 29501  # `--master-port`'s default, written out
CLUSTER = ClusterLaunch(
    port=MASTER_PORT,
    options=(
        RankOption(NNODES, "str(NODES)", 2),
        RankOption("--node-rank", "str(rank)", 0),
        RankOption("--master-addr", "head", "10.0.0.1"),
        RankOption("--master-port", "str(CLUSTER_PORT)", MASTER_PORT),
    ),
    worker_flags=("--headless",),
    source="vLLM's multi-node serving",
)
EXECUTOR_BACKEND = "--distributed-executor-backend"

# Request logging: vLLM 0.10.1 turned it off by default and added `--enable-log-requests` to turn
# it on (vllm-project/vllm#21739); the old `--disable-log-requests` stayed, deprecated and true by
# default, until 0.17.0 dropped it (the catalogs). Where `--enable-log-requests` exists, not
# logging requests is the default and `engine.disable_log_requests` needs no option.
DISABLE_LOG_REQUESTS = "--disable-log-requests"
ENABLE_LOG_REQUESTS = "--enable-log-requests"


def _section(spec: Spec) -> VllmEngineSection:
    assert isinstance(spec.engine, VllmEngineSection)
    return spec.engine


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


class Vllm(Engine):
    kind = "vllm"
    title = "vLLM"
    command_prefix = ("vllm", "serve")
    env_prefix = "VLLM_"
    option_comments: ClassVar[dict[str, str]] = {
        "--tensor-parallel-size": "tensor parallelism: split each layer across the GPUs",
        "--enforce-eager": "no CUDA graphs or compilation: a faster start, slower serving",
        "--gpu-memory-utilization": "GPU memory vLLM may use; the rest is headroom",
        RUNNER_FLAG: "the pooling runner: embeddings or scores, no generation",
        "--task": "a pooling model: embeddings or scores, no generation",
        "--enable-lora": "serve the LoRA adapters below on top of the base model",
        "--enable-sleep-mode": "lets vLLM release and take back its GPU memory, for the snapshot",
    }
    positional_options: ClassVar[dict[FieldPath, str]] = {("model", "name"): "--model"}
    # `--load-format dummy` "will initialize the weights with random values, which is mainly for
    # profiling" (vLLM's help for the option).
    dummy_weights_arguments = ("--load-format", "dummy")
    option_renames = RENAMES
    removal_advice = ADVICE
    snapshot = SnapshotSupport(
        release=MemoryRoute("/sleep?level=1", None),
        resume=MemoryRoute("/wake_up", None),
        env={"VLLM_SERVER_DEV_MODE": "1"},
    )

    def typed_arguments(self, spec: Spec) -> list[Argument]:
        engine = _section(spec)
        served = engine.served_model_name
        gpus, nodes = spec.server.gpu.count, spec.server.nodes
        tensor_parallel = engine.tensor_parallel_size or (gpus if gpus > 1 else None)
        prefix_caching = {True: "--enable-prefix-caching", False: "--no-enable-prefix-caching"}
        arguments = [
            Argument(("model", "name"), None, spec.model.name, "MODEL_NAME"),
            Argument(("model", "revision"), "--revision", spec.model.revision, "MODEL_REVISION"),
            Argument(
                ("engine", "served_model_name"),
                "--served-model-name",
                served or spec.model.name,
                "MODEL_NAME" if served in (None, spec.model.name) else None,
            ),
            Argument(("engine", "host"), "--host", engine.host),
            Argument(("server", "port"), "--port", spec.server.port),
            Argument(("engine", "tensor_parallel_size"), "--tensor-parallel-size", tensor_parallel),
            Argument(
                ("engine", "pipeline_parallel_size"),
                "--pipeline-parallel-size",
                engine.pipeline_parallel_size or (nodes if nodes > 1 else None),
            ),
            Argument(
                ("engine", "data_parallel_size"), "--data-parallel-size", engine.data_parallel_size
            ),
            Argument(("engine", "max_model_len"), "--max-model-len", engine.max_model_len),
            Argument(
                ("engine", "gpu_memory_utilization"),
                "--gpu-memory-utilization",
                engine.gpu_memory_utilization,
            ),
            Argument(("engine", "max_num_seqs"), "--max-num-seqs", engine.max_num_seqs),
            Argument(("engine", "enforce_eager"), "--enforce-eager", engine.enforce_eager),
            Argument(("engine", "kv_cache_dtype"), "--kv-cache-dtype", engine.kv_cache_dtype),
        ]
        if engine.enable_prefix_caching is not None:
            arguments.append(
                Argument(
                    ("engine", "enable_prefix_caching"),
                    prefix_caching[engine.enable_prefix_caching],
                    True,
                )
            )
        arguments += [
            Argument(("engine", "reasoning_parser"), "--reasoning-parser", engine.reasoning_parser),
            Argument(("engine", "tool_call_parser"), "--tool-call-parser", engine.tool_call_parser),
            Argument(
                ("engine", "enable_auto_tool_choice"),
                "--enable-auto-tool-choice",
                engine.enable_auto_tool_choice,
            ),
            Argument(
                ("engine", "speculative_config"),
                "--speculative-config",
                _json(engine.speculative_config),
            ),
            Argument(
                ("engine", "compilation_config"),
                "--compilation-config",
                _json(engine.compilation_config),
            ),
            Argument(
                ("engine", "uvicorn_log_level"), "--uvicorn-log-level", engine.uvicorn_log_level
            ),
            Argument(
                ("engine", "disable_uvicorn_access_log"),
                "--disable-uvicorn-access-log",
                engine.disable_uvicorn_access_log,
            ),
            *self._log_requests_arguments(spec),
        ]
        arguments += self.workload_arguments(spec)
        if spec.lifecycle.memory_snapshot:
            arguments.append(Argument(("lifecycle", "memory_snapshot"), SLEEP_MODE_FLAG, True))
        if nodes > 1:  # its multiprocessing backend spans the nodes; Ray is not involved
            arguments.append(Argument(("server", "nodes"), EXECUTOR_BACKEND, "mp"))
        arguments += [
            Argument(("engine", "extra_args", flag), flag, value)
            for flag, value in engine.extra_args.items()
        ]
        return arguments

    def _log_requests_arguments(self, spec: Spec) -> list[Argument]:
        """`--disable-log-requests` for `engine.disable_log_requests`, in a vLLM that logs
        requests by default; nothing where not logging them is the default (0.10.1 on)."""
        table = self._server_table_or_none(spec)
        if table is not None and ENABLE_LOG_REQUESTS in table.by_string:
            return []
        field = ("engine", "disable_log_requests")
        return [Argument(field, DISABLE_LOG_REQUESTS, _section(spec).disable_log_requests)]

    def workload_arguments(self, spec: Spec) -> list[Argument]:
        """An embedding or cross-encoder model on the pooling runner (`--runner pooling`, from
        vLLM 0.10.1 on, which deprecated `--task` and dropped it in 0.13), else `--task embed`
        or `--task score`; the LoRA adapters as `--lora-modules name=path` with `--max-loras`."""
        arguments = []
        kind = spec.workload.kind
        if not kind.generates:
            table = self._server_table_or_none(spec)
            if table is None or RUNNER_FLAG in table.by_string:
                arguments += [Argument(("workload", "kind"), RUNNER_FLAG, "pooling")]
            else:
                arguments += [Argument(("workload", "kind"), "--task", POOLING_TASKS[kind])]
        return arguments + self.lora_arguments(spec, "--lora-modules", "--max-loras")

    def rerank_answer(self) -> RerankAnswer:
        # vllm/entrypoints/openai/serving_rerank.py: Jina's and Cohere's shape, `{id, model,
        # usage, results: [{index, document, relevance_score}]}`, highest score first. It came
        # with vllm-project/vllm#12376 (January 2025); 0.8.0 is the first release modalgen is
        # sure has it.
        return RerankAnswer(
            results='body["results"]',
            score="relevance_score",
            since=(0, 8, 0),
            source="the Jina- and Cohere-compatible Rerank API of vllm-project/vllm#12376",
        )

    def adapter_fields(self, spec: Spec, adapter: str) -> dict[str, str]:
        # vLLM serves each `--lora-modules` adapter as a model of its own name.
        return {"model": adapter}

    def version(self, spec: Spec) -> str | None:
        if spec.image.engine_version:
            return spec.image.engine_version
        tag = spec.image.registry_tag
        if tag and (from_tag := catalog.engine_version_from_tag(tag)):
            return from_tag
        for requirement in spec.image.requirements:
            if (pinned := catalog.version_from_requirement(requirement)) is not None:
                return pinned
        return None

    def version_in_tag(self, tag: str) -> str | None:
        return catalog.engine_version_from_tag(tag)

    def version_source(self, spec: Spec) -> tuple[FieldPath, str]:
        tag = spec.image.registry_tag
        if tag and "vllm" in tag.split(":", 1)[0]:
            return ("image", "registry_tag"), repr(tag)
        return ("image", "layers"), "the image (no `vllm==X` among its packages)"

    def catalog_tables(self, spec: Spec, version: str) -> list[tuple[OptionTable, list[Argument]]]:
        arguments = self.arguments(spec)
        passed = {
            a.flag for a in arguments if a.flag and a.value is not None and a.value is not False
        }
        return [(catalog.load_catalog(version).serve_for(passed), arguments)]

    def env_vars(self, version: str) -> frozenset[str] | None:
        return frozenset(catalog.load_catalog(version).data.get("env_vars", ())) or None

    def server_options_table(self, version: str) -> OptionTable:
        return catalog.load_catalog(version).serve

    def available_versions(self) -> list[str]:
        return catalog.available_versions()

    def extract_command(self, version: str) -> str:
        return catalog.extract_command(version)

    def request_model(self, spec: Spec) -> str | None:
        # vLLM answers only for a model it serves: name the first served name.
        served = _section(spec).served_model_name
        if isinstance(served, list):
            return served[0]
        return served or spec.model.name

    def memory_fraction(self, spec: Spec) -> float | None:
        return _section(spec).gpu_memory_utilization

    def cluster_launch(self, spec: Spec) -> ClusterLaunch:
        return CLUSTER

    def parallel_sizes(self, spec: Spec) -> tuple[int, int]:
        engine, server = _section(spec), spec.server
        pipeline = engine.pipeline_parallel_size or server.nodes
        return spec.tensor_parallel_size, pipeline

    def cluster_arguments(self, spec: Spec) -> list[Argument]:
        # A version without the multi-node mode is refused once, by `findings`.
        return super().cluster_arguments(spec) if self._has_multi_node_mode(spec) else []

    def _has_multi_node_mode(self, spec: Spec) -> bool:
        table = self._server_table_or_none(spec)
        return table is None or NNODES in table.by_string

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        yield from self.config_findings(spec)
        yield from self.repeated_option_findings(spec)
        yield from self.dummy_weights_findings(spec)
        kind = spec.workload.kind
        if not kind.generates:
            model = f"{'an' if kind.value[0] in 'aeiou' else 'a'} {kind.value} model"
            engine = _section(spec)
            if engine.speculative_config is not None:
                yield (
                    ("engine", "speculative_config"),
                    f"speculative decoding drafts output tokens, and {model} (the pooling "
                    "runner) produces none: drop `engine.speculative_config`",
                )
            for key in ("reasoning_parser", "tool_call_parser", "enable_auto_tool_choice"):
                if getattr(engine, key):
                    yield (
                        ("engine", key),
                        f"`{key}` handles generated text, and {model} generates none: drop it",
                    )
        if spec.server.nodes > 1 and not self._has_multi_node_mode(spec):
            field, _ = self.version_source(spec)
            yield (
                field,
                f"vLLM {self.version(spec)} has no multi-node mode of its own (`--nnodes`, "
                f"`--node-rank`, `--headless`; from vLLM 0.11.1 on), which server.nodes = "
                f"{spec.server.nodes} starts it with: use vLLM 0.11.1 or later",
            )
        if spec.deep_gemm.enabled:
            yield (
                ("deep_gemm", "enabled"),
                "DeepGEMM pre-compilation is SGLang's build step (`sglang.compile_deep_gemm`); "
                "vLLM compiles its kernels itself: drop `deep_gemm.enabled`",
            )


ENGINE = Vllm()

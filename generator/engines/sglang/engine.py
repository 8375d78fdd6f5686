"""SGLang: `python -m sglang.launch_server`, its options, snapshots and DeepGEMM build step."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from generator.engines.base import (
    Argument,
    ClusterLaunch,
    Engine,
    MemoryRoute,
    RankOption,
    RerankAnswer,
    SnapshotSupport,
)
from generator.engines.option_table import OptionTable, version_key
from generator.engines.sglang import catalog
from generator.engines.sglang.section import (
    LAUNCHERS,
    MEMORY_SNAPSHOT_FLAGS,
    NGRAM,
    SERVE_SINCE,
    MambaSchedulerStrategy,
    SglangEngineSection,
)
from generator.spec.errors import FieldPath

if TYPE_CHECKING:
    from generator.model.models import Spec

TRUTHY = {"1", "true", "yes", "on"}
# First SGLang release with `--enable-weights-cpu-backup` (added by sgl-project/sglang#10873;
# verl tests for `sglang>=0.5.3` before passing it).
WEIGHTS_CPU_BACKUP_SINCE = (0, 5, 3)


def _section(spec: Spec) -> SglangEngineSection:
    assert isinstance(spec.engine, SglangEngineSection)
    return spec.engine


# SGLang 0.5.15 split `--cuda-graph-max-bs` into a decode and a prefill limit, kept the old name
# as a deprecated alias of the decode one, and dropped it in 0.5.20.
CUDA_GRAPH_MAX_BS = "--cuda-graph-max-bs"
CUDA_GRAPH_MAX_BS_DECODE = "--cuda-graph-max-bs-decode"


# SGLang across machines (docs/references/multi_node_deployment, "--dist-init-addr 10.0.0.1:5000
# --nnodes 2 --node-rank 0" on the first node, the same with rank 1 on the second): every node
# runs `launch_server` with one tensor-parallel group over all GPUs; rank 0 serves HTTP.
DIST_INIT_PORT = 5000
CLUSTER = ClusterLaunch(
    port=DIST_INIT_PORT,
    options=(
        RankOption("--nnodes", "str(NODES)", 2),
        RankOption("--node-rank", "str(rank)", 0),
        RankOption("--dist-init-addr", 'f"{head}:{CLUSTER_PORT}"', f"10.0.0.1:{DIST_INIT_PORT}"),
    ),
    source="SGLang's multi-node deployment",
)


def cuda_graph_max_bs(spec: Spec) -> int | None:
    """Largest batch captured in CUDA graphs: as set, else twice the concurrency target, unless
    the spec passes one of SGLang's CUDA-graph batch limits itself."""
    engine = _section(spec)
    if engine.cuda_graph_max_bs is not None:
        return engine.cuda_graph_max_bs
    passed = {*engine.extra_args, *(f"--{key}" for key in engine.config)}
    if any(flag.startswith(CUDA_GRAPH_MAX_BS) for flag in passed):
        return None
    target = spec.server.concurrency_target
    return 2 * target if target else None


class Sglang(Engine):
    kind = "sglang"
    title = "SGLang"
    command_prefix = ("python", "-m", "sglang.launch_server")
    deep_gemm_prefix = ("python3", "-m", "sglang.compile_deep_gemm")
    env_prefix = "SGLANG_"
    option_comments: ClassVar[dict[str, str]] = {
        "--tp-size": "tensor parallelism: split each layer across the GPUs",
        CUDA_GRAPH_MAX_BS: "only capture CUDA graphs for batch sizes we expect to see",
        CUDA_GRAPH_MAX_BS_DECODE: "only capture CUDA graphs for batch sizes we expect to see",
        "--enable-metrics": "expose Prometheus metrics",
        "--decode-log-interval": "how often to log while decoding, in tokens",
        "--mem-fraction-static": "GPU memory for weights and KV cache; the rest is headroom",
        "--speculative-algorithm": "speculative decoding: draft tokens, then verify them in one "
        "pass",
        "--enable-lora": "serve the LoRA adapters below on top of the base model",
        "--is-embedding": "the embedding runner: vectors or cross-encoder scores, no generation",
        "--enable-memory-saver": "lets SGLang release and resume its GPU memory, for the snapshot",
        "--enable-weights-cpu-backup": "keep the weights in CPU memory while released, not zeros",
    }
    # The memory saver releases GPU memory and keeps its virtual addresses, so CUDA graphs stay
    # valid. Modal's SGLang snapshot example sets TORCHINDUCTOR_COMPILE_THREADS=1 "to improve the
    # compatibility of the Torch Inductor compiler with GPU snapshotting".
    # `--load-format dummy` "will initialize the weights with random values" (SGLang's help for
    # the option); Modal's very_large_models.py example passes it for development.
    dummy_weights_arguments = ("--load-format", "dummy")
    snapshot = SnapshotSupport(
        release=MemoryRoute("/release_memory_occupation", {}),
        resume=MemoryRoute("/resume_memory_occupation", {}),
        env={"TORCHINDUCTOR_COMPILE_THREADS": "1"},
    )

    def server_command_prefix(self, spec: Spec) -> tuple[str, ...]:
        return LAUNCHERS[_section(spec).launcher]

    def typed_arguments(self, spec: Spec) -> list[Argument]:
        engine, speculative = _section(spec), _section(spec).speculative
        served = engine.served_model_name
        arguments = [
            Argument(("model", "name"), "--model-path", spec.model.name, "MODEL_NAME"),
            Argument(("model", "revision"), "--revision", spec.model.revision, "MODEL_REVISION"),
            Argument(
                ("engine", "served_model_name"),
                "--served-model-name",
                served or spec.model.name,
                "MODEL_NAME" if served in (None, spec.model.name) else None,
            ),
            Argument(("engine", "host"), "--host", engine.host),
            Argument(("server", "port"), "--port", spec.server.port),
            Argument(("engine", "tensor_parallel_size"), "--tp-size", spec.tensor_parallel_size),
            Argument(
                ("engine", "cuda_graph_max_bs"),
                self._cuda_graph_max_bs_flag(spec),
                cuda_graph_max_bs(spec),
            ),
            Argument(("engine", "enable_metrics"), "--enable-metrics", engine.enable_metrics),
            Argument(
                ("engine", "decode_log_interval"),
                "--decode-log-interval",
                engine.decode_log_interval,
            ),
            Argument(
                ("engine", "mem_fraction_static"),
                "--mem-fraction-static",
                engine.mem_fraction_static,
            ),
            Argument(("engine", "context_length"), "--context-length", engine.context_length),
            Argument(
                ("engine", "mamba_scheduler_strategy"),
                self._successor_flag(spec, "--mamba-scheduler-strategy"),
                engine.mamba_scheduler_strategy,
            ),
            Argument(("engine", "reasoning_parser"), "--reasoning-parser", engine.reasoning_parser),
            Argument(("engine", "tool_call_parser"), "--tool-call-parser", engine.tool_call_parser),
            *self.workload_arguments(spec),
        ]
        if speculative is not None:
            field = ("engine", "speculative")
            arguments += [
                Argument((*field, "algorithm"), "--speculative-algorithm", speculative.algorithm),
                Argument((*field, "num_steps"), "--speculative-num-steps", speculative.num_steps),
                Argument(
                    (*field, "eagle_topk"), "--speculative-eagle-topk", speculative.eagle_topk
                ),
                Argument(
                    (*field, "num_draft_tokens"),
                    "--speculative-num-draft-tokens",
                    speculative.num_draft_tokens,
                ),
            ]
        if spec.lifecycle.memory_snapshot:
            arguments += [
                Argument(("lifecycle", "memory_snapshot"), flag, True)
                for flag in MEMORY_SNAPSHOT_FLAGS
            ]
        arguments += [
            Argument(("engine", "extra_args", flag), flag, value)
            for flag, value in engine.extra_args.items()
        ]
        return arguments

    def _successor_flag(self, spec: Spec, flag: str) -> str:
        """`flag`, or the flag the image's SGLang names as its replacement where it deprecates
        or lacks it (0.5.14 deprecated `--mamba-scheduler-strategy` for
        `--mamba-radix-cache-strategy`, 0.5.20 removed it): from the version's catalog, else
        the closest older one's. A removed flag's replacement is read from the newest catalog
        that still deprecates it."""
        table = self._server_table_or_none(spec)
        if table is None:
            return flag
        option = table.by_string.get(flag)
        if option is not None and not option.deprecated:
            return flag
        replacement = option.replacement if option is not None else None
        if replacement is None:
            version = table.version
            for known in reversed(self.available_versions()):
                if version_key(known) >= version_key(version):
                    continue
                older = self.server_options_table(known).by_string.get(flag)
                if older is not None:
                    replacement = older.replacement if older.deprecated else None
                    break
        if replacement and replacement in table.by_string:
            return replacement
        return flag

    def _cuda_graph_max_bs_flag(self, spec: Spec) -> str:
        """`--cuda-graph-max-bs`, or its successor where the image's SGLang deprecates or
        lacks it (read from the version's catalog, else the closest older one)."""
        table = self._server_table_or_none(spec)
        if table is None:
            return CUDA_GRAPH_MAX_BS
        old = table.by_string.get(CUDA_GRAPH_MAX_BS)
        if (old is None or old.deprecated) and CUDA_GRAPH_MAX_BS_DECODE in table.by_string:
            return CUDA_GRAPH_MAX_BS_DECODE
        return CUDA_GRAPH_MAX_BS

    def workload_arguments(self, spec: Spec) -> list[Argument]:
        """`--is-embedding` for an embedding or a cross-encoder rerank model (SGLang runs both
        on its embedding runner, in every catalogued release), and the LoRA adapters as
        `--lora-paths name=path` with `--max-loras-per-batch`."""
        arguments = []
        if not spec.workload.kind.generates:
            arguments.append(Argument(("workload", "kind"), "--is-embedding", True))
        return arguments + self.lora_arguments(spec, "--lora-paths", "--max-loras-per-batch")

    def rerank_answer(self) -> RerankAnswer:
        # sglang/srt/entrypoints/openai/serving_rerank.py: a JSON list of `{score, document,
        # index, meta_info}`, highest score first. modalgen has checked it from 0.5.1, its
        # oldest catalog, on.
        return RerankAnswer(
            results="body",
            score="score",
            since=(0, 5, 1),
            source="its cross-encoder rerank API, in every SGLang modalgen has a catalog for",
        )

    def adapter_fields(self, spec: Spec, adapter: str) -> dict[str, str]:
        # `lora_path` names a loaded adapter in every SGLang release; the `model = "base:name"`
        # spelling of newer ones is not in the older ones.
        return {"lora_path": adapter}

    def resolved_section(self, spec: Spec) -> SglangEngineSection:
        section = super().resolved_section(spec)
        return section.model_copy(update={"cuda_graph_max_bs": cuda_graph_max_bs(spec)})

    def deep_gemm_arguments(self, spec: Spec) -> list[Argument]:
        """The options of `sglang.compile_deep_gemm` in the image build."""
        return [
            Argument(("model", "name"), "--model-path", spec.model.name, "MODEL_NAME"),
            Argument(("model", "revision"), "--revision", spec.model.revision, "MODEL_REVISION"),
            Argument(("engine", "tensor_parallel_size"), "--tp-size", spec.tensor_parallel_size),
        ]

    def version(self, spec: Spec) -> str | None:
        tag = spec.image.registry_tag
        return spec.image.engine_version or (catalog.engine_version_from_tag(tag) if tag else None)

    def version_in_tag(self, tag: str) -> str | None:
        return catalog.engine_version_from_tag(tag)

    def version_source(self, spec: Spec) -> tuple[FieldPath, str]:
        if spec.image.registry_tag is None:
            return ("image", "debian_slim_python"), "a Debian slim image"
        return ("image", "registry_tag"), repr(spec.image.registry_tag)

    def catalog_tables(self, spec: Spec, version: str) -> list[tuple[OptionTable, list[Argument]]]:
        loaded = catalog.load_catalog(version)
        tables = [(loaded.launch_server, self.arguments(spec))]
        if spec.deep_gemm_enabled:
            tables.append((loaded.compile_deep_gemm, self.deep_gemm_arguments(spec)))
        return tables

    def env_vars(self, version: str) -> frozenset[str] | None:
        return catalog.load_catalog(version).env_vars

    def server_options_table(self, version: str) -> OptionTable:
        return catalog.load_catalog(version).launch_server

    def available_versions(self) -> list[str]:
        return catalog.available_versions()

    def extract_command(self, version: str) -> str:
        return catalog.extract_command(version)

    def memory_fraction(self, spec: Spec) -> float | None:
        return _section(spec).mem_fraction_static

    def cluster_launch(self, spec: Spec) -> ClusterLaunch:
        return CLUSTER

    def parallel_sizes(self, spec: Spec) -> tuple[int, int]:
        pipeline = _section(spec).extra_args.get("--pp-size", 1)
        return spec.tensor_parallel_size, pipeline if isinstance(pipeline, int) else 1

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        yield from self.config_findings(spec)
        yield from self.repeated_option_findings(spec)
        yield from self.dummy_weights_findings(spec)
        yield from _tag_and_version(spec)
        yield from _deep_gemm_on_a_cluster(spec)
        yield from _deep_gemm_needs_jit(spec)
        yield from _speculative_decoding(spec)
        yield from _memory_snapshot(spec)
        yield from _embedding(spec)
        yield from self._launcher(spec)

    def _launcher(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        """`sglang serve` where the image's SGLang has no `sglang` command."""
        version = self.version(spec)
        if _section(spec).launcher != "serve" or version is None:
            return
        if version_key(version)[:3] < SERVE_SINCE:
            yield (
                ("engine", "launcher"),
                f"`sglang serve` exists from SGLang 0.5.5 on; the image has {version}: write "
                '`launcher = "launch_server"` (the same options) or use a newer image',
            )


def _tag_and_version(spec: Spec) -> Iterator[tuple[FieldPath, str]]:
    tag, stated = spec.image.registry_tag, spec.image.engine_version
    from_tag = catalog.engine_version_from_tag(tag) if tag else None
    if stated and from_tag and stated != from_tag:
        yield (
            ("image", "engine_version"),
            f"the image tag says SGLang {from_tag}, not {stated}: drop one",
        )


def _deep_gemm_on_a_cluster(spec: Spec) -> Iterator[tuple[FieldPath, str]]:
    """The build step compiles for the server's tensor parallelism on one machine of the image
    build, and a cluster's spans several."""
    if spec.server.nodes > 1 and spec.deep_gemm_enabled:
        yield (
            ("deep_gemm", "enabled"),
            f"DeepGEMM pre-compilation runs `sglang.compile_deep_gemm --tp-size "
            f"{spec.tensor_parallel_size}` in the image build, on one machine, and this replica "
            f"spans {spec.server.nodes}: set `deep_gemm.enabled = false` (SGLang then compiles "
            "the kernels when it first needs them)",
        )


def _deep_gemm_needs_jit(spec: Spec) -> Iterator[tuple[FieldPath, str]]:
    if spec.deep_gemm_enabled and spec.image_env.get("SGLANG_ENABLE_JIT_DEEPGEMM") == "0":
        yield (
            ("deep_gemm", "enabled"),
            "DeepGEMM pre-compilation is on but image.env sets SGLANG_ENABLE_JIT_DEEPGEMM=0, "
            "which turns the kernels off; set `deep_gemm.enabled = false` or drop the variable",
        )


def _speculative_decoding(spec: Spec) -> Iterator[tuple[FieldPath, str]]:
    """Settings SGLang refuses or silently rewrites at start-up.

    Rules from sglang/srt/server_args.py (v0.5.9 and v0.5.10): in
    `ServerArgs._handle_speculative_decoding`, an assert that topk and draft tokens are unset
    when num_steps is unset (they are compared as numbers otherwise), "Spec v2 currently only
    supports topk = 1" when SGLANG_ENABLE_SPEC_V2 is on, and num_draft_tokens replaced by
    num_steps + 1 when topk is 1; in `_handle_mamba_radix_cache`, an assert that
    mamba_track_interval (default 256) >= num_draft_tokens with the `extra_buffer` strategy.
    """
    engine = _section(spec)
    speculative = engine.speculative
    if speculative is None or speculative.algorithm == NGRAM:
        return
    field = ("engine", "speculative")
    tuning = {
        "num_steps": speculative.num_steps,
        "eagle_topk": speculative.eagle_topk,
        "num_draft_tokens": speculative.num_draft_tokens,
    }
    given = [key for key, value in tuning.items() if value is not None]
    if given and len(given) != len(tuning):
        missing = [key for key in tuning if key not in given]
        yield (
            field,
            f"set num_steps, eagle_topk and num_draft_tokens together or not at all (SGLang "
            f"then chooses them); missing: {', '.join(missing)}",
        )
        return
    if not given:
        return
    steps, topk, drafts = (
        speculative.num_steps,
        speculative.eagle_topk,
        speculative.num_draft_tokens,
    )
    assert steps is not None and topk is not None and drafts is not None
    if topk == 1 and drafts != steps + 1:
        yield (
            (*field, "num_draft_tokens"),
            f"with eagle_topk = 1 SGLang replaces num_draft_tokens by num_steps + 1 = "
            f"{steps + 1}; given {drafts}",
        )
    if topk > 1 and spec.image_env.get("SGLANG_ENABLE_SPEC_V2", "").lower() in TRUTHY:
        yield (
            (*field, "eagle_topk"),
            "SGLANG_ENABLE_SPEC_V2 is on in image.env and SGLang's spec v2 only supports "
            f"eagle_topk = 1; given {topk}",
        )
    if engine.mamba_scheduler_strategy is MambaSchedulerStrategy.EXTRA_BUFFER:
        interval = engine.extra_args.get("--mamba-track-interval", 256)
        if isinstance(interval, int) and drafts > interval:
            yield (
                (*field, "num_draft_tokens"),
                f"with mamba_scheduler_strategy = extra_buffer SGLang requires "
                f"mamba_track_interval ({interval}) >= num_draft_tokens; given {drafts}",
            )


def _embedding(spec: Spec) -> Iterator[tuple[FieldPath, str]]:
    """What an embedding or rerank model cannot use: SGLang's embedding mode runs prefill only,
    so it has no drafts to verify and no text to parse."""
    kind = spec.workload.kind
    if kind.generates:
        return
    model = f"{'an' if kind.value[0] in 'aeiou' else 'a'} {kind.value} model"
    engine = _section(spec)
    if engine.speculative is not None:
        yield (
            ("engine", "speculative"),
            f"speculative decoding drafts output tokens, and {model} (`--is-embedding`) "
            "produces none: drop `engine.speculative`",
        )
    for key in ("reasoning_parser", "tool_call_parser"):
        if getattr(engine, key) is not None:
            yield (
                ("engine", key),
                f"`{key}` parses generated text, and {model} generates none: drop it",
            )


_SGLANG_IMAGE_VERSION = re.compile(r"^lmsysorg/sglang:v([0-9]+)\.([0-9]+)\.([0-9]+)")


def _memory_snapshot(spec: Spec) -> Iterator[tuple[FieldPath, str]]:
    """What `lifecycle.memory_snapshot` needs from SGLang and its image.

    torch_memory_saver, behind `--enable-memory-saver`, refuses to start when PyTorch's CUDA
    allocator uses expandable segments (fzyzcjy/torch_memory_saver#24, #25).
    `--enable-weights-cpu-backup`, without which released weights come back as garbage after a
    resume, exists since SGLang 0.5.3. The option adds both flags itself: one spelling only.
    """
    if not spec.lifecycle.memory_snapshot:
        return
    for key in ("PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF"):
        setting = spec.image_env.get(key, "").replace(" ", "").lower()
        if "expandable_segments:true" in setting:
            yield (
                ("image", "env", key),
                f"{key} turns on expandable_segments, which SGLang's memory saver "
                "(torch_memory_saver) refuses, and lifecycle.memory_snapshot needs the memory "
                "saver to release GPU memory before the snapshot: drop one or the other",
            )
    match = _SGLANG_IMAGE_VERSION.match(spec.image.registry_tag or "")
    if match and tuple(int(part) for part in match.groups()) < WEIGHTS_CPU_BACKUP_SINCE:
        yield (
            ("image", "registry_tag"),
            "lifecycle.memory_snapshot needs SGLang 0.5.3 or later, for "
            "--enable-weights-cpu-backup (without it, released weights come back as garbage); "
            f"the image has {'.'.join(match.groups())}",
        )


ENGINE = Sglang()

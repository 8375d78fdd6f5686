"""Checks across fields of a validated spec: what pydantic's per-field rules cannot see.

Each check returns problems as `(field path, message)`; `validation` adds the file and position.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from generator.engine_options import engine_option_findings
from generator.errors import FieldPath
from generator.exposure import kind_findings
from generator.gpus import GPU_INFO
from generator.models import (
    MEMORY_SNAPSHOT_FLAGS,
    MODAL_DEFAULT_TIMEOUT,
    MambaSchedulerStrategy,
    Spec,
    SpeculativeAlgorithm,
    WeightDtype,
)

TRUTHY = {"1", "true", "yes", "on"}
# Module-level names of a generated app, which a class or entrypoint name must not replace.
GENERATED_MODULE_NAMES = frozenset(
    {
        "argparse",
        "asyncio",
        "collections",
        "contextlib",
        "json",
        "os",
        "shlex",
        "signal",
        "subprocess",
        "threading",
        "time",
        "aiohttp",
        "modal",
        "requests",
        "sglang_image",
        "app",
        "compile_deep_gemm",
        "warm_up",
        "probe",
        "stream_chat",
        "chat_messages",
        "client_headers",
        "test_deployed",
        "api_key_arguments",
        "engine_headers",
        "ServerProcess",
        "_signal_group",
        "_group_alive",
        "itertools",
        "random",
        "bench_prompts",
        "timed_request",
        "measure_level",
        "percentile",
        "summarize",
        "generate_load",
        "load_generator",
        "report",
        "write_chart",
        "load_test",
        "load_test_deployed",
    }
)


class Finding(NamedTuple):
    field: FieldPath
    message: str


Check = Callable[[Spec], Iterator[Finding]]


def volume_references(spec: Spec) -> Iterator[Finding]:
    names = [volume.name for volume in spec.volumes]
    mounts: dict[str, int] = {}
    seen: dict[str, int] = {}
    for index, volume in enumerate(spec.volumes):
        if volume.name in seen:
            yield Finding(
                ("volumes", index, "name"),
                f"volume {volume.name!r} is already declared at volumes[{seen[volume.name]}]",
            )
        seen.setdefault(volume.name, index)
        if volume.mount_path in mounts:
            yield Finding(
                ("volumes", index, "mount_path"),
                f"mount path {volume.mount_path!r} is already used by "
                f"volumes[{mounts[volume.mount_path]}]",
            )
        mounts.setdefault(volume.mount_path, index)
    for section, chosen in (("server", spec.server.volumes), ("deep_gemm", spec.deep_gemm.volumes)):
        for index, name in enumerate(chosen or ()):
            if name not in names:
                yield Finding(
                    (section, "volumes", index),
                    f"no volume named {name!r}; declared volumes: {', '.join(names) or 'none'}",
                )


def deep_gemm_needs_gpu(spec: Spec) -> Iterator[Finding]:
    if spec.deep_gemm.enabled and spec.image.env.get("SGLANG_ENABLE_JIT_DEEPGEMM") == "0":
        yield Finding(
            ("deep_gemm", "enabled"),
            "DeepGEMM pre-compilation is on but image.env sets SGLANG_ENABLE_JIT_DEEPGEMM=0, "
            "which turns the kernels off; set `deep_gemm.enabled = false` or drop the variable",
        )


def app_names(spec: Spec) -> Iterator[Finding]:
    # Modal refuses App names that look like App ids (modal._utils.name_utils.is_app_id).
    if re.fullmatch(r"ap-[A-Za-z0-9]{22}", spec.app.name):
        yield Finding(
            ("app", "name"),
            f"{spec.app.name!r} looks like a Modal App id (`ap-` and 22 characters), which Modal "
            "refuses as an App name",
        )
    for field, value in (
        (("app", "class_name"), spec.app.class_name),
        (("probe", "entrypoint"), spec.probe.entrypoint),
    ):
        if keyword.iskeyword(value) or keyword.issoftkeyword(value):
            yield Finding(field, f"{value!r} is a Python keyword; Python refuses it as a name")
        elif value in GENERATED_MODULE_NAMES or value.isupper():
            yield Finding(
                field,
                f"{value!r} would replace a name of the generated module (its imports, "
                "helpers and UPPER_CASE constants); choose another name",
            )
    if spec.app.class_name == spec.probe.entrypoint:
        yield Finding(("probe", "entrypoint"), "the probe entrypoint cannot share the class's name")


def server_kind(spec: Spec) -> Iterator[Finding]:
    """What the chosen server kind needs (its module says)."""
    for field, message in kind_findings(spec.server, spec):
        yield Finding(("server", *field), message)


def containers(spec: Spec) -> Iterator[Finding]:
    server = spec.server
    low, high = server.min_containers, server.max_containers
    if low is not None and high is not None and high < low:
        yield Finding(
            ("server", "max_containers"),
            f"max_containers ({high}) is below min_containers ({low}); Modal could never start "
            "the containers it must keep warm",
        )
    if server.buffer_containers is not None and high is not None and high <= (low or 0):
        yield Finding(
            ("server", "buffer_containers"),
            f"buffer_containers needs room to scale, but max_containers ({high}) allows no "
            f"container beyond min_containers ({low or 0}); raise max_containers or drop "
            "buffer_containers",
        )


def unauthenticated(spec: Spec) -> Iterator[Finding]:
    """A warning: the spec serves GPUs to anyone who finds the URL."""
    if spec.server.unauthenticated and spec.engine.api_key_secret is None:
        yield Finding(
            ("server", "unauthenticated"),
            "the endpoint is served without authentication: anyone on the internet who finds "
            "the URL can start GPU containers at your cost. Drop `unauthenticated` (Modal's "
            "proxy then asks for a Proxy Auth Token) or set `engine.api_key_secret`",
        )


def gpu_limits(spec: Spec) -> Iterator[Finding]:
    for section, gpu in (("server", spec.server.gpu), ("deep_gemm", spec.deep_gemm.gpu)):
        if gpu is None:
            continue
        limit = GPU_INFO[gpu.type].max_count
        if gpu.count > limit:
            yield Finding(
                (section, "gpu", "count"),
                f"Modal attaches at most {limit} {gpu.type.value} GPUs to one container; "
                f"given {gpu.count}",
            )
    tp = spec.engine.tensor_parallel_size
    if tp is not None and tp != spec.server.gpu.count:
        yield Finding(
            ("engine", "tensor_parallel_size"),
            f"tensor parallelism {tp} does not match the {spec.server.gpu.count} GPU(s) of "
            "server.gpu: SGLang would leave GPUs idle or ask for GPUs the container lacks; "
            "drop the key to use every GPU",
        )


def timeouts(spec: Spec) -> Iterator[Finding]:
    server = spec.server
    startup = server.startup_limit
    ready = spec.lifecycle.ready_timeout
    if ready is not None and startup < ready:
        timeout = getattr(server, "timeout", None)
        source = (
            "server.startup_timeout"
            if server.startup_timeout
            else "server.timeout"
            if timeout
            else f"Modal's default timeout of {MODAL_DEFAULT_TIMEOUT} s"
        )
        yield Finding(
            ("lifecycle", "ready_timeout"),
            f"the readiness wait of {ready} s is longer than the container's start-up limit of "
            f"{startup} s ({source}): Modal would kill the container first. Raise "
            "server.startup_timeout or lower lifecycle.ready_timeout",
        )


def speculative_decoding(spec: Spec) -> Iterator[Finding]:
    """Settings SGLang refuses or silently rewrites at start-up.

    Rules from sglang/srt/server_args.py (v0.5.9 and v0.5.10): in
    `ServerArgs._handle_speculative_decoding`, an assert that topk and draft tokens are unset
    when num_steps is unset (they are compared as numbers otherwise), "Spec v2 currently only
    supports topk = 1" when SGLANG_ENABLE_SPEC_V2 is on, and num_draft_tokens replaced by
    num_steps + 1 when topk is 1; in `_handle_mamba_radix_cache`, an assert that
    mamba_track_interval (default 256) >= num_draft_tokens with the `extra_buffer` strategy.
    """
    speculative = spec.engine.speculative
    if speculative is None or speculative.algorithm is SpeculativeAlgorithm.NGRAM:
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
        yield Finding(
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
    if topk == 1 and drafts != steps + 1:
        yield Finding(
            (*field, "num_draft_tokens"),
            f"with eagle_topk = 1 SGLang replaces num_draft_tokens by num_steps + 1 = "
            f"{steps + 1}; given {drafts}",
        )
    if topk > 1 and spec.image.env.get("SGLANG_ENABLE_SPEC_V2", "").lower() in TRUTHY:
        yield Finding(
            (*field, "eagle_topk"),
            "SGLANG_ENABLE_SPEC_V2 is on in image.env and SGLang's spec v2 only supports "
            f"eagle_topk = 1; given {topk}",
        )
    if spec.engine.mamba_scheduler_strategy is MambaSchedulerStrategy.EXTRA_BUFFER:
        interval = spec.engine.extra_args.get("--mamba-track-interval", 256)
        if isinstance(interval, int) and drafts > interval:
            yield Finding(
                (*field, "num_draft_tokens"),
                f"with mamba_scheduler_strategy = extra_buffer SGLang requires "
                f"mamba_track_interval ({interval}) >= num_draft_tokens; given {drafts}",
            )


_SIZE_IN_NAME = re.compile(r"(?<![A-Za-z0-9])(\d+(?:\.\d+)?)B(?![A-Za-z0-9])", re.IGNORECASE)
_DTYPE_IN_NAME = [
    (re.compile(r"NVFP4|MXFP4|FP4", re.IGNORECASE), WeightDtype.FP4),
    (re.compile(r"FP8", re.IGNORECASE), WeightDtype.FP8),
    (re.compile(r"AWQ|GPTQ|INT4|W4A16|4bit", re.IGNORECASE), WeightDtype.INT4),
    (re.compile(r"INT8|W8A8|8bit", re.IGNORECASE), WeightDtype.INT8),
    (re.compile(r"BF16", re.IGNORECASE), WeightDtype.BF16),
    (re.compile(r"FP16", re.IGNORECASE), WeightDtype.FP16),
]
# Upper bound of the memory fraction SGLang picks itself when none is given.
DEFAULT_MEMORY_FRACTION = 0.9


def weights_fit(spec: Spec) -> Iterator[Finding]:
    model = spec.model
    repository = model.name.split("/", 1)[1]
    parameters = model.parameters_billion
    if parameters is None:
        # The first size in the name is the total (`35B-A3B`: 35B total, 3B active).
        match = _SIZE_IN_NAME.search(repository.replace("-A", " A"))
        if match is None:
            return
        parameters = float(match.group(1))
    dtype = model.weight_dtype
    dtype_source = "model.weight_dtype"
    if dtype is None:
        found = [kind for pattern, kind in _DTYPE_IN_NAME if pattern.search(repository)]
        dtype, dtype_source = (
            (found[0], "the model name") if found else (WeightDtype.BF16, "assumed")
        )
    gpu = spec.server.gpu
    fraction = spec.engine.mem_fraction_static or DEFAULT_MEMORY_FRACTION
    weights_gb = parameters * dtype.bytes_per_parameter
    memory_gb = GPU_INFO[gpu.type].memory_gb
    usable_gb = memory_gb * gpu.count * fraction
    if weights_gb > usable_gb:
        yield Finding(
            ("server", "gpu"),
            f"the weights cannot fit: {parameters:g}B parameters x {dtype.bytes_per_parameter:g} "
            f"bytes ({dtype.value}, from {dtype_source}) = {weights_gb:g} GB, but "
            f"{gpu.count} x {gpu.type.value} x {memory_gb} GB x memory fraction {fraction:g} = "
            f"{usable_gb:g} GB; use more or larger GPUs or a smaller precision",
        )


_SECRET_NAME_PARTS = {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDENTIALS"}
_SECRET_NAME_PHRASES = ("API_KEY", "ACCESS_KEY", "PRIVATE_KEY", "SECRET_KEY", "AUTH_KEY")
_SECRET_VALUE = re.compile(
    r"hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}"
    r"|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ"
)


def no_inline_secrets(spec: Spec) -> Iterator[Finding]:
    for key, value in spec.image.env.items():
        upper = key.upper()
        by_name = bool(_SECRET_NAME_PARTS & set(upper.split("_"))) or any(
            phrase in upper for phrase in _SECRET_NAME_PHRASES
        )
        if (by_name and value) or _SECRET_VALUE.search(value):
            yield Finding(
                ("image", "env", key),
                f"{key} looks like a secret: image env is baked into the image and written into "
                "the generated file. Store it in a Modal Secret (`modal secret create "
                f"<name> {key}=...`) and list <name> under `secrets`",
            )


# First SGLang release with `--enable-weights-cpu-backup` (added by sgl-project/sglang#10873;
# verl tests for `sglang>=0.5.3` before passing it).
WEIGHTS_CPU_BACKUP_SINCE = (0, 5, 3)
_SGLANG_IMAGE_VERSION = re.compile(r"^lmsysorg/sglang:v(\d+)\.(\d+)\.(\d+)")


def memory_snapshot(spec: Spec) -> Iterator[Finding]:
    """What `lifecycle.memory_snapshot` needs from SGLang and its image.

    torch_memory_saver, behind `--enable-memory-saver`, refuses to start when PyTorch's CUDA
    allocator uses expandable segments (fzyzcjy/torch_memory_saver#24, #25).
    `--enable-weights-cpu-backup`, without which released weights come back as garbage after a
    resume, exists since SGLang 0.5.3. The option adds both flags itself: one spelling only.
    """
    if not spec.lifecycle.memory_snapshot:
        return
    for key in ("PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF"):
        setting = spec.image.env.get(key, "").replace(" ", "").lower()
        if "expandable_segments:true" in setting:
            yield Finding(
                ("image", "env", key),
                f"{key} turns on expandable_segments, which SGLang's memory saver "
                "(torch_memory_saver) refuses, and lifecycle.memory_snapshot needs the memory "
                "saver to release GPU memory before the snapshot: drop one or the other",
            )
    for flag in MEMORY_SNAPSHOT_FLAGS:
        if flag in spec.engine.extra_args:
            yield Finding(
                ("engine", "extra_args", flag),
                f"{flag} is added by lifecycle.memory_snapshot, which needs it: remove it from "
                "engine.extra_args",
            )
    match = _SGLANG_IMAGE_VERSION.match(spec.image.registry_tag)
    if match and tuple(int(part) for part in match.groups()) < WEIGHTS_CPU_BACKUP_SINCE:
        yield Finding(
            ("image", "registry_tag"),
            "lifecycle.memory_snapshot needs SGLang 0.5.3 or later, for "
            "--enable-weights-cpu-backup (without it, released weights come back as garbage); "
            f"the image has {'.'.join(match.groups())}",
        )


def engine_options(spec: Spec) -> Iterator[Finding]:
    """SGLang options and their values against the catalog of the image's SGLang version."""
    for severity, field, message in engine_option_findings(spec):
        if severity == "error":
            yield Finding(field, message)


def engine_option_warnings(spec: Spec) -> Iterator[Finding]:
    """Deprecated SGLang options, and `SGLANG_*` variables the image's SGLang does not read."""
    for severity, field, message in engine_option_findings(spec):
        if severity == "warning":
            yield Finding(field, message)


CHECKS: tuple[Check, ...] = (
    volume_references,
    deep_gemm_needs_gpu,
    app_names,
    server_kind,
    containers,
    gpu_limits,
    timeouts,
    speculative_decoding,
    weights_fit,
    no_inline_secrets,
    memory_snapshot,
    engine_options,
)
# Findings that do not stop generation, printed as `warning: ...`.
WARNINGS: tuple[Check, ...] = (unauthenticated, engine_option_warnings)


def run_checks(spec: Spec) -> list[Finding]:
    return [finding for check in CHECKS for finding in check(spec)]


def run_warnings(spec: Spec) -> list[Finding]:
    return [finding for check in WARNINGS for finding in check(spec)]

"""Checks across fields of a validated spec: what pydantic's per-field rules cannot see.

Each check returns problems as `(field path, message)`; `validation` adds the file and position.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from generator.checks import sidecars
from generator.engines.registry import engine_for
from generator.exposure import kind_findings, lock_hint
from generator.exposure.base import MAX_CLUSTER_NODES
from generator.model.image import (
    AddLocalDir,
    AddLocalFile,
    BuildStepLayer,
    PipInstall,
    RunCommands,
    RunScript,
    UvPipInstall,
)
from generator.model.models import (
    LOCAL_ADAPTERS_DIR,
    Spec,
    WeightDtype,
)
from generator.spec.errors import FieldPath
from generator.spec.fields import Gpu, is_commit
from generator.spec.gpus import GPU_INFO
from generator.workloads import workload_for

TRUTHY = {"1", "true", "yes", "on"}


class Finding(NamedTuple):
    field: FieldPath
    message: str


Check = Callable[[Spec], Iterator[Finding]]


def secret_key_references(spec: Spec) -> Iterator[Finding]:
    """`secret_keys` names only Secrets the app attaches, or its keys would check nothing."""
    used = spec.secrets_used
    for secret_name in spec.secret_keys:
        if secret_name not in used:
            yield Finding(
                ("secret_keys", secret_name),
                f"the app attaches no Secret named {secret_name!r} (it attaches: "
                f"{', '.join(used) or 'none'}); list it under `secrets`, or drop it here",
            )


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


def app_names(spec: Spec) -> Iterator[Finding]:
    # Modal refuses App names that look like App ids (modal._utils.name_utils.is_app_id).
    if re.fullmatch(r"ap-[A-Za-z0-9]{22}", spec.app.name):
        yield Finding(
            ("app", "name"),
            f"{spec.app.name!r} looks like a Modal App id (`ap-` and 22 characters), which Modal "
            "refuses as an App name",
        )
    # Names the generated module has a use for already are refused by their type
    # (`fields.GeneratedName`).
    if spec.app.class_name == spec.probe.entrypoint:
        yield Finding(("probe", "entrypoint"), "the probe entrypoint cannot share the class's name")
    # Keywords, builtins and the generated module's names (the entrypoint's locals among them)
    # are refused by the options' type; the spec's own names are left.
    for option in spec.probe.request_options:
        if option in (spec.app.class_name, spec.probe.entrypoint):
            yield Finding(
                ("probe", "request_options", option),
                f"{option!r} is already the name of the generated class or entrypoint; choose "
                "another name for the option",
            )


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


# How weights files are named in a Hugging Face repository: sharded or not, safetensors or not.
WEIGHT_FILES = ("model.safetensors", "model-00001-of-00002.safetensors", "pytorch_model.bin")
# Organisations whose models need an accepted licence, and so a token, to download.
GATED_ORGANISATIONS = frozenset({"meta-llama"})


def weights_download(spec: Spec) -> Iterator[Finding]:
    """What a build-time download needs: a Volume over the cache, and a token for gated models."""
    if not spec.downloads_at_build:
        return
    if spec.weights_volume is None:
        mounted = ", ".join(v.mount_path for v in spec.volumes) or "none"
        yield Finding(
            ("model", "download", "at"),
            f"the download writes to {spec.weights_cache} (huggingface_hub's cache), and no "
            f"Volume is mounted over it (mounted: {mounted}): add a Volume there, such as "
            '[[volumes]] name = "huggingface-cache", mount_path = "/root/.cache/huggingface"',
        )
    if _gated(spec) and not spec.download_secrets:
        yield Finding(
            ("model", "download"),
            f"{spec.model.name} is gated: downloading it needs a Hugging Face token. Create a "
            "Modal Secret (`modal secret create huggingface HF_TOKEN=hf_...`) and add "
            '`secrets = ["huggingface"]`',
        )
    download = spec.model.download
    allowed = download.allow_patterns
    if allowed is not None and not any(_matches(name, allowed) for name in WEIGHT_FILES):
        yield Finding(
            ("model", "download", "allow_patterns"),
            f"no weights file matches {allowed!r}: the engine would find no weights; "
            "allow `*.safetensors`",
        )
    ignored = download.ignore_patterns or []
    if ignored and all(_matches(name, ignored) for name in WEIGHT_FILES):
        yield Finding(
            ("model", "download", "ignore_patterns"),
            f"{ignored!r} skips every weights file (`*.safetensors` and `*.bin`): the engine "
            "would find no weights",
        )


def adapters(spec: Spec) -> Iterator[Finding]:
    """LoRA adapters: a Volume for the Hub's, their place in the image, and the names the
    probe and load test ask for."""
    names = [adapter.name for adapter in spec.model.adapters]
    if any(adapter.repo is not None for adapter in spec.model.adapters) and (
        spec.weights_volume is None
    ):
        yield Finding(
            ("model", "adapters"),
            f"the Hub's adapters are downloaded into {spec.weights_cache} (huggingface_hub's "
            "cache) while the image builds, and no Volume is mounted over it: add a Volume "
            'there, such as [[volumes]] name = "huggingface-cache", mount_path = '
            '"/root/.cache/huggingface"',
        )
    if any(adapter.path is not None for adapter in spec.model.adapters):
        taken = [
            (("image", "layers", index, "remote_path"), layer.remote_path)
            for index, layer in enumerate(spec.image.layers)
            if isinstance(layer, AddLocalFile | AddLocalDir)
        ] + [
            (("volumes", index, "mount_path"), v.mount_path) for index, v in enumerate(spec.volumes)
        ]
        for field, remote in taken:
            if _overlaps(remote, LOCAL_ADAPTERS_DIR):
                yield Finding(
                    field,
                    f"{remote} overlaps {LOCAL_ADAPTERS_DIR}, where the image holds the "
                    "adapters of the project (`model.adapters` with `path`): choose another path",
                )
    known = ", ".join(f"`{name}`" for name in names) or "none (no `[[model.adapters]]`)"
    asked = [(("probe", "adapter"), spec.probe.adapter)] if spec.probe.adapter else []
    asked += [
        (("bench", "adapters", index), name) for index, name in enumerate(spec.bench.adapters)
    ]
    for field, name in asked:
        if name not in names:
            yield Finding(field, f"no adapter is named `{name}`; adapters: {known}")


def workload_rules(spec: Spec) -> Iterator[Finding]:
    """What the spec's workload refuses (its module says)."""
    for field, message in workload_for(spec).findings(spec):
        yield Finding(field, message)


def _gated(spec: Spec) -> bool:
    """The model needs a Hugging Face token to download: as the spec says, else by its owner."""
    if spec.model.gated is not None:
        return spec.model.gated
    return spec.model.name.split("/", 1)[0] in GATED_ORGANISATIONS


def gated_download_at_start(spec: Spec) -> Iterator[Finding]:
    """A warning: the engine downloads a gated model on start without a Hugging Face token.

    The build-time download has the same check as an error (`weights_download`); here the image
    builds and deploys, and each container fails on start."""
    if spec.downloads_at_build or not _gated(spec) or spec.secrets:
        return
    yield Finding(
        ("model", "name"),
        f"{spec.model.name} is gated, and the engine downloads it when a container starts "
        '(`model.download.at = "start"`) with no Secret to read a Hugging Face token from: '
        "the download would fail in every container. Create a Modal Secret (`modal secret "
        'create huggingface HF_TOKEN=hf_...`) and add `secrets = ["huggingface"]`, or download '
        'while the image builds (`model.download = "build"`)',
    )


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


_PINNED = re.compile(r"===?|\s@\s|^[a-z]+\+?[a-z]*://", re.IGNORECASE)


def unpinned_packages(spec: Spec) -> Iterator[Finding]:
    """A warning: a package without a pinned version changes under a rebuilt image."""
    for index, layer in enumerate(spec.image.layers):
        if not isinstance(layer, UvPipInstall | PipInstall):
            continue
        for position, package in enumerate(layer.packages):
            if not _PINNED.search(package):
                yield Finding(
                    ("image", "layers", index, layer.method, position),
                    f"{package!r} is not pinned: a rebuilt image may get another version; "
                    "write `name==version`",
                )


def unpinned_revision(spec: Spec) -> Iterator[Finding]:
    """A warning: a branch or tag moves when the repository gets a new commit."""
    revision = spec.model.revision
    if is_commit(revision):
        return
    if spec.downloads_at_build:
        when = (
            "the weights are what it held when the image was built, and a rebuilt image (after "
            "any change to the image, or in another workspace) gets what it holds then"
        )
    else:
        when = (
            "each container that downloads the weights gets whatever it holds at that moment, "
            "so replicas can serve different weights"
        )
    yield Finding(
        ("model", "revision"),
        f"{revision!r} is a branch or tag, not a commit, and moves with each upload to "
        f"{spec.model.name}: {when}; run `modalgen pin` to write its current commit instead",
    )


def dummy_weights_switch(spec: Spec) -> Iterator[Finding]:
    """The switch's variable is written into the image's environment from where the app is
    deployed: no other setting of the image or the engine may hold that name."""
    variable = spec.model.dummy_weights_variable
    if variable is None:
        return
    if variable in spec.image.env:
        yield Finding(
            ("image", "env", variable),
            f"{variable} is model.dummy_weights_variable, which the image's environment takes "
            "from where the app is deployed: remove it here, or name another variable",
        )
    reserved = ("HF_", "HUGGING_FACE", *filter(None, [engine_for(spec).env_prefix]))
    if variable.upper().startswith(reserved):
        yield Finding(
            ("model", "dummy_weights_variable"),
            f"{variable} is a name Hugging Face or the engine reads: name a variable of your "
            'own, such as "APP_USE_DUMMY_WEIGHTS"',
        )


def sidecar_rules(spec: Spec) -> Iterator[Finding]:
    """What the sidecars need of the server and of each other."""
    for field, message in sidecars.findings(spec):
        yield Finding(field, message)


def _overlaps(path: str, folder: str) -> bool:
    """Whether `path` is `folder`, lies in it, or holds it (POSIX paths, `/` at their end
    ignored)."""
    path, folder = path.rstrip("/") or "/", folder.rstrip("/")
    return (
        path == folder or path.startswith(folder + "/") or folder.startswith(path.rstrip("/") + "/")
    )


def unpinned_adapter_revisions(spec: Spec) -> Iterator[Finding]:
    """A warning: an adapter at a branch or tag moves like the model's revision would."""
    for index, adapter in enumerate(spec.model.adapters):
        if adapter.revision is None or is_commit(adapter.revision):
            continue
        yield Finding(
            ("model", "adapters", index, "revision"),
            f"{adapter.revision!r} is a branch or tag, not a commit, and moves with each upload "
            f"to {adapter.repo}: the adapter is what it held when the image was built, and a "
            "rebuilt image gets what it holds then; run `modalgen pin` to write its current "
            "commit instead",
        )


def placeholder_revision(spec: Spec) -> Iterator[Finding]:
    """A warning: a revision of one repeated digit (the model's or an adapter's) is a
    placeholder no repository has."""
    revisions = [(("model", "revision"), spec.model.revision)] + [
        (("model", "adapters", index, "revision"), adapter.revision)
        for index, adapter in enumerate(spec.model.adapters)
        if adapter.revision is not None
    ]
    for field, revision in revisions:
        if is_commit(revision) and len(set(revision)) == 1:
            yield Finding(
                field,
                f"{revision[:8]}... looks like a placeholder: no commit has this hash, so the "
                "download fails once deployed; write the commit you tested",
            )


def deep_gemm_by_default(spec: Spec) -> Iterator[Finding]:
    """A warning: a GPU build step the spec did not ask for in so many words."""
    if spec.deep_gemm.enabled is None and spec.deep_gemm_enabled:
        gpu = spec.deep_gemm_gpu.modal_spec
        gpu = gpu if isinstance(gpu, str) else " or ".join(gpu)
        yield Finding(
            ("deep_gemm", "enabled"),
            f"on by default for SGLang: the image build compiles DeepGEMM's FP8 kernels on "
            f"{gpu} (GPU time, tens of minutes the first time). Write `[deep_gemm] enabled = "
            "true` to keep it, or `false` for a model that does not use DeepGEMM",
        )


def unauthenticated(spec: Spec) -> Iterator[Finding]:
    """A warning: the spec serves GPUs to anyone who finds the URL."""
    if spec.server.unauthenticated and spec.engine.api_key_secret is None:
        yield Finding(
            ("server", "unauthenticated"),
            "the endpoint is served without authentication: anyone on the internet who finds "
            f"the URL can start GPU containers at your cost. {lock_hint(spec.server.kind)}",
        )


def gpu_limits(spec: Spec) -> Iterator[Finding]:
    gpus: list[tuple[FieldPath, Gpu | None]] = [
        (("server", "gpu"), spec.server.gpu),
        (("deep_gemm", "gpu"), spec.deep_gemm.gpu),
    ]
    gpus += [
        (("image", "layers", index, "gpu"), layer.gpu)
        for index, layer in enumerate(spec.image.layers)
        if isinstance(layer, RunCommands | RunScript)
    ]
    for field, gpu in gpus:
        if gpu is None:
            continue
        for gpu_type in gpu.types:
            limit = GPU_INFO[gpu_type].max_count
            if gpu.count > limit:
                yield Finding(
                    (*field, "count"),
                    f"Modal attaches at most {limit} {gpu_type.value} GPUs to one container; "
                    f"given {gpu.count}",
                )
    if spec.server.nodes > 1:
        yield from _cluster_gpus(spec)
        return
    tp = spec.engine.tensor_parallel_size
    if tp is not None and tp != spec.server.gpu.count:
        yield Finding(
            ("engine", "tensor_parallel_size"),
            f"tensor parallelism {tp} does not match the {spec.server.gpu.count} GPU(s) of "
            f"server.gpu: {engine_for(spec).title} would leave GPUs idle or ask for GPUs the "
            "container lacks; drop the key to use every GPU",
        )


def _cluster_gpus(spec: Spec) -> Iterator[Finding]:
    """A cluster's nodes each take a whole machine, and the engine's parallelism spans them all.

    modal.clustered's docstring (modal 1.6): "Each container must request all GPUs on its host
    (for example, `gpu="H100:8"`)".
    """
    gpu, nodes = spec.server.gpu, spec.server.nodes
    for gpu_type in gpu.types:
        machine = GPU_INFO[gpu_type].max_count
        if gpu.count != machine:
            yield Finding(
                ("server", "gpu", "count"),
                f"each node of a Modal cluster takes all the GPUs of its machine, and one "
                f"{gpu_type.value} machine has {machine}: write count = {machine} (given "
                f"{gpu.count})",
            )
            return
    tensor, pipeline = engine_for(spec).parallel_sizes(spec)
    if tensor * pipeline != nodes * gpu.count:
        field = (
            ("engine", "tensor_parallel_size")
            if spec.engine.tensor_parallel_size is not None
            else ("server", "nodes")
        )
        yield Finding(
            field,
            f"tensor parallelism {tensor} x pipeline parallelism {pipeline} = "
            f"{tensor * pipeline} GPUs, but the cluster has {nodes} nodes x {gpu.count} GPUs = "
            f"{nodes * gpu.count}: {engine_for(spec).title} would leave GPUs idle or wait for "
            "GPUs that never join; make the product match, or drop the sizes for the defaults",
        )


def memory_snapshot_on_a_cluster(spec: Spec) -> Iterator[Finding]:
    """Snapshots and clusters: a snapshot keeps no live network connection (Modal's memory
    snapshot blog: "with the notable exception of live network connections"), and the ranks of a
    cluster are joined by them; modal 1.6 initialises a cluster's info before `modal.enter`, so
    a restored container would also hold the addresses of the cluster it was snapshotted in."""
    if spec.server.nodes > 1 and spec.lifecycle.memory_snapshot:
        yield Finding(
            ("lifecycle", "memory_snapshot"),
            f"memory snapshots cannot restore a cluster: the {spec.server.nodes} ranks of a "
            "replica are joined by live network connections, which a snapshot does not keep. "
            "Drop memory_snapshot, or serve on one node",
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
            else "Modal's default for this server kind"
        )
        yield Finding(
            ("lifecycle", "ready_timeout"),
            f"the readiness wait of {ready} s is longer than the container's start-up limit of "
            f"{startup} s ({source}): Modal would kill the container first. Raise "
            "server.startup_timeout or lower lifecycle.ready_timeout",
        )


_SIZE_IN_NAME = re.compile(r"(?<![A-Za-z0-9])([0-9]+(?:\.[0-9]+)?)B(?![A-Za-z0-9])", re.IGNORECASE)
_DTYPE_IN_NAME = [
    (re.compile(r"NVFP4|MXFP4|FP4", re.IGNORECASE), WeightDtype.FP4),
    (re.compile(r"FP8", re.IGNORECASE), WeightDtype.FP8),
    (re.compile(r"AWQ|GPTQ|INT4|W4A16|4bit", re.IGNORECASE), WeightDtype.INT4),
    (re.compile(r"INT8|W8A8|8bit", re.IGNORECASE), WeightDtype.INT8),
    (re.compile(r"BF16", re.IGNORECASE), WeightDtype.BF16),
    (re.compile(r"FP16", re.IGNORECASE), WeightDtype.FP16),
]
# Upper bound of the memory fraction an engine uses when the spec gives none (SGLang picks at most
# this; vLLM's --gpu-memory-utilization defaults to it).
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
    dtype_source = "from `model.weight_dtype`"
    advice = "use more or larger GPUs or a smaller precision"
    if dtype is None:
        found = [kind for pattern, kind in _DTYPE_IN_NAME if pattern.search(repository)]
        dtype, dtype_source = (
            (found[0], "from the model name")
            if found
            else (WeightDtype.BF16, "assumed: neither the name nor `model.weight_dtype` says it")
        )
        advice += f", or set `model.weight_dtype` if the weights are not {dtype.value}"
    gpu, nodes = spec.server.gpu, spec.server.nodes
    fraction = engine_for(spec).memory_fraction(spec) or DEFAULT_MEMORY_FRACTION
    weights_gb = parameters * dtype.bytes_per_parameter
    smallest = gpu.smallest  # with fallbacks, the weights must fit every type
    memory_gb = GPU_INFO[smallest].memory_gb
    usable_gb = memory_gb * gpu.count * nodes * fraction
    if weights_gb > usable_gb:
        machines = f"{nodes} nodes x " if nodes > 1 else ""
        yield Finding(
            ("server", "nodes") if nodes > 1 else ("server", "gpu"),
            f"the weights cannot fit: {parameters:g}B parameters x {dtype.bytes_per_parameter:g} "
            f"bytes ({dtype.value}, {dtype_source}) = {weights_gb:g} GB, but {machines}"
            f"{gpu.count} x {smallest.value} x {memory_gb} GB x memory fraction {fraction:g} = "
            f"{usable_gb:g} GB; {advice}{_nodes_hint(spec, weights_gb, fraction)}",
        )


def _nodes_hint(spec: Spec, weights_gb: float, fraction: float) -> str:
    """How many nodes of whole machines would hold the weights, for the weights-fit message."""
    gpu = spec.server.gpu
    if not all(GPU_INFO[gpu_type].max_count >= 2 for gpu_type in gpu.types):
        return ""
    machine = min(GPU_INFO[gpu_type].max_count for gpu_type in gpu.types)
    per_node_gb = GPU_INFO[gpu.smallest].memory_gb * machine * fraction
    needed = math.ceil(weights_gb / per_node_gb)
    if needed <= spec.server.nodes or needed > MAX_CLUSTER_NODES:
        return ""
    return (
        f"; or serve it on a cluster: `server.nodes = {needed}` with `gpu.count = {machine}` "
        f"({needed} machines of {machine} x {gpu.smallest.value})"
    )


def engine_rules(spec: Spec) -> Iterator[Finding]:
    """What the spec's engine refuses (its module says)."""
    for field, message in engine_for(spec).findings(spec):
        yield Finding(field, message)


def engine_options(spec: Spec) -> Iterator[Finding]:
    """Engine options and their values against the catalog of the image's engine version."""
    for severity, field, message in engine_for(spec).option_findings(spec):
        if severity == "error":
            yield Finding(field, message)


def engine_option_warnings(spec: Spec) -> Iterator[Finding]:
    """Deprecated engine options, and engine variables the image's version does not read."""
    for severity, field, message in engine_for(spec).option_findings(spec):
        if severity == "warning":
            yield Finding(field, message)


def build_step_layers(spec: Spec) -> Iterator[Finding]:
    """A build step placed among the layers must run, and the weights come before the kernels
    (DeepGEMM's compile reads the model)."""
    placed = {
        layer.build_step: index
        for index, layer in enumerate(spec.image.layers)
        if isinstance(layer, BuildStepLayer)
    }
    runs = {
        "download_weights": (
            spec.downloads_at_build,
            'no weights are downloaded while the image builds: set `model.download = "build"` '
            "or remove this layer",
        ),
        "compile_deep_gemm": (
            spec.deep_gemm_enabled and engine_for(spec).deep_gemm_prefix is not None,
            "DeepGEMM kernels are not compiled for this spec: remove this layer, or turn "
            "`deep_gemm.enabled` on (SGLang only)",
        ),
    }
    for step, index in placed.items():
        enabled, message = runs[step]
        if not enabled:
            yield Finding(("image", "layers", index, "build_step"), message)
    kernels = placed.get("compile_deep_gemm")
    if kernels is not None and spec.downloads_at_build and runs["compile_deep_gemm"][0]:
        weights = placed.get("download_weights")
        if weights is None or weights > kernels:
            yield Finding(
                ("image", "layers", kernels, "build_step"),
                "DeepGEMM's compile reads the model, which `download_weights` puts in the Volume: "
                'place `{ build_step = "download_weights" }` before this layer',
            )


CHECKS: tuple[Check, ...] = (
    secret_key_references,
    volume_references,
    app_names,
    server_kind,
    containers,
    weights_download,
    dummy_weights_switch,
    sidecar_rules,
    build_step_layers,
    adapters,
    workload_rules,
    gpu_limits,
    memory_snapshot_on_a_cluster,
    timeouts,
    engine_rules,
    weights_fit,
    engine_options,
)
# Findings that do not stop generation, printed as `warning: ...`.
WARNINGS: tuple[Check, ...] = (
    unauthenticated,
    gated_download_at_start,
    deep_gemm_by_default,
    placeholder_revision,
    unpinned_revision,
    unpinned_adapter_revisions,
    unpinned_packages,
    engine_option_warnings,
)


def run_checks(spec: Spec) -> list[Finding]:
    return [finding for check in CHECKS for finding in check(spec)]


def run_warnings(spec: Spec) -> list[Finding]:
    return [finding for check in WARNINGS for finding in check(spec)]

"""What a template needs, computed from a validated spec: every name, literal and decision.

Templates only place these values; anything that depends on more than one spec field is decided
here and named. Literals are `PyCode` made by `pycode.literal`, so spec values arrive as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.bench import BenchView, bench_view
from generator.exposure import ExposureView, ServiceParts, exposure_of
from generator.models import MEMORY_SNAPSHOT_FLAGS, ContentFormat, Spec, Volume
from generator.pycode import PyCode, call, comment, literal, name
from generator.view_parts import Keyword, ListItem, keyword


@dataclass(frozen=True)
class VolumeView:
    constant: PyCode
    name: PyCode
    create_if_missing: PyCode


@dataclass(frozen=True)
class DeepGemmView:
    command: tuple[ListItem, ...]
    check: PyCode
    fail_build_on_error: bool
    run_function_keywords: tuple[Keyword, ...]


@dataclass(frozen=True)
class ProbeView:
    entrypoint: PyCode
    parameters: PyCode
    timeout: PyCode
    prompt: PyCode  # the prompt the entrypoint sends: a parameter, or the default
    default_prompt: PyCode
    messages: PyCode  # built from `prompt`
    second_system_prompt: PyCode | None
    session_headers: PyCode
    payload: PyCode
    proxy_auth: bool
    api_key_variable: PyCode | None
    credentials: bool  # the client sends credentials it reads from the environment
    deployed_timeout: PyCode


@dataclass(frozen=True)
class WarmupView:
    requests: PyCode
    timeout: PyCode
    payload: PyCode


@dataclass(frozen=True)
class AppView:
    spec_path: PyCode
    output_path: PyCode
    inputs_digest: PyCode
    model_title: PyCode
    model_name: PyCode
    model_revision: PyCode
    registry_tag: PyCode
    image_env: PyCode | None
    volumes: tuple[VolumeView, ...]
    gpu: PyCode
    deep_gemm: DeepGemmView | None
    server_command: tuple[ListItem, ...]
    api_key_variable: PyCode | None  # the engine requires the key in this variable
    port: PyCode
    ready_timeout: PyCode
    stop_timeout: PyCode
    memory_snapshot: bool
    startup_enter_arguments: PyCode
    warmup: WarmupView | None
    app_name: PyCode
    service_name: PyCode
    start_server: PyCode  # the expression that starts the engine
    exposure: ExposureView
    probe: ProbeView
    bench: BenchView | None  # the load test; None when the spec turns it off


MODEL_NAME = name("MODEL_NAME")
MODEL_REVISION = name("MODEL_REVISION")
GPU = name("GPU")
PORT = name("PORT")

# Why each SGLang option is set, for the comment next to it in the generated command.
OPTION_COMMENTS: dict[str, str] = {
    "--tp-size": "tensor parallelism: split each layer across the GPUs",
    "--cuda-graph-max-bs": "only capture CUDA graphs for batch sizes we expect to see",
    "--enable-metrics": "expose Prometheus metrics",
    "--decode-log-interval": "how often to log while decoding, in tokens",
    "--mem-fraction-static": "GPU memory for weights and KV cache; the rest is headroom",
    "--speculative-algorithm": "speculative decoding: draft tokens, then verify them in one pass",
    "--enable-memory-saver": "lets SGLang release and resume its GPU memory, for the snapshot",
    "--enable-weights-cpu-backup": "keep the weights in CPU memory while released, not zeros",
}
# Modal's SGLang snapshot example sets this "to improve the compatibility of the Torch Inductor
# compiler with GPU snapshotting": Inductor then compiles in the server's own process rather than
# in a pool of worker processes. Added unless `image.env` sets it.
MEMORY_SNAPSHOT_ENV = {"TORCHINDUCTOR_COMPILE_THREADS": "1"}


def build_view(spec: Spec, spec_path: str, output_path: str, inputs_digest: str) -> AppView:
    volumes = _volume_constants(spec.volumes)
    server = spec.server
    service_name = name(spec.app.class_name)
    engine = spec.engine
    parts = ServiceParts(
        name=service_name,
        image=name("sglang_image"),
        gpu=GPU,
        volumes=_volume_mapping(spec, server.volumes, volumes),
        secrets=_secrets(spec.secrets_for_server),
        port=PORT,
        snapshot=_snapshot_keywords(spec),
        ready_timeout=name("READY_TIMEOUT"),
    )
    exposure = exposure_of(server, parts)
    return AppView(
        spec_path=comment(spec_path),
        output_path=comment(output_path),
        inputs_digest=comment(inputs_digest),
        model_title=comment(spec.model.name),
        model_name=literal(spec.model.name),
        model_revision=literal(spec.model.revision),
        registry_tag=literal(spec.image.registry_tag),
        image_env=_image_env(spec),
        volumes=tuple(
            VolumeView(
                constant=volumes[volume.name],
                name=literal(volume.name),
                create_if_missing=literal(volume.create_if_missing),
            )
            for volume in spec.volumes
        ),
        gpu=literal(server.gpu.modal_spec),
        deep_gemm=_deep_gemm_view(spec, volumes),
        server_command=_server_command(spec),
        api_key_variable=literal(engine.api_key_variable) if engine.api_key_secret else None,
        port=literal(server.port),
        ready_timeout=literal(spec.ready_timeout),
        stop_timeout=literal(spec.lifecycle.stop_timeout),
        memory_snapshot=spec.lifecycle.memory_snapshot,
        # With a snapshot, `startup` runs before it is taken and `wake_up` after each restore.
        startup_enter_arguments=PyCode("snap=True" if spec.lifecycle.memory_snapshot else ""),
        warmup=_warmup_view(spec),
        app_name=literal(spec.app.name),
        service_name=service_name,
        start_server=PyCode(
            "ServerProcess(SERVER_COMMAND, api_key_arguments())"
            if engine.api_key_secret
            else "ServerProcess(SERVER_COMMAND)"
        ),
        exposure=exposure,
        probe=_probe_view(spec, exposure.proxy_auth),
        bench=bench_view(spec),
    )


def _warmup_view(spec: Spec) -> WarmupView | None:
    warmup = spec.warmup
    if warmup.requests == 0:
        return None
    return WarmupView(
        requests=literal(warmup.requests),
        timeout=literal(warmup.timeout),
        payload=literal(
            {
                "messages": [{"role": "user", "content": _content(warmup.message)}],
                "max_tokens": warmup.max_tokens,
            }
        ),
    )


def _snapshot_keywords(spec: Spec) -> tuple[Keyword, ...]:
    if not spec.lifecycle.memory_snapshot:
        return ()
    return (
        keyword("enable_memory_snapshot", literal(True), "start replicas from a snapshot"),
        keyword(
            "experimental_options",
            literal({"enable_gpu_snapshot": True}),
            "the snapshot includes GPU memory",
        ),
    )


def _image_env(spec: Spec) -> PyCode | None:
    env = dict(spec.image.env)
    if spec.lifecycle.memory_snapshot:
        for key, value in MEMORY_SNAPSHOT_ENV.items():
            env.setdefault(key, value)
    return literal(env) if env else None


def _volume_constants(volumes: list[Volume]) -> dict[str, PyCode]:
    """A distinct UPPER_CASE constant name per volume, derived from the volume's name."""
    constants: dict[str, PyCode] = {}
    for volume in volumes:
        base = re.sub(r"[^A-Z0-9]+", "_", volume.name.upper()).strip("_") or "VOLUME"
        if base[0].isdigit():
            base = f"VOLUME_{base}"
        if not base.endswith("VOLUME"):
            base = f"{base}_VOLUME"
        candidate, suffix = base, 2
        while candidate in constants.values():
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        constants[volume.name] = name(candidate)
    return constants


def _volume_mapping(spec: Spec, chosen: list[str] | None, constants: dict[str, PyCode]) -> PyCode:
    names = chosen if chosen is not None else [volume.name for volume in spec.volumes]
    mount_paths = {volume.name: volume.mount_path for volume in spec.volumes}
    return literal({mount_paths[volume]: constants[volume] for volume in names})


def _deep_gemm_view(spec: Spec, volumes: dict[str, PyCode]) -> DeepGemmView | None:
    deep_gemm = spec.deep_gemm
    if not deep_gemm.enabled:
        return None
    gpu = spec.deep_gemm_gpu
    command = [
        ListItem(literal("python3")),
        ListItem(literal("-m")),
        ListItem(literal("sglang.compile_deep_gemm")),
        *_option("--model-path", MODEL_NAME),
        *_option("--revision", MODEL_REVISION),
        *_option("--tp-size", literal(str(spec.tensor_parallel_size))),
    ]
    return DeepGemmView(
        command=tuple(command),
        check=literal(deep_gemm.fail_build_on_error),
        fail_build_on_error=deep_gemm.fail_build_on_error,
        run_function_keywords=(
            keyword("volumes", _volume_mapping(spec, deep_gemm.volumes, volumes)),
            keyword("gpu", GPU if gpu == spec.server.gpu else literal(gpu.modal_spec)),
            *(
                [keyword("secrets", secrets)]
                if (secrets := _secrets(spec.secrets)) is not None
                else []
            ),
        ),
    )


def _flag(flag: str) -> ListItem:
    note = OPTION_COMMENTS.get(flag)
    return ListItem(literal(flag), comment(note) if note else None)


def _option(flag: str, value: PyCode | None = None) -> list[ListItem]:
    if value is None:
        return [_flag(flag)]
    return [_flag(flag), ListItem(value)]


def _server_command(spec: Spec) -> tuple[ListItem, ...]:
    engine = spec.engine
    items = [
        ListItem(literal("python")),
        ListItem(literal("-m")),
        ListItem(literal("sglang.launch_server")),
        *_option("--model-path", MODEL_NAME),
        *_option("--revision", MODEL_REVISION),
        *_option(
            "--served-model-name",
            MODEL_NAME
            if engine.served_model_name in (None, spec.model.name)
            else literal(engine.served_model_name),
        ),
        *_option("--host", literal(engine.host)),
        *_option("--port", literal(str(spec.server.port))),
        *_option("--tp-size", literal(str(spec.tensor_parallel_size))),
    ]
    if spec.cuda_graph_max_bs is not None:
        items += _option("--cuda-graph-max-bs", literal(str(spec.cuda_graph_max_bs)))
    if engine.enable_metrics:
        items += _option("--enable-metrics")
    optional: list[tuple[str, object]] = [
        ("--decode-log-interval", engine.decode_log_interval),
        ("--mem-fraction-static", engine.mem_fraction_static),
        ("--context-length", engine.context_length),
        ("--mamba-scheduler-strategy", engine.mamba_scheduler_strategy),
        ("--reasoning-parser", engine.reasoning_parser),
        ("--tool-call-parser", engine.tool_call_parser),
    ]
    speculative = engine.speculative
    if speculative is not None:
        optional += [
            ("--speculative-algorithm", speculative.algorithm),
            ("--speculative-num-steps", speculative.num_steps),
            ("--speculative-eagle-topk", speculative.eagle_topk),
            ("--speculative-num-draft-tokens", speculative.num_draft_tokens),
        ]
    if spec.lifecycle.memory_snapshot:
        optional += [(flag, True) for flag in MEMORY_SNAPSHOT_FLAGS]
    optional += list(engine.extra_args.items())
    for flag, value in optional:
        items += _argument(flag, value)
    return tuple(items)


def _argument(flag: str, value: object) -> list[ListItem]:
    """The argv items for one option: none when unset or false, the bare flag when true."""
    if value is None or value is False:
        return []
    if value is True:
        return _option(flag)
    if isinstance(value, list):
        return [_flag(flag)] + [ListItem(literal(str(item))) for item in value]
    return _option(flag, literal(str(value)))


def _secrets(names: list[str]) -> PyCode | None:
    if not names:
        return None
    return literal([call("modal.Secret.from_name", secret) for secret in names])


def _content(message, text: PyCode | str | None = None) -> object:
    """The `content` of a chat message: a string, or typed parts with the image first."""
    body = message.text if text is None else text
    if message.format is ContentFormat.TEXT:
        return body
    parts: list[dict[str, object]] = []
    if message.image_url is not None:
        parts.append({"type": "image_url", "image_url": {"url": message.image_url}})
    parts.append({"type": "text", "text": body})
    return parts


def _probe_view(spec: Spec, proxy_auth: bool) -> ProbeView:
    probe = spec.probe
    message = spec.probe_message
    messages: list[dict[str, object]] = []
    if probe.system_prompt is not None:
        messages.append({"role": "system", "content": probe.system_prompt})
    messages.append({"role": "user", "content": _content(message, name("prompt"))})

    second = probe.second_system_prompt
    # `modal run` options: the timeout and prompt when asked for; `--twice/--no-twice` whenever
    # there is a second run, so that it can always be skipped.
    parameters = [f"test_timeout={probe.timeout}", "prompt=None"] if probe.cli_options else []
    if second is not None:
        parameters.append("twice=True")
    if probe.cli_options and spec.bench.enabled:
        parameters.append("bench=False")
    engine = spec.engine
    return ProbeView(
        entrypoint=name(probe.entrypoint),
        parameters=PyCode(", ".join(parameters)),
        timeout=name("test_timeout") if probe.cli_options else literal(probe.timeout),
        prompt=PyCode("PROMPT if prompt is None else prompt")
        if probe.cli_options
        else name("PROMPT"),
        default_prompt=literal(message.text),
        messages=literal(messages),
        second_system_prompt=literal(second) if second is not None else None,
        session_headers=literal({probe.session_header: probe.session_id}),
        payload=literal(
            {"messages": name("messages"), "stream": True, **dict(probe.request_extras)}
        ),
        proxy_auth=proxy_auth,
        api_key_variable=literal(engine.api_key_variable) if engine.api_key_secret else None,
        credentials=proxy_auth or engine.api_key_secret is not None,
        deployed_timeout=literal(probe.timeout),
    )

"""What a template needs, computed from a validated spec: every name, literal and decision.

Templates only place these values; anything that depends on more than one spec field is decided
here and named. Literals are `PyCode` made by `pycode.literal`, so spec values arrive as data.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from generator.code.pycode import PyCode, comment, literal, name
from generator.code.view_parts import Decorator, Keyword, ListItem, keyword, secret
from generator.engines.base import Argument, Engine
from generator.engines.registry import engine_for
from generator.exposure import ExposureView, ServiceParts, exposure_of
from generator.model.models import Spec, Volume
from generator.spec.fields import is_commit
from generator.view.bench import BENCH_TOLERANCE, BenchView, bench_view
from generator.view.image_view import ImageView, image_view
from generator.view.sidecars import SidecarsView, sidecars_view
from generator.workloads import Workload, WorkloadView, workload_for
from generator.workloads.chat import content


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
    second_run: SecondRunView | None
    second_timeout: PyCode
    wait_for_health: bool  # poll /health before the first chat request
    # The request options: their values by name in the entrypoint, and their defaults.
    options: PyCode | None
    option_defaults: PyCode | None
    session_headers: PyCode
    session: bool  # a session header is sent
    payload: PyCode
    default_input: PyCode  # the probe's input for PROMPT: `chat_messages(PROMPT)`
    prompt_help: PyCode  # of the deployed client's `--prompt`
    proxy_auth: bool
    api_key_variable: PyCode | None
    credentials: bool  # the client sends credentials it reads from the environment
    deployed_timeout: PyCode


@dataclass(frozen=True)
class DownloadView:
    """The build step that downloads the weights into their Volume."""

    snapshot_keywords: tuple[Keyword, ...]  # of `snapshot_download`, after repo and revision
    run_function_keywords: tuple[Keyword, ...]


@dataclass(frozen=True)
class AdaptersView:
    """The build step that downloads the Hub's LoRA adapters into the weights Volume."""

    adapters: PyCode  # name -> (repository, revision, folder)
    run_function_keywords: tuple[Keyword, ...]


@dataclass(frozen=True)
class LocalAdapterView:
    """A LoRA adapter of the project, added to the image where the server command names it."""

    local: PyCode  # `PROJECT_DIR / "..."`
    remote: PyCode


@dataclass(frozen=True)
class SnapshotView:
    """The requests that release the engine's GPU memory before a snapshot and resume it after."""

    release_path: PyCode
    release_body: PyCode
    resume_path: PyCode
    resume_body: PyCode


@dataclass(frozen=True)
class SecondRunView:
    """The probe's second run: which message it changes, and to what."""

    index: PyCode
    content: PyCode


@dataclass(frozen=True)
class ClusterView:
    """A replica on several nodes: how each rank joins the engine across them."""

    nodes: PyCode
    port: PyCode  # rank 0 listens here for the other ranks
    options: tuple[ListItem, ...]  # the options each rank adds, as expressions
    worker_flags: PyCode | None  # what the ranks other than 0 add
    source: PyCode  # where the engine documents its multi-node mode


@dataclass(frozen=True)
class DummyWeightsView:
    """The development switch: random weights, no download, when a deploy-time variable is on."""

    variable: PyCode  # the environment variable, read where the app is deployed
    variable_comment: PyCode  # the same name, for the comments
    arguments: PyCode  # what the server command adds when it is on
    skips_download: bool  # the weights would be downloaded while the image builds


USE_DUMMY_WEIGHTS = name("USE_DUMMY_WEIGHTS")


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
    revision_note: tuple[PyCode, ...]  # comment lines on what the revision holds still
    engine_title: PyCode  # "SGLang", for comments and messages
    engine_title_literal: PyCode  # the same as a string literal, for code
    image: ImageView
    volumes: tuple[VolumeView, ...]
    gpu: PyCode
    dummy_weights: DummyWeightsView | None  # the development switch to random weights
    download: DownloadView | None
    adapters: AdaptersView | None
    local_adapters: tuple[LocalAdapterView, ...]
    deep_gemm: DeepGemmView | None
    server_command: tuple[ListItem, ...]
    api_key_variable: PyCode | None  # the engine requires the key in this variable
    server_env: PyCode | None  # variables the engine is started with, beyond the container's
    engine_config: PyCode | None  # the engine's config file, written at start
    port: PyCode
    ready_timeout: PyCode
    stop_timeout: PyCode
    memory_snapshot: SnapshotView | None
    cluster: ClusterView | None  # the replica spans several nodes
    startup_enter_arguments: PyCode
    warmup: WarmupView | None
    app_name: PyCode
    service_name: PyCode
    start_server: PyCode  # the expression that starts the engine
    exposure: ExposureView
    experimental_import: bool  # `import modal.experimental`, for the exposure or the cluster
    probe: ProbeView
    bench: BenchView | None  # the load test; None when the spec turns it off
    sidecars: SidecarsView | None  # processes beside the engine
    workload: WorkloadView


GPU = name("GPU")
PORT = name("PORT")


def build_view(spec: Spec, spec_path: str, output_path: str, inputs_digest: str) -> AppView:
    volumes = _volume_constants(spec.volumes)
    server = spec.server
    engine_impl = engine_for(spec)
    image_variable = f"{engine_impl.kind}_image"
    service_name = name(spec.app.class_name)
    engine = spec.engine
    parts = ServiceParts(
        name=service_name,
        image=name(image_variable),
        gpu=GPU,
        volumes=_volume_mapping(spec, server.volumes, volumes),
        secrets=_secrets(spec, spec.secrets_for_server),
        port=PORT,
        snapshot=_snapshot_keywords(spec),
        cluster=_cluster_decorator(spec),
        ready_timeout=name("READY_TIMEOUT"),
    )
    exposure = exposure_of(server, parts)
    workload = workload_for(spec)
    return AppView(
        spec_path=comment(spec_path),
        output_path=comment(output_path),
        inputs_digest=comment(inputs_digest),
        model_title=comment(spec.model.name),
        model_name=literal(spec.model.name),
        model_revision=literal(spec.model.revision),
        revision_note=_revision_note(spec),
        engine_title=comment(engine_impl.title),
        engine_title_literal=literal(engine_impl.title),
        image=image_view(
            spec.image,
            image_variable,
            _image_env(spec, engine_impl),
            spec.secret_keys,
            adds_other_files=any(sidecar.files for sidecar in spec.sidecars)
            or any(adapter.path is not None for adapter in spec.model.adapters),
        ),
        volumes=tuple(
            VolumeView(
                constant=volumes[volume.name],
                name=literal(volume.name),
                create_if_missing=literal(volume.create_if_missing),
            )
            for volume in spec.volumes
        ),
        gpu=literal(server.gpu.modal_spec),
        dummy_weights=_dummy_weights_view(spec, engine_impl),
        download=_download_view(spec, volumes),
        adapters=_adapters_view(spec, volumes),
        local_adapters=tuple(
            LocalAdapterView(
                local=PyCode(f"PROJECT_DIR / {literal(adapter.path)}"),
                remote=literal(spec.adapter_path(adapter)),
            )
            for adapter in spec.model.adapters
            if adapter.path is not None
        ),
        deep_gemm=_deep_gemm_view(spec, engine_impl, volumes),
        server_command=_server_command(spec, engine_impl),
        api_key_variable=literal(engine.api_key_variable) if engine.api_key_secret else None,
        server_env=_server_env(spec),
        engine_config=literal(dict(engine.config)) if engine.config else None,
        port=literal(server.port),
        ready_timeout=literal(spec.ready_timeout),
        stop_timeout=literal(spec.lifecycle.stop_timeout),
        memory_snapshot=_snapshot_view(spec, engine_impl),
        cluster=_cluster_view(spec, engine_impl),
        # With a snapshot, `startup` runs before it is taken and `wake_up` after each restore.
        startup_enter_arguments=PyCode("snap=True" if spec.lifecycle.memory_snapshot else ""),
        warmup=_warmup_view(spec, workload),
        app_name=literal(spec.app.name),
        service_name=service_name,
        start_server=_start_server(spec),
        exposure=exposure,
        experimental_import=exposure.needs_experimental_import or server.nodes > 1,
        probe=_probe_view(spec, workload, exposure.proxy_auth),
        bench=bench_view(
            spec,
            spec_path,
            workload.path,
            workload.one_request,
            workload.bench_body(spec),
            workload.bench_adapters(spec),
            workload.load_test_options,
        ),
        workload=workload.view(spec),
        sidecars=sidecars_view(spec),
    )


def _start_server(spec: Spec) -> PyCode:
    """The expression that starts the engine: its command, the config file and the API key
    added at run time."""
    command = (
        "SERVER_COMMAND + engine_config_arguments()" if spec.engine.config else ("SERVER_COMMAND")
    )
    if spec.server.nodes > 1:
        command += " + cluster_arguments()"
    arguments = [command]
    if spec.engine.api_key_secret:
        arguments.append("api_key_arguments()")
    return PyCode(f"ServerProcess({', '.join(arguments)})")


def _server_env(spec: Spec) -> PyCode | None:
    """Weights baked into the Volume at build time: the engine never reaches the Hub. Random
    weights skip that download, and the engine fetches the model's config and tokenizer."""
    if not spec.downloads_at_build:
        return None
    if spec.model.dummy_weights_variable is None:
        return literal({"HF_HUB_OFFLINE": "1"})
    return literal({"HF_HUB_OFFLINE": PyCode(f'"0" if {USE_DUMMY_WEIGHTS} else "1"')})


def _dummy_weights_view(spec: Spec, engine: Engine) -> DummyWeightsView | None:
    variable = spec.model.dummy_weights_variable
    if variable is None:
        return None
    return DummyWeightsView(
        variable=literal(variable),
        variable_comment=comment(variable),
        arguments=literal(list(engine.dummy_weights_arguments)),
        skips_download=spec.downloads_at_build,
    )


def _download_view(spec: Spec, volumes: dict[str, PyCode]) -> DownloadView | None:
    if not spec.downloads_at_build:
        return None
    download = spec.model.download
    weights_volume = spec.weights_volume
    assert weights_volume is not None  # checks.weights_download
    patterns = [
        keyword(key, literal(value))
        for key, value in (
            ("allow_patterns", download.allow_patterns),
            ("ignore_patterns", download.ignore_patterns),
            ("max_workers", download.max_workers),
        )
        if value is not None
    ]
    secrets = spec.download_secrets
    run_keywords = [
        keyword("volumes", _volume_mapping(spec, [weights_volume.name], volumes)),
        *([keyword("secrets", code)] if (code := _secrets(spec, secrets)) is not None else []),
        keyword("timeout", literal(download.timeout), "seconds"),
    ]
    if download.cpu is not None:
        run_keywords.append(keyword("cpu", literal(download.cpu)))
    if download.memory is not None:
        run_keywords.append(keyword("memory", literal(download.memory), "MiB"))
    return DownloadView(tuple(patterns), tuple(run_keywords))


def _revision_note(spec: Spec) -> tuple[PyCode, ...]:
    if is_commit(spec.model.revision):
        pinned = (
            "The revision is pinned so that a new upload to the Hub cannot change what is deployed."
        )
        return (comment(pinned),)
    return (
        comment("The revision is a branch or tag, not a commit: a new upload to the Hub moves it"),
        comment(
            "and changes what the next download gets. `modalgen pin` writes its current commit."
        ),
    )


def _adapters_view(spec: Spec, volumes: dict[str, PyCode]) -> AdaptersView | None:
    """The Hub's adapters go where the base weights would: the weights Volume, at build time."""
    adapters = [adapter for adapter in spec.model.adapters if adapter.repo is not None]
    if not adapters:
        return None
    weights_volume = spec.weights_volume
    assert weights_volume is not None  # checks.adapters_download
    secrets = spec.download_secrets
    return AdaptersView(
        adapters=literal(
            {
                adapter.name: (adapter.repo, adapter.revision, spec.adapter_path(adapter))
                for adapter in adapters
            }
        ),
        run_function_keywords=(
            keyword("volumes", _volume_mapping(spec, [weights_volume.name], volumes)),
            *([keyword("secrets", code)] if (code := _secrets(spec, secrets)) is not None else []),
            keyword("timeout", literal(spec.model.download.timeout), "seconds"),
        ),
    )


def _snapshot_view(spec: Spec, engine: Engine) -> SnapshotView | None:
    if not spec.lifecycle.memory_snapshot:
        return None
    release, resume = engine.snapshot.release, engine.snapshot.resume
    return SnapshotView(
        release_path=literal(release.path),
        release_body=literal(release.body),
        resume_path=literal(resume.path),
        resume_body=literal(resume.body),
    )


def _warmup_view(spec: Spec, workload: Workload) -> WarmupView | None:
    warmup = spec.warmup
    if warmup.requests == 0:
        return None
    return WarmupView(
        requests=literal(warmup.requests),
        timeout=literal(warmup.timeout),
        payload=literal(workload.warmup_body(spec)),
    )


def _cluster_decorator(spec: Spec) -> Decorator | None:
    if spec.server.nodes == 1:
        return None
    return Decorator(
        PyCode("modal.clustered"),
        (
            keyword("size", name("NODES"), "containers per replica, one per machine"),
            keyword("rdma", literal(spec.server.rdma), "RDMA between the nodes"),
        ),
    )


def _cluster_view(spec: Spec, engine: Engine) -> ClusterView | None:
    if spec.server.nodes == 1:
        return None
    launch = engine.cluster_launch(spec)
    options: list[ListItem] = []
    for option in launch.options:
        options += [ListItem(literal(option.flag)), ListItem(PyCode(option.expression))]
    return ClusterView(
        nodes=literal(spec.server.nodes),
        port=literal(launch.port),
        options=tuple(options),
        worker_flags=literal(list(launch.worker_flags)) if launch.worker_flags else None,
        source=comment(launch.source),
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


def _image_env(spec: Spec, engine: Engine) -> dict[str, str | PyCode]:
    """`image.env`, the dummy-weights switch as it was where the app was deployed (containers
    import the module again, and read it there), and what the engine needs for snapshots unless
    the image sets it already."""
    env: dict[str, str | PyCode] = dict(spec.image.env)
    variable = spec.model.dummy_weights_variable
    if variable is not None:
        env[variable] = PyCode(f"str(int({USE_DUMMY_WEIGHTS}))")
    if spec.lifecycle.memory_snapshot:
        for key, value in engine.snapshot.env.items():
            if key not in spec.image_env:
                env[key] = value
    return env


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


def _deep_gemm_view(spec: Spec, engine: Engine, volumes: dict[str, PyCode]) -> DeepGemmView | None:
    if not spec.deep_gemm_enabled or engine.deep_gemm_prefix is None:
        return None
    deep_gemm = spec.deep_gemm
    gpu = spec.deep_gemm_gpu
    command = [ListItem(literal(part)) for part in engine.deep_gemm_prefix]
    command += _command_items(engine, engine.deep_gemm_arguments(spec))
    return DeepGemmView(
        command=tuple(command),
        check=literal(deep_gemm.fail_build_on_error),
        fail_build_on_error=deep_gemm.fail_build_on_error,
        run_function_keywords=(
            keyword("volumes", _volume_mapping(spec, deep_gemm.volumes, volumes)),
            keyword("gpu", GPU if gpu == spec.server.gpu else literal(gpu.modal_spec)),
            *(
                [keyword("secrets", secrets)]
                if (secrets := _secrets(spec, spec.secrets)) is not None
                else []
            ),
        ),
    )


def _server_command(spec: Spec, engine: Engine) -> tuple[ListItem, ...]:
    items = [ListItem(literal(part)) for part in engine.server_command_prefix(spec)]
    return tuple(items + _command_items(engine, engine.arguments(spec)))


def _command_items(engine: Engine, arguments: list[Argument]) -> list[ListItem]:
    """The argv items of each option: none when unset or false, the bare flag when true, a
    list's items after its flag, a constant's name where the value is one."""
    items: list[ListItem] = []
    for argument in arguments:
        value = argument.value
        if value is None or value is False:
            continue
        if argument.flag is not None:
            note = engine.option_comments.get(argument.flag)
            items.append(ListItem(literal(argument.flag), comment(note) if note else None))
        if value is True:
            continue
        if argument.name is not None:
            items.append(ListItem(name(argument.name)))
        elif isinstance(value, list):
            items += [ListItem(literal(str(item))) for item in value]
        else:
            items.append(ListItem(literal(str(value))))
    return items


def _secrets(spec: Spec, names: list[str]) -> PyCode | None:
    if not names:
        return None
    return literal([secret(name, spec.secret_keys) for name in names])


# The types modal's CLI parses an option as (`modal.cli.run.option_parsers`), by annotation.
_OPTION_TYPES: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}


def _option(parameter: str, option_type: type, default: object) -> PyCode:
    """A parameter of the probe entrypoint, annotated so that `modal run` parses its option as
    `option_type` (`bool` gives `--x/--no-x`; unannotated, every option would be a string); a
    default of None makes the option optional without a value of its own."""
    annotation = _OPTION_TYPES[option_type]
    if default is None:
        annotation += " | None"
    elif type(default) is not option_type:
        raise TypeError(f"default {default!r} of `{parameter}` is not {annotation}")
    return PyCode(f"{name(parameter)}: {annotation} = {literal(default)}")


def _probe_view(spec: Spec, workload: Workload, proxy_auth: bool) -> ProbeView:
    probe = spec.probe
    message = spec.probe_message
    messages: list[dict[str, object]] = []
    if probe.system_prompt is not None:
        messages.append({"role": "system", "content": probe.system_prompt})
    messages.append({"role": "user", "content": content(message, name("prompt"))})

    second: SecondRunView | None = None
    if probe.second_system_prompt is not None:
        second = SecondRunView(literal(0), literal(probe.second_system_prompt))
    elif probe.second_prompt is not None:
        second = SecondRunView(literal(-1), literal(content(message, probe.second_prompt)))
    # `modal run` options: the timeout and prompt when asked for; `--twice/--no-twice` whenever
    # there is a second run, so that it can always be skipped; then the request options.
    options = probe.option_names
    parameters: list[PyCode] = []
    if "test_timeout" in options:
        parameters.append(_option("test_timeout", int, probe.timeout))
    if "prompt" in options:
        default = message.text if probe.prompt_has_default else None
        parameters.append(_option("prompt", str, default))
    if second is not None:
        parameters.append(_option("twice", bool, True))
    if probe.cli_options and spec.bench.enabled:
        parameters.append(_option("bench", bool, False))
        if workload.load_test_options:  # the options of the streaming load test
            parameters += [
                _option("workers", int, None),
                _option("compare", str, None),
                _option("tolerance", float, BENCH_TOLERANCE),
                _option("peak_rate", float, None),
            ]
    requested = probe.request_options
    parameters += [
        _option(key, type(option.default), option.default) for key, option in requested.items()
    ]
    if "prompt" not in options:
        prompt = name("PROMPT")
    elif probe.prompt_has_default:
        prompt = name("prompt")
    else:
        prompt = PyCode("PROMPT if prompt is None else prompt")
    timeout = name("test_timeout") if "test_timeout" in options else literal(probe.timeout)
    payload = copy.deepcopy(workload.probe_body(spec))
    for key, option in requested.items():
        *parents, last = (option.field or key).split(".")
        node = payload
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = PyCode(f"options[{literal(key)}]")
    engine = spec.engine
    return ProbeView(
        entrypoint=name(probe.entrypoint),
        parameters=PyCode(", ".join(parameters)),
        timeout=timeout,
        prompt=prompt,
        default_prompt=literal(message.text),
        messages=literal(messages),
        second_run=second,
        second_timeout=literal(probe.second_timeout)
        if probe.second_timeout is not None
        else timeout,
        wait_for_health=probe.wait_for_health,
        options=literal({key: name(key) for key in requested}) if requested else None,
        option_defaults=literal({key: option.default for key, option in requested.items()})
        if requested
        else None,
        session_headers=literal(
            {probe.session_header: probe.session_id} if probe.session_header else {}
        ),
        session=bool(probe.session_header),
        payload=literal(payload),
        default_input=PyCode(workload.default_input),
        prompt_help=literal(workload.prompt_help),
        proxy_auth=proxy_auth,
        api_key_variable=literal(engine.api_key_variable) if engine.api_key_secret else None,
        credentials=proxy_auth or engine.api_key_secret is not None,
        deployed_timeout=literal(probe.timeout),
    )

"""Read what a Modal app file declares, offline, with the real `modal` package.

Importing an app file with `modal` only builds lazy objects; their settings live in the closures
that would load them on Modal. This module reads those closures (for the pinned modal version)
and returns plain data that two apps can be compared by, whichever way they expose the server:
`@app.cls` (with `modal.experimental.http_server`), `@app.server`, or `@app.function` with
`@modal.web_server`.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import modal
from google.protobuf.json_format import MessageToDict
from modal._partial_function import _PartialFunction, _PartialFunctionFlags
from modal._serialization import deserialize_data_format
from modal._utils.async_utils import synchronizer

# The Dockerfile commands are those of this image builder version (modal 1.6's default).
IMAGE_BUILDER_VERSION = "2025.06"


def import_app_file(path: Path) -> ModuleType:
    """Import a Modal app file as a fresh module, as `modal run` would."""
    name = f"app_under_test_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module


def _closure(function: Any) -> dict[str, Any]:
    cells = function.__closure__ or ()
    return dict(
        zip(function.__code__.co_freevars, (cell.cell_contents for cell in cells), strict=True)
    )


def _proto(message: Any) -> dict[str, Any] | None:
    if message is None:
        return None
    return MessageToDict(message, preserving_proto_field_name=True)


def _volumes(pairs: list[tuple[str, modal.Volume]]) -> dict[str, dict[str, Any]]:
    volumes = {}
    for path, volume in pairs:
        loader = _closure(synchronizer._translate_in(volume)._load)
        volumes[str(path)] = {
            "name": loader["name"],
            "create_if_missing": loader["create_if_missing"],
        }
    return volumes


def _secrets(secrets: list[Any]) -> list[str]:
    return [_closure(secret._load).get("name") for secret in secrets]


@dataclass
class BuildStep:
    """A function that runs while the image builds (`Image.run_function`)."""

    name: str
    function: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    declared: dict[str, Any]

    def facts(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "args": list(self.args),
            "kwargs": self.kwargs,
            **self.declared,
        }


@dataclass
class ImageDescription:
    base: dict[str, Any] = field(default_factory=dict)
    entrypoint_cleared: bool = False
    env: dict[str, str] = field(default_factory=dict)
    # Each layer from the base up: Dockerfile commands, a build step, or local files.
    layers: list[dict[str, Any]] = field(default_factory=list)
    build_steps: list[BuildStep] = field(default_factory=list)
    # Where each local file added to the image lies on this machine, by its path in the image.
    mounted_files: dict[str, str] = field(default_factory=dict)

    def facts(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "entrypoint_cleared": self.entrypoint_cleared,
            "env": self.env,
            "layers": self.layers,
        }


def _build_step(build_function: Any, function_input: Any) -> BuildStep:
    function = synchronizer._translate_in(build_function)
    settings = _closure(function._load)
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if function_input is not None:
        args, kwargs = deserialize_data_format(
            function_input.args, function_input.data_format, None
        )
    return BuildStep(
        name=function._raw_f.__name__,
        function=function._raw_f,
        args=tuple(args),
        kwargs=dict(kwargs),
        declared={
            "gpu": settings["gpu"],
            "volumes": _volumes(settings["validated_volumes_no_cloud_buckets"]),
            "secrets": _secrets(settings["secrets"]),
            "timeout": settings["timeout"],
            "cpu": settings["cpu"],
            "memory": settings["memory"],
        },
    )


def describe_image(image: modal.Image) -> ImageDescription:
    """Walk an image's layers from the base up."""
    layers = []
    current = synchronizer._translate_in(image)
    while current is not None:
        loader = _closure(current._load)
        if "single_layer_image" not in loader:
            layers.append(loader)
        base = (
            (loader.get("base_images") or {}).get("base")
            or loader.get("base_image")  # local files
            or loader.get("single_layer_image")  # from_registry(..., add_python=...)
        )
        current = synchronizer._translate_in(base) if base is not None else None
    description = ImageDescription()
    for loader in reversed(layers):
        if "mount" in loader:
            mount = synchronizer._translate_in(loader["mount"])
            # `add_local_file` mounts files, `add_local_dir` folders: one kind per layer.
            for kind, attribute in (("local_files", "local_file"), ("local_dirs", "local_dir")):
                entries = [entry for entry in mount._entries if hasattr(entry, attribute)]
                if entries:
                    layer = [
                        {
                            "remote_path": str(entry.remote_path),
                            "local_name": Path(getattr(entry, attribute)).name,
                        }
                        for entry in entries
                    ]
                    description.layers.append({kind: layer})
            description.mounted_files.update(
                {
                    str(entry.remote_path): str(entry.local_file)
                    for entry in mount._entries
                    if hasattr(entry, "local_file")
                }
            )
            continue
        context = loader.get("context_mount_function")
        copied = _closure(context).get("mount") if context is not None else None
        if copied is not None:  # `add_local_file(..., copy=True)`: a COPY layer of the files
            entries = [
                entry
                for entry in synchronizer._translate_in(copied)._entries
                if hasattr(entry, "local_file")
            ]
            layer = [
                {"remote_path": str(entry.remote_path), "local_name": Path(entry.local_file).name}
                for entry in entries
            ]
            description.layers.append({"local_files": layer, "copied": True})
            description.mounted_files.update(
                {str(entry.remote_path): str(entry.local_file) for entry in entries}
            )
            continue
        dockerfile = loader.get("dockerfile_function")
        if dockerfile is not None:
            cells = _closure(dockerfile)
            if "tag" in cells:
                description.base = {"registry": cells["tag"]}
                if cells.get("add_python"):
                    description.base["add_python"] = cells["add_python"]
            description.env.update(cells.get("vars") or {})
            commands = dockerfile(IMAGE_BUILDER_VERSION).commands
            commands = [c for c in commands if c != "FROM base"]
            description.entrypoint_cleared |= "ENTRYPOINT []" in commands
            if commands:
                description.layers.append({"dockerfile": commands})
        build_function = loader.get("build_function")
        if build_function is not None:
            step = _build_step(build_function, loader.get("build_function_input"))
            description.build_steps.append(step)
            description.layers.append({"build_step": step.name})
    return description


def _lifecycle(user_cls: type | None) -> dict[str, list[str]]:
    phases = {
        "enter_pre_snapshot": _PartialFunctionFlags.ENTER_PRE_SNAPSHOT,
        "enter_post_snapshot": _PartialFunctionFlags.ENTER_POST_SNAPSHOT,
        "exit": _PartialFunctionFlags.EXIT,
    }
    found: dict[str, list[str]] = {phase: [] for phase in phases}
    if user_cls is None:
        return found
    for attribute, value in vars(user_cls).items():
        partial = synchronizer._translate_in(value)
        if not isinstance(partial, _PartialFunction):
            continue
        for phase, flag in phases.items():
            if partial.flags & flag:
                found[phase].append(attribute)
    return found


def lifecycle_method(user_cls: type, attribute: str) -> Any:
    """The plain function behind a `@modal.enter`/`@modal.exit` method."""
    return synchronizer._translate_in(vars(user_cls)[attribute]).raw_f


# Settings of a service function that say how it runs, scales and is reached.
SERVICE_SETTINGS = (
    "gpu",
    "timeout",
    "startup_timeout",
    "min_containers",
    "max_containers",
    "buffer_containers",
    "scaledown_window",
    "cpu",
    "memory",
    "ephemeral_disk",
    "cloud",
    "enable_memory_snapshot",
    "target_concurrent_inputs_int",
    "max_concurrent_inputs",
    "is_server",
)


@dataclass
class Service:
    """One deployed thing that serves HTTP: a class, a Modal Server or a web-server function."""

    name: str
    decorator: str  # "cls", "server" or "function"
    declared: dict[str, Any]
    image: ImageDescription
    user_cls: type | None
    function: Any | None
    lifecycle: dict[str, list[str]]
    # `@modal.clustered`: {"size": containers per replica, "rdma": ...}; None without a cluster.
    cluster: dict[str, Any] | None = None

    def facts(self) -> dict[str, Any]:
        facts = {
            "decorator": self.decorator,
            "declared": self.declared,
            "image": self.image.facts(),
            "build_steps": [step.facts() for step in self.image.build_steps],
            "lifecycle": self.lifecycle,
        }
        endpoints = endpoint_methods(self.user_cls) if self.decorator == "cls" else {}
        if endpoints:  # a class's web endpoint methods (`@modal.web_server`), each its config
            facts["endpoints"] = endpoints
        return facts


def _describe_service(name: str, decorator: str, function: Any, user_cls: type | None) -> Service:
    settings = _closure(function._load)
    declared = {key: settings[key] for key in SERVICE_SETTINGS}
    declared["experimental_options"] = dict(settings["experimental_options"] or {})
    declared["volumes"] = _volumes(settings["validated_volumes_no_cloud_buckets"])
    declared["secrets"] = _secrets(settings["secrets"])
    declared["http_config"] = _proto(settings["http_config"])
    declared["webhook_config"] = _proto(settings["webhook_config"])
    declared["autoscaler_settings"] = _proto(settings["autoscaler_settings"])
    declared["scheduler_placement"] = _proto(settings["scheduler_placement"])
    return Service(
        name=name,
        decorator=decorator,
        declared=declared,
        image=describe_image(synchronizer._translate_out(settings["image"])),
        user_cls=user_cls,
        function=function._raw_f if user_cls is None else None,
        lifecycle=_lifecycle(user_cls),
        cluster={"size": settings["cluster_size"], "rdma": settings["rdma"]}
        if settings["cluster_size"]
        else None,
    )


def endpoint_methods(user_cls: type) -> dict[str, dict[str, Any]]:
    """The web endpoints among a class's methods: method name -> its webhook config."""
    endpoints = {}
    for attribute, value in vars(user_cls).items():
        if isinstance(value, modal.partial_function.PartialFunction):
            params = synchronizer._translate_in(value).params
            if params.webhook_config is not None:
                endpoints[attribute] = _proto(params.webhook_config)
    return endpoints


@dataclass
class Entrypoint:
    name: str
    function: Any
    parameters: dict[str, Any]


@dataclass
class AppDescription:
    name: str
    services: dict[str, Service]
    entrypoints: dict[str, Entrypoint]

    def facts(self) -> dict[str, Any]:
        return {
            "app_name": self.name,
            "services": {name: service.facts() for name, service in self.services.items()},
            "entrypoints": {
                name: {"parameters": entrypoint.parameters}
                for name, entrypoint in self.entrypoints.items()
            },
        }


def describe_app(module: ModuleType) -> AppDescription:
    app: modal.App = module.app
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = dict(app.registered_classes)
        functions = dict(app.registered_functions)
        entrypoints = dict(app.registered_entrypoints)
    services: dict[str, Service] = {}
    for name, cls in classes.items():
        inner = synchronizer._translate_in(cls)
        services[name] = _describe_service(
            name, "cls", inner._class_service_function, inner._user_cls
        )
    for name, function in functions.items():
        if name.endswith(".*"):  # the service function of a class above
            continue
        inner = synchronizer._translate_in(function)
        settings = _closure(inner._load)
        if settings["is_server"]:  # `@app.server`: the function serves the user's class
            services[name] = _describe_service(name, "server", inner, settings["info"].user_cls)
        else:
            services[name] = _describe_service(name, "function", inner, None)
    described_entrypoints = {}
    for name, entrypoint in entrypoints.items():
        function = synchronizer._translate_in(entrypoint).info.raw_f
        parameters = {
            parameter.name: "<required>"
            if parameter.default is inspect.Parameter.empty
            else parameter.default
            for parameter in inspect.signature(function).parameters.values()
        }
        described_entrypoints[name] = Entrypoint(name, function, parameters)
    return AppDescription(name=app.name, services=services, entrypoints=described_entrypoints)

"""Read what a Modal app file declares, offline, with the real `modal` package.

Importing an app file with `modal` only builds lazy objects; their settings live in the closures
that would load them on Modal. This module reads those closures (for the pinned modal version)
and returns plain data that two apps can be compared by.
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
from modal._partial_function import _PartialFunction, _PartialFunctionFlags
from modal._utils.async_utils import synchronizer


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


def _volume(volume: modal.Volume) -> tuple[str, bool]:
    loader = _closure(synchronizer._translate_in(volume)._load)
    return loader["name"], loader["create_if_missing"]


def _volumes(pairs: list[tuple[str, modal.Volume]]) -> dict[str, tuple[str, bool]]:
    return {str(path): _volume(volume) for path, volume in pairs}


@dataclass
class BuildFunction:
    name: str
    function: Any
    gpu: str | None
    volumes: dict[str, tuple[str, bool]]


@dataclass
class ImageDescription:
    base_tag: str | None = None
    entrypoint_cleared: bool = False
    env: dict[str, str] = field(default_factory=dict)
    dockerfile_commands: list[str] = field(default_factory=list)
    build_functions: list[BuildFunction] = field(default_factory=list)


def describe_image(image: modal.Image) -> ImageDescription:
    """Walk an image's layers from the base up."""
    layers = []
    current = synchronizer._translate_in(image)
    while current is not None:
        loader = _closure(current._load)
        layers.append(loader)
        base = (loader.get("base_images") or {}).get("base")
        current = synchronizer._translate_in(base) if base is not None else None
    description = ImageDescription()
    for loader in reversed(layers):
        dockerfile = loader.get("dockerfile_function")
        if dockerfile is not None:
            cells = _closure(dockerfile)
            if "tag" in cells:
                description.base_tag = cells["tag"]
            description.env.update(cells.get("vars") or {})
            commands = dockerfile("2025.06").commands
            description.dockerfile_commands += [c for c in commands if c != "FROM base"]
            description.entrypoint_cleared |= "ENTRYPOINT []" in commands
        build_function = loader.get("build_function")
        if build_function is not None:
            function = synchronizer._translate_in(build_function)
            settings = _closure(function._load)
            description.build_functions.append(
                BuildFunction(
                    name=function._raw_f.__name__,
                    function=function._raw_f,
                    gpu=settings["gpu"],
                    volumes=_volumes(settings["validated_volumes_no_cloud_buckets"]),
                )
            )
    return description


@dataclass
class ClsDescription:
    name: str
    user_cls: type
    image: ImageDescription
    gpu: str | None
    volumes: dict[str, tuple[str, bool]]
    regions: list[str]
    timeout: int
    startup_timeout: int
    min_containers: int | None
    target_inputs: int | None
    port: int
    proxy_regions: list[str]
    exit_grace_period: int
    http_startup_timeout: int
    enable_memory_snapshot: bool
    experimental_options: dict[str, str]
    secrets: list[str]
    lifecycle: dict[str, list[str]]


def _lifecycle(user_cls: type) -> dict[str, list[str]]:
    phases = {
        "enter_pre_snapshot": _PartialFunctionFlags.ENTER_PRE_SNAPSHOT,
        "enter_post_snapshot": _PartialFunctionFlags.ENTER_POST_SNAPSHOT,
        "exit": _PartialFunctionFlags.EXIT,
    }
    found: dict[str, list[str]] = {phase: [] for phase in phases}
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


def describe_cls(name: str, cls: modal.Cls) -> ClsDescription:
    inner = synchronizer._translate_in(cls)
    service = inner._class_service_function
    settings = _closure(service._load)
    http = settings["http_config"]
    secrets = []
    for secret in settings["secrets"]:
        secrets.append(_closure(secret._load).get("name"))
    return ClsDescription(
        name=name,
        user_cls=inner._user_cls,
        image=describe_image(synchronizer._translate_out(settings["image"])),
        gpu=settings["gpu"],
        volumes=_volumes(settings["validated_volumes_no_cloud_buckets"]),
        regions=list(placement.regions) if (placement := settings["scheduler_placement"]) else [],
        timeout=settings["timeout"],
        startup_timeout=settings["startup_timeout"],
        min_containers=settings["min_containers"],
        target_inputs=settings["target_concurrent_inputs_int"],
        port=http.port if http else 0,
        proxy_regions=list(http.proxy_regions) if http else [],
        exit_grace_period=http.exit_grace_period if http else 0,
        http_startup_timeout=http.startup_timeout if http else 0,
        enable_memory_snapshot=settings["enable_memory_snapshot"],
        experimental_options=dict(settings["experimental_options"] or {}),
        secrets=secrets,
        lifecycle=_lifecycle(inner._user_cls),
    )


@dataclass
class Entrypoint:
    name: str
    function: Any
    parameters: dict[str, Any]


@dataclass
class AppDescription:
    name: str
    classes: dict[str, ClsDescription]
    entrypoints: dict[str, Entrypoint]


def describe_app(module: ModuleType) -> AppDescription:
    app: modal.App = module.app
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = dict(app.registered_classes)
        entrypoints = dict(app.registered_entrypoints)
    described_entrypoints = {}
    for name, entrypoint in entrypoints.items():
        function = synchronizer._translate_in(entrypoint).info.raw_f
        parameters = {
            parameter.name: parameter.default
            for parameter in inspect.signature(function).parameters.values()
        }
        described_entrypoints[name] = Entrypoint(name, function, parameters)
    return AppDescription(
        name=app.name,
        classes={name: describe_cls(name, cls) for name, cls in classes.items()},
        entrypoints=described_entrypoints,
    )

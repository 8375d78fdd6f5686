"""The container image as the template writes it: a base and a chain of `Image` method calls."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from generator.code.pycode import PyCode, comment, literal, name
from generator.code.view_parts import secret as _secret
from generator.model.image import (
    AddLocalDir,
    AddLocalFile,
    AptInstall,
    BuildStepLayer,
    EnvLayer,
    ImageSection,
    PackageIndexes,
    PipInstall,
    RunCommands,
    RunScript,
    UvPipInstall,
)


@dataclass(frozen=True)
class ImageCall:
    """`.method(arguments)` on the image, with an optional comment of our own."""

    method: PyCode
    arguments: PyCode
    comment: PyCode | None = None


@dataclass(frozen=True)
class ImageView:
    variable: PyCode
    description: PyCode  # for the comment above it
    base: PyCode
    calls: tuple[ImageCall, ...]  # up to the first build step the spec places
    adds_local_files: bool  # the calls name files by PROJECT_DIR
    # The layers after each build step the spec places among them (`{ build_step = ... }`).
    after_download: tuple[ImageCall, ...] = ()
    after_deep_gemm: tuple[ImageCall, ...] = ()


def _arguments(*args: object, **kwargs: object) -> PyCode:
    parts = [literal(arg) for arg in args]
    parts += [f"{name(key)}={literal(value)}" for key, value in kwargs.items() if value is not None]
    return PyCode(", ".join(parts))


def image_view(
    image: ImageSection,
    variable: str,
    env: Mapping[str, str | PyCode],
    secret_keys: Mapping[str, list[str]],
    adds_other_files: bool = False,
) -> ImageView:
    """The image of `image`, with `env` (the spec's `image.env` and what the engine adds) first;
    `secret_keys`: the variables each Secret must hold; `adds_other_files`: the app adds
    project files to the image elsewhere (the sidecars')."""
    if image.registry_tag is not None:
        registry = image.registry_secret
        secret = _secret(registry, secret_keys) if registry is not None else None
        arguments = _arguments(image.registry_tag, add_python=image.add_python, secret=secret)
        base = PyCode(f"modal.Image.from_registry({arguments})")
        description = f"We build on the registry image `{image.registry_tag}`."
    else:
        base = PyCode(
            f"modal.Image.debian_slim({_arguments(python_version=image.debian_slim_python)})"
        )
        description = (
            f"We build on Modal's Debian slim image with Python {image.debian_slim_python}."
        )
    calls: list[ImageCall] = []
    if image.registry_tag is not None and image.clear_entrypoint:
        calls.append(
            ImageCall(
                PyCode("entrypoint"),
                PyCode("[]"),
                comment("silence chatty logs on container start"),
            )
        )
    if env:
        calls.append(ImageCall(PyCode("env"), literal(env)))
    # Layers up to each build step the spec places, and after it (the steps run in this order).
    segments: dict[str, list[ImageCall]] = {"": calls}
    current = calls
    for layer in image.layers:
        if isinstance(layer, BuildStepLayer):
            current = segments.setdefault(layer.build_step, [])
            continue
        current += _layer_calls(layer, secret_keys)
    return ImageView(
        variable=name(variable),
        description=comment(description),
        base=base,
        calls=tuple(calls),
        adds_local_files=adds_other_files
        or any(isinstance(layer, AddLocalFile | AddLocalDir | RunScript) for layer in image.layers),
        after_download=tuple(segments.get("download_weights", ())),
        after_deep_gemm=tuple(segments.get("compile_deep_gemm", ())),
    )


def _install(
    packages: list[str], indexes: PackageIndexes, secret_keys: Mapping[str, list[str]]
) -> PyCode:
    secrets = [_secret(secret, secret_keys) for secret in indexes.secrets]
    return _arguments(
        *packages,
        index_url=indexes.index_url,
        extra_index_url=indexes.extra_index_url,
        find_links=indexes.find_links,
        pre=indexes.pre or None,
        secrets=secrets or None,
    )


def _layer_calls(layer: object, secret_keys: Mapping[str, list[str]]) -> list[ImageCall]:
    if isinstance(layer, RunScript):
        # The script is copied into the image (`copy=True`: a later build command needs it),
        # then run as one command, its argv quoted here.
        local = PyCode(f"PROJECT_DIR / {literal(layer.run_script)}")
        command = shlex.join([*layer.run_with, layer.path_in_image])
        secrets = [_secret(secret, secret_keys) for secret in layer.secrets]
        gpu = layer.gpu.modal_spec if layer.gpu is not None else None
        return [
            ImageCall(PyCode("add_local_file"), _arguments(local, layer.path_in_image, copy=True)),
            ImageCall(
                PyCode("run_commands"), _arguments(command, secrets=secrets or None, gpu=gpu)
            ),
        ]
    return [_layer_call(layer, secret_keys)]


def _layer_call(layer: object, secret_keys: Mapping[str, list[str]]) -> ImageCall:
    if isinstance(layer, UvPipInstall | PipInstall):
        return ImageCall(PyCode(layer.method), _install(layer.packages, layer, secret_keys))
    if isinstance(layer, AptInstall):
        return ImageCall(PyCode("apt_install"), _arguments(*layer.apt_install))
    if isinstance(layer, RunCommands):
        secrets = [_secret(secret, secret_keys) for secret in layer.secrets]
        gpu = layer.gpu.modal_spec if layer.gpu is not None else None
        arguments = _arguments(*layer.run_commands, secrets=secrets or None, gpu=gpu)
        return ImageCall(PyCode("run_commands"), arguments)
    if isinstance(layer, AddLocalFile):
        local = PyCode(f"PROJECT_DIR / {literal(layer.add_local_file)}")
        return ImageCall(PyCode("add_local_file"), _arguments(local, layer.remote_path))
    if isinstance(layer, AddLocalDir):
        local = PyCode(f"PROJECT_DIR / {literal(layer.add_local_dir)}")
        arguments = _arguments(local, layer.remote_path, ignore=layer.ignore or None)
        return ImageCall(PyCode("add_local_dir"), arguments)
    if isinstance(layer, EnvLayer):
        return ImageCall(PyCode("env"), literal(dict(layer.env)))
    raise TypeError(f"no image call for {type(layer).__name__}")

"""The container image: a base, then layers in the order the spec gives them (layer order is
cache order), each one of Modal's `Image` methods with literal arguments."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from generator.spec.fields import (
    SGLANG_VERSION,
    AbsolutePosixPath,
    EnvVarName,
    Gpu,
    ModalObjectName,
    NonEmptyLine,
    OneLine,
    RegistryImage,
    ShellCommand,
    SpecModel,
)

# Every text that reaches an image instruction is one of the types below or a strict pattern
# (names of variables and Secrets, versions): none holds a control character
# (tests/test_image_text.py walks the models to keep it so).
# Where a file or folder goes in the image: an absolute path, one line.
ImagePath = AbsolutePosixPath
PythonVersion = Annotated[str, StringConstraints(pattern=r"^3\.[0-9]{1,2}$")]

# What a pip or uv option in a package list is written as instead, by option.
_PACKAGE_OPTIONS = {
    ("-i", "--index-url"): "write the index as `index_url` of this layer",
    ("--extra-index-url",): "write the index as `extra_index_url` of this layer",
    ("-f", "--find-links"): "write it as `find_links` of this layer",
    ("--pre",): "write `pre = true` in this layer",
    ("-e", "--editable"): "a layer installs requirements, not editable checkouts: write the "
    "requirement as `name @ git+https://host/repo@<commit>`",
    ("-r", "--requirement", "-c", "--constraint"): "list the packages themselves here",
}


def _not_a_pip_option(value: str) -> str:
    """Refuse an option in a pip or uv package list: Modal's `pip_install` and `uv_pip_install`
    raise on one when the generated file is imported, never passing it to pip."""
    if not value.startswith("-"):
        return value
    option = value.split("=", 1)[0].split(" ", 1)[0]
    instead = next(
        (advice for options, advice in _PACKAGE_OPTIONS.items() if option in options),
        "this layer passes no other pip options: run the install as a command of a "
        "`run_commands` layer (`python -m pip install ...`)",
    )
    raise PydanticCustomError(
        "package_option",
        "{option} is an option, not a package: Modal refuses options in a package list when "
        "the app is imported; {instead}",
        {"option": f"`{option}`", "instead": instead},
    )


def _not_an_apt_option(value: str) -> str:
    if value.startswith("-"):
        raise PydanticCustomError(
            "package_option",
            "{option} is an option, not a Debian package: `apt_install` takes package names "
            "only; run `apt-get install` with options as a command of a `run_commands` layer",
            {"option": f"`{value.split('=', 1)[0]}`"},
        )
    return value


# A requirement of a pip or uv layer (`torch==2.8.0`, `name @ git+https://...`): one line, no
# option.
PythonPackage = Annotated[NonEmptyLine, AfterValidator(_not_a_pip_option)]
DebianPackage = Annotated[NonEmptyLine, AfterValidator(_not_an_apt_option)]


class LayerSecrets(SpecModel):
    """The Modal Secrets a layer's build step gets."""

    secrets: list[ModalObjectName] = Field(
        default_factory=list,
        description="Modal Secrets this layer's build gets, such as a private package index's "
        "or repository's credentials.",
    )


class PackageIndexes(LayerSecrets):
    """Where a pip or uv layer finds its packages."""

    index_url: NonEmptyLine | None = Field(
        default=None, description="The package index instead of PyPI."
    )
    extra_index_url: NonEmptyLine | None = Field(
        default=None, description="A further package index, such as PyTorch's."
    )
    find_links: NonEmptyLine | None = Field(
        default=None, description="A page or folder of links to packages (`--find-links`)."
    )
    pre: StrictBool = Field(default=False, description="Allow pre-release versions.")


class UvPipInstall(PackageIndexes):
    method: ClassVar[str] = "uv_pip_install"
    uv_pip_install: list[PythonPackage] = Field(
        min_length=1,
        description="Python packages installed with uv (`Image.uv_pip_install`); pin versions.",
    )

    @property
    def packages(self) -> list[str]:
        return self.uv_pip_install


class PipInstall(PackageIndexes):
    method: ClassVar[str] = "pip_install"
    pip_install: list[PythonPackage] = Field(
        min_length=1,
        description="Python packages installed with pip (`Image.pip_install`); pin versions.",
    )

    @property
    def packages(self) -> list[str]:
        return self.pip_install


class AptInstall(SpecModel):
    apt_install: list[DebianPackage] = Field(
        min_length=1, description="Debian packages (`Image.apt_install`)."
    )


class RunCommands(LayerSecrets):
    run_commands: list[ShellCommand] = Field(
        min_length=1,
        description="Shell commands, one layer each in order (`Image.run_commands`); each is "
        "passed as written, never joined with another.",
    )
    gpu: Gpu | None = Field(
        default=None,
        description='GPUs the commands run on, as `"H100"` or a table (a kernel build); none '
        "by default.",
    )


class EnvLayer(SpecModel):
    env: dict[EnvVarName, OneLine] = Field(
        min_length=1, description="Environment variables (`Image.env`)."
    )


class AddLocalFile(SpecModel):
    add_local_file: NonEmptyLine = Field(
        description="A file of this project to copy into the image (`Image.add_local_file`), "
        "as a path relative to the project (the folder that holds specs/ and generated/).",
    )
    remote_path: ImagePath = Field(
        description="Where the file goes in the image: an absolute path."
    )


class AddLocalDir(SpecModel):
    add_local_dir: NonEmptyLine = Field(
        description="A folder of this project to copy into the image (`Image.add_local_dir`), "
        "as a path relative to the project (the folder that holds specs/ and generated/).",
    )
    remote_path: ImagePath = Field(
        description="Where the folder goes in the image: an absolute path."
    )
    ignore: list[NonEmptyLine] = Field(
        default_factory=list,
        description="Files of the folder left out, as patterns (`*.pyc`, `**/__pycache__`).",
    )


class RunScript(LayerSecrets):
    run_script: OneLine = Field(
        description="A script of this project, run as one build step: added to the image "
        "(`Image.add_local_file`, at `remote_path`) and run with `run_with` "
        "(`Image.run_commands`). For builds longer than one command: a heredoc in "
        "`run_commands` is refused. The path is relative to the project (the folder that holds "
        "specs/ and generated/).",
    )
    run_with: list[OneLine] = Field(
        default_factory=lambda: ["python3"],
        min_length=1,
        description='The program that runs the script, as an argv list (`["bash", "-eu"]`); '
        "the script's path in the image goes last.",
    )
    remote_path: ImagePath | None = Field(
        default=None,
        description="Where the script goes in the image; defaults to "
        "`/root/build-scripts/<file name>`.",
    )
    gpu: Gpu | None = Field(default=None, description="GPUs the script runs on; none by default.")

    @property
    def path_in_image(self) -> str:
        return self.remote_path or f"{BUILD_SCRIPTS_DIR}/{PurePosixPath(self.run_script).name}"


BUILD_SCRIPTS_DIR = "/root/build-scripts"


class BuildStepLayer(SpecModel):
    build_step: Literal["download_weights", "compile_deep_gemm"] = Field(
        description="Where a build step runs among the layers: `download_weights` (with "
        '`model.download = "build"`) or `compile_deep_gemm` (with DeepGEMM on). Layers after '
        "it build on its result; without this, the steps run after the last layer.",
    )


LAYERS: dict[str, type[SpecModel]] = {
    "uv_pip_install": UvPipInstall,
    "pip_install": PipInstall,
    "apt_install": AptInstall,
    "run_commands": RunCommands,
    "env": EnvLayer,
    "add_local_file": AddLocalFile,
    "add_local_dir": AddLocalDir,
    "run_script": RunScript,
    "build_step": BuildStepLayer,
}


def _layer_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in LAYERS if key in value), None)
    return next((key for key, model in LAYERS.items() if isinstance(value, model)), None)


ImageLayer = Annotated[
    Annotated[UvPipInstall, Tag("uv_pip_install")]
    | Annotated[PipInstall, Tag("pip_install")]
    | Annotated[AptInstall, Tag("apt_install")]
    | Annotated[RunCommands, Tag("run_commands")]
    | Annotated[EnvLayer, Tag("env")]
    | Annotated[AddLocalFile, Tag("add_local_file")]
    | Annotated[AddLocalDir, Tag("add_local_dir")]
    | Annotated[RunScript, Tag("run_script")]
    | Annotated[BuildStepLayer, Tag("build_step")],
    Discriminator(_layer_kind),
]


class ImageSection(SpecModel):
    registry_tag: RegistryImage | None = Field(
        default=None,
        description="Container image to build from, such as "
        "`lmsysorg/sglang:v0.5.9-cu129-amd64-runtime`; a digest (`repo@sha256:...`) pins it "
        "exactly.",
    )
    debian_slim_python: PythonVersion | None = Field(
        default=None,
        description="Build from Modal's Debian slim image with this Python (`3.12`) instead of "
        "a registry image.",
    )
    add_python: PythonVersion | None = Field(
        default=None,
        description="Python to add to a registry image that has none, such as a CUDA image.",
    )
    registry_secret: ModalObjectName | None = Field(
        default=None,
        description="Modal Secret with the credentials of a private registry (for "
        "`registry_tag`): REGISTRY_USERNAME and REGISTRY_PASSWORD, or a cloud's keys.",
    )
    clear_entrypoint: StrictBool = Field(
        default=True,
        description="Clear the registry image's entrypoint, which keeps container start quiet.",
    )
    env: dict[EnvVarName, OneLine] = Field(
        default_factory=dict,
        description="Environment variables baked into the image right after its base, in the "
        "order given.",
    )
    layers: list[ImageLayer] = Field(
        default_factory=list,
        description="Further layers, in order: `uv_pip_install`, `pip_install`, `apt_install`, "
        "`run_commands`, `env`, `add_local_file` or `add_local_dir` (with `remote_path`), "
        "`run_script`, one table each; `build_step` places a build step among them.",
    )
    engine_version: Annotated[str, StringConstraints(pattern=SGLANG_VERSION)] | None = Field(
        default=None,
        validation_alias=AliasChoices("engine_version", "sglang_version"),
        description="Engine version in the image, such as `0.5.10.post1`, when neither the tag "
        "nor a pinned package says it; engine options are checked against that version's "
        "option catalog. (`sglang_version` is read as this too.)",
    )
    check_engine_options: StrictBool = Field(
        default=True,
        description="Check every engine option and variable against the option catalog of the "
        "image's engine version. Set false for private builds that have no catalog.",
    )

    @model_validator(mode="after")
    def _one_base(self) -> ImageSection:
        if (self.registry_tag is None) == (self.debian_slim_python is None):
            raise ValueError(
                "give the image's base: `registry_tag` (a registry image) or "
                "`debian_slim_python` (Modal's Debian slim image), not both"
            )
        if self.add_python is not None and self.registry_tag is None:
            raise ValueError("`add_python` goes with `registry_tag`")
        if self.registry_secret is not None and self.registry_tag is None:
            raise ValueError("`registry_secret` goes with `registry_tag`")
        return self

    @model_validator(mode="after")
    def _each_build_step_once(self) -> ImageSection:
        placed = [layer.build_step for layer in self.layers if isinstance(layer, BuildStepLayer)]
        twice = sorted({step for step in placed if placed.count(step) > 1})
        if twice:
            raise ValueError(
                f"{', '.join(f'`{step}`' for step in twice)}: a build step runs once; place it "
                "in one layer"
            )
        return self

    @property
    def all_env(self) -> dict[str, str]:
        """Every variable the image sets, later layers winning."""
        env = dict(self.env)
        for layer in self.layers:
            if isinstance(layer, EnvLayer):
                env.update(layer.env)
        return env

    @property
    def requirements(self) -> list[str]:
        """Every Python package requirement the layers install."""
        return [
            package
            for layer in self.layers
            if isinstance(layer, UvPipInstall | PipInstall)
            for package in layer.packages
        ]

"""The container image: a base, then layers in the order the spec gives them (layer order is
cache order), each one of Modal's `Image` methods with literal arguments."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    model_validator,
)

from generator.fields import (
    SGLANG_VERSION,
    SHELL_LINE,
    EnvVarName,
    Gpu,
    ModalObjectName,
    SpecModel,
)

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# A shell command or a package requirement: one line, so it stays one literal in the file.
ONE_LINE = r"^[^\n\r\x00]*$"
OneLine = Annotated[str, StringConstraints(min_length=1, pattern=ONE_LINE)]
# Where a file or folder goes in the image: an absolute path, one line.
ImagePath = Annotated[str, StringConstraints(pattern=r"^/[^\n\r\x00]*$")]
PythonVersion = Annotated[str, StringConstraints(pattern=r"^3\.\d{1,2}$")]


class LayerSecrets(SpecModel):
    """The Modal Secrets a layer's build step gets."""

    secrets: list[ModalObjectName] = Field(
        default_factory=list,
        description="Modal Secrets this layer's build gets, such as a private package index's "
        "or repository's credentials.",
    )


class PackageIndexes(LayerSecrets):
    """Where a pip or uv layer finds its packages."""

    index_url: OneLine | None = Field(
        default=None, description="The package index instead of PyPI."
    )
    extra_index_url: OneLine | None = Field(
        default=None, description="A further package index, such as PyTorch's."
    )
    find_links: OneLine | None = Field(
        default=None, description="A page or folder of links to packages (`--find-links`)."
    )
    pre: StrictBool = Field(default=False, description="Allow pre-release versions.")


class UvPipInstall(PackageIndexes):
    method: ClassVar[str] = "uv_pip_install"
    uv_pip_install: list[OneLine] = Field(
        min_length=1,
        description="Python packages installed with uv (`Image.uv_pip_install`); pin versions.",
    )

    @property
    def packages(self) -> list[str]:
        return self.uv_pip_install


class PipInstall(PackageIndexes):
    method: ClassVar[str] = "pip_install"
    pip_install: list[OneLine] = Field(
        min_length=1,
        description="Python packages installed with pip (`Image.pip_install`); pin versions.",
    )

    @property
    def packages(self) -> list[str]:
        return self.pip_install


class AptInstall(SpecModel):
    apt_install: list[OneLine] = Field(
        min_length=1, description="Debian packages (`Image.apt_install`)."
    )


ShellLine = Annotated[str, StringConstraints(min_length=1, pattern=SHELL_LINE)]


class RunCommands(LayerSecrets):
    run_commands: list[ShellLine] = Field(
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
    env: dict[EnvVarName, str] = Field(
        min_length=1, description="Environment variables (`Image.env`)."
    )


class AddLocalFile(SpecModel):
    add_local_file: OneLine = Field(
        description="A file of this project to copy into the image (`Image.add_local_file`), "
        "as a path relative to the project (the folder that holds specs/ and generated/).",
    )
    remote_path: ImagePath = Field(
        description="Where the file goes in the image: an absolute path."
    )


class AddLocalDir(SpecModel):
    add_local_dir: OneLine = Field(
        description="A folder of this project to copy into the image (`Image.add_local_dir`), "
        "as a path relative to the project (the folder that holds specs/ and generated/).",
    )
    remote_path: ImagePath = Field(
        description="Where the folder goes in the image: an absolute path."
    )
    ignore: list[OneLine] = Field(
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
    registry_tag: OneLine | None = Field(
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
    env: dict[EnvVarName, str] = Field(
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

"""`modalgen new`: a commented starter spec that validates as written."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.engines.sglang import catalog as sglang_catalog
from generator.engines.vllm import catalog as vllm_catalog
from generator.model.schema import TOML_SCHEMA_LINE
from generator.spec.errors import FieldPath, Problem, SpecError
from generator.spec.gpus import GPU_INFO

DEFAULT_ENGINE = "sglang"


@dataclass(frozen=True)
class EngineStarter:
    """What a starter spec says about its engine."""

    title: str
    versions: Callable[[], list[str]]  # the releases the catalogs hold, oldest first
    image_tag: str  # the registry image of a release, `{version}` in it
    sections: str  # TOML between [model] and [server]: image env, caches, build steps
    engine: str  # the [engine] table
    # With DeepGEMM (Hopper and data-centre Blackwell only): added to the image env, the caches,
    # and the build step; without, the step turned off, as SGLang would build it by default.
    deep_gemm_env: str = ""
    deep_gemm_sections: str = ""
    no_deep_gemm_sections: str = ""

    def image_sections(self, deep_gemm: bool, gpu: str) -> str:
        """The sections between [model] and [server], with or without DeepGEMM on `gpu`."""
        if not self.deep_gemm_sections:
            return self.sections
        return self.sections.format(
            caches="weights and compiled DeepGEMM kernels" if deep_gemm else "the weights",
            deep_gemm_env=self.deep_gemm_env if deep_gemm else "",
            deep_gemm_sections=self.deep_gemm_sections
            if deep_gemm
            else self.no_deep_gemm_sections.format(gpu=gpu),
        )

    def image(self) -> str:
        """The registry image of the newest release the catalogs hold, whose options the spec
        is checked against exactly."""
        releases = [version for version in self.versions() if _RELEASE.match(version)]
        return self.image_tag.format(version=releases[-1])


# A final release (`0.5.23`, `0.5.10.post1`), not a candidate or a development build.
_RELEASE = re.compile(r"^\d+(?:\.\d+)+(?:\.post\d+)?$")

ENGINE_STARTERS = {
    "sglang": EngineStarter(
        title="SGLang",
        versions=sglang_catalog.available_versions,
        # The tag naming of the CUDA 13 runtime images, `v0.5.10.post1-cu130-runtime`.
        image_tag="lmsysorg/sglang:v{version}-cu130-runtime",
        sections="""\
[image.env]
HF_HUB_CACHE = "/root/.cache/huggingface"
HF_XET_HIGH_PERFORMANCE = "1"
{deep_gemm_env}
# Caches that survive containers: {caches}.
[[volumes]]
name = "huggingface-cache"
mount_path = "/root/.cache/huggingface"
{deep_gemm_sections}""",
        deep_gemm_env='SGLANG_ENABLE_JIT_DEEPGEMM = "1"\n',
        deep_gemm_sections="""
[[volumes]]
name = "deepgemm-cache"
mount_path = "/root/.cache/deep_gemm"

# Compile DeepGEMM's FP8 kernels on the serving GPU while the image builds, into the cache above;
# `false` for a model that does not use them.
[deep_gemm]
enabled = true
""",
        no_deep_gemm_sections="""
# DeepGEMM's FP8 kernels target Hopper and newer (H100, H200, B200, B300), not
# {gpu}: no build step compiles them.
[deep_gemm]
enabled = false
""",
        engine="""\
[engine]
# Any other `sglang.launch_server` option goes under [engine.extra_args], by its full name;
# `modalgen flags sglang VERSION PATTERN` lists them.
""",
    ),
    "vllm": EngineStarter(
        title="vLLM",
        versions=vllm_catalog.available_versions,
        image_tag="vllm/vllm-openai:v{version}",
        sections="""\
[image.env]
HF_HUB_CACHE = "/root/.cache/huggingface"
HF_XET_HIGH_PERFORMANCE = "1"

# Caches that survive containers: weights and vLLM's compiled kernels.
[[volumes]]
name = "huggingface-cache"
mount_path = "/root/.cache/huggingface"

[[volumes]]
name = "vllm-cache"
mount_path = "/root/.cache/vllm"
""",
        engine="""\
[engine]
kind = "vllm"
# max_model_len = 32768
# gpu_memory_utilization = 0.9
# Any other `vllm serve` option goes under [engine.extra_args], by its full name;
# `modalgen flags vllm VERSION PATTERN` lists them.
""",
    ),
}

STARTER = """\
{schema_line}
# {name}: {model} with {title} on Modal. Every key is documented in schemas/spec.schema.json;
# run `modalgen show specs/{name}.toml` to see every default filled in.
version = 1

[app]
name = {app_name}         # the Modal App, as `modal deploy` names it
class_name = "Server"     # the generated class

[image]
registry_tag = {engine_image}

[model]
name = {model}
revision = {revision}  # {revision_comment}

{sections}
[server]
kind = "server"           # @app.server: Modal's proxy asks every caller for a Proxy Auth Token
gpu = {{ type = {gpu_type}, count = {gpu_count} }}
routing_region = "us-east"   # the proxy that routes requests; keep it next to the containers
compute_region = "us-east"   # where containers run
target_concurrency = 10   # concurrent requests per replica the autoscaler aims for
startup_timeout = 1200    # seconds for a cold start, weights and warm-up included

{engine}
[warmup]
requests = 2

[probe]
cli_options = true        # `modal run ... --prompt "..."`; the client sends the Proxy Auth Token
                          # from MODAL_PROXY_TOKEN_ID and MODAL_PROXY_TOKEN_SECRET
"""


def starter_spec(
    name: str, model: str, revision: str, gpu: str, engine: str, engine_image: str | None
) -> str:
    """The text of a starter spec; raises SpecError when the values do not make a valid spec."""
    starter = ENGINE_STARTERS[engine]
    from generator.checks.validation import validate_document
    from generator.spec.fields import GPU_TYPES  # imports pydantic, which `check` may not need
    from generator.spec.loader import parse_document

    gpu_type, _, count = gpu.partition(":")
    known = GPU_TYPES.get(gpu_type.upper())
    # An unknown type is left to the validation below, which names the known ones.
    deep_gemm = known is None or GPU_INFO[known].runs_deep_gemm
    label = gpu_type
    if known is not None:
        major, minor = GPU_INFO[known].compute_capability
        label = f"the {known.value} (compute capability {major}.{minor})"
    sections = starter.image_sections(deep_gemm, label)
    text = STARTER.format(
        schema_line=TOML_SCHEMA_LINE,
        name=name,
        app_name=_toml_string(name.replace("_", "-")),
        model=_toml_string(model),
        revision=_toml_string(revision),
        revision_comment="a full commit hash: pinned on purpose"
        if re.fullmatch(r"[0-9a-f]{40}", revision)
        # Still true once `modalgen pin` has written the commit in its place.
        else "a commit, or a branch or tag until `modalgen pin` writes its commit",
        gpu_type=_toml_string(gpu_type),
        gpu_count=_count_literal(count),
        engine_image=_toml_string(engine_image or starter.image()),
        title=starter.title,
        sections=sections,
        engine=starter.engine,
    )
    display = f"specs/{name}.toml"
    try:
        validate_document(parse_document(text, Path(display), display))
    except SpecError as error:
        raise SpecError([_at_option(problem) for problem in error.problems]) from None
    return text


# The `modalgen new` option each starter field comes from, by the start of its field path.
OPTION_FIELDS: tuple[tuple[FieldPath, str], ...] = (
    (("model", "name"), "--model"),
    (("model", "revision"), "--revision"),
    (("server", "gpu"), "--gpu"),
    (("image",), "--engine-image"),
    (("app", "name"), "NAME"),
)


def _at_option(problem: Problem) -> Problem:
    """A problem of the starter, blamed on the option that gave the value: the spec file it
    would be in is not written."""
    for prefix, option in OPTION_FIELDS:
        if problem.field[: len(prefix)] == prefix:
            return Problem(option, problem.message, problem.field)
    return Problem("modalgen new", problem.message, problem.field)


def _count_literal(count: str) -> str:
    """The GPU count after `TYPE:` as TOML: a number when it is ASCII digits (`int()` also
    reads other scripts' digits, and `isdigit` takes superscripts), else a string that
    validation refuses with its message."""
    if count and count.isascii() and count.isdigit() and len(count) <= 18:
        return str(int(count))
    return _toml_string(count) if count else "1"


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string. JSON's escapes are TOML's, but for characters beyond
    U+FFFF, which JSON writes as two surrogate escapes TOML refuses, and DEL, which TOML wants
    escaped: written as they are, and escaped, so that any value given on the command line
    reaches validation as given."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")

"""`modalgen new`: a commented starter spec that validates as written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from generator.schema import TOML_SCHEMA_LINE

DEFAULT_ENGINE = "sglang"


@dataclass(frozen=True)
class EngineStarter:
    """What a starter spec says about its engine."""

    title: str
    image: str
    sections: str  # TOML between [model] and [server]: image env, caches, build steps
    engine: str  # the [engine] table


ENGINE_STARTERS = {
    "sglang": EngineStarter(
        title="SGLang",
        image="lmsysorg/sglang:v0.5.10.post1-cu130-runtime",
        sections="""\
[image.env]
HF_HUB_CACHE = "/root/.cache/huggingface"
HF_XET_HIGH_PERFORMANCE = "1"
SGLANG_ENABLE_JIT_DEEPGEMM = "1"

# Caches that survive containers: weights and compiled DeepGEMM kernels.
[[volumes]]
name = "huggingface-cache"
mount_path = "/root/.cache/huggingface"

[[volumes]]
name = "deepgemm-cache"
mount_path = "/root/.cache/deep_gemm"

# Compile DeepGEMM's FP8 kernels on the serving GPU while the image builds, into the cache above;
# `false` for a model that does not use them.
[deep_gemm]
enabled = true
""",
        engine="""\
[engine]
# Any other `sglang.launch_server` option goes under [engine.extra_args], by its full name;
# `modalgen flags sglang VERSION PATTERN` lists them.
""",
    ),
    "vllm": EngineStarter(
        title="vLLM",
        image="vllm/vllm-openai:v0.11.2",
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
revision = {revision}  # a full commit hash: pinned on purpose

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
    from generator.loader import parse_document
    from generator.validation import validate_document

    gpu_type, _, count = gpu.partition(":")
    text = STARTER.format(
        schema_line=TOML_SCHEMA_LINE,
        name=name,
        app_name=_toml_string(name.replace("_", "-")),
        model=_toml_string(model),
        revision=_toml_string(revision),
        gpu_type=_toml_string(gpu_type),
        gpu_count=_count_literal(count),
        engine_image=_toml_string(engine_image or starter.image),
        title=starter.title,
        sections=starter.sections,
        engine=starter.engine,
    )
    display = f"specs/{name}.toml"
    validate_document(parse_document(text, Path(display), display))
    return text


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

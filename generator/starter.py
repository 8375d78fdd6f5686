"""`modalgen new`: a commented starter spec that validates as written."""

from __future__ import annotations

import json
from pathlib import Path

from generator.schema import TOML_SCHEMA_LINE

DEFAULT_ENGINE_IMAGE = "lmsysorg/sglang:v0.5.10.post1-cu130-runtime"

STARTER = """\
{schema_line}
# {name}: {model} with SGLang on Modal. Every key is documented in schemas/spec.schema.json;
# run `modalgen show specs/{name}.toml` to see every default filled in.
version = 1

[app]
name = {app_name}         # the Modal App, as `modal deploy` names it
class_name = "Server"     # the generated modal.Cls

[image]
registry_tag = {engine_image}

[image.env]
HF_HUB_CACHE = "/root/.cache/huggingface"
HF_XET_HIGH_PERFORMANCE = "1"
SGLANG_ENABLE_JIT_DEEPGEMM = "1"

[model]
name = {model}
revision = {revision}  # a full commit hash: pinned on purpose

# Caches that survive containers: weights and compiled DeepGEMM kernels.
[[volumes]]
name = "huggingface-cache"
mount_path = "/root/.cache/huggingface"

[[volumes]]
name = "deepgemm-cache"
mount_path = "/root/.cache/deep_gemm"

[server]
kind = "server"           # @app.server: Modal's proxy asks every caller for a Proxy Auth Token
gpu = {{ type = {gpu_type}, count = {gpu_count} }}
routing_region = "us-east"   # the proxy that routes requests; keep it next to the containers
compute_region = "us-east"   # where containers run
target_concurrency = 10   # concurrent requests per replica the autoscaler aims for
startup_timeout = 1200    # seconds for a cold start, weights and warm-up included

[engine]
# Any other `sglang.launch_server` option goes under [engine.extra_args], by its full name;
# `modalgen flags VERSION PATTERN` lists them.

[warmup]
requests = 2

[probe]
cli_options = true        # `modal run ... --prompt "..."`; the client sends the Proxy Auth Token
                          # from MODAL_PROXY_TOKEN_ID and MODAL_PROXY_TOKEN_SECRET
"""


def starter_spec(name: str, model: str, revision: str, gpu: str, engine_image: str) -> str:
    """The text of a starter spec; raises SpecError when the values do not make a valid spec."""
    from generator.loader import parse_document
    from generator.validation import validate_document

    gpu_type, _, count = gpu.partition(":")
    text = STARTER.format(
        schema_line=TOML_SCHEMA_LINE,
        name=name,
        app_name=json.dumps(name.replace("_", "-")),
        model=json.dumps(model),
        revision=json.dumps(revision),
        gpu_type=json.dumps(gpu_type),
        gpu_count=int(count) if count.isdigit() else json.dumps(count) if count else 1,
        engine_image=json.dumps(engine_image),
    )
    display = f"specs/{name}.toml"
    validate_document(parse_document(text, Path(display), display))
    return text

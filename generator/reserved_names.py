"""Names a spec value may not take where it becomes a Python name of the generated module
(`app.class_name`, `probe.entrypoint`, the Volume constants derived from Volume names).

Such a name is refused when Python refuses it (a keyword, soft keywords included), when it
would shadow a builtin the generated code calls (`print`, `len`: every name of `builtins`),
when it is a special name (`__name__`, any dunder), or when the generated code itself binds or
uses it: its imports, helpers, constants, parameters and local variables (`GENERATED_NAMES`),
and every UPPER_CASE name with an underscore, the shape of its constants. The test
`tests/test_generated_names.py` parses every generated file, committed and rendered with each
optional part on and off, and fails when a name they use is missing here.
"""

from __future__ import annotations

import builtins
import keyword
import re

# Every name the generated files bind or use, besides builtins and UPPER_CASE constants.
GENERATED_NAMES = frozenset(
    """
    _ _forward_output _group_alive _post _signal_group _watch_exit a aiohttp api_key
    api_key_arguments app argparse arguments arrived asyncio axes axis b batch batches bench
    bench_prompts bench_texts body cell cells chat_messages chunks client_headers code
    collections command compile_deep_gemm completion_id concurrency connector content contextlib
    cosine_similarity count cpu cpu_started data deadline delta deployed document documents done
    download_weights duration e2e earlier elapsed embed embed_and_compare
    engine_config_arguments engine_headers error errors event failed failure figure finished
    first first_token_at gap generate_load generator GPU group handle headers high holding holds
    index item itertools json key kind later level levels limit limits line load_generator
    load_test load_test_deployed low matplotlib measure_level messages met metric modal
    next_probe norms now number options ordered os output output_tokens p parser path pathlib
    payload percentile pgrp pid PORT probe PROMPT prompt prompts pyplot queries query random
    rank rate raw reached read_timeout reason reasoning record records release_memory remaining
    report requests response result results resume_memory row samples score scores
    secret_arguments self send sent server ServerProcess session sglang_image shlex signal
    signum slots snapshot_download start started started_at startup stat state stop
    stopped_on_failure strays stream stream_chat streaming subprocess summarize summary tail
    tempfile test_deployed test_timeout text texts thought threading throughput time
    timed_embedding timed_request timeout timings title token_id token_secret token_times tokens
    total ttft twice url usage values vector vectors vllm_image wait_healthy wait_ready
    waiting_for wake_up warm_up warmed warmup words write_chart x y
    """.split()  # noqa: SIM905 (a list of words, easier to read and keep sorted)
)
BUILTINS = frozenset(dir(builtins))
_DUNDER = re.compile(r"^__.*__$")


def is_constant_shaped(name: str) -> bool:
    """`MODEL_NAME`, `HUGGINGFACE_CACHE_VOLUME`: how the generated module names constants."""
    return name.isupper() and "_" in name


def refusal(name: str) -> str | None:
    """Why `name` cannot be a name of the generated module, or None when it can."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{name!r} is a Python keyword; Python refuses it as a name"
    if _DUNDER.match(name):
        return (
            f"{name!r} is a special (dunder) name, which Python gives the module itself "
            "(`__name__` decides whether the app's command line runs); choose another name"
        )
    if name in BUILTINS:
        return (
            f"{name!r} is a Python builtin, which the generated module would no longer reach "
            "(it calls builtins such as `print` and `len`); choose another name"
        )
    if name in GENERATED_NAMES or is_constant_shaped(name):
        return (
            f"{name!r} would replace a name of the generated module (its imports, helpers, "
            "variables and UPPER_CASE constants); choose another name"
        )
    return None

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
    _ _end_container_on_exit _forward_output _group_alive _post _signal_group _watch_exit a
    after aiohttp answer answered api_key api_key_arguments app argparse arguments arrived
    asleep asyncio axes axis b batch batches before bench bench_inputs bench_job
    bench_prompt bench_prompts bench_request bench_session bench_worker body Callable
    capacity cell cells change chat_messages chunks client_headers client_summary cluster
    cluster_arguments code collections command compare compare_levels compile_deep_gemm
    completion_id concurrency connected connector content context contextlib
    cosine_similarity count cpu cpu_started data deadline delta deployed document documents
    done download_adapters download_weights duration e2e earlier elapsed embed
    embed_and_compare end_container_on_exit engine_config_arguments engine_headers error
    errors event failed failure figure finished first first_byte first_token_at folder gap
    generate_load generator go GPU group handle head headers high higher_is_better
    highest_swept holding holds in_flight index indices inputs interval item itertools job
    json key kind label lag lags later legend level level_shards level_started levels limit
    limits line lines list_models load_generator load_test load_test_deployed low marks math
    matplotlib measure measure_here measure_in_region measure_shard measure_share measured
    merge_shares merged messages met metric modal more name new next_probe NODES norms now
    number numbers offsets old open_connections options ordered os output output_tokens
    outputs p pair params parser path pathlib payload peak peak_rate percentile pgrp pid
    PORT position print_client print_spec_change probe process PROMPT prompt prompts pyplot
    queries query random rank rank_and_check ranking rate raw reached read_timeout reason
    reasoning record records regressed regressions release_memory remaining replicas repo_id
    report requests response result results resume_memory reversed_documents revision row
    samples score scored scores secret_arguments self send sent server ServerProcess session
    setting sglang_image shard shards share shares shlex sidecar SidecarProcess SIDECARS
    sidecars signal signum slots snapshot_download start start_at start_sidecars started
    started_at startup stat state steps stop stop_process_group stop_sidecars
    stopped_on_failure strays stream stream_chat stream_completion streaming subprocess
    summarize summary sys tail tempfile test_deployed test_timeout text texts thought
    threading throughput time timed_request timeout timings title token_id token_secret
    token_times tokens tolerance total tracing ttft twice url usage values vector vectors
    vllm_image wait_healthy wait_ready waiting_for wake_up warm_up warmed warmup was
    watch_lag watching what words worker workers write_chart written x y
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

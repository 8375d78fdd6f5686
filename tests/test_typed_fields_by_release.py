"""Every typed field of every engine, on every catalogued release: the options the engine module
passes for it are options of that release (it picks the spelling the release has, as
`--cuda-graph-max-bs-decode` from SGLang 0.5.14 on, or passes nothing where the release's default
already does what the field asks, as vLLM's request logging from 0.10.1 on), with values the
release accepts. The few fields a release has no option for at all are listed, and refused."""

from __future__ import annotations

from typing import Any

import pytest

from generator.engines.base import Argument
from generator.engines.option_table import version_key
from generator.engines.registry import ENGINES
from generator.model.models import Spec

# Sample values of every typed field of each engine section (the values a spec would write). A
# field added to a section without a sample here fails `test_every_typed_field_has_a_sample`.
SAMPLES: dict[str, dict[str, list[Any]]] = {
    "vllm": {
        "served_model_name": ["served"],
        "host": ["127.0.0.1"],
        "tensor_parallel_size": [2],
        "pipeline_parallel_size": [2],
        "data_parallel_size": [2],
        "max_model_len": [4096],
        "gpu_memory_utilization": [0.85],
        "max_num_seqs": [16],
        "enforce_eager": [True],
        "kv_cache_dtype": ["fp8"],
        "enable_prefix_caching": [True, False],
        "reasoning_parser": ["deepseek_r1"],
        "tool_call_parser": ["hermes"],
        "enable_auto_tool_choice": [True],
        "speculative_config": [{"method": "ngram", "num_speculative_tokens": 4}],
        "compilation_config": [{"level": 3}],
        "uvicorn_log_level": ["warning"],
        "disable_uvicorn_access_log": [True],
        "disable_log_requests": [True],
    },
    "sglang": {
        "served_model_name": ["served"],
        "host": ["127.0.0.1"],
        "tensor_parallel_size": [2],
        "cuda_graph_max_bs": [32],
        "enable_metrics": [True],
        "decode_log_interval": [40],
        "mem_fraction_static": [0.85],
        "context_length": [8192],
        "mamba_scheduler_strategy": ["auto", "no_buffer", "extra_buffer"],
        "reasoning_parser": ["deepseek-r1"],
        "tool_call_parser": ["qwen25"],
        "speculative": [
            {"algorithm": "EAGLE", "num_steps": 3, "eagle_topk": 1, "num_draft_tokens": 4}
        ],
        "launcher": ["launch_server"],
    },
}
# Fields of every section checked elsewhere: `extra_args` and the keys of `config` are options the
# user writes (checked against the catalog as written); `config` itself and `api_key_secret` are
# scenarios below (`--config`, `--api-key`); `kind` and `api_key_variable` pass nothing.
UNTYPED = {"kind", "config", "extra_args", "api_key_secret", "api_key_variable"}
# Settings outside the engine section that add options to the server command.
SCENARIOS: dict[str, dict[str, Any]] = {
    "workload.kind embedding": {"workload": {"kind": "embedding"}},
    "lifecycle.memory_snapshot": {"lifecycle": {"memory_snapshot": True}},
    "model.adapters": {
        "model": {
            "adapters": [{"name": "ad", "repo": "org/adapter", "revision": "a" * 40}],
            "max_lora_rank": 16,
        }
    },
    "model.dummy_weights_variable": {"model": {"dummy_weights_variable": "APP_DUMMY"}},
    "engine.config": {"engine": {"config": {"host": "0.0.0.0"}}},
    "engine.api_key_secret": {"engine": {"api_key_secret": "engine-key"}},
}
# What a release has no option for at all: the engine module passes the option anyway, and the
# catalog check refuses the spec at that field (the test below holds it to that). By case: the
# first release with the option, and the field refused.
MISSING_BEFORE: dict[str, dict[str, tuple[tuple[int, ...], tuple[str, ...]]]] = {
    "vllm": {},
    "sglang": {
        # `--mamba-scheduler-strategy` is in SGLang 0.5.7 and later
        "mamba_scheduler_strategy": ((0, 5, 7), ("engine", "mamba_scheduler_strategy")),
        # `--enable-weights-cpu-backup` is in SGLang 0.5.3 and later
        "lifecycle.memory_snapshot": ((0, 5, 3), ("lifecycle", "memory_snapshot")),
        # so is `--config`, which passes the config file
        "engine.config": ((0, 5, 3), ("engine", "config")),
    },
}


def _spec(kind: str, version: str, engine: dict[str, Any], extra: dict[str, Any]) -> Spec:
    data: dict[str, Any] = {
        "version": 1,
        "app": {"name": "typed", "class_name": "Server"},
        "image": {},
        "model": {"name": "org/model", "revision": "0" * 40},
        "server": {"kind": "server", "startup_timeout": 600, "gpu": {"type": "H100", "count": 1}},
        "engine": {"kind": kind, **engine},
    }
    if kind == "sglang":
        data["image"]["registry_tag"] = f"lmsysorg/sglang:v{version}-cu129-amd64-runtime"
    else:
        data["image"]["debian_slim_python"] = "3.12"
        data["image"]["layers"] = [{"pip_install": [f"vllm=={version}"]}]
    for section, values in extra.items():
        data[section] = {**data.get(section, {}), **values}
    return Spec.model_validate(data)


def _passed(arguments: list[Argument]) -> list[Argument]:
    return [a for a in arguments if a.flag and a.value is not None and a.value is not False]


def _cases(kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    cases = [
        (field, {field: value}, {}) for field, values in SAMPLES[kind].items() for value in values
    ]
    cases += [(name, {}, extra) for name, extra in SCENARIOS.items()]
    cases.append(
        ("server.nodes", {}, {"server": {"nodes": 2, "gpu": {"type": "H100", "count": 8}}})
    )
    return cases


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_typed_field_has_a_sample(kind: str) -> None:
    section = type(_spec(kind, ENGINES[kind].available_versions()[-1], {}, {}).engine)
    assert set(section.model_fields) - UNTYPED == set(SAMPLES[kind])


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_option_a_typed_field_passes_is_in_its_release(kind: str) -> None:
    engine = ENGINES[kind]
    releases = sorted(engine.available_versions(), key=version_key)
    wrong, missing = [], set()
    for version in releases:
        table = engine.server_options_table(version)
        for what, fields, extra in _cases(kind):
            spec = _spec(kind, version, fields, extra)
            arguments = [
                *engine.arguments(spec),
                *engine.cluster_arguments(spec),
                *engine.start_arguments(spec),
            ]
            baseline = {
                (a.flag, str(a.value))
                for a in _passed(engine.arguments(_spec(kind, version, {}, {})))
            }
            for argument in _passed(arguments):
                if (argument.flag, str(argument.value)) in baseline:
                    continue  # passed without the field too: checked by the empty case
                option = table.by_string.get(argument.flag)
                if option is None:
                    missing.add((what, version, argument.flag))
                    continue
                if option.deprecated:
                    wrong.append(f"{version} {what}: {argument.flag} is deprecated")
                refused = table.check_value(option, argument.value)
                if refused is not None:
                    wrong.append(f"{version} {what}: {refused}")
        for argument in _passed(engine.arguments(_spec(kind, version, {}, {}))):
            if argument.flag not in table.by_string:
                wrong.append(f"{version} (no field set): {argument.flag} passed and unknown")
    assert not wrong, "\n".join(wrong)
    expected = {
        (what, version)
        for version in releases
        for what, (since, _) in MISSING_BEFORE[kind].items()
        if version_key(version)[:3] < since
    }
    assert {(what, version) for what, version, _ in missing} == expected
    cases = {what: (fields, extra) for what, fields, extra in _cases(kind)}
    for what, version, flag in sorted(missing):
        spec = _spec(kind, version, *cases[what])
        field = MISSING_BEFORE[kind][what][1]
        refused = [f for f in engine.option_findings(spec) if f[1] == field and f[0] == "error"]
        assert refused and flag in refused[0][2], (what, version, flag)

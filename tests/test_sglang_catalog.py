"""SGLang option catalogs: what the committed ones hold, how they are extracted, and the checks of
a spec's engine options against them. Nothing here touches the network."""

from __future__ import annotations

import ast
import importlib.util
import json
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from click.testing import CliRunner

from generator.checks.checks import run_warnings
from generator.checks.validation import load_spec
from generator.cli.cli import main
from generator.engines.sglang.catalog import (
    CATALOG_DIR,
    OptionError,
    available_versions,
    engine_version_from_tag,
    load_catalog,
)
from generator.engines.sglang.engine import ENGINE
from generator.extract.sglang import extract_catalog
from generator.spec.errors import SpecError
from generator.view.view import build_view
from tests.conftest import FLAT_SPECS, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "sglang_catalog"
COMMITTED = ["0.5.9", "0.5.10.post1", "0.5.23"]
SPECS = {"qwen36_vlm.toml": "0.5.10.post1", "qwen35_low_latency.yaml": "0.5.9"}


def option(version: str, name: str) -> dict:
    (found,) = [
        record
        for record in load_catalog(version).data["launch_server"]
        if name == record["name"] or name in record["aliases"]
    ]
    return found


def names(version: str, command: str = "launch_server") -> set[str]:
    return {record["name"] for record in load_catalog(version).data[command]}


# -- the committed catalogs ----------------------------------------------------------------------


def extractor_script() -> ModuleType:
    path = ROOT / "scripts" / "extract_sglang_catalog.py"
    spec = importlib.util.spec_from_file_location("extract_sglang_catalog", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", COMMITTED)
def test_committed_catalogs_are_complete_and_deterministic(version: str) -> None:
    path = CATALOG_DIR / f"sglang-{version}.json"
    text = path.read_text(encoding="utf-8")
    catalog = json.loads(text)
    assert text == extractor_script().catalog_text(catalog)
    assert catalog["sglang_version"] == version
    assert catalog["source"]["wheel"].startswith(f"sglang-{version}-")
    assert catalog["source"]["path"] == "sglang/srt/server_args.py"
    for command in ("launch_server", "compile_deep_gemm"):
        records = catalog[command]
        assert [record["name"] for record in records] == sorted(r["name"] for r in records)
    assert catalog["env_vars"] == sorted(set(catalog["env_vars"]))
    # compile_deep_gemm takes every server option, and its own --timeout.
    assert names(version, "compile_deep_gemm") == names(version) | {"--timeout"}
    assert version in available_versions()


@pytest.mark.parametrize("version", ["0.5.9", "0.5.10.post1"])
def test_catalogs_up_to_0_5_10(version: str) -> None:
    mamba = option(version, "--mamba-scheduler-strategy")
    assert (mamba["type"], mamba["choices"], mamba["default"]) == (
        "str",
        ["auto", "no_buffer", "extra_buffer"],
        "auto",
    )
    algorithm = option(version, "--speculative-algorithm")
    assert algorithm["choices"] == ["EAGLE", "EAGLE3", "NEXTN", "STANDALONE", "NGRAM"]
    tp = option(version, "--tp-size")
    assert (tp["name"], tp["aliases"], tp["type"], tp["default"]) == (
        "--tensor-parallel-size",
        ["--tp-size"],
        "int",
        1,
    )
    assert option(version, "--model")["name"] == "--model-path"
    assert option(version, "--mem-fraction-static")["type"] == "float"
    assert option(version, "--cuda-graph-max-bs")["type"] == "int"
    assert option(version, "--cuda-graph-bs")["nargs"] == "+"
    metrics = option(version, "--enable-metrics")
    assert (metrics["type"], metrics["nargs"], metrics["default"]) == ("bool-flag", 0, False)
    assert option(version, "--enable-memory-saver")["type"] == "bool-flag"
    assert option(version, "--enable-weights-cpu-backup")["type"] == "bool-flag"
    assert option(version, "--host")["default"] == "127.0.0.1"
    assert option(version, "--port")["default"] == 30000


def test_catalogs_differ_where_sglang_changed() -> None:
    assert option("0.5.9", "--context-length")["type"] == "int"
    assert option("0.5.10.post1", "--context-length")["type"] == "human_readable_int"
    stream = option("0.5.10.post1", "--stream-output")
    assert stream["deprecated"] and stream["replacement"] == "--incremental-streaming-output"
    assert "SGLANG_USE_IPC_POOL_HANDLE_CACHE" in load_catalog("0.5.10.post1").env_vars
    assert "SGLANG_USE_IPC_POOL_HANDLE_CACHE" not in load_catalog("0.5.9").env_vars
    # 0.5.23 declares its options as annotated fields; the scheduler strategy was renamed.
    assert "--mamba-scheduler-strategy" not in names("0.5.23")
    radix = option("0.5.23", "--mamba-radix-cache-strategy")
    assert radix["choices"] == ["auto", "no_buffer", "extra_buffer", "extra_buffer_lazy"]
    tp = option("0.5.23", "--tp-size")
    assert (tp["name"], tp["aliases"]) == ("--tp-size", ["--tensor-parallel-size"])
    # Algorithms are a registry there, so SGLang declares no choices.
    assert option("0.5.23", "--speculative-algorithm")["choices"] is None
    optional = option("0.5.23", "--enable-tp-lm-head-all-to-all")
    assert optional["action"] == "BooleanOptionalAction"
    assert optional["aliases"] == ["--no-enable-tp-lm-head-all-to-all"]


@pytest.mark.parametrize("version", COMMITTED)
def test_parsers_and_environment(version: str) -> None:
    assert "qwen3" in option(version, "--reasoning-parser")["choices"]
    assert "qwen3_coder" in option(version, "--tool-call-parser")["choices"]
    env_vars = load_catalog(version).env_vars
    assert {"SGLANG_ENABLE_JIT_DEEPGEMM", "SGLANG_USE_CUDA_IPC_TRANSPORT"} <= env_vars
    unresolved = [
        record["name"]
        for record in load_catalog(version).data["launch_server"]
        if "choices_unresolved" in record or "default_unresolved" in record
    ]
    assert unresolved == []


# -- the extractor on synthetic sources ----------------------------------------------------------


def fixture_files(form: str) -> dict[str, str]:
    root = FIXTURES / form
    return {path.relative_to(root).as_posix(): path.read_text() for path in root.rglob("*.py")}


def extracted(form: str) -> dict:
    return extract_catalog(fixture_files(form), "0.0.1", {"wheel": "w.whl", "path": "p.py"})


def by_name(records: list[dict]) -> dict[str, dict]:
    return {record["name"]: record for record in records}


def test_extract_add_argument_forms() -> None:
    catalog = extracted("argparse_form")
    options = by_name(catalog["launch_server"])

    def fields(name: str, *keys: str) -> tuple:
        return tuple(options[name][key] for key in keys)

    assert fields("--model-path", "aliases", "required", "type") == (["--model"], True, "str")
    assert fields("--tensor-parallel-size", "aliases", "type", "default") == (
        ["--tp-size"],
        "int",
        1,
    )
    assert fields("--mem-fraction-static", "type", "default") == ("float", None)
    # choices: imported constant, module constant, literal, list arithmetic, a class attribute
    # dict in another module, a function with a local import, an enum comprehension.
    assert options["--load-format"]["choices"] == ["auto", "pt", "safetensors"]
    assert options["--load-format"]["help"] == "Load format, one of ['auto', 'pt', 'safetensors']."
    assert options["--quantization"]["choices"] == ["fp8", "awq"]
    assert options["--dtype"]["choices"] == ["auto", "bf16"]
    assert options["--attention-backend"]["choices"] == ["triton", "flashinfer", "fa3"]
    assert options["--reasoning-parser"]["choices"] == ["deepseek-r1", "qwen3"]
    assert options["--reasoning-parser"]["help"] == "Parsers: ['deepseek-r1', 'qwen3']."
    assert options["--tool-call-parser"]["choices"] == ["qwen3_coder", "hermes"]
    assert fields("--hash-mode", "choices", "default") == (["none", "partial"], "none")
    assert fields("--verbosity", "type", "choices") == ("int", [0, 1, 2])
    assert fields("--plugin", "choices", "choices_unresolved") == (None, "discover_plugins()")
    # actions
    assert fields("--enable-metrics", "action", "type", "nargs", "default") == (
        "store_true",
        "bool-flag",
        0,
        False,
    )
    assert fields("--disable-thing", "action", "dest", "default") == ("store_false", "thing", True)
    assert fields("--enable-overlap", "aliases", "type", "default") == (
        ["--no-enable-overlap"],
        "bool-flag",
        True,
    )
    assert fields("--old-flag", "deprecated", "nargs", "type") == (True, 0, "bool-flag")
    assert fields("--stream-output", "deprecated", "replacement", "default", "dest") == (
        True,
        "--incremental-streaming-output",
        False,
        "incremental_streaming_output",
    )
    assert fields("--lora-paths", "action", "nargs") == ("LoRAPathAction", "*")
    # nargs, types, defaults
    assert fields("--cuda-graph-bs", "type", "nargs", "default") == ("int", "+", [])
    assert fields("--checksum", "nargs") == ("?",)
    assert fields("--json-model-override-args", "type", "default") == ("json", "{}")
    assert fields("--context-length", "type") == ("human_readable_int",)
    assert fields("--log-level", "default", "hidden", "help") == ("auto", True, "")
    assert fields("--timeout-seconds", "default") == (-3.0,)
    assert fields("--max-bytes", "default", "help") == (
        1 << 20,
        "Help text Integers with suffixes such as 128k.",
    )
    # `prepare_server_args` adds --config after ServerArgs' options; compile_deep_gemm does not.
    assert "--config" in options
    deep_gemm = by_name(catalog["compile_deep_gemm"])
    assert set(deep_gemm) == set(options) - {"--config"} | {"--timeout"}
    assert deep_gemm["--timeout"]["default"] == 3600
    assert catalog["env_vars"] == [
        "SGLANG_ENABLE_JIT_DEEPGEMM",
        "SGLANG_FROM_ENVIRON_CLASS",
        "SGLANG_FROM_STRING_LITERAL",
        "SGLANG_READ_WITH_GETENV",
    ]


def test_extract_annotated_field_forms() -> None:
    catalog = extracted("fields_form")
    options = by_name(catalog["launch_server"])

    def fields(name: str, *keys: str) -> tuple:
        return tuple(options[name][key] for key in keys)

    assert fields("--model-path", "aliases", "required", "type") == (["--model"], True, "str")
    assert fields("--host", "help", "default") == ("The host of the server.", "127.0.0.1")
    assert fields("--tp-size", "aliases", "type", "default") == (
        ["--tensor-parallel-size"],
        "int",
        1,
    )
    assert fields("--mem-fraction-static", "type") == ("float",)
    assert fields("--enable-metrics", "action", "type", "default") == (
        "store_true",
        "bool-flag",
        False,
    )
    assert fields("--mamba-radix-cache-strategy", "choices", "default") == (
        ["auto", "no_buffer", "extra_buffer"],
        "auto",
    )
    assert fields("--page-size-mode", "type", "choices") == ("int", [1, 2])
    assert fields("--fp4-mode", "choices") == (["auto", "nvfp4"],)
    assert fields("--attention-backend", "choices") == (["triton", "fa3"],)
    assert fields("--cuda-graph-backend", "choices") == (["full", "disabled"],)
    assert fields("--cuda-graph-bs", "type", "nargs") == ("int", "+")
    assert fields("--log-requests-target", "nargs", "default") == ("*", ["stdout"])
    assert fields("--json-model-override-args", "type", "nargs") == ("json", None)
    assert fields("--lora-target-modules", "type", "nargs") == ("json_list", None)
    assert fields("--disaggregation-mode", "dest", "choices") == (
        "disaggregation_mode_value",
        ["null", "prefill"],
    )
    assert fields("--enable-overlap", "aliases", "type") == (["--no-enable-overlap"], "bool-flag")
    # A manual option after the fields: its default is the field's.
    assert fields("--sampling-backend", "choices", "default") == (
        ["flashinfer", "pytorch"],
        "flashinfer",
    )
    assert "--resolved-thing" not in options and "--plain" not in options
    assert set(options) >= {"--speculative-algorithm", "--speculative-num-steps"}
    assert set(by_name(catalog["compile_deep_gemm"])) == set(options) | {"--timeout"}


def test_script_reads_a_given_wheel_without_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = extractor_script()

    def no_download(*args: object) -> None:
        raise AssertionError("the network must not be used")

    monkeypatch.setattr(script, "fetch_release", no_download)
    wheel = tmp_path / "sglang-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in fixture_files("argparse_form").items():
            archive.writestr(path, text)
        archive.writestr("sglang-0.0.1.dist-info/METADATA", "Name: sglang\n")
    script.main(["0.0.1", "--wheel", str(wheel), "--output-dir", str(tmp_path / "out")])
    text = (tmp_path / "out" / "sglang-0.0.1.json").read_text(encoding="utf-8")
    catalog = json.loads(text)
    assert text.endswith("}\n") and text == script.catalog_text(catalog)
    assert catalog["source"] == {
        "wheel": "sglang-0.0.1-py3-none-any.whl",
        "path": "sglang/srt/server_args.py",
    }
    assert catalog == {**extracted("argparse_form"), "source": catalog["source"]}


# -- resolution --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("lmsysorg/sglang:v0.5.10.post1-cu130-runtime", "0.5.10.post1"),
        ("lmsysorg/sglang:v0.5.9-cu129-amd64-runtime", "0.5.9"),
        ("lmsysorg/sglang:v0.5.23", "0.5.23"),
        ("registry.example.com:5000/team/sglang:0.5.9-custom", "0.5.9"),
        ("lmsysorg/sglang:latest", None),
        ("lmsysorg/sglang:dev-cu13", None),
        ("lmsysorg/sglang", None),
        ("lmsysorg/sglang@sha256:" + "0" * 64, None),
        ("nvidia/cuda:12.4.1-devel-ubuntu22.04", None),
    ],
)
def test_engine_version_from_tag(tag: str, version: str | None) -> None:
    assert engine_version_from_tag(tag) == version


def test_prefixes_resolve_like_argparse() -> None:
    table = load_catalog("0.5.9").launch_server
    assert table.resolve("--mem-fraction").expanded == "--mem-fraction-static"
    assert table.resolve("--speculative-algo").expanded == "--speculative-algorithm"
    assert table.resolve("--tp").expanded == "--tp-size"
    assert table.resolve("--tp").option.name == "--tensor-parallel-size"
    assert table.resolve("--model").exact  # an alias, written in full
    with pytest.raises(OptionError, match=r"`--speculative` is ambiguous .*`--speculative-algo"):
        table.resolve("--speculative")
    with pytest.raises(OptionError, match="closest: `--enable-torch-compile`"):
        table.resolve("--enable-torch-compiel")
    # 0.5.23 split the option the generated command passes into two.
    with pytest.raises(OptionError, match="`--cuda-graph-max-bs-decode`, `--cuda-graph-max-bs-p"):
        load_catalog("0.5.23").launch_server.resolve("--cuda-graph-max-bs")


# -- validating specs ----------------------------------------------------------------------------


def spec_data(name: str = "qwen36_vlm.toml") -> dict:
    path = FLAT_SPECS / name
    if path.suffix == ".toml":
        return tomllib.loads(path.read_text(encoding="utf-8"))
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_spec(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problems(tmp_path: Path, data: dict) -> list[str]:
    try:
        load_spec(write_spec(tmp_path, data))
    except SpecError as error:
        return [str(problem) for problem in error.problems]
    return []


def with_extra_args(**extra: object) -> dict:
    """The VLM spec with these options in `extra_args`, and not also as typed fields."""
    data = spec_data()
    for key in extra:
        data["engine"].pop(key, None)
    data["engine"]["extra_args"] = {
        f"--{key.replace('_', '-')}": value for key, value in extra.items()
    }
    return data


def test_renamed_flag(tmp_path: Path) -> None:
    data = spec_data()
    data["image"]["registry_tag"] = "lmsysorg/sglang:v0.5.23-cu130-runtime"
    # The typed field passes the flag's successor, `--mamba-radix-cache-strategy`, there.
    assert not any("mamba" in problem for problem in problems(tmp_path, data))
    # The flag removed after its deprecation, in extra_args.
    data = with_extra_args(stream_output=True)
    data["image"]["registry_tag"] = "lmsysorg/sglang:v0.5.23-cu130-runtime"
    data["engine"].pop("mamba_scheduler_strategy")
    assert any(
        "engine.extra_args.--stream-output: `--stream-output` is not an option of "
        "`sglang.launch_server` of SGLang 0.5.23; closest: `--incremental-streaming-output`"
        in problem
        for problem in problems(tmp_path, data)
    )


def test_typo(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, with_extra_args(enable_torch_compiel=True))
    assert problem.endswith(
        "engine.extra_args.--enable-torch-compiel: `--enable-torch-compiel` is not an option of "
        "`sglang.launch_server` of SGLang 0.5.10.post1; closest: `--enable-torch-compile`, "
        "`--enable-torch-compile-debug-mode`, `--enable-torch-symm-mem`"
    )
    assert problem.startswith(f"{tmp_path / 'spec.yaml'}:")


def test_bad_choice(tmp_path: Path) -> None:
    data = spec_data()
    data["engine"]["tool_call_parser"] = "qwen4"
    (problem,) = problems(tmp_path, data)
    assert (
        "engine.tool_call_parser: 'qwen4' is not a choice of `--tool-call-parser`; allowed: "
        in (problem)
    )
    assert "qwen3_coder, step3" in problem
    assert problem.endswith("; did you mean 'qwen'?")
    (problem,) = problems(tmp_path, with_extra_args(load_format="tensors"))
    assert "'tensors' is not a choice of `--load-format`; allowed: auto, pt, safetensors" in problem


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"max_running_requests": "many"},
            "`--max-running-requests` takes an integer; given 'many'",
        ),
        ({"schedule_conservativeness": "high"}, "`--schedule-conservativeness` takes a number"),
        ({"context_length": "128x"}, "`--context-length` takes an integer, optionally with a suf"),
        (
            {"enable_torch_compile": "yes"},
            "`--enable-torch-compile` is a flag and takes no value; write `true` to pass it",
        ),
        (
            {"chunked_prefill_size": True},
            "`--chunked-prefill-size` takes a value (int); `true` would pass the flag without one",
        ),
        ({"cuda_graph_bs": ["1", "2", "x"]}, "`--cuda-graph-bs` takes an integer; given 'x'"),
        (
            {"max_running_requests": ["1", "2"]},
            "`--max-running-requests` takes one value; given a list",
        ),
    ],
)
def test_bad_type(tmp_path: Path, extra: dict, message: str) -> None:
    (problem,) = problems(tmp_path, with_extra_args(**extra))
    assert message in problem


def test_good_values_pass(tmp_path: Path) -> None:
    data = with_extra_args(
        max_running_requests=64,
        context_length="128k",  # human_readable_int in 0.5.10
        cuda_graph_bs=["1", "2", "4"],
        enable_torch_compile=True,
        disable_radix_cache=False,
        dp_size=1,  # an alias is a full name
    )
    assert problems(tmp_path, data) == []


def test_abbreviation(tmp_path: Path) -> None:
    data = spec_data()
    data["engine"].pop("mem_fraction_static")
    data["engine"]["extra_args"] = {"--mem-fraction": 0.8, "--max-running": 32}
    found = problems(tmp_path, data)
    assert len(found) == 2
    assert (
        "engine.extra_args.--mem-fraction: `--mem-fraction` is an abbreviation: SGLang "
        "0.5.10.post1 expands it to `--mem-fraction-static`; write `--mem-fraction-static`"
    ) in found[0]
    assert "write `--max-running-requests`" in found[1]
    data["engine"]["extra_args"] = {"--speculative": "EAGLE"}
    (problem,) = problems(tmp_path, data)
    assert (
        "`--speculative` is ambiguous in `sglang.launch_server` of SGLang 0.5.10.post1" in problem
    )


def test_version_and_catalog_must_be_known(tmp_path: Path) -> None:
    data = spec_data()
    data["image"]["registry_tag"] = "lmsysorg/sglang:v0.4.10-cu126"
    (problem,) = problems(tmp_path, data)
    assert "image.registry_tag: no option catalog for SGLang 0.4.10, which is older" in problem
    assert "create it with `modalgen catalog add sglang 0.4.10`" in problem
    assert "`image.check_engine_options = false`" in problem
    data["image"]["check_engine_options"] = False
    assert problems(tmp_path, data) == []

    data = spec_data()
    data["image"]["registry_tag"] = "example.com/private/sglang-build:latest"
    (problem,) = problems(tmp_path, data)
    assert "image.registry_tag: cannot tell the SGLang version of" in problem
    assert "set `image.engine_version`" in problem
    data["image"]["sglang_version"] = "0.5.10.post1"
    assert problems(tmp_path, data) == []

    data = spec_data()
    data["image"]["sglang_version"] = "0.5.9"
    (problem,) = problems(tmp_path, data)
    assert "image.sglang_version: the image tag says SGLang 0.5.10.post1, not 0.5.9" in problem


def test_a_version_without_catalog_is_checked_against_the_one_before_with_warnings(
    tmp_path: Path,
) -> None:
    data = spec_data()
    data["image"]["registry_tag"] = "example.com/private/sglang-build:latest"
    data["image"]["sglang_version"] = "0.5.10.post9"  # after 0.5.10.post1, before 0.5.11
    data["engine"]["extra_args"] = {"--max-running-request": 8, "--no-such-option": True}
    assert problems(tmp_path, data) == []  # not errors: this version may have changed them

    def warnings() -> list[str]:
        spec = load_spec(write_spec(tmp_path, data)).spec
        return [m for field, m in run_warnings(spec) if field != ("server", "unauthenticated")]

    found = warnings()
    assert found[0].startswith(
        "no option catalog for SGLang 0.5.10.post9: options are checked against 0.5.10.post1, "
        "the closest older one, and what it refuses is a warning"
    )
    assert "`--max-running-request` is an abbreviation" in found[1]
    assert (
        "`--no-such-option` is not an option of `sglang.launch_server` of SGLang 0.5.10.post1"
        in (found[2])
    )
    # Newer than every catalog: checked against the newest.
    data["image"]["sglang_version"] = "0.6.0"
    assert f"checked against {available_versions()[-1]}, the closest older one" in warnings()[0]


@pytest.mark.parametrize(
    ("version", "flag"),
    [
        ("0.5.10.post1", "--cuda-graph-max-bs"),
        ("0.5.19", "--cuda-graph-max-bs-decode"),  # the old name is a deprecated alias there
        ("0.5.23", "--cuda-graph-max-bs-decode"),  # and gone
        ("0.5.99", "--cuda-graph-max-bs-decode"),  # no catalog: as the closest older one
    ],
)
def test_the_cuda_graph_limit_takes_the_name_the_version_knows(
    tmp_path: Path, version: str, flag: str
) -> None:
    data = spec_data()
    data["image"]["registry_tag"] = "example.com/private/sglang-build:latest"
    data["image"]["sglang_version"] = version
    data["engine"].pop("mamba_scheduler_strategy")  # not an option of the newest releases
    spec = load_spec(write_spec(tmp_path, data)).spec
    arguments = {argument.field: argument for argument in ENGINE.arguments(spec)}
    assert arguments[("engine", "cuda_graph_max_bs")].flag == flag
    assert arguments[("engine", "cuda_graph_max_bs")].value == 20  # twice target_inputs


def test_a_cuda_graph_limit_the_spec_passes_itself_replaces_the_default(tmp_path: Path) -> None:
    data = spec_data()
    data["image"]["registry_tag"] = "lmsysorg/sglang:v0.5.23"
    data["engine"].pop("mamba_scheduler_strategy")
    data["engine"]["extra_args"] = {"--cuda-graph-max-bs-decode": 64}
    spec = load_spec(write_spec(tmp_path, data)).spec
    flags = [argument.flag for argument in ENGINE.arguments(spec) if argument.value is not None]
    assert flags.count("--cuda-graph-max-bs-decode") == 1
    assert "--cuda-graph-max-bs" not in flags


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    data = with_extra_args(stream_output=True)
    data["image"]["env"]["SGLANG_USE_CUDA_IPC_TRANSPORTT"] = "1"
    path = write_spec(tmp_path, data)
    loaded = load_spec(path)
    messages = [
        (field, message)
        for field, message in run_warnings(loaded.spec)
        if field != ("server", "unauthenticated")  # the committed specs serve in the open
    ]
    assert messages == [
        (
            ("engine", "extra_args", "--stream-output"),
            "`--stream-output` is deprecated in SGLang 0.5.10.post1; use "
            "`--incremental-streaming-output`",
        ),
        (
            ("image", "env", "SGLANG_USE_CUDA_IPC_TRANSPORTT"),
            "SGLang 0.5.10.post1 does not read SGLANG_USE_CUDA_IPC_TRANSPORTT (no such name in "
            "its source); closest: SGLANG_USE_CUDA_IPC_TRANSPORT",
        ),
    ]
    (tmp_path / "specs").mkdir()
    path.rename(tmp_path / "specs" / "spec.yaml")
    for command in ("validate", "generate"):
        result = CliRunner().invoke(main, [command, "-C", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert (
            "warning: specs/spec.yaml:" in result.output
            and ": image.env.SGLANG_USE_CUDA_IPC_TRANSPORTT: SGLang 0.5.10.post1 does not read"
            in result.output
        )


# -- the committed specs -------------------------------------------------------------------------


def flags_in(items: tuple) -> list[str]:
    """The option names of a rendered command: its string literals that start with `--`."""
    flags = []
    for item in items:
        try:
            value = ast.literal_eval(item.value)
        except ValueError:
            continue  # a name, such as MODEL_NAME
        if isinstance(value, str) and value.startswith("--"):
            flags.append(value)
    return flags


@pytest.mark.parametrize(("name", "version"), SPECS.items())
def test_committed_specs_validate_and_render_canonical_names(name: str, version: str) -> None:
    loaded = load_spec(ROOT / "specs" / name)
    spec = loaded.spec
    assert ENGINE.version(spec) == version
    # The only warning: the seeds' experimental HTTP server has no authentication.
    assert [field for field, _ in run_warnings(spec)] == [("server", "unauthenticated")]
    catalog = load_catalog(version)
    view = build_view(spec, "specs/x", "generated/x.py", "0" * 64)
    server_flags = flags_in(view.server_command)
    checked = [
        argument.flag
        for argument in ENGINE.arguments(spec)
        if argument.value is not None and argument.value is not False
    ]
    assert sorted(server_flags) == sorted(checked)  # the check sees what the view passes
    for flag in server_flags:
        assert catalog.launch_server.resolve(flag).exact, flag
    assert view.deep_gemm is not None
    build_flags = flags_in(view.deep_gemm.command)
    assert build_flags == [argument.flag for argument in ENGINE.deep_gemm_arguments(spec)]
    for flag in build_flags:
        assert catalog.compile_deep_gemm.resolve(flag).exact, flag


def test_flags_command() -> None:
    result = CliRunner().invoke(main, ["flags", "0.5.10.post1", "mamba-sched"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "--mamba-scheduler-strategy  [str; choices: auto, no_buffer, extra_buffer; "
        "default: 'auto']\n"
    )
    result = CliRunner().invoke(main, ["flags", "0.5.9", "^--tp"])
    assert "--tensor-parallel-size (--tp-size)  [int; default: 1]" in result.output
    result = CliRunner().invoke(main, ["flags", "0.4.10"])
    assert result.exit_code == 1
    assert "create it with `modalgen catalog add sglang 0.4.10`" in result.output

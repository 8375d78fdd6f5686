"""vLLM option catalogs: extraction from small source trees, what the committed catalogs hold,
how flags resolve against them, and `modalgen flags vllm`. Nothing here touches the network."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from generator.cli.cli import main
from generator.engines.sglang.catalog import CATALOG_DIR, CatalogNotFound, OptionError
from generator.engines.vllm.catalog import (
    available_versions,
    engine_version_from_tag,
    load_catalog,
    version_from_requirement,
)
from generator.extract.source import source_files
from generator.extract.vllm import extract_catalog
from generator.extract.vllm_registries import registered_names
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "vllm_catalog"
COMMITTED = ["0.9.1", "0.11.2", "0.33.0"]


def extractor_script() -> ModuleType:
    path = ROOT / "scripts" / "extract_vllm_catalog.py"
    spec = importlib.util.spec_from_file_location("extract_vllm_catalog", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixture_catalog(form: str) -> dict:
    files = source_files(FIXTURES / form, "vllm")
    return extract_catalog(files, "0.0.0", {})


def by_name(records: list[dict]) -> dict[str, dict]:
    return {name: record for record in records for name in [record["name"], *record["aliases"]]}


def option(version: str, name: str) -> dict:
    return by_name(load_catalog(version).data["serve"])[name]


# -- extraction ---------------------------------------------------------------------------------


def test_extract_explicit_argparse_form() -> None:
    catalog = fixture_catalog("argparse_form")
    options = by_name(catalog["serve"])
    assert catalog["serve_positionals"] == [
        {"name": "model_tag", "nargs": "?", "type": "str", "help": "The model tag to serve"}
    ]
    assert options["-asc"]["name"] == "--api-server-count"
    assert options["--uvicorn-log-level"]["choices"][:2] == ["debug", "info"]
    assert options["--disable-uvicorn-access-log"]["type"] == "bool-flag"
    assert options["--allowed-origins"]["type"] == "json"
    assert options["--lora-modules"]["action"] == "LoRAParserAction"
    assert options["--lora-modules"]["nargs"] == "+"
    # get_args(SomeLiteral) and get_kwargs over the config dataclasses
    assert options["--chat-template-content-format"]["choices"] == ["auto", "string", "openai"]
    assert options["--max-model-len"]["type"] == "vllm_human_readable_int"
    assert options["--enforce-eager"]["aliases"] == ["--no-enforce-eager"]
    assert options["--served-model-name"]["nargs"] == "+"
    assert options["-tp"]["name"] == "--tensor-parallel-size"
    assert options["--kv-cache-dtype"]["choices"] == ["auto", "fp8", "fp8_e4m3", "fp8_e5m2"]
    assert options["--gpu-memory-utilization"]["default"] == 0.9
    assert options["--hf-overrides"]["type"] == "json_or_str"
    # `QuantizationMethods` is `Any` at run time (the TYPE_CHECKING branch is not taken)
    assert options["-q"]["type"] == "str" and options["-q"]["choices"] is None
    assert options["--device"]["deprecated"] is True
    # what cannot be read is recorded as such, not guessed
    assert options["-O"]["type"] is None
    assert options["-O"]["type_unresolved"] == "CompilationConfig.from_cli"
    assert catalog["unresolved"] == [
        "vllm/engine/arg_utils.py:57: current_platform.pre_register_and_update(parser)"
    ]
    assert catalog["env_vars"] == ["VLLM_HOST_IP", "VLLM_PORT"]


def test_extract_dataclass_form() -> None:
    catalog = fixture_catalog("dataclass_form")
    options = by_name(catalog["serve"])
    assert catalog["serve_positionals"][0]["name"] == "model_tag"
    # FrontendArgs: fields of the class and its base, edited by `_customize_cli_kwargs`
    assert options["--port"]["default"] == 8000
    assert options["--api-key"]["nargs"] == "+"
    assert options["--api-key"]["help"] == "API keys. (one or more)"
    assert options["--allowed-origins"]["type"] == "json"
    assert options["--allowed-origins"]["nargs"] is None
    assert options["--middleware"]["action"] == "append"
    assert options["--no-enable-auto-tool-choice"]["name"] == "--enable-auto-tool-choice"
    assert options["--uvicorn-log-level"]["choices"][0] == "critical"  # sorted, as vLLM does
    # EngineArgs
    assert options["--model"]["default"] == "Qwen/Qwen3-0.6B"
    assert options["--max-model-len"]["type"] == "vllm_human_readable_int"  # SkipValidation[int]
    assert options["--hf-token"]["nargs"] == "?"
    assert options["--task"]["choices"] == ["auto", "embed", "generate", "None"]
    assert options["--task"]["deprecated"] is True
    assert options["--guided-decoding-x"]["type"] == "bool"
    assert options["--mamba-cache-dtype"]["choices"] is None  # Literal | str: a metavar
    assert options["--max-num-seqs"]["default"] is None
    assert "model,worker" in options["--collect-detailed-traces"]["choices"]
    for name in ("--speculative-config", "-O", "--kv-transfer-config"):
        assert options[name]["type"] == "json"
    assert options["--disable-log-requests"]["deprecated"] is True
    assert "--no-disable-log-requests" in options["--disable-log-requests"]["aliases"]
    assert catalog["unresolved"] == []
    assert catalog["env_vars"] == ["VLLM_LOGGING_CONFIG_PATH", "VLLM_USE_V1"]


def test_extract_names_registered_by_decorators() -> None:
    """vLLM 0.9's form: `@ToolParserManager.register_module(...)` on each parser class."""
    options = by_name(fixture_catalog("argparse_form")["serve"])
    parser = options["--tool-call-parser"]
    assert parser["choices"] == [
        "Unnamed",  # no name given: the class's own
        "hermes",
        "hermes_2",
        "llama3_json",
        "llama4_json",
        "mistral",
    ]
    assert parser["choices_registry"] == {
        "manager": "ToolParserManager",
        "plugin_option": "--tool-parser-plugin",
    }
    assert options["--tool-parser-plugin"]["choices"] is None


def test_registered_names_of_lazy_tables_and_calls() -> None:
    """Later releases: `register_lazy_module` with a literal name, or over a module's table."""
    files = {
        "vllm/reasoning/__init__.py": """
from vllm.reasoning.abs_reasoning_parsers import ReasoningParserManager

_REASONING_PARSERS_TO_REGISTER = {
    "deepseek_r1": ("deepseek_r1_reasoning_parser", "DeepSeekR1ReasoningParser"),
    "qwen3": ("qwen3_reasoning_parser", "Qwen3ReasoningParser"),
}


def register_lazy_reasoning_parsers():
    for name, (file_name, class_name) in _REASONING_PARSERS_TO_REGISTER.items():
        ReasoningParserManager.register_lazy_module(name, f"vllm.reasoning.{file_name}", class_name)


register_lazy_reasoning_parsers()
ReasoningParserManager.register_lazy_module(name="granite", module_path="m", class_name="G")
ReasoningParserManager.register_lazy_module(computed(), "m", "C")
""",
        "vllm/reasoning/abs_reasoning_parsers.py": (
            '"""ReasoningParserManager.register_lazy_module(\n  name="doc")"""'
        ),
        "vllm/other.py": "ToolParserManager = 1",
    }
    names, notes = registered_names(files)
    assert names == {
        "ReasoningParserManager": ["deepseek_r1", "granite", "qwen3"],
        "ToolParserManager": [],
    }
    (note,) = notes
    assert note == (
        "vllm/reasoning/__init__.py:17: "
        'ReasoningParserManager.register_lazy_module(computed(), "m", "C")'
    )


def test_script_reads_a_given_source_without_downloading(tmp_path: Path) -> None:
    script = extractor_script()
    script.main(
        ["0.0.0", "--source", str(FIXTURES / "dataclass_form"), "--output-dir", str(tmp_path)]
    )
    written = json.loads((tmp_path / "vllm-0.0.0.json").read_text(encoding="utf-8"))
    assert written["vllm_version"] == "0.0.0"
    assert written["source"]["paths"] == [
        "vllm/entrypoints/cli/serve.py",
        "vllm/engine/arg_utils.py",
        "vllm/envs.py",
    ]


# -- the committed catalogs -------------------------------------------------------------------


@pytest.mark.parametrize("version", COMMITTED)
def test_committed_catalogs_are_complete_and_deterministic(version: str) -> None:
    text = (CATALOG_DIR / f"vllm-{version}.json").read_text(encoding="utf-8")
    catalog = json.loads(text)
    assert text == extractor_script().catalog_text(catalog)
    assert catalog["vllm_version"] == version
    assert catalog["source"]["file"] == f"vllm-{version}.tar.gz"
    names = [record["name"] for record in catalog["serve"]]
    assert names == sorted(names) and len(names) > 150
    assert catalog["serve_positionals"][0]["name"] == "model_tag"
    assert (
        catalog["env_vars"] == sorted(set(catalog["env_vars"])) and len(catalog["env_vars"]) > 100
    )
    assert version in available_versions()


def test_catalog_0_11_2_knows_the_common_flags() -> None:
    expected = {
        "--max-model-len": "vllm_human_readable_int",
        "--gpu-memory-utilization": "float",
        "--tensor-parallel-size": "int",
        "--enforce-eager": "bool-flag",
        "--enable-sleep-mode": "bool-flag",
        "--served-model-name": "str",
        "--speculative-config": "json",
        "--compilation-config": "json",
        "--kv-cache-dtype": "str",
        "--enable-prefix-caching": "bool-flag",
        "--reasoning-parser": "str",
        "--tool-call-parser": "str",
        "--enable-auto-tool-choice": "bool-flag",
        "--uvicorn-log-level": "str",
        "--disable-uvicorn-access-log": "bool-flag",
        "--api-key": "str",
        "--revision": "str",
        "--host": "str",
        "--port": "int",
        "--max-num-seqs": "int",
        "--pipeline-parallel-size": "int",
        "--data-parallel-size": "int",
        "--disable-log-requests": "bool-flag",
        "--config": "str",
    }
    for name, kind in expected.items():
        assert option("0.11.2", name)["type"] == kind, name
    assert option("0.11.2", "-tp")["name"] == "--tensor-parallel-size"
    assert option("0.11.2", "-O")["name"] == "--compilation-config"
    assert option("0.11.2", "--served-model-name")["nargs"] == "+"
    assert "fp8" in option("0.11.2", "--kv-cache-dtype")["choices"]
    assert "trace" in option("0.11.2", "--uvicorn-log-level")["choices"]
    assert option("0.11.2", "--disable-log-requests")["deprecated"] is True


def test_catalogs_differ_where_vllm_changed() -> None:
    # 0.9.1: plain argparse flags; later: `--x/--no-x` from the FrontendArgs dataclass
    assert option("0.9.1", "--enable-auto-tool-choice")["action"] == "store_true"
    assert option("0.11.2", "--enable-auto-tool-choice")["action"] == "BooleanOptionalAction"
    assert option("0.9.1", "--api-key")["nargs"] is None
    assert option("0.11.2", "--api-key")["nargs"] == "+"
    assert option("0.33.0", "--max-model-len")["type"] == "vllm_human_readable_int_or_auto"
    assert option("0.33.0", "-cc")["name"] == "--compilation-config"


# -- checks against a catalog ------------------------------------------------------------------


def test_flags_resolve_like_argparse() -> None:
    table = load_catalog("0.11.2").serve
    resolution = table.resolve("--max-model")
    assert resolution.option.name == "--max-model-len" and not resolution.exact
    assert table.resolve("--no-enforce-eager").option.name == "--enforce-eager"
    assert table.resolve("-tp").option.name == "--tensor-parallel-size"
    with pytest.raises(OptionError, match=r"not an option of `vllm serve` of vLLM 0\.11\.2"):
        table.resolve("--gpu-memory-utilisation")
    with pytest.raises(OptionError, match="closest: `--gpu-memory-utilization`"):
        table.resolve("--gpu-memory-utilisation")
    with pytest.raises(OptionError, match="ambiguous"):
        table.resolve("--max-num")


def test_registered_parser_names_are_in_the_committed_catalogs() -> None:
    """What issue 20 found: `llama3json` passed for vLLM 0.11.2, and `flags` listed nothing."""
    tool = option("0.11.2", "--tool-call-parser")
    assert {"hermes", "llama3_json", "mistral", "pythonic", "qwen3_coder"} <= set(tool["choices"])
    assert tool["choices_registry"]["plugin_option"] == "--tool-parser-plugin"
    reasoning = option("0.11.2", "--reasoning-parser")
    assert {"deepseek_r1", "qwen3", "glm45"} <= set(reasoning["choices"])
    table = load_catalog("0.11.2").serve
    problem = table.check_value(table.resolve("--tool-call-parser").option, "llama3json")
    assert problem is not None
    assert problem.startswith("'llama3json' is not a choice of `--tool-call-parser`; allowed: ")
    assert problem.endswith("; did you mean 'llama3_json'?")
    result = CliRunner().invoke(main, ["flags", "vllm", "0.11.2", "^--tool-call-parser$"])
    assert "llama3_json" in result.output
    for version in available_versions():
        assert option(version, "--tool-call-parser")["choices"], version


def test_a_parser_plugin_opens_its_option_to_any_name() -> None:
    catalog = load_catalog("0.11.2")
    assert catalog.serve_for(set()) is catalog.serve
    opened = catalog.serve_for({"--tool-parser-plugin"})
    assert opened.check_value(opened.resolve("--tool-call-parser").option, "my_parser") is None
    still = opened.resolve("--reasoning-parser").option
    assert opened.check_value(still, "my_parser") is not None


def test_values_are_checked() -> None:
    table = load_catalog("0.11.2").serve
    kv_cache_dtype = table.resolve("--kv-cache-dtype").option
    problem = table.check_value(kv_cache_dtype, "fp4")
    assert problem is not None and "allowed: auto, bfloat16, fp8" in problem
    assert table.check_value(kv_cache_dtype, "fp8") is None
    max_model_len = table.resolve("--max-model-len").option
    assert table.check_value(max_model_len, "32k") is None
    assert table.check_value(max_model_len, 8192) is None
    assert table.check_value(max_model_len, "lots") is not None
    speculative = table.resolve("--speculative-config").option
    assert table.check_value(speculative, {"method": "ngram", "num_speculative_tokens": 3}) is None
    assert table.check_value(speculative, "{not json") is not None
    assert table.check_value(table.resolve("--enforce-eager").option, True) is None
    assert table.check_value(table.resolve("--served-model-name").option, ["a", "b"]) is None


def test_versions_from_tags_and_requirements() -> None:
    assert engine_version_from_tag("vllm/vllm-openai:v0.11.2") == "0.11.2"
    assert engine_version_from_tag("vllm/vllm-openai:v0.10.1.1-cu128") == "0.10.1.1"
    assert engine_version_from_tag("vllm/vllm-openai:latest") is None
    assert engine_version_from_tag("lmsysorg/sglang:v0.5.9") is None
    assert version_from_requirement("vllm==0.11.2") == "0.11.2"
    assert version_from_requirement("vllm[audio] == 0.9.1") == "0.9.1"
    assert version_from_requirement("vllm>=0.11") is None
    with pytest.raises(CatalogNotFound, match=r"no option catalog for vLLM 0\.1\.0"):
        load_catalog("0.1.0")


# -- modalgen flags ------------------------------------------------------------------------------


def test_flags_command_for_vllm() -> None:
    result = CliRunner().invoke(main, ["flags", "vllm", "0.11.2", "speculative"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("--speculative-config  [json; default: None]")
    result = CliRunner().invoke(main, ["flags", "vllm", "0.11.2", "^--kv-cache-dtype"])
    assert "choices: auto, bfloat16" in result.output
    result = CliRunner().invoke(main, ["flags", "vllm", "0.11.2", "enforce-eager"])
    assert "--enforce-eager (--no-enforce-eager)  [flag]" in result.output
    result = CliRunner().invoke(main, ["flags", "vllm", "0.1.0"])
    assert result.exit_code == 1
    assert "no option catalog for vLLM 0.1.0" in result.output
    assert "modalgen catalog add vllm 0.1.0" in result.output


def test_flags_command_engine_word_is_optional_for_sglang() -> None:
    with_engine = CliRunner().invoke(main, ["flags", "sglang", "0.5.10.post1", "speculative"])
    without = CliRunner().invoke(main, ["flags", "0.5.10.post1", "speculative"])
    assert with_engine.exit_code == 0 and with_engine.output == without.output
    assert "--speculative-algorithm" in without.output
    result = CliRunner().invoke(main, ["flags", "vllm", "0.11.2", "x", "y"])
    assert result.exit_code == 2


def test_a_spec_with_a_parser_plugin_may_name_its_parsers(tmp_path: Path) -> None:
    case = ROOT / "tests" / "cases" / "vllm_tool_call_parser_unknown" / "spec.toml"
    text = case.read_text().replace('"llama3json"', '"my_plugin_parser"')
    (tmp_path / "generated").mkdir()
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "spec.toml"
    spec.write_text(text)
    refused = CliRunner().invoke(main, ["validate", "-C", str(tmp_path)])
    assert refused.exit_code == 1 and "'my_plugin_parser' is not a choice" in refused.output
    plugin = '\n[engine.extra_args]\n"--tool-parser-plugin" = "/root/my_parsers.py"\n'
    spec.write_text(text + plugin)
    accepted = CliRunner().invoke(main, ["validate", "-C", str(tmp_path)])
    assert accepted.exit_code == 0, accepted.output

"""`modalgen upgrade`, `modalgen flags --diff` and `modalgen outdated`, on real catalogs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.authoring.spec_edit import FileChanged, SpecEditor
from generator.authoring.upgrade import Removed, option_diff, retag
from generator.cli.cli import main
from generator.engines.registry import ENGINES

ROOT = Path(__file__).resolve().parent.parent
OWN_TAG = (
    '# the engine\'s own image\nregistry_tag = "lmsysorg/sglang:v0.5.10.post1-cu130-runtime"\n'
)


def _spec(tag: str = "lmsysorg/sglang:v0.5.10.post1-cu130-runtime", extra: str = "") -> str:
    return f"""version = 1

[app]
name = "upgraded"
class_name = "Server"

[image]
# the engine's own image
registry_tag = "{tag}"

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[server]
kind = "server"
startup_timeout = 600
gpu = {{ type = "H100", count = 1 }}
target_concurrency = 8

[engine]
context_length = 8192
{extra}"""


def _project(tmp_path: Path, **specs: str) -> Path:
    (tmp_path / "generated").mkdir()
    (tmp_path / "specs").mkdir()
    for name, text in specs.items():
        path = tmp_path / "specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args[:1], "-C", str(project), *args[1:]])


def _texts(project: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((project / "specs").rglob("*.*"))}


# --- the option diff ---------------------------------------------------------------------------


def test_a_rename_is_followed_through_the_releases_between() -> None:
    diff = option_diff(ENGINES["sglang"], "0.5.10.post1", "0.5.23")
    # deprecated for its successor in 0.5.14, gone in 0.5.20: the direct pair shows no link
    assert diff.follow("--cuda-graph-max-bs") == "--cuda-graph-max-bs-decode"
    assert diff.renamed["--cuda-graph-max-bs"].since == "0.5.14"
    gone = diff.follow("--torchao-config")
    assert isinstance(gone, Removed) and gone.since == "0.5.18"
    assert diff.follow("--context-length") == "--context-length"


def test_flags_diff_lists_renamed_removed_changed_and_added(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["flags", "sglang", "--diff", "0.5.10.post1", "0.5.23", "cuda-graph|torchao"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "renamed  --cuda-graph-max-bs -> --cuda-graph-max-bs-decode  "
        "(in 0.5.14: deprecated, replaced by)"
    ) in lines
    assert "removed  --torchao-config  (gone in 0.5.18)" in lines
    assert "added    --cuda-graph-max-seq-len-prefill  [int]" in lines
    assert not any("--context-length" in line for line in lines)  # the pattern filters
    changed = CliRunner().invoke(
        main, ["flags", "sglang", "--diff", "0.5.10.post1", "0.5.23", "^--encoder-transfer"]
    )
    assert "changed  --encoder-transfer-backend  choices: lost none; gained auto" in (
        changed.output
    )
    assert "changed  --encoder-transfer-backend  default: 'zmq_to_scheduler' -> 'auto'" in (
        changed.output
    )
    backwards = CliRunner().invoke(main, ["flags", "sglang", "--diff", "0.5.23", "0.5.10.post1"])
    assert backwards.exit_code == 2


def test_retag_keeps_the_suffix_scheme() -> None:
    assert (
        retag("lmsysorg/sglang:v0.5.10.post1-cu130-runtime", "0.5.23")
        == "lmsysorg/sglang:v0.5.23-cu130-runtime"
    )
    assert retag("vllm/vllm-openai:v0.11.2", "0.33.0") == "vllm/vllm-openai:v0.33.0"
    assert retag("vllm/vllm-openai:latest", "0.33.0") is None


# --- upgrade -----------------------------------------------------------------------------------


def test_a_renamed_option_is_translated_dry_run_first(tmp_path: Path) -> None:
    extra = '\n[engine.extra_args]\n"--cuda-graph-max-bs" = 32  # bigger graphs\n'
    project = _project(tmp_path, **{"a.toml": _spec(extra=extra)})
    before = _texts(project)
    dry = _run(project, "upgrade", "--engine-version", "0.5.23")
    assert dry.exit_code == 0, dry.output
    assert '-"--cuda-graph-max-bs" = 32  # bigger graphs' in dry.output
    assert '+"--cuda-graph-max-bs-decode" = 32  # bigger graphs' in dry.output
    assert '+registry_tag = "lmsysorg/sglang:v0.5.23-cu130-runtime"' in dry.output
    assert "check that it exists" in dry.output  # the tag's naming is a guess
    assert _texts(project) == before  # a dry run writes nothing
    assert not list((project / "generated").iterdir())
    wrote = _run(project, "upgrade", "--engine-version", "0.5.23", "--write")
    assert wrote.exit_code == 0, wrote.output
    text = _texts(project)["a.toml"]
    assert "# the engine's own image" in text
    assert '"--cuda-graph-max-bs-decode" = 32  # bigger graphs' in text
    assert (project / "generated" / "a.py").is_file()  # regenerated
    again = _run(project, "upgrade", "--latest")
    assert again.exit_code == 0 and "nothing to do" in again.output


def test_a_removed_option_stops_the_write_unless_forced(tmp_path: Path) -> None:
    extra = '\n[engine.extra_args]\n"--torchao-config" = "int8wo"\n"--cuda-graph-max-bs" = 8\n'
    project = _project(tmp_path, **{"a.toml": _spec(extra=extra)})
    before = _texts(project)
    result = _run(project, "upgrade", "--engine-version", "0.5.23", "--write")
    assert result.exit_code == 1
    assert f"{tmp_path / 'specs' / 'a.toml'}:" not in result.output  # shown project-relative
    assert "specs/a.toml:" in result.output and ":1: engine.extra_args.--torchao-config" in (
        result.output
    )
    assert "gone from sglang 0.5.18" in result.output
    assert _texts(project) == before
    forced = _run(project, "upgrade", "--engine-version", "0.5.23", "--write", "--force")
    assert forced.exit_code == 1  # written, but something could not be moved
    text = _texts(project)["a.toml"]
    assert '"--cuda-graph-max-bs-decode" = 8' in text and '"--torchao-config"' in text


def test_a_choice_that_is_gone_is_untranslatable(tmp_path: Path) -> None:
    # `dual_chunk_flash_attn` is an --attention-backend of 0.5.10.post1 and not of 0.5.23
    extra = '\n[engine.extra_args]\n"--attention-backend" = "dual_chunk_flash_attn"\n'
    project = _project(tmp_path, **{"a.toml": _spec(extra=extra)})
    before = _texts(project)
    result = _run(project, "upgrade", "--engine-version", "0.5.23")
    assert result.exit_code == 1
    assert "engine.extra_args.--attention-backend: in sglang 0.5.23:" in result.output
    assert "dual_chunk_flash_attn" in result.output
    assert _texts(project) == before


def test_a_yaml_spec_and_its_config_keys(tmp_path: Path) -> None:
    text = """version: 1
app:
  name: yamlish
  class_name: Server
image:
  registry_tag: lmsysorg/sglang:v0.5.10.post1-cu130-runtime  # pinned
model:
  name: Qwen/Qwen3-8B
  revision: 0123456789abcdef0123456789abcdef01234567
server:
  kind: server
  startup_timeout: 600
  gpu: {type: H100, count: 1}
  target_concurrency: 8
engine:
  config:
    cuda-graph-max-bs: 16   # the config file's
"""
    project = _project(tmp_path, **{"y.yaml": text})
    result = _run(project, "upgrade", "--latest", "--write")
    assert result.exit_code == 0, result.output
    written = _texts(project)["y.yaml"]
    # a value that shrank keeps its comment's column (the spec editor's rule)
    assert "registry_tag: lmsysorg/sglang:v0.5.23-cu130-runtime        # pinned" in written
    assert "    cuda-graph-max-bs-decode: 16   # the config file's" in written


def test_a_tag_a_base_sets_is_changed_in_the_base(tmp_path: Path) -> None:
    base = 'version = 1\n\n[image]\n# shared\nregistry_tag = "lmsysorg/sglang:v0.5.10.post1"\n'
    child = _spec().replace(
        OWN_TAG,
        "",
    )
    child = child.replace("version = 1\n", 'version = 1\nextends = ["_base/b.toml"]\n')
    other = child.replace('name = "upgraded"', 'name = "other"')
    project = _project(tmp_path, **{"_base/b.toml": base, "a.toml": child, "o.toml": other})
    result = _run(project, "upgrade", "specs/a.toml", "--engine-version", "0.5.23", "--write")
    assert result.exit_code == 0, result.output
    assert "specs/_base/b.toml: image.registry_tag" in result.output
    assert "changes specs/a.toml, specs/o.toml" in result.output
    texts = _texts(project)
    assert 'registry_tag = "lmsysorg/sglang:v0.5.23"' in texts["b.toml"]
    assert "# shared" in texts["b.toml"]
    assert texts["a.toml"] == child and texts["o.toml"] == other


def test_a_pip_pin_in_a_layer(tmp_path: Path) -> None:
    text = (
        _spec().replace(
            OWN_TAG,
            'debian_slim_python = "3.12"\n\n[[image.layers]]\npip_install = ["vllm==0.9.1"]\n',
        )
        + 'kind = "vllm"\n'
    )
    text = text.replace("[engine]\ncontext_length = 8192\n", "[engine]\n")
    project = _project(tmp_path, **{"v.toml": text})
    result = _run(project, "upgrade", "--engine-version", "0.33.0", "--write")
    assert result.exit_code == 0, result.output
    assert 'pip_install = ["vllm==0.33.0"]' in _texts(project)["v.toml"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"a.toml": _spec()})
    assert _run(project, "upgrade").exit_code == 2
    assert _run(project, "upgrade", "--latest", "--engine-version", "0.5.23").exit_code == 2
    assert _run(project, "upgrade", "--latest", "--force").exit_code == 2


def test_a_spec_edited_between_plan_and_write_is_not_clobbered(tmp_path: Path) -> None:
    from generator.authoring.upgrade import plan_upgrade
    from generator.checks.validation import validate_document
    from generator.engines.registry import engine_for
    from generator.spec.inherit import load_layered

    project = _project(tmp_path, **{"a.toml": _spec()})
    path = project / "specs" / "a.toml"
    document = load_layered(path, "specs/a.toml")
    spec = validate_document(document, project)
    editor = SpecEditor()
    plan = plan_upgrade([(document, engine_for(spec), "0.5.10.post1", [])], "0.5.23", editor, [])
    assert plan.edits
    edited = path.read_text() + "# the user's own line\n"
    path.write_text(edited)
    with pytest.raises(FileChanged):
        editor.write()
    assert path.read_text() == edited


def test_the_qwen36_vlm_example_upgrades_and_generates(tmp_path: Path) -> None:
    project = tmp_path
    shutil.copytree(ROOT / "specs", project / "specs")
    (project / "generated").mkdir()
    spec = project / "specs" / "qwen36_vlm.toml"
    spec.write_text(
        spec.read_text().replace(
            'tool_call_parser = "qwen3_coder"\n',
            'tool_call_parser = "qwen3_coder"\n\n[engine.extra_args]\n'
            '"--cuda-graph-max-bs" = 32  # graphs for bigger batches\n',
        )
    )
    result = _run(project, "upgrade", "specs/qwen36_vlm.toml", "--latest", "--write")
    assert result.exit_code == 0, result.output
    text = spec.read_text()
    assert "# 35B parameters in total, 3B active per token" in text
    assert '"--cuda-graph-max-bs-decode" = 32  # graphs for bigger batches' in text
    assert 'registry_tag = "lmsysorg/sglang:v0.5.23-cu130-runtime"' in text
    generated = (project / "generated" / "qwen36_vlm.py").read_text()
    assert '"--mamba-radix-cache-strategy"' in generated
    assert '"--cuda-graph-max-bs-decode"' in generated
    assert _run(project, "validate", "specs/qwen36_vlm.toml").exit_code == 0


def test_outdated_lists_specs_behind_the_newest_release(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        **{"old.toml": _spec(), "new.toml": _spec("lmsysorg/sglang:v0.5.23-cu130-runtime")},
    )
    result = _run(project, "outdated")
    assert result.exit_code == 0, result.output
    assert "specs/old.toml: SGLang 0.5.10.post1, newest 0.5.23" in result.output
    assert "specs/new.toml" not in result.output


def test_a_typed_field_whose_option_was_removed_stops_the_write(tmp_path: Path) -> None:
    text = _spec("vllm/vllm-openai:v0.11.2").replace(
        "[engine]\ncontext_length = 8192\n",
        '[engine]\nkind = "vllm"\ndisable_log_requests = true\n',
    )
    project = _project(tmp_path, **{"v.toml": text})
    result = _run(project, "upgrade", "--engine-version", "0.33.0", "--write")
    assert result.exit_code == 1
    assert "engine.disable_log_requests: modalgen passes `--disable-log-requests`" in result.output
    assert _texts(project)["v.toml"] == text

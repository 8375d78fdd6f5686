"""`modalgen upgrade`, `modalgen flags --diff` and `modalgen outdated`, on real catalogs."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.authoring.spec_edit import FileChanged, SpecEditor
from generator.authoring.upgrade import Removed, option_diff, retag
from generator.cli.cli import main
from generator.engines.option_table import version_key
from generator.engines.registry import ENGINES

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "generator" / "catalogs"
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


# --- vLLM's renames, curated --------------------------------------------------------------------

_USE_INSTEAD = re.compile(r"[Uu]se `?(--[a-z0-9][a-z0-9-]*)`? instead")


def test_vllm_renames_the_catalogs_cannot_show_are_followed() -> None:
    diff = option_diff(ENGINES["vllm"], "0.10.2", "0.33.0")
    encoder = diff.renamed["--enable-multimodal-encoder-data-parallel"]
    assert (encoder.new, encoder.value, encoder.since) == ("--mm-encoder-tp-mode", "data", "0.10.2")
    assert "vllm-project/vllm/pull/23190" in encoder.how
    assert diff.follow("--override-pooler-config") == "--pooler-config"
    assert diff.follow("--disable-mm-preprocessor-cache") == "--mm-processor-cache-gb"
    assert diff.renamed["--disable-mm-preprocessor-cache"].value == 0
    sizes = diff.renamed["--cuda-graph-sizes"]
    assert sizes.new == "--cudagraph-capture-sizes" and sizes.since == "0.11.1"
    assert sizes.note and "--max-cudagraph-capture-size" in sizes.note
    # not renames: another kind of setting, or nothing
    for gone in ("--guided-decoding-backend", "--disable-log-requests", "--rope-scaling"):
        assert isinstance(diff.follow(gone), Removed), gone
    # a value-mapped rename is no change of type or default
    assert "--mm-encoder-tp-mode" not in diff.changed
    assert "--mm-processor-cache-gb" not in diff.changed


def test_a_negated_alias_never_becomes_the_name() -> None:
    # 0.10.1 made `--disable-mm-preprocessor-cache` a plain store_true: its `--no-` spelling,
    # which meant the opposite, is gone, not renamed to the flag it negated
    diff = option_diff(ENGINES["vllm"], "0.10.0", "0.10.1")
    assert isinstance(diff.follow("--no-disable-mm-preprocessor-cache"), Removed)


def test_flags_diff_lists_vllm_renames_with_their_source() -> None:
    result = CliRunner().invoke(
        main, ["flags", "vllm", "--diff", "0.10.2", "0.33.0", "encoder-data|pooler|cuda-graph"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "renamed  --enable-multimodal-encoder-data-parallel -> --mm-encoder-tp-mode data  "
        "(in 0.10.2: a curated rename, from https://github.com/vllm-project/vllm/pull/23190)"
    ) in lines
    assert (
        "renamed  --override-pooler-config -> --pooler-config  (in 0.11.0: a curated rename, "
        "from https://github.com/vllm-project/vllm/pull/25181)"
    ) in lines
    assert any(
        line.startswith("renamed  --cuda-graph-sizes -> --cudagraph-capture-sizes")
        for line in lines
    )
    assert not any(line.startswith("removed") for line in lines)


def test_every_curated_rename_agrees_with_the_catalogs() -> None:
    for kind, engine in ENGINES.items():
        releases = sorted(engine.available_versions(), key=version_key)
        for rename in engine.option_renames:
            assert rename.since in releases, rename
            table = engine.server_options_table(rename.since)
            before = [v for v in releases if version_key(v) < version_key(rename.since)]
            previous = engine.server_options_table(before[-1])
            assert rename.old in previous.by_string, rename  # the old name was an option
            old = previous.by_string[rename.old]
            now = table.by_string.get(rename.old)
            assert now is None or now.deprecated, rename  # and is deprecated or gone
            new = table.by_string[rename.new]
            assert not new.deprecated, rename
            if rename.value is None:
                assert old.describe_type() == new.describe_type(), rename
            else:
                assert old.is_flag and table.check_value(new, rename.value) is None, rename
            later = [v for v in releases if version_key(v) >= version_key(rename.since)]
            assert all(rename.new in engine.server_options_table(v).by_string for v in later)
            assert rename.source.startswith("https://github.com/"), rename
        assert kind == "vllm" or not engine.option_renames  # SGLang's catalogs name their own


def test_every_vllm_option_whose_help_names_its_successor_is_curated() -> None:
    engine = ENGINES["vllm"]
    curated = {(rename.old, rename.new) for rename in engine.option_renames}
    for version in engine.available_versions():
        table = engine.server_options_table(version)
        for option in table.options:
            named = _USE_INSTEAD.search(option.help or "")
            if option.deprecated and named and named.group(1) in table.by_string:
                assert (option.name, named.group(1)) in curated, (version, option.name)


def test_every_removal_advice_is_for_an_option_a_release_removed() -> None:
    for engine in ENGINES.values():
        releases = sorted(engine.available_versions(), key=version_key)
        diff = option_diff(engine, releases[0], releases[-1])
        for item in engine.removal_advice:
            gone = diff.removed[item.old]
            assert gone.advice == f"{item.advice} ({item.source})", item
            assert item.source.startswith("https://github.com/"), item


def test_a_removed_vllm_option_comes_with_vllms_advice(tmp_path: Path) -> None:
    extra = '\n[engine.extra_args]\n"--disable-log-requests" = true\n'
    project = _project(tmp_path, **{"v.toml": _vllm_spec("v0.11.2", extra)})
    result = _run(project, "upgrade", "--engine-version", "0.33.0")
    assert result.exit_code == 1
    assert (
        "engine.extra_args.--disable-log-requests: `--disable-log-requests` is gone from vllm "
        "0.17.0 (checked up to 0.33.0) with no option that replaces it; requests are not logged "
        "by default from 0.10.1 on (`--enable-log-requests` turns logging on): drop it "
        "(https://github.com/vllm-project/vllm/pull/21739)"
    ) in result.output
    lines = CliRunner().invoke(main, ["flags", "vllm", "--diff", "0.11.2", "0.33.0", "^--task"])
    assert "removed  --task  (gone in 0.13.0; `--runner` and `--convert` replace it" in lines.output


def _vllm_spec(tag: str, extra: str) -> str:
    return _spec(f"vllm/vllm-openai:{tag}").replace(
        "[engine]\ncontext_length = 8192\n", f'[engine]\nkind = "vllm"\n{extra}'
    )


def test_vllm_renamed_options_are_translated_values_too(tmp_path: Path) -> None:
    extra = (
        '\n[engine.extra_args]\n"--enable-multimodal-encoder-data-parallel" = true  # encoder DP\n'
        '"--override-pooler-config" = \'{"pooling_type": "MEAN"}\'\n'
        "\n[engine.config]\ncuda-graph-sizes = [8, 16]  # the config file's\n"
    )
    project = _project(tmp_path, **{"v.toml": _vllm_spec("v0.10.2", extra)})
    assert _run(project, "validate").exit_code == 0
    dry = _run(project, "upgrade", "--engine-version", "0.33.0")
    assert dry.exit_code == 0, dry.output
    assert '+"--mm-encoder-tp-mode" = "data"  # encoder DP' in dry.output
    assert (
        "--enable-multimodal-encoder-data-parallel = true' -> '--mm-encoder-tp-mode = \"data\"'"
        in (dry.output)
    )
    assert "--max-cudagraph-capture-size" in dry.output  # the rename's note
    wrote = _run(project, "upgrade", "--engine-version", "0.33.0", "--write")
    assert wrote.exit_code == 0, wrote.output
    text = _texts(project)["v.toml"]
    assert '"--mm-encoder-tp-mode" = "data"  # encoder DP' in text
    assert '"--pooler-config" = \'{"pooling_type": "MEAN"}\'' in text
    assert "cudagraph-capture-sizes = [8, 16]  # the config file's" in text
    generated = (project / "generated" / "v.py").read_text()
    assert '"--mm-encoder-tp-mode",\n    "data",' in generated
    assert _run(project, "validate").exit_code == 0


def test_a_value_mapped_rename_of_a_flag_set_false_is_untranslatable(tmp_path: Path) -> None:
    extra = '\n[engine.extra_args]\n"--enable-multimodal-encoder-data-parallel" = false\n'
    project = _project(tmp_path, **{"v.toml": _vllm_spec("v0.10.2", extra)})
    before = _texts(project)
    result = _run(project, "upgrade", "--engine-version", "0.33.0", "--write")
    assert result.exit_code == 1
    assert "became `--mm-encoder-tp-mode data` in vllm 0.10.2" in result.output
    assert "for the bare flag (`true`) only" in result.output
    assert _texts(project) == before


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
    plan = plan_upgrade([(document, engine_for(spec), "0.5.10.post1")], "0.5.23", editor, [])
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


def test_a_typed_field_follows_the_release_it_is_upgraded_to(tmp_path: Path) -> None:
    # vLLM 0.17.0 removed `--disable-log-requests`; from 0.10.1 on requests are not logged by
    # default, so the field needs no option there and the spec upgrades as it is.
    text = _spec("vllm/vllm-openai:v0.9.2").replace(
        "[engine]\ncontext_length = 8192\n",
        '[engine]\nkind = "vllm"\ndisable_log_requests = true\n',
    )
    project = _project(tmp_path, **{"v.toml": text})
    assert _run(project, "generate").exit_code == 0
    assert '"--disable-log-requests"' in (project / "generated" / "v.py").read_text()
    result = _run(project, "upgrade", "--engine-version", "0.33.0", "--write")
    assert result.exit_code == 0, result.output
    assert _texts(project)["v.toml"] == text.replace("v0.9.2", "v0.33.0")
    generated = (project / "generated" / "v.py").read_text()
    assert "--disable-log-requests" not in generated
    assert "--enable-log-requests" not in generated


def _project_catalog(project: Path, engine: str, old: str, new: str, drop: str) -> None:
    """A project catalog of release `new`: the bundled `old` one less the option `drop`."""
    data = json.loads((CATALOGS / f"{engine}-{old}.json").read_text())
    data[f"{engine}_version"] = new
    data["serve"] = [record for record in data["serve"] if record["name"] != drop]
    folder = project / "catalogs"
    folder.mkdir()
    payload = json.dumps(data).encode()
    (folder / f"{engine}-{new}.json").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    (folder / "SHA256SUMS").write_text(f"{digest}  {engine}-{new}.json\n")


def test_a_typed_field_whose_option_was_removed_stops_the_write(tmp_path: Path) -> None:
    text = _spec("vllm/vllm-openai:v0.33.0").replace(
        "[engine]\ncontext_length = 8192\n",
        '[engine]\nkind = "vllm"\nmax_num_seqs = 16\n',
    )
    project = _project(tmp_path, **{"v.toml": text})
    _project_catalog(project, "vllm", "0.33.0", "0.34.0", "--max-num-seqs")
    result = _run(project, "upgrade", "--engine-version", "0.34.0", "--write")
    assert result.exit_code == 1
    assert (
        "engine.max_num_seqs: modalgen passes `--max-num-seqs` for this field, and vllm 0.34.0 "
        "removed it"
    ) in result.output
    assert "is not an option of" not in result.output  # said once, by the upgrade
    assert _texts(project)["v.toml"] == text
    assert not list((project / "generated").iterdir())


# --- the generated file in a dry run -------------------------------------------------------------


def test_a_dry_run_shows_the_generated_file_change_and_writes_nothing(tmp_path: Path) -> None:
    extra = '\n[engine.extra_args]\n"--cuda-graph-max-bs" = 32\n'
    project = _project(tmp_path, **{"a.toml": _spec(extra=extra)})
    assert _run(project, "generate").exit_code == 0
    generated = project / "generated" / "a.py"
    before, specs = generated.read_text(), _texts(project)
    dry = _run(project, "upgrade", "--latest")
    assert dry.exit_code == 0, dry.output
    assert "--- a/generated/a.py\n+++ b/generated/a.py\n" in dry.output
    lines = dry.output.splitlines()
    comment = "  # only capture CUDA graphs for batch sizes we expect to see"
    assert f'-    "--cuda-graph-max-bs",{comment}' in lines
    assert f'+    "--cuda-graph-max-bs-decode",{comment}' in lines
    assert (
        "-# We build on the registry image `lmsysorg/sglang:v0.5.10.post1-cu130-runtime`." in lines
    )
    assert "+# We build on the registry image `lmsysorg/sglang:v0.5.23-cu130-runtime`." in lines
    assert "would regenerate generated/a.py" in dry.output
    # the spec's diff first, then the generated file's
    assert dry.output.index("--- a/specs/a.toml") < dry.output.index("--- a/generated/a.py")
    assert generated.read_text() == before and _texts(project) == specs
    wrote = _run(project, "upgrade", "--latest", "--write")
    assert wrote.exit_code == 0, wrote.output
    after = generated.read_text()
    assert after != before
    # what the dry run showed is what --write generated
    shown = [line[1:] for line in lines if line.startswith("+    ")]
    assert all(line in after.splitlines() for line in shown)


def test_a_dry_run_of_a_base_edit_shows_every_generated_file_it_changes(tmp_path: Path) -> None:
    base = 'version = 1\n\n[image]\nregistry_tag = "lmsysorg/sglang:v0.5.10.post1"\n'
    child = _spec().replace(OWN_TAG, "")
    child = child.replace("version = 1\n", 'version = 1\nextends = ["_base/b.toml"]\n')
    other = child.replace('name = "upgraded"', 'name = "other"')
    project = _project(tmp_path, **{"_base/b.toml": base, "a.toml": child, "o.toml": other})
    assert _run(project, "generate").exit_code == 0
    dry = _run(project, "upgrade", "specs/a.toml", "--latest")
    assert dry.exit_code == 0, dry.output
    assert "+++ b/generated/a.py" in dry.output and "+++ b/generated/o.py" in dry.output


def test_an_upgraded_spec_that_no_longer_validates_is_not_generated(tmp_path: Path) -> None:
    # the base's tag moves o.toml too, and o.toml's own option is gone in the new release
    base = 'version = 1\n\n[image]\nregistry_tag = "lmsysorg/sglang:v0.5.10.post1"\n'
    child = _spec().replace(OWN_TAG, "")
    child = child.replace("version = 1\n", 'version = 1\nextends = ["_base/b.toml"]\n')
    other = child.replace('name = "upgraded"', 'name = "other"') + (
        '\n[engine.extra_args]\n"--torchao-config" = "int8wo"\n'
    )
    project = _project(tmp_path, **{"_base/b.toml": base, "a.toml": child, "o.toml": other})
    before = _texts(project)
    dry = _run(project, "upgrade", "specs/a.toml", "--latest")
    assert dry.exit_code == 1
    assert "not generated specs/o.toml: invalid on the new release" in dry.output
    assert "specs/o.toml:" in dry.output and "--torchao-config" in dry.output
    assert _texts(project) == before


# --- every vLLM example to the newest release ---------------------------------------------------


@pytest.mark.parametrize("source", [ROOT, ROOT / "examples" / "modal-examples"])
def test_every_vllm_spec_upgrades_to_0_33_0_validates_and_generates(
    tmp_path: Path, source: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("specs", "scripts", "build-scripts"):
        if (source / name).is_dir():
            shutil.copytree(source / name, project / name)
    if (source / "modalgen.toml").is_file():
        shutil.copy(source / "modalgen.toml", project / "modalgen.toml")
    (project / "generated").mkdir()
    specs = sorted(
        path.relative_to(project).as_posix()
        for path in (project / "specs").glob("*.*")
        if not path.name.startswith("_") and _engine_kind(path) == "vllm"
    )
    if source == ROOT:
        assert not specs  # the project's own specs are SGLang's; its examples hold vLLM's
        return
    assert len(specs) >= 4, specs
    result = _run(project, "upgrade", *specs, "--engine-version", "0.33.0", "--write")
    assert result.exit_code == 0, result.output
    for spec in specs:
        text = (project / spec).read_text()
        assert "0.33.0" in text, spec
        validated = _run(project, "validate", spec)
        assert validated.exit_code == 0, validated.output
        assert (project / "generated" / f"{Path(spec).stem}.py").is_file(), spec
    assert _run(project, "outdated", *specs).output.count("outdated") == 0


def _engine_kind(path: Path) -> str:
    from generator.spec.inherit import load_layered

    document = load_layered(path, path.name)
    engine = document.data.get("engine", {})
    return engine.get("kind", "sglang") if isinstance(engine, dict) else "sglang"

"""The raw inputs of a generated file: the spec's bytes and its bases', found without validating."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import locations
from generator.engines.option_table import (
    CATALOG_MANIFEST,
    catalog_manifest_text,
    write_catalog_manifest,
)
from generator.raw_inputs import (
    bases_from_text,
    bases_to_text,
    distribution_versions,
    find_bases,
    modalgen_digest,
    raw_inputs,
    raw_inputs_digest,
    read_inputs,
)
from tests.conftest import ROOT

BASE = ROOT / "specs" / "_base" / "sglang-h100.toml"
MODALGEN = "a" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_spec_and_its_base_are_read_in_load_order() -> None:
    for name in ("qwen36_vlm.toml", "qwen35_low_latency.yaml"):
        spec = ROOT / "specs" / name
        bases = find_bases(spec)
        assert bases == (("_base/sglang-h100.toml", ()),)
        assert read_inputs(spec, bases) == [spec.read_bytes(), BASE.read_bytes()]


def test_bases_of_bases_are_found_from_the_file_that_names_them(tmp_path: Path) -> None:
    write(tmp_path / "bases" / "root.toml", "version = 1\n")
    write(tmp_path / "bases" / "middle.yaml", "extends: [root.toml]\n")
    spec = write(tmp_path / "spec.toml", 'extends = ["bases/middle.yaml"]\n')
    bases = find_bases(spec)
    assert bases == (("bases/middle.yaml", (("root.toml", ()),)),)
    assert bases_from_text(bases_to_text(bases)) == bases
    assert read_inputs(spec, bases) == [
        b'extends = ["bases/middle.yaml"]\n',
        b"extends: [root.toml]\n",
        b"version = 1\n",
    ]


def test_what_loading_would_refuse_has_no_raw_inputs(tmp_path: Path) -> None:
    cycle = write(tmp_path / "a.toml", 'extends = ["b.toml"]\n')
    write(tmp_path / "b.toml", 'extends = ["a.toml"]\n')
    missing = write(tmp_path / "missing.toml", 'extends = ["nowhere.toml"]\n')
    broken = write(tmp_path / "broken.yaml", "app: [\n")
    not_a_list = write(tmp_path / "string.toml", 'extends = "b.toml"\n')
    for spec in (cycle, missing, broken, not_a_list):
        assert find_bases(spec) is None, spec.name
        assert raw_inputs(spec, spec.name, "generated/x.py", MODALGEN) is None


def test_a_header_that_is_not_a_tree_of_bases_is_refused() -> None:
    for text in ("", "{}", '["a.toml"]', '[["a.toml"]]', "[[1, []]]", "[" * 5000):
        assert bases_from_text(text) is None, text


def test_the_digest_covers_paths_bytes_bases_and_modalgen(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.toml", "version = 1\n")
    base = write(tmp_path / "base.toml", "version = 1\n")
    inputs = raw_inputs(spec, "specs/spec.toml", "generated/spec.py", MODALGEN)
    assert inputs is not None and inputs.bases == ()
    for other in (
        raw_inputs(spec, "specs/other.toml", "generated/spec.py", MODALGEN),
        raw_inputs(spec, "specs/spec.toml", "generated/other.py", MODALGEN),
        raw_inputs(spec, "specs/spec.toml", "generated/spec.py", "b" * 64),
    ):
        assert other is not None and other.digest != inputs.digest
    with_base = raw_inputs_digest(
        spec, (("base.toml", ()),), "specs/spec.toml", "generated/spec.py", MODALGEN
    )
    assert with_base not in (None, inputs.digest)
    base.write_text("version = 1  # a comment\n")
    assert (
        raw_inputs_digest(
            spec, (("base.toml", ()),), "specs/spec.toml", "generated/spec.py", MODALGEN
        )
        != with_base
    )
    spec.write_text("version = 1  # a comment\n")
    assert raw_inputs(spec, "specs/spec.toml", "generated/spec.py", MODALGEN) != inputs


def test_modalgen_digest_covers_every_template_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = modalgen_digest()
    copy = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", copy)
    monkeypatch.setattr(locations, "find_templates_dir", lambda: copy)
    assert modalgen_digest() == before  # the same files, wherever they are
    (copy / "_partial.jinja").write_text("{# a new partial #}\n")
    assert modalgen_digest() != before


def test_the_catalog_manifest_names_every_catalog_with_its_digest() -> None:
    # modalgen's digest reads the manifest instead of the catalogs: it must be exact.
    assert CATALOG_MANIFEST.read_text(encoding="utf-8") == catalog_manifest_text(), (
        "generator/catalogs/SHA256SUMS is stale: the extract scripts rewrite it; or run "
        "`python -c 'from generator.engines.option_table import write_catalog_manifest as w; w()'`"
    )


def test_modalgen_digest_covers_the_catalogs_through_their_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = modalgen_digest()
    package = tmp_path / "generator"
    shutil.copytree(locations.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    templates = locations.find_templates_dir()
    monkeypatch.setattr(locations, "PACKAGE_DIR", package)
    monkeypatch.setattr(locations, "find_templates_dir", lambda: templates)
    assert modalgen_digest() == before
    catalog = package / "catalogs" / "vllm-0.11.2.json"
    catalog.write_text(catalog.read_text().replace("--max-model-len", "--max-model-length"))
    assert modalgen_digest() == before  # the manifest stands for the catalogs...
    write_catalog_manifest(package / "catalogs")
    assert modalgen_digest() != before  # ...and changes with them


def test_modalgen_digest_covers_the_rendering_distributions() -> None:
    names = {version.partition("==")[0] for version in distribution_versions()}
    assert {"modalgen", "ruff", "pydantic", "pydantic_core", "jinja2", "pyyaml"} <= names


def test_importing_the_cli_builds_no_models_and_loads_no_templates() -> None:
    code = (
        "import sys, generator.cli; "
        "print(sorted(m for m in ('pydantic', 'jinja2', 'yaml') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"

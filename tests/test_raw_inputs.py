"""The raw inputs of a generated file: the spec's bytes and its bases', found without validating."""

from __future__ import annotations

import os
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
from generator.project.raw_inputs import (
    distribution_versions,
    find_bases,
    modalgen_digest,
    raw_inputs,
)
from tests.conftest import ROOT

MODALGEN = "a" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def digest(spec: Path, display: str = "specs/spec.toml", output: str = "generated/spec.py"):
    inputs = raw_inputs(spec, spec.parent, display, output, MODALGEN)
    return None if inputs is None else inputs.digest


def test_a_spec_and_its_base_are_found_in_load_order() -> None:
    for name in ("qwen36_vlm.toml", "qwen35_low_latency.yaml"):
        spec = ROOT / "specs" / name
        assert find_bases(spec, ROOT) == (("_base/sglang-h100.toml", ()),)


def test_bases_of_bases_are_found_from_the_file_that_names_them(tmp_path: Path) -> None:
    write(tmp_path / "bases" / "root.toml", "version = 1\n")
    middle = write(tmp_path / "bases" / "middle.yaml", "extends: [root.toml]\n")
    spec = write(tmp_path / "spec.toml", 'extends = ["bases/middle.yaml"]\n')
    assert find_bases(spec, tmp_path) == (("bases/middle.yaml", (("root.toml", ()),)),)
    before = digest(spec)
    middle.write_text("extends: [root.toml]  # a comment\n")
    assert digest(spec) != before  # a base's bytes are part of the digest


def test_bases_are_found_from_the_files_each_time_never_from_a_record(tmp_path: Path) -> None:
    # The entries parsed from a file's bytes are remembered under the sha256 of the bytes, so a
    # changed file is parsed anew: a base added to a spec is found at once.
    write(tmp_path / "a.toml", "version = 1\n")
    spec = write(tmp_path / "spec.toml", "version = 1\n")
    assert find_bases(spec, tmp_path) == ()
    spec.write_text('extends = ["a.toml"]\nversion = 1\n')
    assert find_bases(spec, tmp_path) == (("a.toml", ()),)


def test_bases_outside_the_project_or_not_regular_files_have_no_raw_inputs(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    write(tmp_path / "outside.toml", "version = 1\n")
    spec = write(project / "spec.toml", 'extends = ["../outside.toml"]\n')
    assert find_bases(spec, project) is None
    os.mkfifo(project / "fifo.toml")  # would block a plain read forever
    spec.write_text('extends = ["fifo.toml"]\n')
    assert find_bases(spec, project) is None
    (project / "zero.toml").symlink_to("/dev/zero")  # would never end
    spec.write_text('extends = ["zero.toml"]\n')
    assert find_bases(spec, project) is None
    big = write(project / "big.toml", "# " + "x" * (2 * 1024 * 1024) + "\n")
    spec.write_text(f'extends = ["{big.name}"]\n')
    assert find_bases(spec, project) is None


def test_what_loading_would_refuse_has_no_raw_inputs(tmp_path: Path) -> None:
    cycle = write(tmp_path / "a.toml", 'extends = ["b.toml"]\n')
    write(tmp_path / "b.toml", 'extends = ["a.toml"]\n')
    missing = write(tmp_path / "missing.toml", 'extends = ["nowhere.toml"]\n')
    broken = write(tmp_path / "broken.yaml", "app: [\n")
    not_a_list = write(tmp_path / "string.toml", 'extends = "b.toml"\n')
    for spec in (cycle, missing, broken, not_a_list):
        assert find_bases(spec, tmp_path) is None, spec.name
        assert digest(spec) is None


def test_the_digest_covers_paths_bytes_bases_and_modalgen(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.toml", "version = 1\n")
    write(tmp_path / "base.toml", "version = 1\n")
    inputs = raw_inputs(spec, tmp_path, "specs/spec.toml", "generated/spec.py", MODALGEN)
    assert inputs is not None and inputs.bases == ()
    for other in (
        digest(spec, display="specs/other.toml"),
        digest(spec, output="generated/other.py"),
        raw_inputs(spec, tmp_path, "specs/spec.toml", "generated/spec.py", "b" * 64).digest,
    ):
        assert other not in (None, inputs.digest)
    spec.write_text('extends = ["base.toml"]\nversion = 1\n')
    with_base = digest(spec)
    assert with_base not in (None, inputs.digest)
    spec.write_text("version = 1  # a comment\n")
    assert digest(spec) not in (None, inputs.digest, with_base)


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
        "import sys, generator.cli.cli; "
        "print(sorted(m for m in ('pydantic', 'jinja2', 'yaml') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"

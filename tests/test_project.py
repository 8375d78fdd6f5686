"""Spec discovery, output names and safe writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.project import Project, UnsafeOutputPath
from generator.render import Output
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path: Path) -> Project:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    return Project(tmp_path)


def test_discovery_skips_bases_and_other_files(project: Project) -> None:
    (project.specs_dir / "_base.toml").write_text("version = 1\n")
    (project.specs_dir / "notes.md").write_text("# notes\n")
    assert [path.name for path in project.discover_specs()] == [
        "qwen35_low_latency.yaml",
        "qwen36_vlm.toml",
    ]


@pytest.mark.parametrize("stem", ["Qwen", "my-model", "1model", "model.v2"])
def test_file_names_that_cannot_name_a_module_are_refused(project: Project, stem: str) -> None:
    spec = project.specs_dir / f"{stem}.toml"
    shutil.copy(project.specs_dir / "qwen36_vlm.toml", spec)
    with pytest.raises(SpecError, match="cannot name a generated module"):
        project.load_all([spec])


def test_two_specs_for_one_output_are_refused(project: Project) -> None:
    clash = project.specs_dir / "qwen36_vlm.yaml"
    clash.write_text((ROOT / "specs" / "qwen35_low_latency.yaml").read_text())
    with pytest.raises(SpecError, match=r"would generate the same file generated/qwen36_vlm\.py"):
        project.load_all([project.specs_dir / "qwen36_vlm.toml", clash])


def test_writes_stay_inside_generated(project: Project) -> None:
    (output,) = project.render([project.specs_dir / "qwen36_vlm.toml"])
    for escape in ("../evil.py", "generated/../evil.py", "/tmp/evil.py"):
        with pytest.raises(UnsafeOutputPath, match="resolves outside generated/"):
            project.write(Output(Path(escape), output.source, output.content))
    assert not (project.root / "evil.py").exists()


def test_writes_are_atomic_and_leave_no_temporary_files(project: Project) -> None:
    (output,) = project.render([project.specs_dir / "qwen36_vlm.toml"])
    assert project.write(output) is True
    assert project.write(output) is False
    assert sorted(path.name for path in project.output_dir.iterdir()) == ["qwen36_vlm.py"]


def test_a_symlink_out_of_generated_is_refused_before_anything_is_written(
    project: Project, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from generator.cli import main

    outside = tmp_path / "outside.py"
    project.output_dir.mkdir()
    (project.output_dir / "qwen36_vlm.py").symlink_to(outside)
    result = CliRunner().invoke(main, ["generate", "-C", str(project.root)])
    assert result.exit_code == 1
    assert "resolves outside generated/" in result.output
    assert "Traceback" not in result.output
    assert not outside.exists()
    assert not (project.output_dir / "qwen35_low_latency.py").exists()

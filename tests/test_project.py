"""Spec discovery, output names and safe writes."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator.project.project import Project, UnsafeOutputPath
from generator.render.render import Output
from generator.spec.errors import SpecError
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

    from generator.cli.cli import main

    outside = tmp_path / "outside.py"
    project.output_dir.mkdir()
    (project.output_dir / "qwen36_vlm.py").symlink_to(outside)
    result = CliRunner().invoke(main, ["generate", "-C", str(project.root)])
    assert result.exit_code == 1
    assert "resolves outside generated/" in result.output
    assert "Traceback" not in result.output
    assert not outside.exists()
    assert not (project.output_dir / "qwen35_low_latency.py").exists()


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for one test; the old one is restored after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
    ids=["umask-022", "umask-077", "umask-002"],
)
def test_written_files_get_the_mode_the_umask_gives_new_files(
    project: Project, umask: Callable[[int], None], mask: int, expected: int
) -> None:
    from click.testing import CliRunner

    from generator.cli.cli import main

    umask(mask)
    runner = CliRunner()
    for command in (
        ["generate"],
        ["schema"],
        ["new", "starter", "--model", "org/name", "--revision", "a" * 40, "--gpu", "H100:1"],
    ):
        result = runner.invoke(main, [*command, "-C", str(project.root)])
        assert result.exit_code == 0, result.output
    written = [
        *project.output_dir.iterdir(),
        project.root / "schemas" / "spec.schema.json",
        project.specs_dir / "starter.toml",
    ]
    assert len(written) == 4
    assert {path.name: _mode(path) for path in written} == {path.name: expected for path in written}


def test_a_replaced_file_keeps_its_mode(project: Project, umask: Callable[[int], None]) -> None:
    umask(0o022)
    (output,) = project.render([project.specs_dir / "qwen36_vlm.toml"])
    target = project.root / output.path
    target.parent.mkdir()
    target.write_text("# an older version\n")
    target.chmod(0o640)
    assert project.write(output) is True
    assert target.read_text() == output.content
    assert _mode(target) == 0o640
    schema = project.root / "schemas" / "spec.schema.json"
    schema.parent.mkdir()
    schema.write_text("{}\n")
    schema.chmod(0o600)
    assert project.write_schema() is True
    assert _mode(schema) == 0o600


@pytest.mark.parametrize("kind", ["link elsewhere", "link to nothing", "file"])
def test_a_generated_folder_that_is_not_a_folder_of_the_project_is_refused(
    project: Project, tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    """Refused before anything is written, whether the link leads to a folder or to nothing."""
    from click.testing import CliRunner

    from generator.cli.cli import main

    elsewhere = tmp_path_factory.mktemp("elsewhere")
    if kind == "link elsewhere":
        project.output_dir.symlink_to(elsewhere)
        expected = f"it is a symbolic link (to {elsewhere})"
    elif kind == "link to nothing":
        project.output_dir.symlink_to(elsewhere / "gone")
        expected = "it is a symbolic link (to "
    else:
        project.output_dir.write_text("")
        expected = "it is not a folder"
    result = CliRunner().invoke(main, ["generate", "-C", str(project.root)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"refusing to write into generated/: {expected}" in result.output
    assert "nothing was written" in result.output
    assert list(elsewhere.iterdir()) == []
    (output,) = project.render([project.specs_dir / "qwen36_vlm.toml"])
    with pytest.raises(UnsafeOutputPath, match="refusing to write into generated/"):
        project.write(output)

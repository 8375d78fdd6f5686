"""The `modalgen` command line, run on temporary projects."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    return tmp_path


def run(project: Path, *args: str):
    return CliRunner().invoke(main, [*args, "-C", str(project)], catch_exceptions=False)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(directory.glob("*"))
    }


def test_generate_writes_every_spec_and_then_touches_nothing(project: Path) -> None:
    result = run(project, "generate")
    assert result.exit_code == 0, result.output
    assert "wrote generated/qwen36_vlm.py (from specs/qwen36_vlm.toml)" in result.output
    for name in ("qwen36_vlm.py", "qwen35_low_latency.py"):
        assert (project / "generated" / name).read_bytes() == (
            ROOT / "generated" / name
        ).read_bytes()
    before = snapshot(project / "generated")
    again = run(project, "generate")
    assert again.exit_code == 0
    assert "unchanged generated/qwen36_vlm.py" in again.output
    assert snapshot(project / "generated") == before


def test_one_invalid_spec_means_no_file_is_written(project: Path) -> None:
    run(project, "generate")
    before = snapshot(project / "generated")
    spec = project / "specs" / "qwen36_vlm.toml"
    spec.write_text(spec.read_text().replace("count = 1 }", "count = 0 }"))
    (project / "specs" / "qwen35_low_latency.yaml").write_text(
        (ROOT / "specs" / "qwen35_low_latency.yaml")
        .read_text()
        .replace("startup_timeout: 1200", "startup_timeout: 1300")
    )
    result = run(project, "generate")
    assert result.exit_code == 1
    assert "specs/qwen36_vlm.toml:" in result.output
    assert "server.gpu.count" in result.output
    assert "nothing was written" in result.output
    assert snapshot(project / "generated") == before


def test_validate_checks_without_writing(project: Path) -> None:
    result = run(project, "validate")
    assert result.exit_code == 0, result.output
    assert "ok specs/qwen36_vlm.toml" in result.output
    assert not (project / "generated").exists()


def test_a_problem_of_a_base_file_is_printed_once(project: Path) -> None:
    """Every spec that extends a base finds its problems again: each is printed once."""
    spec = project / "specs" / "qwen35_low_latency.yaml"
    for copy in ("copy_one", "copy_two"):
        text = spec.read_text().replace("example-sglang-low-latency", f"example-{copy}")
        (project / "specs" / f"{copy}.yaml").write_text(text)
    base = "specs/_base/sglang-h100.toml:28:1: server.unauthenticated: the endpoint is served"
    for command in ("validate", "generate"):
        result = run(project, command)
        assert result.exit_code == 0, result.output
        assert result.output.count(base) == 1, result.output
        assert result.output.count("warning: ") == 1, result.output

    base_file = project / "specs" / "_base" / "sglang-h100.toml"
    base_file.write_text(base_file.read_text().replace("port = 8000", "port = 0"))
    result = run(project, "validate")
    assert result.exit_code == 1
    error = "error: specs/_base/sglang-h100.toml:30:1: server.port: "
    assert result.output.count(error) == 1, result.output
    assert "1 problem(s) in 1 spec file(s)" in result.output


@pytest.mark.parametrize("command", ["check", "new", "schema", "show"])
def test_help_names_no_specs_argument_where_there_is_none(command: str) -> None:
    """`check`, `new`, `schema` and `show` take no SPECS: their help does not mention one."""
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "SPECS" not in result.output
    assert "paths given are relative to it" in result.output


def test_spec_paths_are_relative_to_the_project_directory(project: Path) -> None:
    shutil.copy(project / "specs" / "qwen36_vlm.toml", project / "specs" / "only_here.toml")
    result = run(project, "validate", "specs/only_here.toml")  # not a path from here
    assert result.exit_code == 0, result.output
    assert "ok specs/only_here.toml" in result.output
    result = run(project, "show", "specs/only_here.toml")
    assert result.exit_code == 0, result.output
    result = run(project, "validate", "specs/missing.toml")
    assert result.exit_code == 2
    assert f"no spec file 'specs/missing.toml' in {project}" in result.output


def test_usage_errors_exit_2(project: Path) -> None:
    result = CliRunner().invoke(main, ["generate", str(project / "specs" / "missing.toml")])
    assert result.exit_code == 2
    empty = project / "empty"
    empty.mkdir()
    result = run(empty, "generate")
    assert result.exit_code == 2
    assert "no specs given" in result.output


def test_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "generator", "--help"], capture_output=True, text=True, check=True
    )
    assert "Usage: modalgen" in result.stdout


def readme_diff_example() -> str:
    """The `diff` block of the README's workflow, unindented."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"^   ```diff\n(.*?)^   ```$", text, flags=re.MULTILINE | re.DOTALL)
    return "".join(line.removeprefix("   ") for line in block.splitlines(keepends=True))


def test_the_readme_diff_example_is_what_diff_prints(project: Path) -> None:
    """The README raises `target_inputs` to 16 in specs/qwen36_vlm.toml and shows the diff;
    the digests, which change with any change to modalgen, are compared as digests."""
    shutil.copytree(ROOT / "generated", project / "generated")
    spec = project / "specs" / "qwen36_vlm.toml"
    text = spec.read_text()
    assert "\ntimeout = 900\n" in text
    spec.write_text(text.replace("\ntimeout = 900\n", "\ntimeout = 900\ntarget_inputs = 16\n"))
    result = CliRunner().invoke(main, ["-q", "diff", "-C", str(project)])
    assert result.exit_code == 0, result.output

    def digests_out(diff: str) -> str:
        return re.sub(r"sha256:[0-9a-f]{64}", "sha256:...", diff)

    assert digests_out(result.stdout) == digests_out(readme_diff_example())

"""The `modalgen` command line, run on temporary projects."""

from __future__ import annotations

import os
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


# --- paths, limits and input faults (issue 18) -------------------------------------------------


def run_in_subprocess(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own, which must end within 60 s: a read that blocks
    (a FIFO) fails the test instead of hanging it."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *args, "-C", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


DEEP_TOML = "\n[engine.extra_args]\n'--deep' = " + "[" * 3000 + "]" * 3000 + "\n"


@pytest.mark.parametrize("command", ["validate", "generate", "diff", "check"])
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.toml", (ROOT / "specs" / "qwen36_vlm.toml").read_text() + DEEP_TOML),
        ("deep.yaml", "version: 1\nextends: [_base/sglang-h100.toml]\nx: " + "[" * 3000 + "\n"),
        ("deep_key.toml", "version = 1\n" + ".".join(["a"] * 40_000) + " = 1\n"),
    ],
)
def test_deep_nesting_is_reported_by_every_command(
    project: Path, command: str, name: str, text: str
) -> None:
    (project / "specs" / name).write_text(text)
    result = CliRunner().invoke(main, [command, "-C", str(project)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"error: specs/{name}:" in result.output
    limit = "nested more than 32 levels deep" if "key" not in name else "32 dotted parts"
    assert limit in result.output


@pytest.mark.parametrize("command", ["validate", "generate", "diff"])
def test_a_fifo_or_a_device_as_a_base_never_blocks(project: Path, command: str) -> None:
    os.mkfifo(project / "specs" / "_base" / "fifo.toml")
    (project / "specs" / "_base" / "zero.toml").symlink_to("/dev/zero")
    spec = project / "specs" / "qwen36_vlm.toml"
    text = spec.read_text()
    spec.write_text(text.replace('extends = ["', 'extends = ["_base/fifo.toml", "'))
    shutil.copy(spec, project / "specs" / "other.toml")
    other = project / "specs" / "other.toml"
    other.write_text(text.replace('extends = ["', 'extends = ["_base/zero.toml", "'))
    result = run_in_subprocess(project, command)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        "specs/qwen36_vlm.toml:5:1: extends[0]: base spec '_base/fifo.toml' is a FIFO (named "
        "pipe), not a regular file"
    ) in result.stderr
    assert (
        "specs/other.toml:5:1: extends[0]: base spec '_base/zero.toml' lies outside the project"
    ) in result.stderr


def test_a_spec_that_leads_out_of_the_project_is_refused(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "outside.toml"
    outside.write_text((project / "specs" / "qwen36_vlm.toml").read_text())
    (project / "specs" / "linked.toml").symlink_to(outside)
    result = run(project, "validate", "specs/linked.toml")
    assert result.exit_code == 1
    assert "specs/linked.toml: the spec lies outside the project" in result.output
    assert f"(it resolves to {outside})" in result.output
    result = run(project, "validate", str(outside))
    assert result.exit_code == 1
    assert f"error: {outside}: the spec lies outside the project" in result.output


@pytest.mark.parametrize(
    "name",
    ["a" * 5000 + ".toml", f"specs/{'b' * 300}.toml", "specs/x\n.toml", "x\ty.toml", "\x1b[2J"],
)
@pytest.mark.parametrize("command", ["validate", "generate", "show"])
def test_odd_spec_paths_are_usage_errors(project: Path, command: str, name: str) -> None:
    result = run(project, command, name)
    assert result.exit_code == 2, result.output
    assert "Invalid value for SPECS" in result.output
    assert "\x1b" not in result.output and "\t" not in result.output


# Superscript two, Arabic-Indic one and two, full-width one, double-struck two: `str.isdigit`
# takes them all, and `int()` reads all but the first.
OTHER_DIGITS = ["\u00b2", "\u0661", "\u0662", "\uff11", "\U0001d7da"]


@pytest.mark.parametrize("count", [*OTHER_DIGITS, "1\u00b2", "9" * 5000, "1:2", "-1"])
def test_new_takes_gpu_counts_in_ascii_digits_only(project: Path, count: str) -> None:
    result = run(
        project,
        "new",
        "starter",
        "--model",
        "Qwen/Qwen3-8B",
        "--revision",
        "0123456789abcdef0123456789abcdef01234567",
        "--gpu",
        f"H100:{count}",
    )
    assert result.exit_code == 1, result.output
    assert "server.gpu.count" in result.output
    assert not (project / "specs" / "starter.toml").exists()


def test_new_refuses_a_name_with_a_final_line_break(project: Path) -> None:
    result = run(project, "new", "x\n", "--model", "a/b", "--revision", "0" * 40, "--gpu", "H100")
    assert result.exit_code == 2
    assert list((project / "specs").glob("x*")) == []


def test_new_and_schema_write_nothing_through_a_link_out(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.rmtree(project / "specs")
    (project / "specs").symlink_to(elsewhere)
    (project / "schemas").symlink_to(elsewhere)
    result = run(project, "new", "x", "--model", "a/b", "--revision", "0" * 40, "--gpu", "H100")
    assert result.exit_code == 1
    assert "refusing to write into specs/: it resolves to" in result.output
    result = run(project, "schema")
    assert result.exit_code == 1
    assert "refusing to write into schemas/: it resolves to" in result.output
    assert list(elsewhere.iterdir()) == []

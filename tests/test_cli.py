"""The `modalgen` command line, run on temporary projects."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli.cli import main
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
    assert "paths given are relative to it" in " ".join(result.output.split())


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
    result = run(empty, "generate")  # -C names the project: one with no specs
    assert result.exit_code == 2
    assert "no specs given and none found in specs/" in result.output
    assert "modalgen new" in result.output


def test_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "generator", "--help"], capture_output=True, text=True, check=True
    )
    assert "Usage: modalgen" in result.stdout


# -- from any folder of the project -----------------------------------------------------------


def run_in(folder: Path, *args: str):
    """The CLI as a user runs it: in `folder`, with no -C."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def generated(project: Path) -> Path:
    assert run(project, "generate").exit_code == 0
    return project


def test_every_command_finds_the_project_upward(generated: Path) -> None:
    for folder in (generated / "specs", generated / "generated", generated / "specs" / "_base"):
        result = run_in(folder, "check")
        assert result.returncode == 0, result.stderr
        assert "ok 2 generated file(s) up to date" in result.stdout
    result = run_in(generated / "specs", "validate", "qwen36_vlm.toml")  # relative to here
    assert result.returncode == 0, result.stderr
    assert "ok specs/qwen36_vlm.toml" in result.stdout


def test_generate_from_the_specs_folder_writes_into_the_projects_generated(generated: Path) -> None:
    (generated / "generated" / "qwen36_vlm.py").unlink()
    result = run_in(generated / "specs", "generate", "qwen36_vlm.toml")
    assert result.returncode == 0, result.stderr
    assert "wrote generated/qwen36_vlm.py (from specs/qwen36_vlm.toml)" in result.stdout
    assert not (generated / "specs" / "generated").exists()
    assert (generated / "generated" / "qwen36_vlm.py").read_bytes() == (
        ROOT / "generated" / "qwen36_vlm.py"
    ).read_bytes()


def test_project_dir_goes_before_or_after_the_command(
    generated: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for args in (["-C", str(generated), "check"], ["check", "-C", str(generated)]):
        result = run_in(elsewhere, *args)
        assert result.returncode == 0, result.stderr
    result = run_in(elsewhere, "-C", str(generated / "specs"), "check")  # -C names the root
    assert result.returncode == 2
    assert "no specs given and none found in specs/" in result.stderr
    result = run_in(elsewhere, "check")
    assert result.returncode == 2
    assert "no modalgen project in" in result.stderr and "-C DIR" in result.stderr


def test_a_spec_outside_the_project_is_refused(
    generated: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stray = tmp_path_factory.mktemp("elsewhere") / "stray.toml"
    shutil.copy(generated / "specs" / "qwen36_vlm.toml", stray)
    result = run(generated, "generate", str(stray))
    assert result.exit_code == 2
    assert "is not inside the project" in result.output


# -- what generate removes, and what it leaves ------------------------------------------------


def test_generate_removes_the_file_of_a_renamed_spec(generated: Path) -> None:
    specs = generated / "specs"
    (specs / "qwen36_vlm.toml").rename(specs / "vlm.toml")
    result = run(generated, "check")
    assert result.exit_code == 1
    assert "generated/qwen36_vlm.py: orphaned: no spec generates it any more; `modalgen " in (
        result.output
    )
    result = run(generated, "generate")
    assert result.exit_code == 0, result.output
    assert "removed generated/qwen36_vlm.py (no spec generates it any more)" in result.output
    assert "wrote generated/vlm.py" in result.output
    assert sorted(path.name for path in (generated / "generated").iterdir()) == [
        "qwen35_low_latency.py",
        "vlm.py",
    ]
    assert run(generated, "check").exit_code == 0


def test_generate_never_removes_a_file_without_the_header(generated: Path) -> None:
    mine = generated / "generated" / "helpers.py"
    mine.write_text("def helper():\n    return 1\n")
    result = run(generated, "check")
    assert result.exit_code == 1
    assert "generated/helpers.py: foreign: not written by modalgen" in result.output
    result = run(generated, "generate")
    assert result.exit_code == 0
    assert "warning: generated/helpers.py: not written by modalgen" in result.output
    assert mine.read_text() == "def helper():\n    return 1\n"


@pytest.mark.parametrize("name", [".modalgen-x1y2z3.tmp", ".qwen36_vlm.py.abcd1234"])
def test_a_stopped_runs_temporary_files_are_named_and_removed(generated: Path, name: str) -> None:
    leftover = generated / "generated" / name
    leftover.write_text("half a file")
    result = run(generated, "check")
    assert result.exit_code == 1
    assert f"generated/{name}: leftover: a temporary file" in result.output
    result = run(generated, "generate")
    assert f"removed generated/{name} (a stopped run's temporary file)" in result.output
    assert not leftover.exists()
    assert run(generated, "check").exit_code == 0


# -- writing: all or nothing ------------------------------------------------------------------

FILE_SIZE_LIMIT = """
import resource, signal, sys
from generator.cli.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
main(["generate", "-C", sys.argv[2]])
"""


def changed_everywhere(project: Path) -> dict[str, bytes]:
    """Change the base both specs extend; return what generated/ holds before."""
    base = project / "specs" / "_base" / "sglang-h100.toml"
    base.write_text(base.read_text().replace("target_inputs = 10", "target_inputs = 12"))
    return {path.name: path.read_bytes() for path in (project / "generated").iterdir()}


def test_a_file_size_limit_is_a_clear_error_and_changes_nothing(generated: Path) -> None:
    before = changed_everywhere(generated)
    result = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, "20000", str(generated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "File too large; nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert {path.name: path.read_bytes() for path in (generated / "generated").iterdir()} == before


def test_a_write_that_fails_midway_leaves_generated_as_it_was(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk fills up after the first file is staged: the OS answers ENOSPC to the second.
    import errno
    import tempfile

    before = changed_everywhere(generated)
    original = tempfile.mkstemp
    staged: list[str] = []

    def disk_full_after_one(*args, **kwargs):
        if kwargs.get("dir") != generated / "generated":
            return original(*args, **kwargs)
        if staged:
            raise OSError(errno.ENOSPC, "No space left on device")
        handle, name = original(*args, **kwargs)
        staged.append(name)
        return handle, name

    monkeypatch.setattr(tempfile, "mkstemp", disk_full_after_one)
    result = run(generated, "generate")
    assert result.exit_code == 1
    assert "No space left on device; nothing was written" in result.output
    assert len(staged) == 1 and not Path(staged[0]).exists()  # staged, then taken back
    assert {path.name: path.read_bytes() for path in (generated / "generated").iterdir()} == before


def test_a_dangling_generated_link_is_refused_cleanly(project: Path, tmp_path: Path) -> None:
    (project / "generated").symlink_to(tmp_path / "nowhere")
    result = run(project, "generate")
    assert result.exit_code == 1
    assert "refusing to write into generated/: it is a symbolic link" in result.output
    assert not (tmp_path / "nowhere").exists()


# -- reports for programs and for GitHub ------------------------------------------------------


def test_check_as_json_and_as_github_annotations(generated: Path) -> None:
    import json

    spec = generated / "specs" / "qwen36_vlm.toml"
    spec.write_text(spec.read_text().replace("timeout = 900", "timeout = 1200"))
    result = run(generated, "check", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["ok"] is False
    assert document["files"] == ["generated/qwen35_low_latency.py", "generated/qwen36_vlm.py"]
    (problem,) = document["problems"]
    assert problem["file"] == "generated/qwen36_vlm.py" and problem["kind"] == "stale"
    line = problem["line"]
    assert (
        "timeout=900"
        in (generated / "generated" / "qwen36_vlm.py").read_text().splitlines()[line - 1]
    )
    result = run(generated, "check", "--format", "github")
    assert result.exit_code == 1
    assert result.output.startswith(
        f"::error file=generated/qwen36_vlm.py,line={line},col=1,"
        "title=modalgen check%3A stale::stale: its spec"
    )


def test_validate_as_json_gives_file_line_column_and_field(project: Path) -> None:
    import json

    spec = project / "specs" / "qwen36_vlm.toml"
    spec.write_text(spec.read_text().replace("count = 1 }", "count = 0 }"))
    result = run(project, "validate", "--format", "json")
    assert result.exit_code == 1
    (problem,) = json.loads(result.output)["problems"]
    assert problem["file"] == "specs/qwen36_vlm.toml"
    assert problem["field"] == "server.gpu.count" and problem["severity"] == "error"
    assert isinstance(problem["line"], int) and isinstance(problem["column"], int)
    result = run(project, "validate", "--format", "github")
    assert result.output.startswith(
        f"::error file=specs/qwen36_vlm.toml,line={problem['line']},col={problem['column']},"
    )


def test_a_warning_from_a_base_is_reported_once(project: Path) -> None:
    result = run(project, "validate")
    assert result.exit_code == 0
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == len(set(warnings))


def readme_diff_example() -> str:
    """The `diff` block of the README's workflow, unindented."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"^   ```diff\n(.*?)^   ```$", text, flags=re.MULTILINE | re.DOTALL)
    return "".join(line.removeprefix("   ") for line in block.splitlines(keepends=True))


def test_the_readme_diff_example_is_what_diff_prints(project: Path) -> None:
    """The README raises `target_inputs` to 16 in specs/qwen36_vlm.toml and shows the diff; the
    inputs digest, which changes with any change to modalgen's templates, is compared as one."""
    shutil.copytree(ROOT / "generated", project / "generated")
    spec = project / "specs" / "qwen36_vlm.toml"
    text = spec.read_text()
    assert "\ntimeout = 900\n" in text
    spec.write_text(text.replace("\ntimeout = 900\n", "\ntimeout = 900\ntarget_inputs = 16\n"))
    result = CliRunner().invoke(main, ["-q", "diff", "-C", str(project)])
    assert result.exit_code == 1, result.output  # a difference: exit 1, as git diff --exit-code

    def digests_out(diff: str) -> str:
        return re.sub(r"sha256:[0-9a-f]{64}", "sha256:...", diff)

    assert digests_out(result.stdout) == digests_out(readme_diff_example())


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
    assert result.exit_code == 2
    assert f"{str(outside)!r} is not inside the project at {project}" in result.output


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

"""`modalgen init`: a project from nothing, never a file overwritten, twice the same."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from generator.authoring.scaffold import this_release
from generator.cli.cli import main


def invoke(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args), catch_exceptions=False)
    with runner.isolated_filesystem(temp_dir=cwd.parent):
        import os

        os.chdir(cwd)
        return runner.invoke(main, list(args), catch_exceptions=False)


def files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_init_makes_a_project_that_generates_and_checks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    result = invoke("init", str(root))
    assert result.exit_code == 0, result.output
    assert sorted(files(root)) == [
        ".github/workflows/modalgen.yml",
        ".gitignore",
        ".pre-commit-config.yaml",
        "modalgen.toml",
        "schemas/spec.schema.json",
        "specs/qwen3_6_35b_a3b_fp8.toml",
    ]
    assert "bench/" in (root / ".gitignore").read_text().splitlines()
    release = this_release()
    assert f"rev: {release.tag}" in (root / ".pre-commit-config.yaml").read_text()
    workflow = (root / ".github/workflows/modalgen.yml").read_text()
    assert f'pip install "{release.requirement}"' in workflow
    assert "modalgen check --format github" in workflow
    json.loads((root / "schemas/spec.schema.json").read_text())
    assert invoke("generate", "-C", str(root)).exit_code == 0
    assert invoke("check", "-C", str(root)).exit_code == 0


def test_init_twice_changes_nothing_and_says_what_it_skipped(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    assert invoke("init", str(root)).exit_code == 0
    before = files(root)
    again = invoke("init", str(root))
    assert again.exit_code == 0, again.output
    assert files(root) == before
    assert "unchanged modalgen.toml (it exists: left as it is)" in again.output
    assert "unchanged specs/ (it holds specs already)" in again.output


def test_init_never_overwrites_the_users_files(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "modalgen.yml").write_text("mine\n")
    (root / ".pre-commit-config.yaml").write_text("repos: []\n")
    (root / ".gitignore").write_text("node_modules/")  # no final line break
    result = invoke("init", str(root), "--name", "chat")
    assert result.exit_code == 0, result.output
    assert (root / ".github" / "workflows" / "modalgen.yml").read_text() == "mine\n"
    assert (root / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    assert (root / ".gitignore").read_text().splitlines()[0] == "node_modules/"
    assert "bench/" in (root / ".gitignore").read_text().splitlines()
    assert (root / "specs" / "chat.toml").is_file()
    assert "unchanged .pre-commit-config.yaml (it exists" in result.output


def test_init_writes_nothing_through_a_link_out_of_the_project(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / ".github").symlink_to(outside)
    result = invoke("init", str(root))
    assert result.exit_code == 1
    assert "leads out of the project" in result.output and "nothing was written" in result.output
    assert files(root) == {} and list(outside.rglob("*")) == []


def test_init_with_a_model_needs_its_revision_and_gpu(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "repo"), "--model", "Qwen/Qwen3-8B")
    assert result.exit_code == 2
    assert "--model needs --revision" in result.output
    assert not (tmp_path / "repo").exists()
    result = invoke(
        "init",
        str(tmp_path / "repo"),
        "--model",
        "Qwen/Qwen3-8B",
        "--revision",
        "b" * 40,
        "--gpu",
        "nope",
    )
    assert result.exit_code == 1
    assert not (tmp_path / "repo").exists()

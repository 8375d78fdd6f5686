"""modalgen as another repository gets it: the sdist and wheel built (not an editable install),
the wheel installed into a fresh virtual environment outside the checkout, and the installed
`modalgen` run in a new git repository; and the pre-commit hook installed from a tag.

The build and the install happen once per module (`installed`), so that further steps of a
user's workflow can be added as tests of their own. The build runs offline, with the backend
(hatchling) of the test environment. The wheel is installed for real (`pip install --no-deps`)
into the fresh environment; its dependencies are the test environment's own, seen through a
`.pth` line (which, unlike the site's own folders, runs none of that folder's `.pth` files, so
the editable modalgen of the test environment stays out of sight), and `pip check` proves that
they satisfy what the wheel requires. So the test runs offline and takes seconds. The pre-commit
test needs the package index (pre-commit installs the hook's environment from it) and is
skipped, saying so, where the index cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
TAG = f"v{VERSION}"
REVISION = "0123456789abcdef0123456789abcdef01234567"
NEW = ["--model", "Qwen/Qwen3-8B", "--revision", REVISION, "--gpu", "H100:1"]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without what would point a child at the checkout or at the
    test environment (PYTHONPATH, VIRTUAL_ENV, pytest's own variables)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP"}
        and not key.startswith("PYTEST_")
    }
    return {**environment, **extra}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    bin: Path  # the fresh environment's bin/

    def run(self, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin / "modalgen"), *args],
            cwd=cwd,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The sdist, the wheel built from it, and the wheel installed into a fresh virtual
    environment in a temporary directory."""
    dist = tmp_path_factory.mktemp("dist")
    # `build` makes the sdist, then the wheel from the unpacked sdist: a file the sdist lacks
    # is missing from the wheel too.
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("modalgen-*.whl")
    (sdist,) = dist.glob("modalgen-*.tar.gz")
    environment = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=True, clear=True).create(environment)
    python = str(environment / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dependencies = sysconfig.get_paths()["purelib"]  # the test environment's packages
    (Path(site) / "test_dependencies.pth").write_text(dependencies + "\n", encoding="utf-8")
    for command in (
        ["pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        ["pip", "check"],
    ):
        result = subprocess.run(
            [python, "-m", *command],
            capture_output=True,
            text=True,
            env=clean_environment(PIP_DISABLE_PIP_VERSION_CHECK="1"),
            timeout=300,
        )
        assert result.returncode == 0, (
            f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
        )
    return Installed(wheel, sdist, environment / "bin")


def packaged_data() -> list[str]:
    """What the wheel must carry besides the code: templates, catalogs, manifest, schema."""
    templates = [
        f"generator/templates/{path.relative_to(ROOT / 'templates').as_posix()}"
        for path in sorted((ROOT / "templates").rglob("*"))
        if path.is_file()
    ]
    catalogs = [
        f"generator/catalogs/{path.name}"
        for path in sorted((ROOT / "generator" / "catalogs").iterdir())
        if path.is_file()
    ]
    assert "generator/catalogs/SHA256SUMS" in catalogs and len(catalogs) > 80
    return [*templates, *catalogs, "generator/schemas/spec.schema.json"]


def test_the_wheel_and_sdist_carry_templates_catalogs_and_schema(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
        schema = archive.read("generator/schemas/spec.schema.json")
    missing = [name for name in packaged_data() if name not in names]
    assert missing == []
    assert schema == (ROOT / "schemas" / "spec.schema.json").read_bytes()
    with tarfile.open(installed.sdist) as archive:
        inside = {member.name.partition("/")[2] for member in archive.getmembers()}
    assert {"schemas/spec.schema.json", "templates/app.py.jinja", "CHANGELOG.md"} <= inside
    assert "generator/catalogs/SHA256SUMS" in inside
    assert not any(name.startswith(("tests/", "specs/", ".venv/")) for name in inside)


def test_the_installed_modalgen_is_the_wheel_and_says_its_version(
    installed: Installed, tmp_path: Path
) -> None:
    assert installed.run(tmp_path, "--version").stdout == f"modalgen, version {VERSION}\n"
    script = (
        "import generator, generator.model.schema as s; print(generator.__file__); "
        "assert s.packaged_schema() == s.spec_schema()"
    )
    where = subprocess.run(
        [str(installed.bin / "python"), "-c", script],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(installed.bin.parent)
    assert not Path(where.strip()).is_relative_to(ROOT)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A new git repository of the user's, outside the checkout."""
    repo = tmp_path / "service"
    repo.mkdir()
    git(repo, "init", "-q")
    return repo


def test_a_new_repository_from_new_to_a_passing_check(
    installed: Installed, repository: Path
) -> None:
    run = installed.run
    run(repository, "new", "qwen3_8b", *NEW)
    assert "ok specs/qwen3_8b.toml" in run(repository, "validate").stdout
    assert "wrote generated/qwen3_8b.py" in run(repository, "generate").stdout
    assert run(repository, "check").returncode == 0
    spec = repository / "specs" / "qwen3_8b.toml"
    text = spec.read_text(encoding="utf-8")
    assert 'gpu = { type = "H100", count = 1 }' in text
    spec.write_text(
        text.replace('gpu = { type = "H100", count = 1 }', 'gpu = { type = "H100", count = 2 }'),
        encoding="utf-8",
    )
    stale = run(repository, "check", check=False)
    assert stale.returncode == 1
    assert "generated/qwen3_8b.py: stale" in stale.stdout + stale.stderr
    run(repository, "generate")
    assert run(repository, "check").returncode == 0
    versions = run(repository, "flags", "--versions").stdout.splitlines()
    assert "sglang 0.5.23  bundled" in versions and "vllm 0.33.0  bundled" in versions


def test_a_users_repository_from_init_through_a_rename_and_ci(
    installed: Installed, repository: Path, tmp_path: Path
) -> None:
    """The workflow of issue 19 with the installed wheel: init, new, validate, generate, check;
    an edit, a rename; commands from specs/, generated/ and elsewhere; the CI formats."""
    run = installed.run
    run(repository, "init")
    for name in ("modalgen.toml", "schemas/spec.schema.json", ".pre-commit-config.yaml"):
        assert (repository / name).is_file(), name
    assert f"rev: {TAG}" in (repository / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert "bench/" in (repository / ".gitignore").read_text(encoding="utf-8").splitlines()
    before = {path: path.read_bytes() for path in repository.rglob("*") if path.is_file()}
    run(repository, "init")  # twice changes nothing
    assert {path: path.read_bytes() for path in repository.rglob("*") if path.is_file()} == before
    run(repository, "new", "qwen3_8b", *NEW)
    run(repository, "validate")
    run(repository, "generate")
    assert run(repository, "check").returncode == 0
    # From a folder of the project, and a spec named from there.
    for folder in ("specs", "generated"):
        assert run(repository / folder, "check").returncode == 0
    (repository / "generated" / "qwen3_8b.py").unlink()
    written = run(repository / "specs", "generate", "qwen3_8b.toml").stdout
    assert "wrote generated/qwen3_8b.py (from specs/qwen3_8b.toml)" in written
    assert not (repository / "specs" / "generated").exists()
    # A rename: check names the orphan, generate removes it.
    (repository / "specs" / "qwen3_8b.toml").rename(repository / "specs" / "chat.toml")
    orphan = run(repository, "check", check=False)
    assert orphan.returncode == 1 and "generated/qwen3_8b.py: orphaned" in orphan.stderr
    removed = run(repository, "generate").stdout
    assert "removed generated/qwen3_8b.py" in removed and "wrote generated/chat.py" in removed
    assert run(repository, "check").returncode == 0
    # CI: a JSON document, and annotations on the stale file.
    spec = repository / "specs" / "chat.toml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("count = 1", "count = 2"), "utf-8")
    report = json.loads(run(repository, "check", "--format", "json", check=False).stdout)
    assert report["ok"] is False
    assert [problem["file"] for problem in report["problems"]] == ["generated/chat.py"]
    github = run(repository, "check", "--format", "github", check=False)
    assert github.returncode == 1
    assert github.stdout.startswith("::error file=generated/chat.py,line=")
    # From outside the project, -C before the command.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run(elsewhere, "-C", str(repository), "check", check=False).returncode == 1
    run(elsewhere, "-C", str(repository), "generate")
    assert run(elsewhere, "-C", str(repository), "check").returncode == 0


def test_the_installed_modalgen_adds_a_project_catalog(
    installed: Installed, repository: Path
) -> None:
    fixture = ROOT / "tests" / "fixtures" / "sglang_catalog" / "fields_form"
    added = installed.run(repository, "catalog", "add", "sglang", "0.9.0", "--from", str(fixture))
    assert "wrote catalogs/sglang-0.9.0.json" in added.stdout
    versions = installed.run(repository, "flags", "--versions", "sglang").stdout
    assert "sglang 0.9.0  project (catalogs/)" in versions


# -- the pre-commit hook, installed from a tag ----------------------------------------------------


def index_unreachable(log: Path) -> bool:
    """Whether pre-commit failed because pip could not get a package from its index."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    return any(
        sign in text
        for sign in ("No matching distribution", "Failed to establish a new connection")
    )


def test_the_pre_commit_hook_from_a_tag_refuses_a_stale_generated_file(tmp_path: Path) -> None:
    """`.pre-commit-config.yaml` names a clone of this checkout (its committed HEAD) at a tag
    made in the clone; pre-commit builds the hook's own environment from it."""
    clone = tmp_path / "modalgen"
    head = git(ROOT, "rev-parse", "HEAD").strip()
    git(tmp_path, "clone", "-q", "--no-checkout", str(ROOT), str(clone))
    git(clone, "tag", TAG, head)
    repo = tmp_path / "service"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {clone}\n    rev: {TAG}\n    hooks:\n      - id: modalgen-check\n",
        encoding="utf-8",
    )
    environment = clean_environment(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=repo, env=environment, capture_output=True, text=True, timeout=600
        )

    pre_commit = [sys.executable, "-m", "pre_commit"]
    installing = run(*pre_commit, "install", "--install-hooks")
    if installing.returncode != 0 and index_unreachable(
        tmp_path / "pre-commit-home" / "pre-commit.log"
    ):
        pytest.skip("pip cannot reach the package index, from which pre-commit installs the hook")
    assert installing.returncode == 0, installing.stdout + installing.stderr
    # The hook's own modalgen, built from the tag, writes the files the hook then checks.
    (hook_modalgen,) = (tmp_path / "pre-commit-home").glob("repo*/py_env-*/bin/modalgen")
    assert run(str(hook_modalgen), "--version").stdout == f"modalgen, version {VERSION}\n"
    for args in (["new", "qwen3_8b", *NEW], ["generate"]):
        assert run(str(hook_modalgen), *args).returncode == 0
    run("git", "add", "-A")
    first = run("git", "commit", "-q", "-m", "A spec and its app")
    assert first.returncode == 0, first.stdout + first.stderr
    spec = repo / "specs" / "qwen3_8b.toml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace('gpu = { type = "H100", count = 1 }', 'gpu = { type = "H100", count = 2 }'),
        encoding="utf-8",
    )
    run("git", "add", "specs/qwen3_8b.toml")
    refused = run("git", "commit", "-q", "-m", "The spec alone")
    assert refused.returncode == 1
    output = refused.stdout + refused.stderr
    assert "modalgen check" in output and "Failed" in output
    assert "generated/qwen3_8b.py: stale" in output
    assert run("git", "rev-list", "--count", "HEAD").stdout.strip() == "1"
    shutil.rmtree(tmp_path / "pre-commit-home", ignore_errors=True)

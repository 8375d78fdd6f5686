"""`modalgen init`: the files that make a folder a modalgen project, each written only where the
user has none (a file the user has is never overwritten; `.gitignore` only gains the lines it
lacks), so that running it twice changes nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from generator.project.settings import PROJECT_FILE, Settings, project_file_text

# The lines `.gitignore` needs: the load test's results, and what Python leaves beside the apps.
GITIGNORE_LINES = ("bench/", "__pycache__/")
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
WORKFLOW = ".github/workflows/modalgen.yml"
# `modalgen init` without --model: a model with a known revision, so the starter validates.
DEFAULT_MODEL = "Qwen/Qwen3.6-35B-A3B-FP8"
DEFAULT_REVISION = "95a723d08a9490559dae23d0cff1d9466213d989"
DEFAULT_GPU = "H100:1"


@dataclass(frozen=True)
class Release:
    """The modalgen that runs, as the user's project installs it again in hooks and CI."""

    version: str
    repository: str

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def requirement(self) -> str:
        """What `pip install` takes: the git tag of this release."""
        return f"modalgen @ git+{self.repository}@{self.tag}"


def this_release() -> Release:
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata("modalgen")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return Release("0.0.0", "https://github.com/modalgen/modalgen")
    urls = dict(
        (label.strip().lower(), url.strip())
        for label, _, url in (entry.partition(",") for entry in meta.get_all("Project-URL") or [])
    )
    return Release(meta["Version"], urls.get("repository", "https://github.com/modalgen/modalgen"))


def pre_commit_config(release: Release) -> str:
    return f"""\
# Refuse a commit whose generated/ is not what `modalgen generate` writes from specs/.
# `pre-commit install` once; `pre-commit autoupdate` moves to a newer modalgen release.
repos:
  - repo: {release.repository}
    rev: {release.tag}
    hooks:
      - id: modalgen-check
"""


def workflow(release: Release) -> str:
    return f"""\
# Fail a pull request whose generated apps are not what `modalgen generate` writes from its
# specs; the stale files are annotated in the pull request.
name: modalgen

on:
  pull_request:
  push:
    branches: [main]

permissions:
  contents: read

jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install modalgen {release.version}
        run: pip install "{release.requirement}"
      - name: Generated files match their specs
        run: modalgen check --format github
"""


@dataclass(frozen=True)
class Planned:
    """One file `init` writes (relative to the project) and its content; `skip` says why it is
    left as it is, `append` that the content goes at the end of what is there."""

    path: Path
    content: str
    skip: str | None = None
    append: bool = False


def plan(
    root: Path,
    spec_name: str,
    spec_text: str | None,
    schema_text: str,
    release: Release,
) -> list[Planned]:
    """What `init` writes into `root`, in order; the spec only when `spec_text` is given."""
    settings = Settings()
    files: list[tuple[str, str]] = [(PROJECT_FILE, project_file_text(settings))]
    if spec_text is not None:
        files.append((f"{settings.specs}/{spec_name}.toml", spec_text))
    files += [
        (settings.schema or "schemas/spec.schema.json", schema_text),
        (PRE_COMMIT_CONFIG, pre_commit_config(release)),
        (WORKFLOW, workflow(release)),
    ]
    planned = [
        Planned(Path(path), text, "it exists" if _exists(root / path) else None)
        for path, text in files
    ]
    gitignore = root / ".gitignore"
    if gitignore.is_symlink() or (gitignore.exists() and not gitignore.is_file()):
        return [*planned, Planned(Path(".gitignore"), "", "it is not a regular file")]
    try:
        lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    except (OSError, UnicodeDecodeError):
        return [*planned, Planned(Path(".gitignore"), "", "it cannot be read as text")]
    missing = [line for line in GITIGNORE_LINES if line not in lines]
    if missing:
        text = "\n".join(["# modalgen", *missing]) + "\n"
        planned.append(Planned(Path(".gitignore"), text, append=gitignore.exists()))
    return planned


def _stays_inside(root: Path, path: Path) -> bool:
    """Whether the folders of `path` (relative to `root`), as far as they exist, resolve inside
    `root`."""
    folder = root / path.parent
    while not folder.exists() and folder != root and not folder.is_symlink():
        folder = folder.parent
    return folder.resolve().is_relative_to(root.resolve())


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def write(root: Path, planned: list[Planned]) -> list[Planned]:
    """Write what is planned and not skipped, never over a file (O_EXCL), never through a link
    out of `root`; all or nothing: on a failure, what this call wrote is removed again and the
    OSError raised. Returns what was written."""
    for item in planned:
        if item.skip is None and not _stays_inside(root, item.path):
            raise OSError(f"{item.path.parent.as_posix()}/ leads out of the project")
    done: list[tuple[Planned, int]] = []
    try:
        for item in planned:
            if item.skip is not None:
                continue
            target = root / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.append:
                with target.open("a", encoding="utf-8") as stream:
                    size = stream.tell()
                    stream.write(("\n" if size else "") + item.content)
                done.append((item, size))
            else:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                with os.fdopen(os.open(target, flags, 0o666), "w", encoding="utf-8") as stream:
                    done.append((item, -1))
                    stream.write(item.content)
    except OSError:
        for item, size in reversed(done):
            target = root / item.path
            if size < 0:
                target.unlink(missing_ok=True)
            else:
                os.truncate(target, size)
        raise
    return [item for item, _ in done]

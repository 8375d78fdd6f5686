"""Where a project's specs are found and its generated files go, and how they are written.

A project is the folder that holds `modalgen.toml` (see `settings.py`), or, for projects without
one, `specs/` beside `generated/`; commands find it upward from the current folder, as git finds
its repository. Validation and rendering (pydantic, Jinja, ruff) are imported only when a spec
has to be loaded: an unchanged spec is known to be up to date from the user's cache (see
`user_cache.py` and `raw_inputs.py`), which nothing in the repository can vouch for instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from generator.locations import SUFFIXES
from generator.project import schema_cache, user_cache
from generator.project.drift import (
    DriftKind,
    find_drift,
    is_leftover,
    read_generated,
    unexpected,
    unified_diff,
)
from generator.project.project_catalogs import project_catalog_dir, use_project_catalogs
from generator.project.raw_inputs import RawInputs, modalgen_digest, raw_inputs
from generator.project.settings import DEFAULT_SCHEMA, PROJECT_FILE, Settings, read_settings
from generator.render.provenance import HEADER_LINE
from generator.spec import limits, safe_files
from generator.spec.credentials import find_credentials
from generator.spec.errors import Problem, SpecError

if TYPE_CHECKING:
    from generator.checks.validation import LoadedSpec
    from generator.project.drift import Drift
    from generator.render.render import Output

# The file stem becomes the generated module's name: keep it a plain Python module name.
SPEC_STEM = re.compile(r"^[a-z][a-z0-9_]*\Z")  # \Z: `$` would let a final line break through
# Where `generate` stages each file before it renames them all into place.
STAGING_PREFIX = ".modalgen-"
STAGING_SUFFIX = ".tmp"


class UnsafeOutputPath(Exception):
    """An output would be written outside generated/."""


class CredentialInOutput(Exception):
    """A generated file would contain a credential: validation let one through, a bug."""


class WriteFailed(Exception):
    """A file could not be written; nothing in generated/ was changed."""


class NoProject(Exception):
    """No project holds the current folder."""


def credential_in(output: Output) -> CredentialInOutput | None:
    """The error to raise when `output` holds something credential-shaped, else None. The
    header's inputs digest is a hash, not a credential, and is not looked at."""
    text = HEADER_LINE.sub(lambda header: " " * len(header.group()), output.content)
    found = find_credentials(text)
    if not found:
        return None
    line = text.count("\n", 0, found[0].start) + 1
    return CredentialInOutput(
        f"internal error: {output.path.as_posix()}:{line} would contain {found[0].described}; "
        "nothing was written. This is a bug in modalgen; please report it."
    )


def find_root(start: Path) -> Path | None:
    """The project holding `start`: the nearest folder, `start` included, that holds
    `modalgen.toml`, or else `specs/` beside `generated/`; else `start` itself when it holds
    `specs/` (a project that has generated nothing yet); else None."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    for folder in (start, *start.parents):
        if (folder / "specs").is_dir() and (folder / "generated").is_dir():
            return folder
    return start if (start / "specs").is_dir() else None


@dataclass(frozen=True)
class Known:
    """What the user's cache remembers of one spec's output: the sha256 of the file `generate`
    writes for these raw inputs, and the project paths its image adds (checked again on every
    run, since they are not part of the raw inputs)."""

    content: str
    local_paths: tuple[tuple[str, bool], ...]  # each with whether it is a folder

    @staticmethod
    def entry_name(inputs: RawInputs) -> str:
        return f"output-{inputs.digest}.json"

    def to_text(self) -> str:
        return json.dumps({"content": self.content, "local_paths": list(self.local_paths)})

    @classmethod
    def from_text(cls, text: str) -> Known | None:
        try:
            data = json.loads(text)
            content, paths = data["content"], data["local_paths"]
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(content, str) or not isinstance(paths, list):
            return None
        pairs = [tuple(pair) for pair in paths if isinstance(pair, list) and len(pair) == 2]
        if len(pairs) != len(paths):
            return None
        if not all(isinstance(path, str) and isinstance(folder, bool) for path, folder in pairs):
            return None
        return cls(content, tuple(pairs))


@dataclass(frozen=True)
class Project:
    """A folder with specs and the files generated from them."""

    root: Path

    def __post_init__(self) -> None:
        # Validation reads the project's own catalogs beside modalgen's (see project_catalogs).
        use_project_catalogs(self.root)

    @classmethod
    def locate(cls, explicit: Path | None = None, create: bool = False) -> Project:
        """The project at `explicit` (-C DIR: the project's root, as `terraform -chdir` takes
        it), else the one found upward from the current folder, as git finds its repository;
        with `create`, the current folder when none is found (a project being made)."""
        if explicit is not None:
            return cls(explicit.resolve())
        start = Path.cwd().resolve()
        root = find_root(start)
        if root is None and create:
            root = start
        if root is None:
            raise NoProject(
                f"no modalgen project in {start} or any folder above it (none holds "
                f"{PROJECT_FILE}, or specs/ beside generated/): run `modalgen init`, "
                "or give the project with -C DIR"
            )
        return cls(root)

    @cached_property
    def settings(self) -> Settings:
        return read_settings(self.root)

    @cached_property
    def modalgen(self) -> str:
        """`raw_inputs.modalgen_digest()` with the project's catalogs, taken once: a Project
        lives for one command."""
        return modalgen_digest((self.catalogs_dir,))

    @property
    def specs_dir(self) -> Path:
        return self.root / self.settings.specs

    @property
    def generated_dir(self) -> Path:
        """The output folder, relative to the root."""
        return Path(self.settings.generated)

    @property
    def output_dir(self) -> Path:
        return self.root / self.settings.generated

    @property
    def catalogs_dir(self) -> Path:
        """The project's own option catalogs (`modalgen catalog add`)."""
        return project_catalog_dir(self.root)

    # -- the schema -----------------------------------------------------------------------------

    @property
    def schema_path(self) -> Path | None:
        """Where the project keeps its spec schema, relative to the root; None: nowhere."""
        schema = self.settings.schema
        if schema is None:
            return None
        if self.settings.schema_optional and not (self.root / schema).is_file():
            return None
        return Path(schema)

    def schema_drift(self) -> Drift | None:
        """What is wrong with the project's schema, None when it is current (or kept nowhere).
        Known without building the models when this modalgen has seen the schema before."""
        from generator.project.drift import Drift

        path = self.schema_path
        if path is None:
            return None
        try:
            text = read_generated(self.root, path)
        except safe_files.FileRefused:
            return Drift(path, DriftKind.UNREADABLE, "")
        if text is None:
            return Drift(path, DriftKind.MISSING, "")
        if schema_cache.is_known_current(text, self.modalgen):
            return None
        expected = schema_cache.expected_schema(self.modalgen)
        if text == expected:
            return None
        return Drift(path, DriftKind.STALE, unified_diff(path, text, expected))

    def expected_schema(self) -> str:
        return schema_cache.expected_schema(self.modalgen)

    # -- specs ----------------------------------------------------------------------------------

    def discover_specs(self) -> list[Path]:
        """Every spec in the specs folder, sorted; files starting with `_` are bases, not apps."""
        if not self.specs_dir.is_dir():
            return []
        return sorted(
            path
            for path in self.specs_dir.iterdir()
            if path.suffix in SUFFIXES and not path.name.startswith("_") and path.is_file()
        )

    def display_path(self, path: Path) -> str:
        """The path as written in messages and headers: relative to the root when inside it."""
        absolute = path if path.is_absolute() else Path.cwd() / path
        try:
            return absolute.resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return path.as_posix()

    def output_path(self, spec_path: Path) -> Path:
        """Where the file generated from `spec_path` goes, relative to the root."""
        return self.generated_dir / f"{spec_path.stem}.py"

    def name_problems(self, paths: list[Path]) -> list[Problem]:
        """Spec file names that cannot name a generated module, or name the same one twice."""
        stems: dict[str, str] = {}
        problems = [self._name_problem(path, stems) for path in paths]
        return [problem for problem in problems if problem is not None]

    def _name_problem(self, path: Path, stems: dict[str, str]) -> Problem | None:
        """What is wrong with the spec's file name, given the `stems` seen before (updated)."""
        display = self.display_path(path)
        if not SPEC_STEM.match(path.stem):
            return Problem(
                display,
                f"file name {path.stem!r} cannot name a generated module: use lower-case "
                "letters, digits and underscores, starting with a letter",
            )
        if path.stem in stems:
            return Problem(
                display,
                f"{stems[path.stem]} would generate the same file "
                f"{self.output_path(path).as_posix()}",
            )
        stems[path.stem] = display
        return None

    def load_all(self, paths: list[Path]) -> list[LoadedSpec]:
        """Load and validate every spec; raise one SpecError with all problems of all files."""
        from generator.checks.validation import load_spec

        loaded: list[LoadedSpec] = []
        problems: list[Problem] = []
        stems: dict[str, str] = {}
        for path in paths:
            problem = self._name_problem(path, stems)
            if problem is not None:
                problems.append(problem)
                continue
            try:
                loaded.append(load_spec(path, self.display_path(path), self.root))
            except SpecError as error:
                problems.extend(error.problems)
        if problems:
            raise SpecError(problems)
        return loaded

    # -- knowing a file is up to date without rendering -------------------------------------

    def raw_inputs(self, spec_path: Path) -> RawInputs | None:
        """The raw inputs of the file generated from `spec_path`, its bases found by parsing."""
        return raw_inputs(
            spec_path,
            self.root,
            self.display_path(spec_path),
            self.output_path(spec_path).as_posix(),
            self.modalgen,
        )

    def is_current(self, spec_path: Path) -> bool:
        """Whether the file generated from `spec_path` is known, without rendering, to be what
        `generate` would write: the user's cache remembers what this modalgen writes for the raw
        inputs the spec has now, the file on disk has that sha256, and the paths its image adds
        are still safe to add. Nothing the file itself says is taken into account."""
        inputs = self.raw_inputs(spec_path)
        entry = None if inputs is None else user_cache.read_entry(Known.entry_name(inputs))
        known = None if entry is None else Known.from_text(entry)
        if known is None:
            return False
        target = self.root / self.output_path(spec_path)
        try:
            data = safe_files.read_bytes(self.root, target, limits.MAX_GENERATED_BYTES)
        except safe_files.FileRefused:
            return False
        if target.is_symlink() or hashlib.sha256(data).hexdigest() != known.content:
            return False
        return all(self._still_safe(path, folder) for path, folder in known.local_paths)

    def _still_safe(self, local: str, folder: bool) -> bool:
        """Whether the project file or folder an image adds is as validation accepted it."""
        path = self.root / local
        try:
            safe_files.inspect(self.root, path, folder=folder)
        except safe_files.FileRefused:
            return False
        return not (folder and safe_files.folder_problems(self.root, path, shown=local))

    def split_current(self, paths: list[Path]) -> tuple[list[Path], list[Path]]:
        """Split `paths` into the specs whose generated file is known to be up to date without
        rendering (see `is_current`), and those that must be rendered to tell."""
        if self.name_problems(paths):
            return [], list(paths)  # the full path reports them
        current: list[Path] = []
        rest: list[Path] = []
        for path in paths:
            (current if self.is_current(path) else rest).append(path)
        return current, rest

    def render(self, paths: list[Path]) -> list[Output]:
        """Generated files for `paths`, relative to the root. Writes nothing in the project; the
        user's cache remembers each output for the raw inputs it was made from."""
        if not paths:
            return []  # nothing to import the renderer for
        from generator.checks.validation import local_paths
        from generator.render.render import FormatFailed, render_all

        # Hash the raw inputs before and after reading the specs: an output is remembered only
        # for raw inputs that did not change while it was made.
        before = [self.raw_inputs(path) for path in paths]
        loaded = self.load_all(paths)
        try:
            outputs = render_all(loaded, self.generated_dir)
        except FormatFailed as error:
            raise WriteFailed(str(error)) from None
        for path, inputs, output in zip(paths, before, outputs, strict=True):
            if inputs is None or self.raw_inputs(path) != inputs:
                continue
            known = Known(
                hashlib.sha256(output.content.encode()).hexdigest(),
                tuple(local_paths(output.source.spec)),
            )
            user_cache.write_entry(Known.entry_name(inputs), known.to_text())
        return outputs

    # -- what generated/ holds ------------------------------------------------------------------

    def generated_files(self) -> list[Path]:
        """The files in the output folder that `check` accounts for, relative to the root: every
        Python file (a link or special file under that name included) and every temporary file
        a stopped `generate` left."""
        if not self.output_dir.is_dir():
            return []
        return sorted(
            path.relative_to(self.root)
            for path in self.output_dir.iterdir()
            if path.suffix == ".py" or is_leftover(path.name)
        )

    def orphans(self, spec_paths: Iterable[Path]) -> list[Drift]:
        """What `generate` removes, or `check` names, among the files no spec in `spec_paths`
        (every spec of the project) generates: orphans, leftovers and the rest."""
        produced = {self.output_path(path) for path in spec_paths}
        return [
            unexpected(self.root, path) for path in self.generated_files() if path not in produced
        ]

    def drift(self, outputs: list[Output], current: list[Path]) -> list[Drift]:
        """Everything `check` reports: outputs that differ from disk, and files that no spec
        generates."""
        return find_drift(
            self.root,
            outputs,
            self.generated_files(),
            [self.output_path(path) for path in current],
        )

    # -- writing --------------------------------------------------------------------------------

    def check_targets(self, paths: Iterable[Path]) -> None:
        """Refuse, before anything is written, any output path (relative to the root) that would
        land outside generated/ (through `..` or a symbolic link), and a generated/ that is not a
        folder of the project: a symbolic link (to anywhere, or to nothing) or a file."""
        folder = self.output_dir
        shown = self.generated_dir.as_posix()
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            mode = None  # written as a new folder
        except OSError as error:
            raise UnsafeOutputPath(
                f"refusing to write into {shown}/: {error.strerror}; nothing was written"
            ) from None
        if mode is not None and stat.S_ISLNK(mode):
            target = os.readlink(folder)
            raise UnsafeOutputPath(
                f"refusing to write into {shown}/: it is a symbolic link (to {target}), "
                f"and modalgen writes only into a folder of the project; replace the link with "
                f"a folder; nothing was written"
            )
        if mode is not None and not stat.S_ISDIR(mode):
            raise UnsafeOutputPath(
                f"refusing to write into {shown}/: it is not a folder; move it away and "
                "run again; nothing was written"
            )
        inside = folder.resolve()
        if not inside.is_relative_to(self.root.resolve()):  # the root's own links are fine
            raise UnsafeOutputPath(
                f"refusing to write into {shown}/: it resolves to {inside}, outside the "
                "project; nothing was written"
            )
        for path in paths:
            target = self.root / path
            if target.is_symlink() or not target.resolve().is_relative_to(inside):
                raise UnsafeOutputPath(
                    f"refusing to write {path.as_posix()}: it resolves outside "
                    f"{shown}/ (a symbolic link?); nothing was written"
                )

    def check_contents(self, outputs: list[Output]) -> None:
        """Refuse, before anything is written, any output that holds a credential: the last
        guard behind the spec checks."""
        for output in outputs:
            error = credential_in(output)
            if error is not None:
                raise error

    def write(self, output: Output) -> bool:
        """Write one output atomically; return False when the file already has that content."""
        return bool(self.write_all([output], []).written)

    def write_all(
        self,
        outputs: list[Output],
        removals: list[Path],
        extra: Iterable[tuple[Path, str]] = (),
    ) -> WriteResult:
        """Write every output (and `extra` file: path relative to the root, content) that
        changed, and remove `removals` (paths relative to the root), all or nothing: each new
        file is staged beside its target first, and only once every one is staged are they
        renamed into place and the removals made. A failure while staging (a read-only or full
        disk, a file-size limit) removes what was staged and raises WriteFailed: the project is
        then as it was."""
        extra = list(extra)
        self.check_targets([output.path for output in outputs] + list(removals))
        for path, _ in extra:
            if not (self.root / path).parent.resolve().is_relative_to(self.root.resolve()):
                raise UnsafeOutputPath(
                    f"refusing to write {path.as_posix()}: its folder resolves outside the "
                    "project (a symbolic link?); nothing was written"
                )
        self.check_contents(outputs)
        files = [(output.path, output.content) for output in outputs] + extra
        changed = [(path, content) for path, content in files if not self._has(path, content)]
        staged: list[tuple[Path, Path]] = []
        for path, content in changed:
            target = self.root / path
            try:
                staged.append((_stage(target, content), target))
            except OSError as error:
                for temporary, _ in staged:
                    temporary.unlink(missing_ok=True)
                raise WriteFailed(_write_error(path.as_posix(), error)) from None
        for temporary, target in staged:
            os.replace(temporary, target)
        for path in removals:
            (self.root / path).unlink(missing_ok=True)
        return WriteResult({path for path, _ in changed}, list(removals))

    def _has(self, path: Path, content: str) -> bool:
        try:
            return read_generated(self.root, path) == content
        except safe_files.FileRefused:
            return False

    def write_schema(self, path: Path | None = None) -> bool:
        """Write the spec schema (at `path`, relative to the root; default: where the project
        keeps it, else the default place); False when it already has that content."""
        target = path or self.schema_path or Path(self.settings.schema or DEFAULT_SCHEMA)
        return bool(self.write_all([], [], [(target, self.expected_schema())]).written)


@dataclass(frozen=True)
class WriteResult:
    written: set[Path]
    removed: list[Path]


def _write_error(display: str, error: OSError) -> str:
    return f"cannot write {display}: {error.strerror or error}; nothing was written"


def _stage(target: Path, content: str) -> Path:
    """A temporary file beside `target` with `content` and the mode the target has (or, when
    new, the mode any new file gets under the umask: the temporary file is created 0600)."""
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else _new_file_mode()
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=STAGING_PREFIX, suffix=STAGING_SUFFIX
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(content)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _new_file_mode() -> int:
    """0o666 without the umask's bits. Reading the umask means setting it: set it straight back."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask

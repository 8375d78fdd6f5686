"""Where specs are found and generated files go, and how they are written.

Validation and rendering (pydantic, Jinja, ruff) are imported only when a spec has to be loaded:
an unchanged spec is known to be up to date from its raw inputs alone (see `raw_inputs.py`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from generator import schema_cache
from generator.credentials import find_credentials
from generator.drift import unified_diff
from generator.errors import Problem, SpecError
from generator.locations import SUFFIXES
from generator.project_catalogs import project_catalog_dir, use_project_catalogs
from generator.provenance import HEADER_LINE, fast_path_record
from generator.raw_inputs import (
    RawInputs,
    bases_from_text,
    modalgen_digest,
    raw_inputs,
    raw_inputs_digest,
)
from generator.schema import SCHEMA_PATH

if TYPE_CHECKING:
    from generator.render import Output
    from generator.validation import LoadedSpec

SPECS_DIR = "specs"
GENERATED_DIR = "generated"
# The file stem becomes the generated module's name: keep it a plain Python module name.
SPEC_STEM = re.compile(r"^[a-z][a-z0-9_]*$")


class UnsafeOutputPath(Exception):
    """An output would be written outside generated/."""


class CredentialInOutput(Exception):
    """A generated file would contain a credential: validation let one through, a bug."""


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


@dataclass(frozen=True)
class Project:
    """A directory with `specs/` and `generated/`."""

    root: Path

    def __post_init__(self) -> None:
        # Validation reads the project's own catalogs beside modalgen's (see project_catalogs).
        use_project_catalogs(self.root)

    @cached_property
    def modalgen(self) -> str:
        """`raw_inputs.modalgen_digest()` with the project's catalogs, taken once: a Project
        lives for one command."""
        return modalgen_digest((self.catalog_dir,))

    @property
    def catalog_dir(self) -> Path:
        """The project's own option catalogs (`modalgen catalog add`)."""
        return project_catalog_dir(self.root)

    @property
    def specs_dir(self) -> Path:
        return self.root / SPECS_DIR

    @property
    def output_dir(self) -> Path:
        return self.root / GENERATED_DIR

    def generated_files(self) -> list[Path]:
        """The Python files now in `generated/`, relative to the root."""
        if not self.output_dir.is_dir():
            return []
        return sorted(
            path.relative_to(self.root) for path in self.output_dir.glob("*.py") if path.is_file()
        )

    def schema_drift(self) -> str | None:
        """The diff that `modalgen schema` would apply, or None when the schema is current.

        Only a project that keeps a schema (`modalgen schema` wrote one) is checked for it; a
        project such as `examples/modal-examples/` uses the repository's. Known without building
        the models when this modalgen has seen the schema before.
        """
        current = self.root / SCHEMA_PATH
        if not current.is_file():
            return None
        text = current.read_text(encoding="utf-8")
        if schema_cache.is_known_current(text, self.modalgen):
            return None
        expected = schema_cache.expected_schema(self.modalgen)
        return None if text == expected else unified_diff(SCHEMA_PATH, text, expected)

    def write_schema(self) -> bool:
        return _write_if_changed(
            self.root / SCHEMA_PATH, schema_cache.expected_schema(self.modalgen)
        )

    def discover_specs(self) -> list[Path]:
        """Every spec under `specs/`, sorted; files starting with `_` are bases, not apps."""
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
        except ValueError:
            return path.as_posix()

    def output_path(self, spec_path: Path) -> Path:
        """Where the file generated from `spec_path` goes, relative to the root."""
        return Path(GENERATED_DIR) / f"{spec_path.stem}.py"

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
                f"{stems[path.stem]} would generate the same file {GENERATED_DIR}/{path.stem}.py",
            )
        stems[path.stem] = display
        return None

    def load_all(self, paths: list[Path]) -> list[LoadedSpec]:
        """Load and validate every spec; raise one SpecError with all problems of all files."""
        from generator.validation import load_spec

        loaded: list[LoadedSpec] = []
        problems: list[Problem] = []
        stems: dict[str, str] = {}
        for path in paths:
            problem = self._name_problem(path, stems)
            if problem is not None:
                problems.append(problem)
                continue
            try:
                loaded.append(load_spec(path, self.display_path(path)))
            except SpecError as error:
                problems.extend(error.problems)
        if problems:
            raise SpecError(problems)
        return loaded

    def raw_inputs(self, spec_path: Path) -> RawInputs | None:
        """The raw inputs of the file generated from `spec_path`, its bases found by parsing."""
        return raw_inputs(
            spec_path,
            self.display_path(spec_path),
            self.output_path(spec_path).as_posix(),
            self.modalgen,
        )

    def is_current(self, spec_path: Path) -> bool:
        """Whether the file generated from `spec_path` is known, without rendering, to be what
        `generate` would write: it records the digest its raw inputs have now (reading the bases
        it records, parsing nothing), and its content still hashes as it records."""
        text = _read_text(self.root / self.output_path(spec_path))
        record = None if text is None else fast_path_record(text)
        bases = None if record is None else bases_from_text(record.bases)
        if record is None or bases is None or not record.content_matches():
            return False
        digest = raw_inputs_digest(
            spec_path,
            bases,
            self.display_path(spec_path),
            self.output_path(spec_path).as_posix(),
            self.modalgen,
        )
        return digest == record.raw_inputs

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
        """Generated files for `paths`, relative to the root. Writes nothing."""
        if not paths:
            return []  # nothing to import the renderer for
        from generator.render import render_all

        # Hash the raw inputs before reading the specs: a spec edited in between then records
        # an older digest than its content, which only costs a full check next time.
        raw = [self.raw_inputs(path) for path in paths]
        loaded = self.load_all(paths)
        return render_all(loaded, Path(GENERATED_DIR), raw)

    def check_targets(self, paths: Iterable[Path]) -> None:
        """Refuse, before anything is written, any output path (relative to the root) that would
        land outside generated/ (through `..` or a symbolic link)."""
        inside = self.output_dir.resolve()
        for path in paths:
            if not (self.root / path).resolve().is_relative_to(inside):
                raise UnsafeOutputPath(
                    f"refusing to write {path.as_posix()}: it resolves outside "
                    f"{GENERATED_DIR}/ (a symbolic link?); nothing was written"
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
        self.check_targets([output.path])
        self.check_contents([output])
        return _write_if_changed(self.root / output.path, output.content)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write_if_changed(target: Path, content: str) -> bool:
    """Write atomically (temporary file, then rename); False when the content is already there.

    The file gets the mode it had, or, when new, the mode any new file gets under the umask
    (the temporary file is created 0600, which would otherwise stay)."""
    import tempfile

    if target.is_file() and target.read_text(encoding="utf-8") == content:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else _new_file_mode()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def _new_file_mode() -> int:
    """0o666 without the umask's bits. Reading the umask means setting it: set it straight back."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask

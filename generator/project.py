"""Where specs are found and generated files go, and how they are written."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.credentials import find_credentials
from generator.drift import unified_diff
from generator.errors import Problem, SpecError
from generator.loader import SUFFIXES
from generator.provenance import HEADER_LINE
from generator.render import Output, render_all
from generator.schema import SCHEMA_PATH, spec_schema
from generator.validation import LoadedSpec, load_spec

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
        """The diff that `modalgen schema` would apply, or None when the schema is current."""
        current = self.root / SCHEMA_PATH
        text = current.read_text(encoding="utf-8") if current.is_file() else ""
        expected = spec_schema()
        return None if text == expected else unified_diff(SCHEMA_PATH, text, expected)

    def write_schema(self) -> bool:
        return _write_if_changed(self.root / SCHEMA_PATH, spec_schema())

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

    def load_all(self, paths: list[Path]) -> list[LoadedSpec]:
        """Load and validate every spec; raise one SpecError with all problems of all files."""
        loaded: list[LoadedSpec] = []
        problems: list[Problem] = []
        stems: dict[str, str] = {}
        for path in paths:
            display = self.display_path(path)
            if not SPEC_STEM.match(path.stem):
                problems.append(
                    Problem(
                        display,
                        f"file name {path.stem!r} cannot name a generated module: use lower-case "
                        "letters, digits and underscores, starting with a letter",
                    )
                )
                continue
            if path.stem in stems:
                problems.append(
                    Problem(
                        display,
                        f"{stems[path.stem]} would generate the same file "
                        f"{GENERATED_DIR}/{path.stem}.py",
                    )
                )
                continue
            stems[path.stem] = display
            try:
                loaded.append(load_spec(path, display))
            except SpecError as error:
                problems.extend(error.problems)
        if problems:
            raise SpecError(problems)
        return loaded

    def render(self, paths: list[Path]) -> list[Output]:
        """Generated files for `paths`, relative to the root. Writes nothing."""
        return render_all(self.load_all(paths), Path(GENERATED_DIR))

    def check_targets(self, outputs: list[Output]) -> None:
        """Refuse, before anything is written, any output that would land outside generated/
        (through `..` or a symbolic link)."""
        inside = self.output_dir.resolve()
        for output in outputs:
            if not (self.root / output.path).resolve().is_relative_to(inside):
                raise UnsafeOutputPath(
                    f"refusing to write {output.path.as_posix()}: it resolves outside "
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
        self.check_targets([output])
        self.check_contents([output])
        return _write_if_changed(self.root / output.path, output.content)


def _write_if_changed(target: Path, content: str) -> bool:
    """Write atomically (temporary file, then rename); False when the content is already there."""
    if target.is_file() and target.read_text(encoding="utf-8") == content:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True

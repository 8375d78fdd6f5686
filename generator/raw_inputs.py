"""The raw inputs of a generated file, hashed as bytes, without validating the spec: what lets
`check` and `generate` know an unchanged spec is up to date without importing pydantic, Jinja or
running ruff.

The digest covers everything that can change what `generate` writes:

- the spec file and every base it reaches through `extends`, byte for byte, in the order
  `inherit.load_layered` reads them, and the tree of `extends` entries that leads to them;
- the spec's display path and the output path, which the file names;
- modalgen itself: every file of the generator package (its code, and the engine catalogs that
  validation reads through their manifest of digests) and every file under templates/, byte for
  byte;
- the versions of Python and of the distributions that take part in rendering: modalgen,
  ruff (the formatter), pydantic, pydantic-core, Jinja2, MarkupSafe and PyYAML.

`generate` finds the bases by parsing `extends` out of each file and records the tree in the
header beside the digest. The fast path reads the files that tree names, parsing nothing: when
the digest matches, the tree is the one these same bytes gave when the file was generated, so
loading the spec now would read these very files. A spec that cannot be read or parsed has no
digest: the caller then takes the full path, which reports the problem precisely.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import locations

# Bump when the digest should cover something more, or hash it differently.
RAW_FORMAT_VERSION = 1
EXTENDS = "extends"
RENDERING_DISTRIBUTIONS = frozenset(
    {"modalgen", "ruff", "pydantic", "pydantic_core", "jinja2", "markupsafe", "pyyaml"}
)
_SEPARATORS = re.compile(r"[-_.]+")

# A spec's bases: each `extends` entry as written, with the bases of the file it names.
BaseTree = tuple[tuple[str, "BaseTree"], ...]


@dataclass(frozen=True)
class RawInputs:
    """The digest of a spec's raw inputs, and the tree of bases it covers."""

    digest: str
    bases: BaseTree

    @property
    def bases_text(self) -> str:
        return bases_to_text(self.bases)


def raw_inputs(path: Path, display_path: str, output_path: str, modalgen: str) -> RawInputs | None:
    """The raw inputs of the file generated from the spec at `path`, its bases found by parsing
    (see `find_bases`), given `modalgen_digest()`; None when a file cannot be read or parsed."""
    bases = find_bases(path)
    if bases is None:
        return None
    digest = raw_inputs_digest(path, bases, display_path, output_path, modalgen)
    return None if digest is None else RawInputs(digest, bases)


def raw_inputs_digest(
    path: Path, bases: BaseTree, display_path: str, output_path: str, modalgen: str
) -> str | None:
    """sha256 of the raw inputs of the file generated from the spec at `path`, reading the bases
    that `bases` names (no parsing); None when one cannot be read."""
    contents = read_inputs(path, bases)
    if contents is None:
        return None
    digest = hashlib.sha256()
    for text in (modalgen, display_path, output_path, bases_to_text(bases)):
        digest.update(_field(text.encode()))
    for content in contents:
        digest.update(_field(content))
    return digest.hexdigest()


def read_inputs(path: Path, bases: BaseTree) -> list[bytes] | None:
    """The bytes of the spec and of each base in `bases`, in the order `inherit` reads them:
    each file, then its bases, found as `inherit` finds them; None when one cannot be read."""
    contents: list[bytes] = []

    def visit(file: Path, tree: BaseTree) -> None:
        contents.append(file.read_bytes())
        for entry, subtree in tree:
            visit((file.parent / entry).resolve(), subtree)

    try:
        visit(path, bases)
    except OSError:
        return None
    return contents


def find_bases(path: Path) -> BaseTree | None:
    """The tree of `extends` entries of the spec at `path`, parsed as `inherit._load` parses and
    follows them; None when a file cannot be read or parsed, or on a cycle."""
    return _find_bases(path, ())


def _find_bases(path: Path, chain: tuple[Path, ...]) -> BaseTree | None:
    try:
        data = _parse(path.read_bytes().decode("utf-8"), path.suffix)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    entries = data.get(EXTENDS, [])
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        return None
    resolved = path.resolve()
    tree: list[tuple[str, BaseTree]] = []
    for entry in entries:
        base_path = (path.parent / entry).resolve()
        if base_path == resolved or base_path in chain:
            return None
        subtree = _find_bases(base_path, (*chain, resolved))
        if subtree is None:
            return None
        tree.append((entry, subtree))
    return tuple(tree)


def bases_to_text(bases: BaseTree) -> str:
    """The tree as one line of JSON, as the header records it: `[["_base/x.toml", []]]`."""
    import json

    def as_lists(tree: BaseTree) -> list[Any]:
        return [[entry, as_lists(subtree)] for entry, subtree in tree]

    return json.dumps(as_lists(bases), ensure_ascii=True)


def bases_from_text(text: str) -> BaseTree | None:
    """The tree a header records, or None when the text is not one."""
    import json

    def as_tree(value: Any) -> BaseTree:
        if not isinstance(value, list):
            raise ValueError("not a list")
        tree: list[tuple[str, BaseTree]] = []
        for item in value:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError("not an [entry, bases] pair")
            tree.append((item[0], as_tree(item[1])))
        return tuple(tree)

    try:
        return as_tree(json.loads(text))
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None


def _parse(text: str, suffix: str) -> Any:
    """The data of a spec file, parsed as `loader` parses it; ValueError when it cannot be."""
    if suffix == ".toml":
        import tomllib

        return tomllib.loads(text)  # TOMLDecodeError is a ValueError
    if suffix in (".yaml", ".yml"):
        import yaml  # only YAML specs pay for importing it

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from None
    raise ValueError(f"unknown spec extension {suffix!r}")


def modalgen_digest(catalog_dirs: tuple[Path, ...] = ()) -> str:
    """sha256 of modalgen as it runs now: its package, its templates, the versions of Python
    and of the distributions that take part in rendering, and every file of the project's own
    `catalog_dirs` (few, and read whole: a damaged one must be noticed by validating again).
    Reads about a megabyte: callers keep it for the length of a command."""
    digest = hashlib.sha256()
    digest.update(_field(f"modalgen raw inputs {RAW_FORMAT_VERSION}".encode()))
    digest.update(_field(f"python {sys.version_info.major}.{sys.version_info.minor}".encode()))
    for version in distribution_versions():
        digest.update(_field(version.encode()))
    directories = {"package": locations.PACKAGE_DIR, "templates": locations.find_templates_dir()}
    for label, directory in directories.items():
        if directory is None:
            continue
        for file in _files_under(directory):
            digest.update(_field(f"{label}/{file.relative_to(directory).as_posix()}".encode()))
            digest.update(_field(file.read_bytes()))
    for directory in catalog_dirs:
        files = sorted(path for path in directory.glob("*") if path.is_file())
        for file in files:
            digest.update(_field(f"catalogs/{file.name}".encode()))
            digest.update(_field(file.read_bytes()))
    return digest.hexdigest()


def distribution_versions() -> list[str]:
    """`name==version` of each installed distribution that takes part in rendering, read from
    the `.dist-info` directory names on sys.path (importing importlib.metadata costs more than
    everything else on the fast path)."""
    found: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or os.curdir)
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            project, _, version = name.removesuffix(".dist-info").partition("-")
            key = _SEPARATORS.sub("_", project).lower()
            if key in RENDERING_DISTRIBUTIONS:
                found.add(f"{key}=={version}")
    return sorted(found)


def _files_under(directory: Path) -> list[Path]:
    """The files that make up modalgen under `directory`. The option catalogs (many megabytes)
    stand in through their manifest of sha256 digests, which a test keeps exact."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.relative_to(directory).parts
        and path.suffix != ".pyc"
        and not (path.parent.name == "catalogs" and path.suffix == ".json")
    )


def _field(data: bytes) -> bytes:
    """One length-prefixed field, so that no two sequences of fields hash alike."""
    return len(data).to_bytes(8, "big") + data

"""The raw inputs of a generated file, hashed as bytes, without validating the spec: the key
under which the user's cache (`user_cache.py`) remembers what `generate` writes for them, so that
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

The bases are found from the files themselves, never from anything a generated file records:
each file's `extends` entries are parsed out of its bytes, or taken from the user's cache where
the same bytes were parsed before. Every file is read as `safe_files` reads project files: a
regular file inside the project, within the size limit, before a byte is read. A spec that cannot
be read or parsed, or whose base lies outside the project, has no digest: the caller then takes
the full path, which reports the problem precisely.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import locations
from generator.project import user_cache
from generator.spec import limits, safe_files

# Bump when the digest should cover something more, or hash it differently.
RAW_FORMAT_VERSION = 2
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


def raw_inputs(
    path: Path, root: Path, display_path: str, output_path: str, modalgen: str
) -> RawInputs | None:
    """The raw inputs of the file generated from the spec at `path` in the project at `root`,
    given `modalgen_digest()`; None when a file cannot be read or parsed."""
    contents: list[bytes] = []
    bases = _find_bases(path, safe_files.resolve_root(root), (), contents)
    if bases is None:
        return None
    digest = hashlib.sha256()
    for text in (modalgen, display_path, output_path, bases_to_text(bases)):
        digest.update(_field(text.encode()))
    for content in contents:
        digest.update(_field(content))
    return RawInputs(digest.hexdigest(), bases)


def find_bases(path: Path, root: Path) -> BaseTree | None:
    """The tree of `extends` entries of the spec at `path`, found as `inherit._load` finds and
    follows them; None when a file cannot be read or parsed, lies outside `root`, or on a
    cycle."""
    return _find_bases(path, safe_files.resolve_root(root), (), [])


def _find_bases(
    path: Path, root: Path, chain: tuple[Path, ...], contents: list[bytes]
) -> BaseTree | None:
    """As `find_bases`, appending the bytes of each file read to `contents`, in load order."""
    if len(contents) >= limits.MAX_SPEC_FILES:
        return None
    try:
        data = safe_files.read_bytes(root, path, limits.MAX_FILE_BYTES)
    except safe_files.FileRefused:
        return None
    contents.append(data)
    entries = extends_entries(data, path.suffix)
    if entries is None:
        return None
    resolved = Path(os.path.realpath(path))
    tree: list[tuple[str, BaseTree]] = []
    for entry in entries:
        try:
            base_path = Path(os.path.realpath(path.parent / entry))
        except (OSError, ValueError):
            return None
        if base_path == resolved or base_path in chain:
            return None
        subtree = _find_bases(base_path, root, (*chain, resolved), contents)
        if subtree is None:
            return None
        tree.append((entry, subtree))
    return tuple(tree)


def extends_entries(data: bytes, suffix: str) -> list[str] | None:
    """The `extends` entries of a spec file of these bytes, or None when they cannot be told.

    Parsing is what costs (and a YAML file would import PyYAML): the entries of bytes parsed
    before are remembered in the user's cache under the sha256 of the bytes."""
    key = hashlib.sha256(_field(suffix.encode()) + _field(data)).hexdigest()
    name = f"extends-{key}.json"
    remembered = user_cache.read_entry(name)
    if remembered is not None:
        try:
            entries = json.loads(remembered)
        except ValueError:
            entries = None
        if isinstance(entries, list) and all(isinstance(entry, str) for entry in entries):
            return entries
    try:
        parsed = _parse(data.decode("utf-8"), suffix)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    entries = parsed.get(EXTENDS, [])
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        return None
    user_cache.write_entry(name, json.dumps(entries))
    return entries


def bases_to_text(bases: BaseTree) -> str:
    """The tree as one line of JSON: `[["_base/x.toml", []]]`."""

    def as_lists(tree: BaseTree) -> list[Any]:
        return [[entry, as_lists(subtree)] for entry, subtree in tree]

    return json.dumps(as_lists(bases), ensure_ascii=True)


def _parse(text: str, suffix: str) -> Any:
    """The data of a spec file, parsed as `loader` parses it, within the same structural limits
    (the TOML pre-scan; the YAML composer's limits, anchors refused); ValueError when it cannot
    be."""
    if suffix == ".toml":
        import tomllib

        from generator.spec.prescan import toml_problem

        if toml_problem(text) is not None:
            raise ValueError("over a structural limit")
        return tomllib.loads(text)  # TOMLDecodeError is a ValueError
    if suffix in (".yaml", ".yml"):
        import yaml  # only YAML specs pay for importing it

        from generator.spec.yaml_loader import load_limited

        try:
            return load_limited(text)
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

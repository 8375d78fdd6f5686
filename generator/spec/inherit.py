"""Layered specs: a spec may `extends` base specs, merged deeply in order, its own values last.

Mappings merge key by key; any other value, lists included, replaces what a base set. The merged
document remembers which file set each field, so an error still points at that file and line.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.spec import limits, safe_files
from generator.spec.credentials import spec_findings
from generator.spec.errors import FieldPath, Position, Problem, SpecError
from generator.spec.loader import SourceDocument, load_document, parse_document

EXTENDS = "extends"


@dataclass
class _FilesRead:
    """How many files have been read for one top-level spec, bases included."""

    count: int = 0


def load_layered(
    path: Path,
    display_path: str,
    root: Path | None = None,
    texts: Mapping[Path, str] | None = None,
) -> SourceDocument:
    """The spec at `path` merged over its bases. Every file read lies inside the project `root`
    (by default the folder that holds the spec's `specs/` folder): a base outside it is refused
    at its `extends` entry. `texts` holds, by resolved path, files to read from memory instead
    of the disk: edits not written yet (`modalgen upgrade`'s dry run)."""
    root = safe_files.project_root(path) if root is None else root
    return _load(path, display_path, root, (), _FilesRead(), texts or {})


def _load(
    path: Path,
    display_path: str,
    root: Path,
    chain: tuple[Path, ...],
    files_read: _FilesRead,
    texts: Mapping[Path, str],
) -> SourceDocument:
    files_read.count += 1
    text = texts.get(path.resolve())
    if text is None:
        document = load_document(path, display_path, root)
    else:
        document = parse_document(text, path, display_path)
    # This file's credentials, found in its values as written: a child that overrides one
    # does not hide it.
    found = [document.problem(message, field) for field, message in spec_findings(document.data)]
    if EXTENDS not in document.data:
        return dataclasses.replace(document, credential_problems=tuple(found))
    entries = document.data[EXTENDS]
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        raise SpecError(
            [
                document.problem(
                    "expected a list of base spec paths, relative to this file", (EXTENDS,)
                )
            ]
        )
    resolved = Path(os.path.realpath(path))
    merged: SourceDocument | None = None
    for index, entry in enumerate(entries):
        field: FieldPath = (EXTENDS, index)
        try:
            base_path = safe_files.inspect(root, path.parent / entry).real
        except safe_files.FileRefused as refused:
            problem = document.problem(f"base spec {entry!r} {refused.reason}", field)
            raise SpecError([problem]) from None
        if base_path == resolved or base_path in chain:
            cycle = " -> ".join(p.name for p in (*chain, resolved, base_path))
            raise SpecError(
                [document.problem(f"specs extend each other in a cycle: {cycle}", field)]
            )
        if files_read.count >= limits.MAX_SPEC_FILES:
            raise SpecError([document.problem(limits.TOO_MANY_FILES, field)])
        base_display = os.path.normpath(os.path.join(os.path.dirname(display_path), entry))
        base = _load(
            base_path, Path(base_display).as_posix(), root, (*chain, resolved), files_read, texts
        )
        found += base.credential_problems or ()
        merged = base if merged is None else merge(merged, base)
    own = {key: value for key, value in document.data.items() if key != EXTENDS}
    own_document = SourceDocument(
        document.path,
        document.display_path,
        own,
        {key: value for key, value in document.positions.items() if key[:1] != (EXTENDS,)},
        document.origins,
        sources=document.sources,
    )
    result = merge(merged, own_document) if merged is not None else own_document
    return dataclasses.replace(result, credential_problems=tuple(_once(found)))


def _once(problems: list[Problem]) -> list[Problem]:
    """Each problem once: a base that two specs of the chain extend is read twice."""
    return list(dict.fromkeys(problems))


def merge(base: SourceDocument, top: SourceDocument) -> SourceDocument:
    """`top` over `base`: the result carries `top`'s path and, per field, the file that set it."""
    data = _merge_data(base.data, top.data)
    positions: dict[FieldPath, Position] = {}
    origins: dict[FieldPath, str] = {}
    for field in _paths(data):
        owner = top if _has_path(top.data, field) else base
        position = owner.positions.get(field)
        if position is not None:
            positions[field] = position
        file = owner.origins.get(field, owner.display_path)
        if file != top.display_path:
            origins[field] = file
    sources = {
        **base.sources,
        base.display_path: base.path,
        **top.sources,
        top.display_path: top.path,
    }
    return SourceDocument(top.path, top.display_path, data, positions, origins, sources=sources)


def _merge_data(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_data(merged[key], value)
        else:
            merged[key] = value
    return merged


def _paths(value: Any, prefix: FieldPath = ()) -> list[FieldPath]:
    paths: list[FieldPath] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _paths(item, (*prefix, index))
    return paths


def _has_path(data: Any, field: FieldPath) -> bool:
    for part in field:
        in_mapping = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (in_mapping or in_list):
            return False
        data = data[part]
    return True

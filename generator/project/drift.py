"""Compare what `generate` would write with what is on disk: the heart of `check` and `diff`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from generator.render.provenance import is_generated, recorded_digest
from generator.spec import limits, safe_files

if TYPE_CHECKING:
    from generator.render.render import Output


class DriftKind(StrEnum):
    MISSING = "missing"
    STALE = "stale"
    HAND_EDITED = "hand-edited"
    UNREADABLE = "unreadable"
    ORPHANED = "orphaned"
    FOREIGN = "foreign"
    LEFTOVER = "leftover"


REASONS = {
    DriftKind.MISSING: "not generated yet",
    DriftKind.STALE: "its spec or the templates changed since it was generated",
    DriftKind.HAND_EDITED: "edited by hand: its spec and templates are unchanged, its code is not",
    DriftKind.UNREADABLE: (
        f"not a regular file inside the project of at most {limits.MAX_GENERATED_BYTES} bytes "
        "(a symbolic link, a special file?): remove it, then run `modalgen generate`"
    ),
    DriftKind.ORPHANED: "no spec generates it any more; `modalgen generate` removes it",
    DriftKind.FOREIGN: (
        "not written by modalgen (no header) and no spec generates it: move it out of "
        "generated/ (`modalgen generate` never removes it)"
    ),
    DriftKind.LEFTOVER: (
        "a temporary file that a stopped `modalgen generate` left; the next one removes it"
    ),
}


@dataclass(frozen=True)
class Drift:
    path: Path
    kind: DriftKind
    diff: str

    @property
    def reason(self) -> str:
        return REASONS[self.kind]


def unified_diff(path: Path, old: str, new: str) -> str:
    import difflib  # only drift pays for it

    name = path.as_posix()
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{name}" if old else "/dev/null",
        tofile=f"b/{name}" if new else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def read_generated(root: Path, path: Path) -> str | None:
    """The text of the file at `path` (relative to `root`) that modalgen writes, None when there
    is none; FileRefused when it is a symbolic link, or no regular UTF-8 file inside the project
    within the size limit (modalgen never writes such a thing)."""
    target = root / path
    if not os.path.lexists(target):
        return None
    if target.is_symlink():
        raise safe_files.Unreadable("is a symbolic link")
    try:
        return safe_files.read_bytes(root, target, limits.MAX_GENERATED_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise safe_files.Unreadable("is not UTF-8 text") from None


def _read_or_flag(root: Path, path: Path) -> str | None:
    try:
        return read_generated(root, path)
    except safe_files.FileRefused:
        return UNREADABLE


# What an unreadable file is compared as: no output ever equals it.
UNREADABLE = "\0unreadable\0"


def find_drift(
    root: Path,
    outputs: list[Output],
    expected_files: list[Path] | None,
    up_to_date: Iterable[Path] = (),
) -> list[Drift]:
    """Each output that differs from its file under `root`, and, when `expected_files` lists what
    belongs in the output directory, each file there that neither an output nor `up_to_date`
    (files known to be current without rendering) accounts for. Byte for byte: a file is up to
    date only when it is exactly what `generate` would write."""
    drift = []
    for output in outputs:
        on_disk = _read_or_flag(root, output.path)
        if on_disk == output.content:
            continue
        if on_disk is None:
            kind = DriftKind.MISSING
        elif on_disk is UNREADABLE:
            drift.append(Drift(output.path, DriftKind.UNREADABLE, ""))
            continue
        elif recorded_digest(on_disk) == recorded_digest(output.content):
            kind = DriftKind.HAND_EDITED
        else:
            kind = DriftKind.STALE
        drift.append(
            Drift(output.path, kind, unified_diff(output.path, on_disk or "", output.content))
        )
    if expected_files is not None:
        produced = {output.path for output in outputs} | set(up_to_date)
        drift.extend(unexpected(root, path) for path in expected_files if path not in produced)
    return sorted(drift, key=lambda item: item.path)


def unexpected(root: Path, path: Path) -> Drift:
    """What a file in generated/ that no spec generates is, and what becomes of it."""
    if is_leftover(path.name):
        return Drift(path, DriftKind.LEFTOVER, "")
    current = _read_or_flag(root, path)
    if current is UNREADABLE:
        return Drift(path, DriftKind.UNREADABLE, "")
    if current is not None and is_generated(current):
        return Drift(path, DriftKind.ORPHANED, unified_diff(path, current, ""))
    return Drift(path, DriftKind.FOREIGN, "")


# The temporary files `generate` stages its writes in, and those of modalgen before 0.2.
LEFTOVER_NAME = re.compile(r"^\.modalgen-.*\.tmp$|^\.[a-z][a-z0-9_]*\.py\.[A-Za-z0-9_]{8}$")


def is_leftover(name: str) -> bool:
    """Whether a file of this name in generated/ is a temporary file a stopped run left."""
    return LEFTOVER_NAME.match(name) is not None

"""Compare what `generate` would write with what is on disk: the heart of `check` and `diff`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from generator.provenance import recorded_digest, without_fast_path_lines

if TYPE_CHECKING:
    from generator.render import Output


class DriftKind(StrEnum):
    MISSING = "missing"
    STALE = "stale"
    HAND_EDITED = "hand-edited"
    ORPHANED = "orphaned"


REASONS = {
    DriftKind.MISSING: "not generated yet",
    DriftKind.STALE: "its spec or the templates changed since it was generated",
    DriftKind.HAND_EDITED: "edited by hand: its spec and templates are unchanged, its code is not",
    DriftKind.ORPHANED: "no spec generates it any more",
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


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""


def _same_code(on_disk: str, expected: str) -> bool:
    return without_fast_path_lines(on_disk) == without_fast_path_lines(expected)


def find_drift(
    root: Path,
    outputs: list[Output],
    expected_files: list[Path] | None,
    up_to_date: Iterable[Path] = (),
) -> list[Drift]:
    """Each output that differs from its file under `root`, and, when `expected_files` lists what
    belongs in the output directory, each file there that neither an output nor `up_to_date`
    (files known to be current without rendering) accounts for.

    The fast path's header lines are left out of the comparison: they change with raw inputs
    that do not change the code (a comment in a spec, modalgen's own code), and `generate`
    rewrites them."""
    drift = []
    for output in outputs:
        on_disk = _read(root / output.path)
        if on_disk is not None and _same_code(on_disk, output.content):
            continue
        if on_disk is None:
            kind = DriftKind.MISSING
        elif recorded_digest(on_disk) == recorded_digest(output.content):
            kind = DriftKind.HAND_EDITED
        else:
            kind = DriftKind.STALE
        drift.append(
            Drift(output.path, kind, unified_diff(output.path, on_disk or "", output.content))
        )
    if expected_files is not None:
        produced = {output.path for output in outputs} | set(up_to_date)
        for path in expected_files:
            if path not in produced:
                current = _read(root / path) or ""
                drift.append(Drift(path, DriftKind.ORPHANED, unified_diff(path, current, "")))
    return sorted(drift, key=lambda item: item.path)

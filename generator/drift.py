"""Compare what `generate` would write with what is on disk: the heart of `check` and `diff`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from generator.provenance import recorded_digest
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


def find_drift(root: Path, outputs: list[Output], expected_files: list[Path] | None) -> list[Drift]:
    """Each output that differs from its file under `root`, and, when `expected_files` lists what
    belongs in the output directory, each file there that no output accounts for."""
    drift = []
    for output in outputs:
        current = _read(root / output.path)
        if current == output.content:
            continue
        if current is None:
            kind = DriftKind.MISSING
        elif recorded_digest(current) == recorded_digest(output.content):
            kind = DriftKind.HAND_EDITED
        else:
            kind = DriftKind.STALE
        drift.append(
            Drift(output.path, kind, unified_diff(output.path, current or "", output.content))
        )
    if expected_files is not None:
        produced = {output.path for output in outputs}
        for path in expected_files:
            if path not in produced:
                current = _read(root / path) or ""
                drift.append(Drift(path, DriftKind.ORPHANED, unified_diff(path, current, "")))
    return sorted(drift, key=lambda item: item.path)

"""What a generated file was made from, recorded in its header so `check` can tell a hand edit
(the inputs are the same, the file is not) from a stale file (the inputs changed).

Four header lines, one under the other:

    # modalgen-inputs: sha256:<digest of the resolved spec, its path, templates, formatter>
    # modalgen-raw-inputs: sha256:<digest of the raw inputs: see generator/raw_inputs.py>
    # modalgen-bases: <the tree of `extends` entries those raw inputs include, as JSON>
    # modalgen-content: sha256:<digest of this file without the last three of these lines>

The first is part of what the file means: the full path of `check` renders the file and compares
it. The other three are the fast path's record: when the raw inputs hash as recorded and the
content hashes as recorded, the file is what `generate` would write, and nothing needs rendering.
They are left out when comparing a file with what `generate` would write, so a change that only
they see (a comment in a spec, a change in modalgen's own code) falls back to the full path but
is no drift.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.models import Spec

# Bump when the same inputs should render differently for a reason outside the templates.
FORMAT_VERSION = 1
HEADER_LINE = re.compile(r"^# modalgen-inputs: sha256:(?P<digest>[0-9a-f]{64})$", re.MULTILINE)
# The fast path's lines, right under the first HEADER_LINE.
FAST_PATH_LINES = re.compile(
    r"# modalgen-raw-inputs: sha256:(?P<raw_inputs>[0-9a-f]{64})\n"
    r"# modalgen-bases: (?P<bases>[^\n]*)\n"
    r"# modalgen-content: sha256:(?P<content>[0-9a-f]{64})\n"
)
# What the template renders as the content digest; `seal` replaces it after formatting.
PENDING_DIGEST = "0" * 64
HEADER_SIZE = 2000


@cache
def _templates_digest(templates: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(templates.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(templates).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def inputs_digest(spec: Spec, spec_path: str, templates: Path, formatter: str) -> str:
    """sha256 of the resolved spec, its path, the templates and the formatter's version."""
    import json

    inputs = {
        "format": FORMAT_VERSION,
        "formatter": formatter,
        "spec": spec.model_dump(mode="json"),
        "spec_path": spec_path,
        "templates": _templates_digest(templates),
    }
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded_digest(content: str) -> str | None:
    """The inputs digest a generated file's header records, if it has one."""
    match = HEADER_LINE.search(content[:HEADER_SIZE])
    return match["digest"] if match else None


@dataclass(frozen=True)
class FastPathRecord:
    """The fast path's header lines of a file, and the file without them."""

    raw_inputs: str
    bases: str
    content: str
    rest: str

    def content_matches(self) -> bool:
        return _sha256(self.rest) == self.content


def _fast_path_lines(text: str) -> re.Match[str] | None:
    """The fast path's lines, where they belong: right under the first `modalgen-inputs`."""
    header = HEADER_LINE.search(text[:HEADER_SIZE])
    return None if header is None else FAST_PATH_LINES.match(text, header.end() + 1)


def fast_path_record(text: str) -> FastPathRecord | None:
    """What a generated file's fast-path lines record, if it has them where they belong."""
    lines = _fast_path_lines(text)
    if lines is None:
        return None
    rest = text[: lines.start()] + text[lines.end() :]
    return FastPathRecord(lines["raw_inputs"], lines["bases"], lines["content"], rest)


def without_fast_path_lines(text: str) -> str:
    """The text as compared for drift: without the fast path's header lines."""
    record = fast_path_record(text)
    return text if record is None else record.rest


def seal(text: str) -> str:
    """Fill in the content digest of a formatted file (left as it is without fast-path lines)."""
    lines = _fast_path_lines(text)
    if lines is None:
        return text
    content = _sha256(text[: lines.start()] + text[lines.end() :])
    return text[: lines.start("content")] + content + text[lines.end("content") :]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

"""What a generated file was made from, recorded in its header so `check` can tell a hand edit
(the inputs are the same, the file is not) from a stale file (the inputs changed)."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

from generator.models import Spec

# Bump when the same inputs should render differently for a reason outside the templates.
FORMAT_VERSION = 1
HEADER_LINE = re.compile(r"^# modalgen-inputs: sha256:(?P<digest>[0-9a-f]{64})$", re.MULTILINE)


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
    match = HEADER_LINE.search(content[:2000])
    return match["digest"] if match else None

"""The schema's digest, remembered per modalgen build in the user's cache directory, so that
`check` knows the committed schema is current without building the pydantic models.

An entry is named after `raw_inputs.modalgen_digest()` (given by the caller), which covers
modalgen's code and the versions of pydantic and Python, everything the schema is made from; it
holds the sha256 of the schema that this build writes. A missing or unreadable entry only means
building the schema again; the entry is then written, and failing to write it is not an error.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_DIR_ENV = "MODALGEN_CACHE_DIR"


def cache_dir() -> Path | None:
    """$MODALGEN_CACHE_DIR, else $XDG_CACHE_HOME/modalgen, else ~/.cache/modalgen."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:  # no home directory
        return None
    return Path(base) / "modalgen"


def _entry(modalgen: str) -> Path | None:
    directory = cache_dir()
    return None if directory is None else directory / f"schema-{modalgen}.sha256"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def is_known_current(text: str, modalgen: str) -> bool:
    """Whether `text` is the schema the modalgen of digest `modalgen` writes, as far as the
    cache knows."""
    entry = _entry(modalgen)
    if entry is None:
        return False
    try:
        return entry.read_text(encoding="ascii").strip() == _sha256(text)
    except (OSError, UnicodeDecodeError):
        return False


def expected_schema(modalgen: str) -> str:
    """The schema this modalgen (of digest `modalgen`) writes, built from the models; remembered
    for next time."""
    from generator.schema import spec_schema

    text = spec_schema()
    entry = _entry(modalgen)
    if entry is not None:
        _remember(entry, _sha256(text))
    return text


def _remember(entry: Path, digest: str) -> None:
    """Write the entry atomically; a cache that cannot be written only costs time next run."""
    import tempfile

    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=f".{entry.name}.")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(digest + "\n")
        os.replace(temporary, entry)
    except OSError:
        Path(temporary).unlink(missing_ok=True)

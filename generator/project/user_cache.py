"""modalgen's cache in the user's cache directory: what this very modalgen build worked out
before, so that `check` and `generate` need not work it out again.

The cache lives where a pull request cannot write: `$MODALGEN_CACHE_DIR`, else
`$XDG_CACHE_HOME/modalgen`, else `~/.cache/modalgen`. Nothing in the repository (a generated
file's header included) is trusted to say that a file is up to date; only an entry here, named
after the sha256 of everything the answer depends on, is. A missing or unreadable entry only
costs the work again; failing to write one is not an error.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "MODALGEN_CACHE_DIR"
# An entry is a few hundred bytes; anything larger was not written by modalgen.
MAX_ENTRY_BYTES = 64 * 1024


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


def entry_path(name: str) -> Path | None:
    directory = cache_dir()
    return None if directory is None else directory / name


def read_entry(name: str) -> str | None:
    """The text of entry `name`, or None when there is none that can be read."""
    entry = entry_path(name)
    if entry is None:
        return None
    try:
        with entry.open("rb") as stream:
            data = stream.read(MAX_ENTRY_BYTES + 1)
        return None if len(data) > MAX_ENTRY_BYTES else data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_entry(name: str, text: str) -> None:
    """Write entry `name` atomically; a cache that cannot be written only costs time next run."""
    import tempfile

    entry = entry_path(name)
    if entry is None:
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=f".{entry.name}.")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, entry)
    except OSError:
        Path(temporary).unlink(missing_ok=True)

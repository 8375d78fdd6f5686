"""The schema's digest, remembered per modalgen build in the user's cache directory, so that
`check` knows the committed schema is current without building the pydantic models.

An entry is named after `raw_inputs.modalgen_digest()` (given by the caller), which covers
modalgen's code and the versions of pydantic and Python, everything the schema is made from; it
holds the sha256 of the schema that this build writes. A missing or unreadable entry only means
building the schema again; the entry is then written, and failing to write it is not an error.
"""

from __future__ import annotations

import hashlib

from generator.project import user_cache


def _entry_name(modalgen: str) -> str:
    return f"schema-{modalgen}.sha256"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def is_known_current(text: str, modalgen: str) -> bool:
    """Whether `text` is the schema the modalgen of digest `modalgen` writes, as far as the
    cache knows."""
    entry = user_cache.read_entry(_entry_name(modalgen))
    return entry is not None and entry.strip() == _sha256(text)


def expected_schema(modalgen: str) -> str:
    """The schema this modalgen (of digest `modalgen`) writes, built from the models; remembered
    for next time."""
    from generator.model.schema import spec_schema

    text = spec_schema()
    user_cache.write_entry(_entry_name(modalgen), _sha256(text) + "\n")
    return text

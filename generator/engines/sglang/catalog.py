"""The options of each SGLang release, and how SGLang's argparse reads a flag and its value.

Catalogs are JSON files under `generator/catalogs/`, one per SGLang version, written by
`scripts/extract_sglang_catalog.py`; they are read on first use and cached.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from generator.engines.option_table import (
    CATALOG_DIR,
    FLAG_TYPE,
    CatalogNotFound,
    Option,
    OptionError,
    OptionTable,
    Resolution,
    version_key,
)

__all__ = [
    "CATALOG_DIR",
    "FLAG_TYPE",
    "CatalogNotFound",
    "Option",
    "OptionError",
    "OptionTable",
    "Resolution",
]

EXTRACT_COMMAND = "python scripts/extract_sglang_catalog.py {version}"
# `lmsysorg/sglang:v0.5.10.post1-cu130-runtime`: the version starts the tag of an SGLang image.
_TAG_VERSION = re.compile(r"^v?(\d+\.\d+\.\d+(?:\.post\d+|rc\d+|\.dev\d+)?)(?:-|$)", re.ASCII)


# sglang.srt.utils.common.human_readable_int
def engine_version_from_tag(tag: str) -> str | None:
    """The SGLang version an image tag names, such as `0.5.10.post1`; None when it names none."""
    reference = tag.split("@", 1)[0]
    repository, _, label = reference.rpartition(":")
    if not repository or "/" in label or "sglang" not in repository.rpartition("/")[2]:
        return None
    match = _TAG_VERSION.match(label)
    return match.group(1) if match else None


def extract_command(version: str) -> str:
    return EXTRACT_COMMAND.format(version=version)


def available_versions() -> list[str]:
    return sorted(
        (path.name.removeprefix("sglang-").removesuffix(".json") for path in _catalog_paths()),
        key=version_key,
    )


def _catalog_paths() -> list[Path]:
    return sorted(CATALOG_DIR.glob("sglang-*.json"))


@dataclass(frozen=True)
class Catalog:
    """What one SGLang version accepts: its options and the `SGLANG_*` variables it reads."""

    version: str
    data: dict[str, Any]

    @cached_property
    def launch_server(self) -> OptionTable:
        return OptionTable("sglang.launch_server", self.version, self.data["launch_server"])

    @cached_property
    def compile_deep_gemm(self) -> OptionTable:
        return OptionTable("sglang.compile_deep_gemm", self.version, self.data["compile_deep_gemm"])

    @cached_property
    def env_vars(self) -> frozenset[str]:
        return frozenset(self.data["env_vars"])


@cache
def load_catalog(version: str) -> Catalog:
    path = CATALOG_DIR / f"sglang-{version}.json"
    if not re.fullmatch(r"[0-9A-Za-z.+-]{1,64}", version) or not path.is_file():
        raise CatalogNotFound(version)
    return Catalog(version, json.loads(path.read_text(encoding="utf-8")))

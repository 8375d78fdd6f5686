"""The options of each SGLang release, and how SGLang's argparse reads a flag and its value.

Catalogs are JSON files, one per SGLang version: modalgen's own under `generator/catalogs/`
(written by `scripts/extract_sglang_catalog.py`), and a project's own that `modalgen catalog add`
writes (see `option_table.catalog_folders`); they are read on first use and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from generator.engines.option_table import (
    CATALOG_DIR,
    FLAG_TYPE,
    CatalogNotFound,
    Option,
    OptionError,
    OptionTable,
    Resolution,
    catalog_versions,
    read_catalog_data,
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

ENGINE = "SGLang"
EXTRACT_COMMAND = "modalgen catalog add sglang {version}"
REQUIRED = ("launch_server", "compile_deep_gemm", "env_vars")
# `lmsysorg/sglang:v0.5.10.post1-cu130-runtime`: the version starts the tag of an SGLang image.
_TAG_VERSION = re.compile(r"^v?(\d+\.\d+\.\d+(?:\.post\d+|rc\d+|\.dev\d+)?)(?:-|$)")


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
    """Every version with a catalog, bundled or the project's, oldest first."""
    return list(catalog_versions("sglang"))


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


_CATALOGS: dict[int, Catalog] = {}


def load_catalog(version: str) -> Catalog:
    """The catalog of `version`; CatalogNotFound, or CatalogCorrupt for a damaged project file."""
    data = read_catalog_data("sglang", version, REQUIRED, ENGINE)
    return _CATALOGS.setdefault(id(data), Catalog(version, data))

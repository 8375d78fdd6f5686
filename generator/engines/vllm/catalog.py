"""The options of each vLLM release's `vllm serve`, read with SGLang's `OptionTable`.

Catalogs are `vllm-<version>.json` files: modalgen's own under `generator/catalogs/` (written by
`scripts/extract_vllm_catalog.py`), and a project's own that `modalgen catalog add` writes (see
`option_table.catalog_folders`); they are read on first use and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from generator.engines.option_table import (
    OptionError,
    OptionTable,
    catalog_versions,
    read_catalog_data,
)

ENGINE = "vLLM"
COMMAND = "vllm serve"
EXTRACT_COMMAND = "modalgen catalog add vllm {version}"
REQUIRED = ("serve", "env_vars")

# `vllm/vllm-openai:v0.11.2`, `vllm/vllm-openai:v0.10.1.1-cu128`: the tag starts with the version.
_TAG_VERSION = re.compile(r"^v?(\d+\.\d+\.\d+(?:\.\d+)?(?:\.post\d+|rc\d+|\.dev\d+)?)(?:-|$)")
# `vllm==0.11.2`, `vllm[audio]==0.11.2`: only an exact pin names one version.
_REQUIREMENT = re.compile(r"^\s*vllm(?:\[[^\]]*\])?\s*===?\s*([0-9][0-9A-Za-z.+-]*)\s*$")


def engine_version_from_tag(tag: str) -> str | None:
    """The vLLM version an image tag names, such as `0.11.2`; None when it names none."""
    reference = tag.split("@", 1)[0]
    repository, _, label = reference.rpartition(":")
    if not repository or "/" in label or "vllm" not in repository.rpartition("/")[2]:
        return None
    match = _TAG_VERSION.match(label)
    return match.group(1) if match else None


def version_from_requirement(requirement: str) -> str | None:
    """The version an exact pin such as `vllm==0.11.2` names; None for ranges and others."""
    match = _REQUIREMENT.match(requirement)
    return match.group(1) if match else None


def extract_command(version: str) -> str:
    return EXTRACT_COMMAND.format(version=version)


def available_versions() -> list[str]:
    """Every version with a catalog, bundled or the project's, oldest first."""
    return list(catalog_versions("vllm"))


@dataclass(frozen=True)
class Catalog:
    """What one vLLM version accepts: the options of `vllm serve` and its `VLLM_*` variables."""

    version: str
    data: dict[str, Any]

    @cached_property
    def serve(self) -> OptionTable:
        return OptionTable(COMMAND, self.version, self.data["serve"], engine=ENGINE)

    def serve_for(self, flags: set[str]) -> OptionTable:
        """`serve`, for a command line that passes `flags`: a plugin option among them (such as
        `--tool-parser-plugin`) registers names of its own, so the option it extends takes any
        name instead of the registry's."""
        plugins = set()
        for flag in flags:
            try:
                plugins.add(self.serve.resolve(flag).option.name)
            except OptionError:
                continue  # reported against the catalog elsewhere
        records = [
            {**record, "choices": None}
            if (record.get("choices_registry") or {}).get("plugin_option") in plugins
            else record
            for record in self.data["serve"]
        ]
        if records == self.data["serve"]:
            return self.serve
        return OptionTable(COMMAND, self.version, records, engine=ENGINE)

    @property
    def positionals(self) -> list[dict[str, Any]]:
        """`vllm serve MODEL`: the positional arguments, such as `model_tag`."""
        return list(self.data.get("serve_positionals", []))

    @cached_property
    def env_vars(self) -> frozenset[str]:
        return frozenset(self.data["env_vars"])


_CATALOGS: dict[int, Catalog] = {}


def load_catalog(version: str) -> Catalog:
    """The catalog of `version`; CatalogNotFound, or CatalogCorrupt for a damaged project file."""
    data = read_catalog_data("vllm", version, REQUIRED, ENGINE)
    return _CATALOGS.setdefault(id(data), Catalog(version, data))

"""The options of each vLLM release's `vllm serve`, read with SGLang's `OptionTable`.

Catalogs are `generator/catalogs/vllm-<version>.json`, written by
`scripts/extract_vllm_catalog.py`; they are read on first use and cached.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from generator.engines.option_table import (
    CATALOG_DIR,
    CatalogNotFound,
    OptionError,
    OptionTable,
    version_key,
)

ENGINE = "vLLM"
COMMAND = "vllm serve"
EXTRACT_COMMAND = "python scripts/extract_vllm_catalog.py {version}"

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
    return sorted(
        (
            path.name.removeprefix("vllm-").removesuffix(".json")
            for path in CATALOG_DIR.glob("vllm-*.json")
        ),
        key=version_key,
    )


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


@cache
def load_catalog(version: str) -> Catalog:
    path = CATALOG_DIR / f"vllm-{version}.json"
    if not re.fullmatch(r"[0-9A-Za-z.+-]+", version) or not path.is_file():
        raise CatalogNotFound(version, ENGINE)
    return Catalog(version, json.loads(path.read_text(encoding="utf-8")))

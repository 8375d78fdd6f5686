"""The `engine` section of a spec: one model per engine, chosen by `engine.kind`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag

from generator.engines.sglang.section import SglangEngineSection
from generator.engines.vllm.section import VllmEngineSection

ENGINE_SECTIONS = {"sglang": SglangEngineSection, "vllm": VllmEngineSection}
# Specs written before engines were a choice serve with SGLang.
DEFAULT_ENGINE = "sglang"


def _kind_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("kind", DEFAULT_ENGINE)
    return getattr(value, "kind", None)


AnyEngineSection = Annotated[
    Annotated[SglangEngineSection, Tag("sglang")] | Annotated[VllmEngineSection, Tag("vllm")],
    Discriminator(_kind_of),
]
EngineSection = SglangEngineSection | VllmEngineSection

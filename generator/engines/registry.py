"""The engine a spec serves with: the only place that maps `engine.kind` to its implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.engines.base import Engine
from generator.engines.sglang.engine import ENGINE as SGLANG
from generator.engines.vllm.engine import ENGINE as VLLM

if TYPE_CHECKING:
    from generator.model.models import Spec

ENGINES: dict[str, Engine] = {engine.kind: engine for engine in (SGLANG, VLLM)}


def engine_for(spec: Spec) -> Engine:
    return ENGINES[spec.engine.kind]

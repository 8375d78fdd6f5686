"""How a generated app is exposed on Modal: one module per server kind, chosen here only.

`server` (`@app.server`), `http_server` (`@app.cls` + `modal.experimental.http_server`) and
`web_server` (`@app.function` + `@modal.web_server`). Each module holds its spec section, the
hints for keys another kind takes, and `exposure()`, which turns the section into the decorators,
URL lookups and authentication the templates place.

Read with the spec: the model imports the sections here, so this package may import only
`spec` and `code`, never the model (what a kind decides is asked of its section).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Annotated, Any

from pydantic import Discriminator, Tag

from generator.exposure import http_server, server, web_server
from generator.exposure.base import (
    ExposureView,
    ServiceParts,
    ServingSection,
    cluster_findings,
)
from generator.exposure.http_server import HttpServerSection
from generator.exposure.server import ServerSection
from generator.exposure.web_server import WebServerSection

KINDS: dict[str, ModuleType] = {module.KIND: module for module in (server, http_server, web_server)}
# Specs written before server kinds existed keep today's behaviour.
DEFAULT_KIND = http_server.KIND


def _kind_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("kind", DEFAULT_KIND)
    return getattr(value, "kind", None)


AnyServerSection = Annotated[
    Annotated[ServerSection, Tag(server.KIND)]
    | Annotated[HttpServerSection, Tag(http_server.KIND)]
    | Annotated[WebServerSection, Tag(web_server.KIND)],
    Discriminator(_kind_of),
]


def exposure_of(section: ServingSection, parts: ServiceParts) -> ExposureView:
    build: Callable[[Any, ServiceParts], ExposureView] = KINDS[section.kind].exposure  # type: ignore[attr-defined]
    return build(section, parts)


def in_a_class(spec: Any) -> bool:
    """Whether the service is a class, with `modal.enter` and `modal.exit` methods."""
    section = spec.server
    return bool(KINDS[section.kind].in_class(section, spec.lifecycle.memory_snapshot))


def kind_findings(section: ServingSection, spec: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """(field under `server`, message) for what the section's kind needs of the spec."""
    yield from cluster_findings(section)
    yield from KINDS[section.kind].findings(section, spec)


def hint_for(kind: str, key: str) -> str | None:
    """What to write instead of `key`, which another server kind takes."""
    return KINDS[kind].HINTS.get(key) if kind in KINDS else None


def lock_hint(kind: str) -> str:
    """How to put an endpoint of this kind behind authentication."""
    return KINDS[kind].LOCK_HINT

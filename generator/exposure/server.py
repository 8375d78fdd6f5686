"""`server`: Modal Servers, `@app.server`, Modal's current API for HTTP servers on GPUs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool

from generator.code.pycode import PyCode, comment, literal
from generator.code.view_parts import Decorator, keyword
from generator.exposure.base import ExposureView, ServiceParts, ServingSection, common_keywords
from generator.spec.fields import NonNegativeSeconds, Seconds

KIND = "server"
# What to write instead of a key another kind takes: shown when a spec uses it with this kind.
# How to put the endpoint behind authentication, for the warning about an open one.
LOCK_HINT = (
    "Drop `unauthenticated` (Modal's proxy then asks for a Proxy Auth Token) or set "
    "`engine.api_key_secret`"
)
HINTS = {
    "region": "use `compute_region`",
    "proxy_regions": "use `routing_region` (one region)",
    "target_inputs": "use `target_concurrency`",
    "max_inputs": "use `max_concurrency`",
    "timeout": "Modal Servers have no per-request timeout; `startup_timeout` bounds start-up",
    "on_class": "this kind is a class already, with `modal.enter` and `modal.exit`: drop it",
}
Region = Annotated[str, Field(min_length=1)]
# `App.server`'s default `startup_timeout` in modal 1.6.4, in seconds.
SERVER_STARTUP_TIMEOUT = 30


class ServerSection(ServingSection):
    kind: Literal["server"] = Field(
        description="How the app is exposed: `server` is `@app.server`, Modal's current API."
    )
    target_concurrency: Annotated[int | float, Field(gt=0)] | None = Field(
        default=None,
        description="Concurrent requests per container that Modal's autoscaler aims for; may "
        "be fractional.",
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Most concurrent requests per container; above it requests get HTTP 429.",
    )
    scaleup_window: Seconds | None = Field(
        default=None,
        description="Seconds of sustained demand before Modal starts another container.",
    )
    routing_region: Region | None = Field(
        default=None,
        description="Region of the proxy that routes requests to the containers (Modal's "
        "default is `us-east`); put it next to `compute_region`.",
    )
    compute_region: Region | list[Region] | None = Field(
        default=None, description="Region, or regions, where containers may run."
    )
    exit_grace_period: NonNegativeSeconds | None = Field(
        default=None,
        description="Seconds a stopping container gets to finish in-flight requests.",
    )
    h2_enabled: StrictBool = Field(default=False, description="Serve HTTP/2.")

    @property
    def startup_limit(self) -> int:
        return self.startup_timeout or SERVER_STARTUP_TIMEOUT

    concurrency_target_key: ClassVar[str] = "target_concurrency"

    @property
    def concurrency_target(self) -> int | None:
        if self.target_concurrency is not None:
            return max(1, round(self.target_concurrency))
        return self.max_concurrency

    @property
    def compute_regions(self) -> list[str]:
        region = self.compute_region
        return [] if region is None else [region] if isinstance(region, str) else list(region)


SECTION = ServerSection


def findings(section: ServerSection, spec: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    if section.startup_timeout is None:
        yield (
            ("startup_timeout",),
            f"Modal Servers give a container {SERVER_STARTUP_TIMEOUT} seconds to start unless "
            "`startup_timeout` says otherwise, and an engine needs minutes to load a model: "
            'set it (such as "20m"), weights, warm-up and memory snapshot included',
        )
    if section.target_concurrency is None and section.max_concurrency is None:
        yield (
            ("target_concurrency",),
            "set target_concurrency (requests per replica the autoscaler aims for) or "
            "max_concurrency: an LLM engine batches many requests, and Modal must know how many "
            "one replica takes",
        )


def in_class(section: object, snapshot: bool) -> bool:
    """This kind is always a class."""
    return True


def exposure(section: ServerSection, parts: ServiceParts) -> ExposureView:
    keywords = [
        keyword("image", parts.image),
        keyword("gpu", parts.gpu),
        keyword("volumes", parts.volumes),
    ]
    if parts.secrets is not None:
        keywords.append(keyword("secrets", parts.secrets))
    keywords += parts.snapshot
    if section.compute_region is not None:
        keywords.append(keyword("compute_region", literal(section.compute_region)))
    keywords += [keyword(k, literal(v), note) for k, v, note in common_keywords(section)]
    keywords.append(keyword("port", parts.port, "the engine listens here"))
    optional = [
        ("routing_region", section.routing_region, "proxies next to the containers"),
        ("exit_grace_period", section.exit_grace_period, "seconds to finish requests on exit"),
        ("target_concurrency", section.target_concurrency, "requests per replica"),
        ("max_concurrency", section.max_concurrency, "more get HTTP 429"),
        ("scaleup_window", section.scaleup_window, "seconds of demand before scaling up"),
        ("h2_enabled", section.h2_enabled or None, ""),
    ]
    keywords += [keyword(k, literal(v), note) for k, v, note in optional if v is not None]
    if section.unauthenticated:
        keywords.append(keyword("unauthenticated", literal(True), "anyone may call it"))
    return ExposureView(
        description=comment("a Modal Server (`@app.server`)"),
        from_class=True,
        decorators=(
            Decorator(PyCode("app.server"), tuple(keywords)),
            *([parts.cluster] if parts.cluster is not None else []),
        ),
        needs_experimental_import=False,
        url_lookup=PyCode(f"await {parts.name}.get_url.aio()"),
        deployed_lookup=PyCode(f"modal.Server.from_name(APP_NAME, {literal(str(parts.name))})"),
        deployed_url=PyCode("await deployed.get_url.aio()"),
        proxy_auth=not section.unauthenticated,
    )

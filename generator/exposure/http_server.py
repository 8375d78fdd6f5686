"""`http_server`: `@app.cls` with `modal.experimental.http_server`, as the seed examples use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool, StringConstraints

from generator.code.pycode import PyCode, comment, literal
from generator.code.view_parts import Decorator, keyword
from generator.exposure.base import (
    ExposureView,
    ServiceParts,
    ServingSection,
    container_keywords,
)
from generator.spec.fields import MODAL_DEFAULT_TIMEOUT, Seconds

Region = Annotated[str, Field(min_length=1)]
KIND = "http_server"
# How to put the endpoint behind authentication, for the warning about an open one.
LOCK_HINT = (
    "This kind has no proxy authentication: set `engine.api_key_secret`, or use "
    'kind = "server", whose proxy asks for a Proxy Auth Token'
)
HINTS = {
    "routing_region": "use `proxy_regions` (a list)",
    "compute_region": "use `region`",
    "target_concurrency": "use `target_inputs`",
    "max_concurrency": "use `max_inputs`",
    "scaleup_window": 'only Modal Servers take it: use kind = "server"',
    # modal._partial_function.verify_concurrent_params (modal 1.6):
    # "@modal.concurrent(max_inputs=...) is not yet supported for Flash functions".
    "max_inputs": "Modal refuses `modal.concurrent(max_inputs=...)` with its experimental HTTP "
    'server; use `target_inputs`, or kind = "server" with `max_concurrency`',
    "on_class": "this kind is a class already, with `modal.enter` and `modal.exit`: drop it",
}


class HttpServerSection(ServingSection):
    kind: Literal["http_server"] = Field(
        default="http_server",
        description="How the app is exposed: `http_server` is `@app.cls` with "
        "`modal.experimental.http_server` and `modal.concurrent`.",
    )
    target_inputs: int = Field(
        default=10,
        gt=0,
        description="Concurrent requests per container before Modal scales up "
        "(`modal.concurrent`).",
    )
    timeout: Seconds | None = Field(
        default=None, description="Maximum seconds for one input (Modal's default is 300)."
    )
    region: Region | list[Region] | None = Field(
        default=None,
        description="Cloud region, or regions, for the serving containers, e.g. `us-east`.",
    )
    proxy_regions: list[Annotated[str, StringConstraints(min_length=1)]] | None = Field(
        default=None,
        min_length=1,
        description="Regions of the Modal HTTP proxies in front of the server (at least one); "
        "defaults to `[region]`. Put them next to the containers' region.",
    )
    exit_grace_period: Seconds | None = Field(
        default=None,
        description="Seconds the HTTP server gets to finish in-flight requests when a container "
        "shuts down.",
    )
    h2_enabled: StrictBool = Field(default=False, description="Serve HTTP/2.")

    @property
    def resolved_proxy_regions(self) -> list[str]:
        """The proxy regions to declare: as given, else the containers' regions."""
        if self.proxy_regions is not None:
            return list(self.proxy_regions)
        return self.compute_regions

    @property
    def startup_limit(self) -> int:
        return self.startup_timeout or self.timeout or MODAL_DEFAULT_TIMEOUT

    def resolved_defaults(self) -> dict[str, object]:
        return {
            "proxy_regions": self.resolved_proxy_regions,
            "timeout": self.timeout or MODAL_DEFAULT_TIMEOUT,
        }

    concurrency_target_key: ClassVar[str] = "target_inputs"

    @property
    def concurrency_target(self) -> int | None:
        return self.target_inputs

    @property
    def compute_regions(self) -> list[str]:
        region = self.region
        return [] if region is None else [region] if isinstance(region, str) else list(region)


SECTION = HttpServerSection


def findings(section: HttpServerSection, spec: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    # modal.experimental.http_server refuses an empty list: "The `proxy_regions` argument must
    # be non-empty" (modal._server.validate_http_server_config, modal 1.6).
    if not section.resolved_proxy_regions:
        yield (
            ("proxy_regions",),
            "Modal's HTTP server needs at least one proxy region: set server.proxy_regions "
            '(for example ["us-east"]) or server.region, which it then defaults to',
        )
    # The experimental HTTP server has no proxy authentication: the engine's API key is the
    # only lock, and serving without one must be asked for in so many words.
    if not section.unauthenticated and spec.engine.api_key_secret is None:
        yield (
            ("kind",),
            "Modal's experimental HTTP server has no proxy authentication, so this endpoint "
            "would be open to anyone: set `engine.api_key_secret` so that the engine requires "
            'an API key, write `unauthenticated = true` to serve it open, or use kind = "server"',
        )


def in_class(section: object, snapshot: bool) -> bool:
    """This kind is always a class."""
    return True


def exposure(section: HttpServerSection, parts: ServiceParts) -> ExposureView:
    cls = container_keywords(section, parts, section.region, section.timeout)
    cls += parts.snapshot
    http = [
        keyword("port", parts.port, "the engine listens here"),
        keyword("proxy_regions", literal(section.resolved_proxy_regions), "next to the replicas"),
    ]
    if section.exit_grace_period is not None:
        http.append(
            keyword(
                "exit_grace_period",
                literal(section.exit_grace_period),
                "seconds to finish in-flight requests on shutdown",
            )
        )
    if section.h2_enabled:
        http.append(keyword("h2_enabled", literal(True)))
    concurrent = [keyword("target_inputs", literal(section.target_inputs))]
    name = literal(str(parts.name))
    return ExposureView(
        description=comment("Modal's low-latency HTTP server"),
        from_class=True,
        decorators=(
            Decorator(PyCode("app.cls"), tuple(cls)),
            Decorator(PyCode("modal.experimental.http_server"), tuple(http)),
            Decorator(
                PyCode("modal.concurrent"),
                tuple(concurrent),
                comment("requests per replica before scaling up"),
            ),
            # On a cluster, only rank 0 registers with Modal's HTTP proxy
            # (modal.experimental._flash_container_entry, modal 1.6).
            *([parts.cluster] if parts.cluster is not None else []),
        ),
        needs_experimental_import=True,
        url_lookup=PyCode(f"(await {parts.name}._experimental_get_flash_urls.aio())[0]"),
        deployed_lookup=PyCode(f"modal.Cls.from_name(APP_NAME, {name})"),
        deployed_url=PyCode("(await deployed._experimental_get_flash_urls.aio())[0]"),
        proxy_auth=False,
    )

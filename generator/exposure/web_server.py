"""`web_server`: `@app.function` with `@modal.web_server`, Modal's web endpoint for a process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool

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
KIND = "web_server"
# How to put the endpoint behind authentication, for the warning about an open one.
LOCK_HINT = (
    "Drop `unauthenticated` (Modal's proxy then asks for a Proxy Auth Token) or set "
    "`engine.api_key_secret`"
)
HINTS = {
    "routing_region": 'only Modal Servers take it: use kind = "server"',
    "compute_region": "use `region`",
    "proxy_regions": 'only the experimental HTTP server takes it: use kind = "http_server"',
    "target_concurrency": "use `target_inputs`",
    "max_concurrency": "use `max_inputs`",
    "exit_grace_period": 'not an argument of `modal.web_server`: use kind = "server"',
    "h2_enabled": 'not an argument of `modal.web_server`: use kind = "server"',
    "scaleup_window": 'only Modal Servers take it: use kind = "server"',
}


class WebServerSection(ServingSection):
    kind: Literal["web_server"] = Field(
        description="How the app is exposed: `web_server` is `@app.function` with "
        "`@modal.web_server` and `@modal.concurrent` (with memory snapshots or `on_class`, "
        "`@app.cls` whose `serve` method is the web server)."
    )
    target_inputs: int | None = Field(
        default=None,
        gt=0,
        description="Concurrent requests per container before Modal scales up.",
    )
    max_inputs: int | None = Field(
        default=None, ge=1, description="Most concurrent requests per container."
    )
    timeout: Seconds | None = Field(
        default=None, description="Maximum seconds for one input (Modal's default is 300)."
    )
    region: Region | list[Region] | None = Field(
        default=None,
        description="Cloud region, or regions, for the serving containers, e.g. `us-east`.",
    )
    on_class: StrictBool | None = Field(
        default=None,
        description="Serve from `@app.cls`: the engine starts in `@modal.enter`, is stopped in "
        "`@modal.exit` (SIGTERM to its process group, then SIGKILL), and the class's `serve` "
        "method is the web endpoint, with its own `startup_timeout`, as in Modal's "
        "sgl_grafana.py. Default: a class with memory snapshots (which need it), else "
        "`@app.function`, where the engine starts in the function and ends with the container.",
    )

    @property
    def startup_limit(self) -> int:
        return self.startup_timeout or self.timeout or MODAL_DEFAULT_TIMEOUT

    def resolved_defaults(self) -> dict[str, object]:
        return {"timeout": self.timeout or MODAL_DEFAULT_TIMEOUT}

    concurrency_target_key: ClassVar[str] = "target_inputs"

    @property
    def concurrency_target(self) -> int | None:
        return self.target_inputs or self.max_inputs

    @property
    def compute_regions(self) -> list[str]:
        region = self.region
        return [] if region is None else [region] if isinstance(region, str) else list(region)


SECTION = WebServerSection


def findings(section: WebServerSection, spec: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    # modal.clustered's docstring (modal 1.6): "Use a Server for HTTP serving; clustered Web
    # Functions are not supported."
    if section.nodes > 1:
        yield (
            ("nodes",),
            "Modal does not run web endpoints (`@modal.web_server`) on clusters: its clustered "
            'services serve HTTP as Modal Servers. Use kind = "server" (or "http_server") for a '
            "replica of several nodes",
        )
    if section.on_class is False and spec.lifecycle.memory_snapshot:
        yield (
            ("on_class",),
            "memory snapshots need the class: its `modal.enter(snap=True)` starts the engine "
            "before the snapshot and `modal.enter(snap=False)` wakes it after each restore. "
            "Drop `on_class = false`, or turn `lifecycle.memory_snapshot` off",
        )
    if section.target_inputs is None and section.max_inputs is None:
        yield (
            ("target_inputs",),
            "set target_inputs or max_inputs: without them Modal sends each replica one request "
            "at a time, and an LLM engine serves many at once",
        )


# With memory snapshots the engine must start before the snapshot and wake after each restore,
# in `modal.enter` methods: the app is then a class whose method is the web endpoint. A spec may
# ask for the class without snapshots (`on_class`), for its `modal.exit`.
ENDPOINT_METHOD = "serve"


def in_class(section: WebServerSection, snapshot: bool) -> bool:
    """Whether the service is `@app.cls` with a `serve` method, rather than `@app.function`."""
    return section.on_class if section.on_class is not None else snapshot


def exposure(section: WebServerSection, parts: ServiceParts) -> ExposureView:
    container = container_keywords(section, parts, section.region, section.timeout)
    concurrent = [
        keyword(key, literal(value))
        for key, value in (
            ("max_inputs", section.max_inputs),
            ("target_inputs", section.target_inputs),
        )
        if value is not None
    ]
    web = [
        keyword("port", parts.port, "the engine listens here"),
        keyword("startup_timeout", literal(section.startup_limit), "seconds"),
    ]
    if not section.unauthenticated:
        web.append(keyword("requires_proxy_auth", literal(True), "callers need a proxy token"))
    as_class = in_class(section, bool(parts.snapshot))
    decorators = [
        Decorator(PyCode("app.cls"), (*container, *parts.snapshot))
        if as_class
        else Decorator(PyCode("app.function"), tuple(container))
    ]
    if concurrent:
        decorators.append(
            Decorator(
                PyCode("modal.concurrent"),
                tuple(concurrent),
                comment("requests per replica"),
            )
        )
    endpoint = Decorator(PyCode("modal.web_server"), tuple(web))
    name = literal(str(parts.name))
    description = comment("a Modal web endpoint (`@modal.web_server`)")
    if as_class:
        method = ENDPOINT_METHOD
        return ExposureView(
            description=description,
            from_class=True,
            decorators=tuple(decorators),
            needs_experimental_import=False,
            url_lookup=PyCode(f"await {parts.name}().{method}.get_web_url.aio()"),
            deployed_lookup=PyCode(f"modal.Cls.from_name(APP_NAME, {name})()"),
            deployed_url=PyCode(f"await deployed.{method}.get_web_url.aio()"),
            proxy_auth=not section.unauthenticated,
            endpoint_method=PyCode(method),
            endpoint_decorators=(endpoint,),
        )
    return ExposureView(
        description=description,
        from_class=False,
        decorators=(*decorators, endpoint),
        needs_experimental_import=False,
        url_lookup=PyCode(f"await {parts.name}.get_web_url.aio()"),
        deployed_lookup=PyCode(f"modal.Function.from_name(APP_NAME, {name})"),
        deployed_url=PyCode("await deployed.get_web_url.aio()"),
        proxy_auth=not section.unauthenticated,
    )

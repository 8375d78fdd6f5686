"""What every Modal server kind shares: the section fields, and the view each kind returns.

A server kind decides how the app is exposed: which decorators declare the service, whether it
is a class (started in `@modal.enter`) or a function, how the test client finds its URL, and
whether Modal's proxy asks for credentials. Each kind is one module beside this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field, StrictBool
from pydantic_core import PydanticCustomError

from generator.code.pycode import PyCode, literal
from generator.code.view_parts import Decorator, Keyword, keyword
from generator.spec.fields import (
    MODAL_DEFAULT_TIMEOUT,
    Gpu,
    ModalObjectName,
    Seconds,
    SpecModel,
)

Cloud = Literal["aws", "gcp", "oci", "auto"]
# Modal's multi-node clusters: "Up to 32 nodes and 256 GPUs per cluster" (modal.com/docs/guide/
# multi-node-clusters).
MAX_CLUSTER_NODES = 32
CpuCores = Annotated[float, Field(gt=0)]
MiB = Annotated[int, Field(gt=0)]


def _request_or_request_and_limit(value: object) -> object:
    """A list of other than two values is neither form: say so once, in the spec's terms."""
    if isinstance(value, list | tuple) and len(value) != 2:
        raise PydanticCustomError(
            "request_limit", "expected one value, or two as `[request, limit]`"
        )
    return value


RequestLimit = BeforeValidator(_request_or_request_and_limit)


class ServingSection(SpecModel):
    """Fields every server kind takes, under the names Modal's decorators give them."""

    gpu: Gpu = Field(
        description="GPUs for each serving container; with `nodes`, of each node, and then all "
        "the GPUs of its machine (Modal's rule for clusters)."
    )
    nodes: int = Field(
        default=1,
        ge=1,
        le=MAX_CLUSTER_NODES,
        description="Machines one replica spans (a Modal cluster, `@modal.clustered`): every "
        "node runs the engine with `gpu` GPUs, rank 0 serves. For models that do not fit in one "
        "machine.",
    )
    rdma: StrictBool = Field(
        default=True,
        description="RDMA networking between the nodes of a cluster (`modal.clustered(rdma=...)`), "
        "for the engine's collectives across machines; only with `nodes` above 1.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port the engine listens on.")
    volumes: list[ModalObjectName] | None = Field(
        default=None,
        description="Names of the Volumes (from `volumes`) mounted in serving containers; "
        "defaults to all.",
    )
    min_containers: int | None = Field(
        default=None, ge=0, description="Containers kept warm at all times (Modal's default is 0)."
    )
    max_containers: int | None = Field(
        default=None, ge=1, description="Most containers running at once (no limit by default)."
    )
    buffer_containers: int | None = Field(
        default=None,
        ge=1,
        description="Idle containers kept beyond current demand while the app is busy.",
    )
    scaledown_window: Seconds | None = Field(
        default=None,
        description="Seconds an idle container waits for work before it is shut down.",
    )
    cpu: Annotated[CpuCores | tuple[CpuCores, CpuCores] | None, RequestLimit] = Field(
        default=None,
        description="CPU cores to request, or `[request, limit]` to also cap them.",
    )
    memory: Annotated[MiB | tuple[MiB, MiB] | None, RequestLimit] = Field(
        default=None,
        description="Memory in MiB to request, or `[request, limit]` to also cap it.",
    )
    ephemeral_disk: MiB | None = Field(
        default=None, description="Ephemeral disk of each container, in MiB."
    )
    cloud: Cloud | None = Field(
        default=None, description="Cloud provider, Modal's choice if unset."
    )
    nonpreemptible: StrictBool = Field(
        default=False, description="Run on instances that are never preempted (costs more)."
    )
    startup_timeout: Seconds | None = Field(
        default=None,
        description="Maximum seconds for a container to start, `modal.enter` included.",
    )
    unauthenticated: StrictBool = Field(
        default=False,
        description="Serve without authentication: anyone on the internet who finds the URL can "
        "then start GPU containers. Off by default; must be written out to take effect.",
    )

    @property
    def startup_limit(self) -> int:
        """Seconds Modal gives a container to start, `modal.enter` included."""
        return self.startup_timeout or MODAL_DEFAULT_TIMEOUT

    # The field of the section that sets the concurrency target, for the spec change that a
    # load test suggests.
    concurrency_target_key: ClassVar[str]

    @property
    def concurrency_target(self) -> int | None:
        """Concurrent requests per replica the app is sized for, if the spec says."""
        raise NotImplementedError

    def resolved_defaults(self) -> dict[str, object]:
        """Defaults that depend on other fields of the section, for `modalgen show`."""
        return {}

    @property
    def compute_regions(self) -> list[str]:
        """Where containers run, if the spec says."""
        raise NotImplementedError


@dataclass(frozen=True)
class ServiceParts:
    """What the view has already made for the service's declaration, for a kind to place."""

    name: PyCode  # the class or function name
    image: PyCode
    gpu: PyCode
    volumes: PyCode
    secrets: PyCode | None
    port: PyCode
    snapshot: tuple[Keyword, ...]  # memory-snapshot keywords, when snapshots are on
    # `@modal.clustered(...)`, placed right above the class, when a replica spans several nodes.
    cluster: Decorator | None
    ready_timeout: PyCode


@dataclass(frozen=True)
class ExposureView:
    """How the app is exposed, as the templates place it."""

    description: PyCode  # for the header: "Modal Server (`@app.server`)"
    from_class: bool  # a class with enter/exit methods, else a function that starts the server
    decorators: tuple[Decorator, ...]
    needs_experimental_import: bool
    url_lookup: PyCode  # awaitable expression for the URL inside `modal run`
    deployed_lookup: PyCode  # expression for the deployed object, by app and object name
    deployed_url: PyCode  # awaitable expression for the URL of `deployed`
    proxy_auth: bool  # Modal's proxy asks for a Proxy Auth Token
    # A method of the class that Modal routes the web endpoint to, with its decorators; for
    # kinds whose class decorators expose the port themselves, none.
    endpoint_method: PyCode | None = None
    endpoint_decorators: tuple[Decorator, ...] = ()


def container_keywords(
    section: ServingSection, parts: ServiceParts, region: str | None, timeout: int | None
) -> list[Keyword]:
    """The keywords of `@app.cls` or `@app.function`: what runs, where, and for how long."""
    keywords = [
        keyword("image", parts.image),
        keyword("gpu", parts.gpu),
        keyword("volumes", parts.volumes),
    ]
    if parts.secrets is not None:
        keywords.append(keyword("secrets", parts.secrets))
    if region is not None:
        keywords.append(keyword("region", literal(region)))
    if timeout is not None:
        keywords.append(keyword("timeout", literal(timeout), "seconds"))
    return keywords + [keyword(k, literal(v), note) for k, v, note in common_keywords(section)]


def cluster_findings(section: ServingSection) -> Iterator[tuple[tuple[str, ...], str]]:
    """What Modal requires of a clustered service's scaling, and `rdma` without a cluster."""
    if section.nodes == 1:
        if "rdma" in section.model_fields_set:
            yield (
                ("rdma",),
                "RDMA connects the nodes of a cluster, and this replica has one node: set "
                "`nodes` above 1 or drop `rdma`",
            )
        return
    # modal._functions._Function._from_local (modal 1.6): "`{field}` ({value}) must be a
    # multiple of `cluster_size` ({cluster_size}) for clustered Functions".
    for key in ("min_containers", "max_containers", "buffer_containers"):
        value = getattr(section, key)
        if value and value % section.nodes:
            yield (
                (key,),
                f"Modal counts the containers of a cluster one by one, and refuses {key} = "
                f"{value}, which is not a multiple of nodes ({section.nodes}): write "
                f"{section.nodes * -(-value // section.nodes)} for "
                f"{-(-value // section.nodes)} replica(s)",
            )


def common_keywords(section: ServingSection) -> list[tuple[str, object, str]]:
    """(keyword, value, comment) of the settings every kind passes under the same name."""
    settings: list[tuple[str, object, str]] = [
        ("min_containers", section.min_containers, "replicas kept warm"),
        ("max_containers", section.max_containers, "most replicas at once"),
        ("buffer_containers", section.buffer_containers, "idle replicas kept while busy"),
        ("scaledown_window", section.scaledown_window, "seconds idle before scaling down"),
        ("cpu", section.cpu, "cores"),
        ("memory", section.memory, "MiB"),
        ("ephemeral_disk", section.ephemeral_disk, "MiB"),
        ("cloud", section.cloud, ""),
        ("nonpreemptible", section.nonpreemptible or None, "never preempted"),
        ("startup_timeout", section.startup_timeout, "seconds"),
    ]
    return [(key, value, note) for key, value, note in settings if value is not None]

"""Multi-node replicas: the example apps on a Modal cluster simulated on loopback.

Each rank is a process that imports the generated app and runs its class as a container of the
cluster would, with the cluster info Modal would give it (`tests.support.cluster`); its server
is the stand-in engine, which in multi-node mode joins its ranks at rank 0's address as SGLang
and vLLM do (`_standin.cluster`). What the stand-in records says what each rank ran and when.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.cluster import Rank, loopback_addresses, start_rank
from tests.support.engine import StandinLog, kill_processes, pid_alive, standin_environment
from tests.support.introspect import describe_app, import_app_file

EXAMPLES = ROOT / "examples" / "modal-examples"
API_KEY = "cluster-test-key"


@dataclass(frozen=True)
class ClusterExample:
    name: str
    nodes: int
    gpu: str
    kind: str  # the decorator the service is declared with
    join_options: list[str]  # rank 0's address options, with `{head}`
    worker_flags: list[str]
    title: str
    recorded_from: int  # where the argv the stand-in records starts in SERVER_COMMAND


EXAMPLE_CASES = {
    "sglang": ClusterExample(
        name="kimi_k2_multinode_sglang",
        nodes=2,
        gpu="H200:8",
        kind="server",
        join_options=["--dist-init-addr", "{head}:5000"],
        worker_flags=[],
        title="SGLang",
        recorded_from=3,  # after `python -m sglang.launch_server`
    ),
    "vllm": ClusterExample(
        name="kimi_k2_multinode_vllm",
        nodes=4,
        gpu="H100:8",
        kind="cls",
        join_options=["--master-addr", "{head}", "--master-port", "29501"],
        worker_flags=["--headless"],
        title="vLLM",
        recorded_from=1,  # `serve MODEL ...`, after `vllm`
    ),
}


@pytest.fixture(params=list(EXAMPLE_CASES), ids=str)
def example(request: pytest.FixtureRequest) -> ClusterExample:
    return EXAMPLE_CASES[request.param]


def app_file(example: ClusterExample) -> Path:
    return EXAMPLES / "generated" / f"{example.name}.py"


@dataclass
class Cluster:
    example: ClusterExample
    log: StandinLog
    environment: dict[str, str]
    ranks: dict[int, Rank]

    def start(self, rank: int, **extra: str) -> Rank:
        started = start_rank(
            app_file(self.example), rank, self.example.nodes, {**self.environment, **extra}
        )
        self.ranks[rank] = started
        return started

    def start_all(self) -> None:
        for rank in range(self.example.nodes):
            self.start(rank)

    def engine(self, rank: int) -> dict:
        """The stand-in launch of this rank's server."""
        (launch,) = [
            event for event in self.log.events("launch_server") if _rank_of(event["argv"]) == rank
        ]
        return launch

    def ready(self, rank: int) -> list[dict]:
        return [event for event in self.log.events("rank_ready") if event["rank"] == rank]

    def wait_for(self, what: str, predicate, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                outputs = "\n".join(f"--- rank {r}\n{rank.text}" for r, rank in self.ranks.items())
                raise AssertionError(f"timed out waiting for {what}\n{outputs}")
            time.sleep(0.05)

    def wait_ready(self) -> None:
        self.wait_for(
            "every rank ready", lambda: len(self.log.events("rank_ready")) == len(self.ranks)
        )


def _rank_of(argv: list[str]) -> int:
    return int(argv[argv.index("--node-rank") + 1])


@pytest.fixture
def cluster(example: ClusterExample, tmp_path: Path) -> Iterator[Cluster]:
    log = StandinLog(tmp_path / "standin.jsonl")
    (service,) = describe_app(import_app_file(app_file(example))).services.values()
    environment = {**service.image.env, **standin_environment(log.path), "API_KEY": API_KEY}
    simulated = Cluster(example, log, environment, {})
    yield simulated
    for rank in simulated.ranks.values():
        rank.kill()
    log.kill_servers()


# ## Declarations


def test_cluster_examples_declare_the_cluster(example: ClusterExample) -> None:
    module = import_app_file(app_file(example))
    (service,) = describe_app(module).services.values()
    assert service.decorator == example.kind
    assert service.declared["gpu"] == example.gpu
    assert service.declared["http_config"]["port"] == module.PORT
    assert service.cluster == {"size": example.nodes, "rdma": True}
    assert example.nodes == module.NODES
    assert service.lifecycle["enter_post_snapshot"] == ["startup"]
    assert service.lifecycle["exit"] == ["stop"]


# ## Start-up


def test_cluster_every_rank_starts_its_server_with_its_rank(cluster: Cluster) -> None:
    cluster.start_all()
    cluster.wait_ready()
    example = cluster.example
    module = import_app_file(app_file(example))
    head = loopback_addresses(example.nodes)[0]
    join = [option.format(head=head) for option in example.join_options]
    for rank in range(example.nodes):
        argv = cluster.engine(rank)["argv"]
        expected = [
            *module.SERVER_COMMAND[example.recorded_from :],
            "--nnodes",
            str(example.nodes),
            "--node-rank",
            str(rank),
            *join,
            *(example.worker_flags if rank else []),
        ]
        assert argv[: len(expected)] == expected, (rank, argv)
        secret = argv[len(expected) :]
        assert secret == (["--api-key", API_KEY] if "--api-key" in argv else []), secret
    # Only rank 0 is probed, and warmed up.
    assert cluster.log.requests("/health")
    assert len(cluster.log.requests("/v1/chat/completions")) == 1


def test_cluster_readiness_waits_for_every_rank_to_join(cluster: Cluster) -> None:
    nodes = cluster.example.nodes
    cluster.start(0)
    cluster.wait_for("rank 0's server", lambda: cluster.log.events("launch_server"))
    time.sleep(1.5)  # rank 0 probes its server all this while
    assert cluster.ready(0) == [], "rank 0 was ready before the other ranks joined"
    assert [e for e in cluster.log.events("health") if e["status"] == 200] == []
    assert cluster.log.requests("/v1/chat/completions") == []
    for rank in range(1, nodes):
        cluster.start(rank)
    cluster.wait_ready()
    (complete,) = cluster.log.events("cluster_complete")
    joined = cluster.log.events("cluster_joined")
    assert sorted(event["rank"] for event in joined) == list(range(1, nodes))
    (ready,) = cluster.ready(0)
    assert ready["at"] >= complete["at"] >= max(event["at"] for event in joined)
    (warm_up,) = cluster.log.events("chat")
    assert warm_up["started_at"] >= complete["at"]


# ## A rank that dies, and the cluster stopping


@pytest.mark.parametrize("dying", [0, 1], ids=["rank0", "rank1"])
def test_cluster_every_rank_stops_when_one_dies(cluster: Cluster, dying: int) -> None:
    cluster.start_all()
    cluster.wait_ready()
    engines = {rank: cluster.engine(rank)["pid"] for rank in cluster.ranks}
    kill_processes([engines[dying]])
    for rank in cluster.ranks.values():
        assert rank.wait(timeout=20) == 1, rank.text
    title = cluster.example.title
    # The dead rank's container ends with its own server's last lines.
    assert f"{title} exited with code -9: ending the container" in cluster.ranks[dying].text
    assert "Last " in cluster.ranks[dying].text
    # The others' servers lost it, and their containers end with their lines.
    for rank, container in cluster.ranks.items():
        if rank != dying:
            assert "lost rank" in container.text and "ending the container" in container.text
    assert [pid for pid in cluster.log.server_pids() if pid_alive(pid)] == []


def test_cluster_rank_that_dies_during_startup_fails_the_replica(cluster: Cluster) -> None:
    nodes = cluster.example.nodes
    cluster.start(0, STANDIN_READY_DELAY="5")  # still loading when the last rank dies
    for rank in range(1, nodes):
        cluster.start(rank, **({"STANDIN_CRASH_AFTER": "1"} if rank == nodes - 1 else {}))
    for container in cluster.ranks.values():
        assert container.wait(timeout=30) == 1, container.text
    crashed = cluster.ranks[nodes - 1].text
    assert "CUDA out of memory (simulated)" in crashed and "ending the container" in crashed
    # Rank 0's start-up fails with its own server's lines: it lost the rank.
    title = cluster.example.title
    assert f"{title} exited with code 4 during start-up" in cluster.ranks[0].text
    assert cluster.ready(0) == []
    assert cluster.log.requests("/v1/chat/completions") == []
    assert [pid for pid in cluster.log.server_pids() if pid_alive(pid)] == []


def test_multinode_exit_stops_every_rank(cluster: Cluster) -> None:
    cluster.start_all()
    cluster.wait_ready()
    for rank in cluster.ranks.values():
        rank.stop()
    for rank in cluster.ranks.values():
        assert rank.wait(timeout=20) == 0, rank.text
        assert "ending the container" not in rank.text
    stopped = sorted(event["rank"] for event in cluster.log.events("rank_stopped"))
    assert stopped == list(range(cluster.example.nodes))
    assert [pid for pid in cluster.log.server_pids() if pid_alive(pid)] == []

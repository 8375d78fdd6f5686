"""A Modal cluster simulated on loopback: each rank a process that runs the app's class as a
container of the cluster would.

`python -m tests.support.cluster APP_FILE RANK IPV4_JSON` imports the app file, sets the cluster
info that Modal's container entrypoint sets before `modal.enter` runs
(`modal._cluster._initialize_clustered_function` assigns `modal._cluster.current_cluster_context`,
which `modal.experimental.get_cluster_info()` returns), runs the class's enter methods, and then
waits, as a container does, until SIGTERM, when it runs the exit methods and exits 0. An enter
method that raises exits it with 1, as Modal fails the container. It records `rank_ready` (rank,
at) and `rank_stopped` (rank, at) into STANDIN_LOG.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT

CLUSTER_ID = "cu-simulated"


def loopback_addresses(nodes: int) -> list[str]:
    """One IPv4 address per rank; all are loopback on Linux (127.0.0.0/8)."""
    return [f"127.0.0.{rank + 1}" for rank in range(nodes)]


@dataclass
class Rank:
    """One simulated container of the cluster."""

    rank: int
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    def stop(self) -> None:
        """What Modal does when the cluster stops: SIGTERM, then the exit methods run."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_rank(app_file: Path, rank: int, nodes: int, environment: dict[str, str]) -> Rank:
    """Start one rank in its own session (so that a test can kill all it left behind)."""
    command = [
        sys.executable,
        "-m",
        "tests.support.cluster",
        str(app_file),
        str(rank),
        ",".join(loopback_addresses(nodes)),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **environment, "PYTHONPATH": _pythonpath(environment)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return Rank(rank, process)


def _pythonpath(environment: dict[str, str]) -> str:
    """This checkout (for `tests.support`) before the stand-in's path."""
    return os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))


def _main(app_file: str, rank: int, addresses: list[str]) -> int:
    import modal._cluster
    from _standin.record import record

    from tests.support.introspect import describe_app, import_app_file, lifecycle_method

    module = import_app_file(Path(app_file))
    (service,) = describe_app(module).services.values()
    assert service.user_cls is not None
    modal._cluster.current_cluster_context = modal._cluster.ClusterContext(
        rank=rank,
        cluster_id=CLUSTER_ID,
        container_ips=[f"fdaa::{index + 1}" for index in range(len(addresses))],
        container_ipv4_ips=addresses,
        fabric_ids=[],
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    instance = service.user_cls()
    try:
        for phase in ("enter_pre_snapshot", "enter_post_snapshot"):
            for attribute in service.lifecycle[phase]:
                lifecycle_method(service.user_cls, attribute)(instance)
    except Exception:
        traceback.print_exc()
        sys.stdout.flush()
        return 1
    print(f"cluster: rank {rank} ready", flush=True)
    record("rank_ready", rank=rank, at=time.time())
    stopping.wait()
    for attribute in service.lifecycle["exit"]:
        lifecycle_method(service.user_cls, attribute)(instance)
    record("rank_stopped", rank=rank, at=time.time())
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")))

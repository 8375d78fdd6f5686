"""One rank of an engine spread over several nodes, as the stand-in simulates it on loopback.

SGLang (`--nnodes N --node-rank R --dist-init-addr HOST:PORT`) and vLLM (`--nnodes N --node-rank
R --master-addr HOST --master-port PORT`, `--headless` on the other ranks) both join their ranks
at rank 0's address before serving. Here rank 0 listens there and answers /health 200 only once
every other rank has connected; the other ranks connect (retrying while rank 0 is not up yet),
serve no HTTP, and live as long as their connection. When a joined rank's connection drops, the
peer exits with code 4, as a real engine fails when a collective loses a rank.

Recorded events: `cluster_joined` (rank, at) on rank 0 for each rank that joins, and
`cluster_complete` (at) once all have.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass

from .record import record

JOIN_TIMEOUT = 60  # seconds a rank keeps trying to reach rank 0
LOST_RANK_CODE = 4


@dataclass(frozen=True)
class ClusterRole:
    nodes: int
    rank: int
    head: str  # rank 0's address
    port: int


class Rendezvous:
    """Rank 0's side: accept the other ranks, and say when all have joined."""

    def __init__(self, role: ClusterRole) -> None:
        self.role = role
        self.complete = threading.Event()
        self._listener = socket.create_server((role.head, role.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        joined: set[int] = set()
        while len(joined) < self.role.nodes - 1:
            connection, _ = self._listener.accept()
            rank = int(connection.makefile().readline())
            joined.add(rank)
            print(f"standin: rank {rank} joined", flush=True)
            record("cluster_joined", rank=rank, at=time.time())
            threading.Thread(target=_watch_peer, args=(connection, rank), daemon=True).start()
        print(f"standin: all {self.role.nodes} ranks joined", flush=True)
        record("cluster_complete", at=time.time())
        self.complete.set()


def join(role: ClusterRole) -> None:
    """A rank other than 0: connect to rank 0, then block for as long as the connection lives."""
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:
        try:
            connection = socket.create_connection((role.head, role.port), timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline:
                print(f"standin: rank 0 unreachable at {role.head}:{role.port}", flush=True)
                os._exit(LOST_RANK_CODE)
            time.sleep(0.05)
    connection.settimeout(None)
    connection.sendall(f"{role.rank}\n".encode())
    print(f"standin: rank {role.rank} joined rank 0 at {role.head}:{role.port}", flush=True)
    _watch_peer(connection, 0)


def _watch_peer(connection: socket.socket, rank: int) -> None:
    """Return never: exit the whole engine when the peer's connection closes."""
    while connection.recv(1024):
        pass
    print(f"standin: fatal error: lost rank {rank} (simulated collective failure)", flush=True)
    os._exit(LOST_RANK_CODE)

"""Run app code against the stand-in engine and read back what it saw."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STANDIN_PATH = Path(__file__).parent / "standin"
STANDIN_BIN = STANDIN_PATH / "bin"  # the `vllm` command


@dataclass
class StandinLog:
    path: Path

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        events = [json.loads(line) for line in self.path.read_text().splitlines() if line]
        return [event for event in events if kind is None or event["event"] == kind]

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events("request")
            if (path is None or event["path"] == path)
            and (method is None or event["method"] == method)
        ]

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def server_pids(self) -> list[int]:
        """Every stand-in server and sidecar recorded in the log, and the workers each server
        started."""
        pids = [event["pid"] for event in self.events("launch_server")]
        pids += [event["pid"] for event in self.events("launch_sidecar")]
        return pids + [pid for event in self.events("workers") for pid in event["pids"]]

    def kill_servers(self) -> None:
        """Kill every stand-in server recorded in the log, so no test leaves one behind."""
        kill_processes(self.server_pids())


def kill_processes(pids: list[int]) -> None:
    """SIGKILL each process and wait, up to 5 s, until none of them is alive."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    for pid in pids:
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of this process still answers kill(0): look at its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def standin_environment(log: Path) -> dict[str, str]:
    """Environment in which `python -m sglang.launch_server` and `vllm serve` run the stand-in.

    `vllm` is a script that runs STANDIN_PYTHON, this Python, whatever else is on PATH.
    """
    bin_dir = str(Path(sys.executable).parent)
    pythonpath = os.pathsep.join(filter(None, [str(STANDIN_PATH), os.environ.get("PYTHONPATH")]))
    return {
        "PATH": os.pathsep.join([str(STANDIN_BIN), bin_dir, os.environ.get("PATH", "")]),
        "PYTHONPATH": pythonpath,
        "STANDIN_LOG": str(log),
        "STANDIN_PYTHON": sys.executable,
    }


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_port_free(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not port_is_free(port):
        if time.monotonic() > deadline:
            raise AssertionError(f"port {port} is still in use; another server is running")
        time.sleep(0.05)


def free_port() -> int:
    """A port nothing listens on now, for a server a test starts itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, timeout: float = 10) -> None:
    """Wait until something accepts connections on `port`, without sending it a request."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on port {port}") from None
            time.sleep(0.02)

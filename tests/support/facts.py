"""Facts about a Modal app file: what it declares and what it does, as plain JSON-able data.

`observe_app` imports the file with the real `modal` package, reads its declarations, then runs
its build steps, its server start-up, its test client (the local entrypoint) and its shut-down
against the stand-in engine, recording what the engine received. The facts of the reference
programs are recorded once into `tests/fixtures/reference_facts/` by
`scripts/record_reference_facts.py`; the equivalence tests observe each generated app the same
way and compare.

The container around the app is stood in for too: `torch` counts the GPUs the service declares,
the variables of the Modal Secrets below are set with stand-in values, files the app writes
into the image's system folders land in a scratch folder, and the sidecar programs in the
stand-in's `bin/` (`alloy`) record how they were started and stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import (
    STANDIN_BIN,
    STANDIN_PATH,
    StandinLog,
    kill_processes,
    pid_alive,
    wait_port_free,
)
from tests.support.introspect import (
    AppDescription,
    Service,
    describe_app,
    import_app_file,
    lifecycle_method,
)

# Headers that the HTTP client library adds by itself: they say which library and version sent
# a request, not what the program asked for.
TRANSPORT_HEADERS = frozenset(
    {"host", "user-agent", "accept-encoding", "content-length", "connection"}
)
SERVER_PORT = 8000
FACTS_FORMAT = 1
# The variables Modal sets from the Secrets an app attaches, by Secret name, with stand-in
# values (an app that substitutes them into a file fails on a missing one).
SECRET_VARIABLES = {
    "grafana-secret": {"GRAFANA_USERNAME": "standin-user", "GRAFANA_API_KEY": "standin-api-key"},
}
# The image's system folders: a file an app writes there in its container (a sidecar's config)
# is written under the observation's scratch folder instead, never on this machine's.
CONTAINER_FOLDERS = ("/etc", "/opt", "/srv", "/usr")


class _Url:
    """Stands for the URL lookups of a deployed Modal object, each answering the stand-in."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self) -> Any:
        return self.value

    async def aio(self) -> Any:
        return self.value


class DeployedStandin:
    """What a test client asks Modal for (`Server.get_url`, `Cls._experimental_get_flash_urls`,
    `Function.get_web_url`), answering with the stand-in engine's URL."""

    def __init__(self, url: str) -> None:
        self.get_url = _Url(url)
        self._experimental_get_flash_urls = _Url([url])
        self.get_web_url = _Url(url)

    def __call__(self) -> DeployedStandin:
        """An instance of the class, whose web-endpoint methods answer the same."""
        return self

    def __getattr__(self, method: str) -> DeployedStandin:  # a web-endpoint method
        if method.startswith("_"):
            raise AttributeError(method)
        return self


def _request_facts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "method": event["method"],
            "path": event["path"],
            "headers": {
                key: value
                for key, value in sorted(event["headers"].items())
                if key.lower() not in TRANSPORT_HEADERS
            },
            "body": event["body"],
        }
        for event in events
        if event["path"] != "/health"  # readiness polls: how often is timing, not behaviour
    ]


def _launches(log: StandinLog) -> list[dict[str, Any]]:
    return [
        {
            "engine": event["engine"],
            "command": event["command"],
            "argv": event["argv"],
            "hf_hub_offline": event["hf_hub_offline"],
            "config": event["config"],
        }
        for event in log.events("launch_server")
    ]


def _wait_healthy(timeout: float = 20) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{SERVER_PORT}/health", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise TimeoutError("the stand-in engine did not become healthy")


def _observe_build_steps(
    service: Service, log: StandinLog, monkeypatch: pytest.MonkeyPatch, scratch: Path
) -> list[dict[str, Any]]:
    """Run each build step here, with the stand-in's `huggingface_hub` and the Hugging Face
    cache in `scratch` (a Volume would be mounted there in the build)."""
    monkeypatch.syspath_prepend(str(STANDIN_PATH))
    monkeypatch.delitem(sys.modules, "huggingface_hub", raising=False)
    monkeypatch.setenv("HF_HOME", str(scratch / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(scratch / "hf-hub-cache"))
    observed = []
    for step in service.image.build_steps:
        log.clear()
        step.function(*step.args, **step.kwargs)
        observed.append({"name": step.name, "events": _build_events(log)})
    return observed


def _build_events(log: StandinLog) -> list[dict[str, Any]]:
    return [
        {
            key: value
            for key, value in event.items()
            if key not in ("pid", "pgid", "at", "executable", "hf_hub_offline")
        }
        for event in log.events()
        if event["event"] != "health"
    ]


def _run_entrypoints(app: AppDescription, module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in app.services:
        monkeypatch.setattr(module, name, DeployedStandin(f"http://127.0.0.1:{SERVER_PORT}"))
    for entrypoint in app.entrypoints.values():
        result = entrypoint.function()
        if asyncio.iscoroutine(result):
            asyncio.run(result)


def _phases(service: Service) -> Iterator[tuple[str, Callable[[], Any]]]:
    """The service's start-up steps in the order Modal runs them, each as a call."""
    if service.user_cls is None:  # a web-server function: it starts the server and returns
        yield "function", service.function
        yield "wait", _wait_healthy
        return
    instance = service.user_cls()
    lifecycle = service.lifecycle
    for attribute in lifecycle["enter_pre_snapshot"] + lifecycle["enter_post_snapshot"]:
        method = lifecycle_method(service.user_cls, attribute)
        yield attribute, lambda method=method: method(instance)
    for attribute in lifecycle["exit"]:
        method = lifecycle_method(service.user_cls, attribute)
        yield f"exit:{attribute}", lambda method=method: method(instance)


def _gpu_count(gpu: str | None) -> int:
    """How many GPUs `gpu` (Modal's `"H100"`, `"H100:4"`) attaches."""
    if not gpu:
        return 0
    return int(gpu.rsplit(":", 1)[1]) if ":" in gpu else 1


def _write_in_container(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """`Path.write_text` into the image's system folders writes under `root`; what reads the
    file through STANDIN_FILE_MAP (a stand-in sidecar) finds it there."""
    write_text = pathlib.Path.write_text

    def redirected(self: pathlib.Path, data: str, *args: Any, **kwargs: Any) -> int:
        target = str(self)
        if not target.startswith(tuple(f"{folder}/" for folder in CONTAINER_FOLDERS)):
            return write_text(self, data, *args, **kwargs)
        local = root / target.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        mounted = json.loads(os.environ.get("STANDIN_FILE_MAP") or "{}")
        os.environ["STANDIN_FILE_MAP"] = json.dumps({**mounted, target: str(local)})
        return write_text(local, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", redirected)


def _record_spawns(monkeypatch: pytest.MonkeyPatch, log: StandinLog) -> None:
    """Each process the app starts is recorded in the log (`spawn`, with its pid) as soon as
    `subprocess.Popen` returns, so that the log says what the app had done by then: the
    requests before it are those the app had sent."""

    class RecordedPopen(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            with log.path.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps({"event": "spawn", "pid": self.pid}) + "\n")

    monkeypatch.setattr(subprocess, "Popen", RecordedPopen)


def _starting_sidecars() -> list[int]:
    """The processes below this one that run a stand-in sidecar, or are about to."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(stat[1]), []).append(int(entry))
    found, pending = [], list(children.get(os.getpid(), []))
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        names = [part.decode(errors="replace") for part in command]
        if "_standin.sidecar" in names or any(n.startswith(f"{STANDIN_BIN}/") for n in names):
            found.append(pid)
    return found


def _wait_for_sidecars(log: StandinLog, timeout: float = 10) -> None:
    """Wait until every stand-in sidecar started so far has recorded its launch: it runs
    beside the app, which does not wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logged = {event["pid"] for event in log.events("launch_sidecar")}
        if all(pid in logged or not pid_alive(pid) for pid in _starting_sidecars()):
            return
        time.sleep(0.02)
    raise TimeoutError("a stand-in sidecar did not record its launch")


def _sidecars(log: StandinLog) -> list[dict[str, Any]]:
    """Each sidecar the start-up launched: how, and after how many requests to the engine the
    app started it (the warm-up's, when it starts once the engine is warm)."""
    spawned, requests = {}, 0
    for event in log.events():
        if event["event"] == "request" and event["path"] != "/health":
            requests += 1
        elif event["event"] == "spawn":
            spawned[event["pid"]] = requests
    return [
        {
            "program": event["program"],
            "argv": event["argv"],
            "files": event["files"],
            "own_process_group": event["own_process_group"],
            "engine_health": event["engine_health"],
            "requests_before": spawned.get(event["pid"]),
            "pid": event["pid"],
        }
        for event in log.events("launch_sidecar")
    ]


def _sidecars_stopped(sidecars: list[dict[str, Any]], log: StandinLog) -> None:
    """Add to each sidecar the signal that stopped it in the exit methods (None: not stopped)."""
    deadline = time.monotonic() + 5
    for sidecar in sidecars:
        while pid_alive(sidecar["pid"]) and time.monotonic() < deadline:
            time.sleep(0.02)
    stops = {event["pid"]: event["signal"] for event in log.events("sidecar_stopped")}
    for sidecar in sidecars:
        sidecar["stopped_by"] = stops.get(sidecar.pop("pid"))


def observe_app(path: Path, log: StandinLog, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Everything the tests compare about the app in `path`, declared and observed."""
    module = import_app_file(path)
    app = describe_app(module)
    facts: dict[str, Any] = {"format": FACTS_FORMAT, **app.facts(), "observed": {}}
    for name, service in app.services.items():
        # The container has the image's environment (VLLM_SERVER_DEV_MODE, say): so does this.
        for key, value in service.image.env.items():
            monkeypatch.setenv(key, value)
        # Files added to the image are read from where they lie here.
        monkeypatch.setenv("STANDIN_FILE_MAP", json.dumps(service.image.mounted_files))
        monkeypatch.setenv("STANDIN_GPU_COUNT", str(_gpu_count(service.declared["gpu"])))
        for secret in service.declared["secrets"]:
            for key, value in SECRET_VARIABLES.get(secret, {}).items():
                monkeypatch.setenv(key, value)
        scratch = log.path.parent / f"build-{name}"
        scratch.mkdir(exist_ok=True)
        observed: dict[str, Any] = {
            "build_steps": _observe_build_steps(service, log, monkeypatch, scratch)
        }
        log.clear()
        exits = []
        with pytest.MonkeyPatch.context() as container:
            _write_in_container(container, scratch / "container")
            _record_spawns(container, log)
            for phase, run in _phases(service):
                if phase.startswith("exit:"):
                    exits.append(run)
                    continue
                run()
        _wait_for_sidecars(log)
        observed["launches"] = _launches(log)
        observed["startup_requests"] = _request_facts(log.requests())
        sidecars = _sidecars(log)
        servers = log.server_pids()
        log.clear()
        _run_entrypoints(app, module, monkeypatch)
        observed["client_requests"] = _request_facts(log.requests())
        for run in exits:
            run()
        if sidecars:  # a key of its own only where there are any, as in the facts before
            _sidecars_stopped(sidecars, log)
            observed["sidecars"] = sidecars
        kill_processes(servers)
        wait_port_free(SERVER_PORT)
        facts["observed"][name] = observed
    return json.loads(facts_text(facts))  # as committed: lists, not tuples


def facts_text(facts: dict[str, Any]) -> str:
    """The facts as they are committed: stable key order, one key per line, so they diff well."""
    return json.dumps(facts, indent=1, sort_keys=True, ensure_ascii=False, default=repr) + "\n"


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Each place where `actual` differs from `expected`, named by its path in the facts."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(expected.keys() | actual.keys(), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{where}: missing (expected {expected[key]!r})")
            elif key not in expected:
                found.append(f"{where}: unexpected {actual[key]!r}")
            else:
                found += differences(expected[key], actual[key], where)
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        found = []
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found += differences(left, right, f"{path}[{index}]")
        return found
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []

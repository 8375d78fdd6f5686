"""Facts about a Modal app file: what it declares and what it does, as plain JSON-able data.

`observe_app` imports the file with the real `modal` package, reads its declarations, then runs
its build steps, its server start-up, its test client (the local entrypoint) and its shut-down
against the stand-in engine, recording what the engine received. The facts of the reference
programs are recorded once into `tests/fixtures/reference_facts/` by
`scripts/record_reference_facts.py`; the equivalence tests observe each generated app the same
way and compare.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import STANDIN_PATH, StandinLog, kill_processes, wait_port_free
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
        scratch = log.path.parent / f"build-{name}"
        scratch.mkdir(exist_ok=True)
        observed: dict[str, Any] = {
            "build_steps": _observe_build_steps(service, log, monkeypatch, scratch)
        }
        log.clear()
        exits = []
        for phase, run in _phases(service):
            if phase.startswith("exit:"):
                exits.append(run)
                continue
            run()
        observed["launches"] = _launches(log)
        observed["startup_requests"] = _request_facts(log.requests())
        servers = log.server_pids()
        log.clear()
        _run_entrypoints(app, module, monkeypatch)
        observed["client_requests"] = _request_facts(log.requests())
        for run in exits:
            run()
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

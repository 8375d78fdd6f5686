"""The generated lifecycle and probe, run for real against the stand-in engine.

The apps under test are rendered from small specs into a temporary project; their `modal.enter`
and `modal.exit` methods start, wait for, warm up, snapshot and stop the stand-in exactly as they
would start SGLang in a container (`python -m sglang.launch_server` on loopback), and the probe
talks to a stand-in the test starts. What the stand-in records says what the code did and when.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
import requests

from generator.project.project import Project
from tests.conftest import ROOT
from tests.support.engine import (
    StandinLog,
    pid_alive,
    standin_environment,
    wait_port_free,
)
from tests.support.introspect import (
    Service,
    describe_app,
    import_app_file,
    lifecycle_method,
)

PORT = 18431  # the apps under test; not 8000, which the equivalence tests use
PROBE_PORT = 18432  # the stand-in the probe tests start themselves

SPEC = """\
version = 1

[app]
name = "lifecycle-{name}"
class_name = "Server"

[image]
{image}

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[server]
unauthenticated = true
gpu = {{ type = "H100", count = 1 }}
port = {port}
proxy_regions = ["us-east"]

{engine}

[lifecycle]
ready_timeout = {ready_timeout}
stop_timeout = {stop_timeout}
memory_snapshot = {memory_snapshot}

[warmup]
requests = 2
timeout = 5
request_extras = {{ temperature = 0 }}
"""
SPECS = {
    "plain": {"ready_timeout": 10, "stop_timeout": 5, "memory_snapshot": "false"},
    "impatient": {"ready_timeout": 1, "stop_timeout": 1, "memory_snapshot": "false"},
    "snapshot": {"ready_timeout": 10, "stop_timeout": 5, "memory_snapshot": "true"},
}


@dataclass(frozen=True)
class EngineCase:
    """One engine as these tests drive it: its spec lines and what its apps must do."""

    kind: str
    title: str
    image: str
    engine: str
    snapshot_flags: list[str]
    snapshot_env: dict[str, str]
    release_path: str
    resume_path: str
    health_while_released: int


ENGINES = {
    "sglang": EngineCase(
        kind="sglang",
        title="SGLang",
        image='registry_tag = "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"',
        engine="",
        snapshot_flags=["--enable-memory-saver", "--enable-weights-cpu-backup"],
        snapshot_env={"TORCHINDUCTOR_COMPILE_THREADS": "1"},
        release_path="/release_memory_occupation",
        resume_path="/resume_memory_occupation",
        health_while_released=503,
    ),
    "vllm": EngineCase(
        kind="vllm",
        title="vLLM",
        image='registry_tag = "vllm/vllm-openai:v0.11.2"',
        engine='[engine]\nkind = "vllm"',
        snapshot_flags=["--enable-sleep-mode"],
        snapshot_env={"VLLM_SERVER_DEV_MODE": "1"},
        release_path="/sleep?level=1",
        resume_path="/wake_up",
        health_while_released=200,  # vLLM answers /health while asleep; chat waits for wake_up
    ),
}


@dataclass
class App:
    module: ModuleType
    server: Service
    engine: EngineCase

    def enter(self) -> Any:
        """A new instance after its enter methods: those before the snapshot, then after it."""
        instance = self.server.user_cls()
        for phase in ("enter_pre_snapshot", "enter_post_snapshot"):
            self.run(instance, phase)
        return instance

    def run(self, instance: Any, phase: str) -> None:
        for attribute in self.server.lifecycle[phase]:
            lifecycle_method(self.server.user_cls, attribute)(instance)


@pytest.fixture(scope="module", params=list(ENGINES), ids=str)
def apps(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, App]:
    """The apps of one engine: every test below runs for SGLang and for vLLM."""
    case = ENGINES[request.param]
    root = tmp_path_factory.mktemp(f"lifecycle-{case.kind}")
    (root / "specs").mkdir()
    for name, settings in SPECS.items():
        text = SPEC.format(name=name, port=PORT, image=case.image, engine=case.engine, **settings)
        (root / "specs" / f"{name}.toml").write_text(text)
    project = Project(root)
    for output in project.render(project.discover_specs()):
        project.write(output)
    loaded = {}
    for name in SPECS:
        module = import_app_file(root / "generated" / f"{name}.py")
        (server,) = describe_app(module).services.values()
        loaded[name] = App(module, server, case)
    return loaded


@pytest.fixture
def engine(
    apps: dict[str, App], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StandinLog]:
    """The stand-in on PATH/PYTHONPATH for the apps to start, with the environment their image
    sets (as in the container); every server killed afterwards."""
    log = StandinLog(tmp_path / "standin.jsonl")
    image_env = apps["snapshot"].server.image.env
    for key, value in {**image_env, **standin_environment(log.path)}.items():
        monkeypatch.setenv(key, value)
    wait_port_free(PORT)
    yield log
    log.kill_servers()


def live_group_members(group: int) -> list[int]:
    """Processes of a process group that still run (zombies nobody reaped do not)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == group and state != "Z":
            members.append(int(entry.name))
    return members


def assert_nothing_left(log: StandinLog) -> None:
    (launch,) = log.events("launch_server")
    assert log.server_pids(), "the stand-in recorded no process"
    assert [pid for pid in log.server_pids() if pid_alive(pid)] == []
    assert live_group_members(launch["pgid"]) == []


# ## Declarations


def test_without_the_option_no_snapshot_code_is_generated(apps: dict[str, App]) -> None:
    for path in [*sorted((ROOT / "generated").glob("*.py")), Path(apps["plain"].module.__file__)]:
        source = path.read_text()
        for fragment in ("snap=", "memory_occupation", "enable_memory_snapshot", "wake_up"):
            assert fragment not in source, (path.name, fragment)
    plain = apps["plain"].server
    assert not plain.declared["enable_memory_snapshot"]
    assert plain.declared["experimental_options"] == {}
    assert plain.lifecycle == {
        "enter_pre_snapshot": [],
        "enter_post_snapshot": ["startup"],
        "exit": ["stop"],
    }


def test_snapshot_declarations(apps: dict[str, App]) -> None:
    server = apps["snapshot"].server
    assert server.declared["enable_memory_snapshot"]
    assert server.declared["experimental_options"] == {"enable_gpu_snapshot": "True"}
    assert server.lifecycle == {
        "enter_pre_snapshot": ["startup"],
        "enter_post_snapshot": ["wake_up"],
        "exit": ["stop"],
    }
    case = apps["snapshot"].engine
    assert server.image.env == case.snapshot_env
    command = apps["snapshot"].module.SERVER_COMMAND
    assert command[-len(case.snapshot_flags) :] == case.snapshot_flags


# ## Start-up


def test_readiness_probes_start_at_once_and_keep_a_steady_pace(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = apps["plain"].module
    calls: list[float] = []

    class TimedRequests:
        def __getattr__(self, name: str) -> Any:
            return getattr(requests, name)

        def get(self, *args: Any, **kwargs: Any) -> requests.Response:
            calls.append(time.monotonic())
            return requests.get(*args, **kwargs)

    monkeypatch.setattr(module, "requests", TimedRequests())
    monkeypatch.setenv("STANDIN_READY_DELAY", "1.2")
    server = module.ServerProcess(module.SERVER_COMMAND)
    try:
        started = time.monotonic()
        server.wait_ready(5)
    finally:
        server.stop(5)
    assert calls[0] - started < 0.2, "the first probe waited a poll interval (0.25 s)"
    intervals = [later - earlier for earlier, later in itertools.pairwise(calls)]
    assert len(intervals) >= 3, intervals
    assert all(interval <= 0.45 for interval in intervals), intervals
    # Besides the timed probes (1.2 s / 0.25 s), one per line the server prints ("serving on",
    # "ready"); the lines that log our own probes call for none, so probing never feeds itself.
    assert len(calls) <= 1 + 5 + 2 + 1, intervals


def test_a_line_from_the_server_is_followed_by_a_probe_at_once(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_READY_DELAY", "0.6")  # between two timed probes, 0.5 and 0.75 s
    module = apps["plain"].module
    server = module.ServerProcess(module.SERVER_COMMAND)
    try:
        server.wait_ready(5)
        ready_noticed = time.time()
    finally:
        server.stop(5)
    (ready,) = engine.events("ready")
    # The next timed probe is 0.15 s after the ready line; noticing sooner proves the line did it.
    assert 0 <= ready_noticed - ready["at"] < 0.12


def test_ready_soon_after_the_engine_is_healthy(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("STANDIN_READY_DELAY", "0.7")
    app = apps["plain"]
    instance = app.enter()
    entered = time.time()
    try:
        (ready,) = engine.events("ready")
        # The reference polls every 5 s; this is a behaviour check, not a benchmark.
        assert 0 <= entered - ready["at"] < 1.0
        warm_ups = engine.requests("/v1/chat/completions")
        assert len(warm_ups) == 2
        assert all(request["body"]["temperature"] == 0 for request in warm_ups)
        output = capsys.readouterr().out
        title = apps["plain"].engine.title
        assert f"{title} healthy after" in output and f"{title} warmed up in" in output
    finally:
        app.run(instance, "exit")
    assert_nothing_left(engine)


def test_a_crash_is_reported_at_once_with_exit_code_and_output(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "STANDIN_CRASH_AFTER": "0.3",
        "STANDIN_CRASH_CODE": "7",
        "STANDIN_READY_DELAY": "60",
        "STANDIN_WORKERS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    started = time.monotonic()
    with pytest.raises(RuntimeError) as failure:
        apps["plain"].enter()
    assert time.monotonic() - started < 3
    message = str(failure.value)
    assert f"{apps['plain'].engine.title} exited with code 7 during start-up" in message
    assert "standin: serving on 127.0.0.1" in message
    assert "fatal error: CUDA out of memory (simulated)" in message
    assert_nothing_left(engine)  # the worker the crashed server left behind too


def test_a_server_never_ready_times_out_with_its_output(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_READY_DELAY", "60")
    monkeypatch.setenv("STANDIN_WORKERS", "1")
    started = time.monotonic()
    with pytest.raises(TimeoutError) as failure:
        apps["impatient"].enter()
    assert 1 <= time.monotonic() - started < 3
    message = str(failure.value)
    assert f"{apps['impatient'].engine.title} not ready within 1 seconds" in message
    assert "standin: GET /health" in message
    assert_nothing_left(engine)


def test_a_failed_warm_up_says_what_the_server_answered(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CHAT_STATUS", "500")
    with pytest.raises(RuntimeError) as failure:
        apps["plain"].enter()
    assert "Warm-up request failed with HTTP 500" in str(failure.value)
    assert "stand-in configured to answer 500" in str(failure.value)
    assert_nothing_left(engine)


# ## Shut-down


def test_exit_stops_every_process_gracefully(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("STANDIN_WORKERS", "2")
    app = apps["plain"]
    instance = app.enter()
    assert len(engine.server_pids()) == 3 and all(map(pid_alive, engine.server_pids()))
    started = time.monotonic()
    app.run(instance, "exit")
    assert time.monotonic() - started < 1
    assert "killing it" not in capsys.readouterr().out
    assert_nothing_left(engine)


def test_exit_kills_what_ignores_sigterm_after_the_grace_period(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("STANDIN_WORKERS", "2")
    monkeypatch.setenv("STANDIN_IGNORE_SIGTERM", "1")
    app = apps["impatient"]  # stop_timeout = 1
    instance = app.enter()
    started = time.monotonic()
    app.run(instance, "exit")
    assert 1 <= time.monotonic() - started < 3
    title = app.engine.title
    assert f"{title} still running 1 s after SIGTERM: killing it" in capsys.readouterr().out
    assert_nothing_left(engine)


# ## Memory snapshots


def test_snapshot_phases_release_then_resume_memory(
    apps: dict[str, App], engine: StandinLog
) -> None:
    app = apps["snapshot"]
    case = app.engine
    instance = app.server.user_cls()
    app.run(instance, "enter_pre_snapshot")
    paths = [request["path"] for request in engine.requests()]
    assert paths[-3:] == ["/v1/chat/completions", "/v1/chat/completions", case.release_path]
    (launch,) = engine.events("launch_server")
    assert set(case.snapshot_flags) <= set(launch["argv"])
    # This is the state Modal snapshots: the server runs, its GPU memory released.
    health = requests.get(f"http://127.0.0.1:{PORT}/health", timeout=1)
    assert health.status_code == case.health_while_released
    chat = requests.post(f"http://127.0.0.1:{PORT}/v1/chat/completions", json={}, timeout=1)
    assert chat.status_code == 503

    app.run(instance, "enter_post_snapshot")
    paths = [request["path"] for request in engine.requests()]
    resumed = paths.index(case.resume_path)
    assert resumed > paths.index(case.release_path)
    assert engine.events("health")[-1]["status"] == 200  # checked after the resume
    assert paths[resumed + 1 :] and set(paths[resumed + 1 :]) == {"/health"}
    app.run(instance, "exit")
    assert_nothing_left(engine)


def test_a_failed_resume_is_reported_with_the_answer(
    apps: dict[str, App], engine: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_RESUME_STATUS", "500")
    with pytest.raises(RuntimeError) as failure:
        apps["snapshot"].enter()
    assert f"{apps['snapshot'].engine.resume_path} failed with HTTP 500" in str(failure.value)
    assert "stand-in configured to fail the resume" in str(failure.value)
    assert_nothing_left(engine)


# ## The probe


@pytest.fixture
def start_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start the stand-in on PROBE_PORT with the stand-in settings given, as a deployed server."""
    log = StandinLog(tmp_path / "probe-standin.jsonl")
    processes = []

    def start(**settings: str) -> StandinLog:
        environment = {**standin_environment(log.path), **settings}
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "sglang.launch_server", "--port", str(PROBE_PORT)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        return log

    wait_port_free(PROBE_PORT)
    yield start
    for process in processes:
        process.kill()
        process.wait()


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on port {port}")


MESSAGES = [{"role": "user", "content": "Hello?"}]
URL = f"http://127.0.0.1:{PROBE_PORT}"


@pytest.fixture
def probe(apps: dict[str, App], monkeypatch: pytest.MonkeyPatch):
    module = apps["plain"].module
    monkeypatch.setattr(module, "PROBE_RETRY_INTERVAL", 0.05)

    def run(timeout: float) -> None:
        asyncio.run(module.probe(URL, MESSAGES, module.client_headers(), timeout=timeout))

    return run


def test_probe_retries_while_no_replica_is_up_and_reports_timings(
    start_engine, probe, capsys
) -> None:
    log = start_engine(
        STANDIN_CHAT_503S="2",
        STANDIN_REASONING="Let me think.",
        STANDIN_CONTENT="Hello there.",
        STANDIN_CHUNK_DELAY="0.02",
    )
    wait_listening(PROBE_PORT)
    probe(timeout=10)
    chats = log.requests("/v1/chat/completions")
    assert len(chats) == 3 and all(chat["body"] == chats[0]["body"] for chat in chats)
    output = capsys.readouterr().out
    assert output.count("Waiting for the server: no replica is up yet (HTTP 503)") == 1
    assert "Let me think.\n\nHello there.\n" in output  # reasoning, then the answer below it
    assert "Time to first token " in output and ", 5 chunks (" in output
    assert "chunks/s)" in output


def test_probe_waits_through_connection_errors_while_the_server_starts(
    start_engine, probe, capsys
) -> None:
    start_engine(STANDIN_LISTEN_DELAY="0.5")  # nothing listens for half a second
    probe(timeout=10)
    output = capsys.readouterr().out
    assert "Waiting for the server: ClientConnectorError" in output
    assert "Hello from the stand-in." in output


def test_probe_fails_when_no_replica_answers_before_the_deadline(start_engine, probe) -> None:
    start_engine(STANDIN_CHAT_503S="1000000")
    wait_listening(PROBE_PORT)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="No response from server within 1 seconds"):
        probe(timeout=1)
    assert 1 <= time.monotonic() - started < 1.5


def test_probe_gives_up_on_a_silent_server_at_the_deadline(start_engine, probe) -> None:
    start_engine(STANDIN_CHAT_DELAY="10")
    wait_listening(PROBE_PORT)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="No response from server within 1 seconds"):
        probe(timeout=1)
    assert time.monotonic() - started < 1.5


def test_probe_does_not_retry_other_errors(start_engine, probe) -> None:
    log = start_engine(STANDIN_CHAT_STATUS="500")
    wait_listening(PROBE_PORT)
    with pytest.raises(aiohttp.ClientResponseError) as failure:
        probe(timeout=10)
    assert failure.value.status == 500
    assert len(log.requests("/v1/chat/completions")) == 1

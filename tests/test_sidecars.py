"""Sidecars, run for real: a generated app's lifecycle with the stand-in engine and a stand-in
sidecar (`tests/support/sidecar_standin.py`), as Modal's sgl_grafana.py runs Grafana Alloy
beside SGLang.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from generator.project.project import Project
from tests.conftest import ROOT
from tests.support.engine import StandinLog, pid_alive, standin_environment, wait_port_free
from tests.support.introspect import Service, describe_app, import_app_file, lifecycle_method

PORT = 18441  # not the ports of the other lifecycle tests
SIDECAR = ROOT / "tests" / "support" / "sidecar_standin.py"
CONFIG = 'prometheus.scrape "llm" { targets = [{"__address__" = "127.0.0.1:8000"}] }\n'

SPEC = """\
version = 1

[app]
name = "sidecars-{name}"
class_name = "SGLang"

[image]
registry_tag = "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[server]
kind = "web_server"
on_class = true
unauthenticated = true
gpu = {{ type = "H100", count = 1 }}
port = {port}
max_inputs = 8

[deep_gemm]
enabled = false

[lifecycle]
ready_timeout = 10
stop_timeout = {stop_timeout}

[warmup]
requests = 1
timeout = 5

[[sidecars]]
name = "alloy"
command = {command}
secrets = ["grafana-secret"]

[[sidecars.files]]
add_local_file = "observability/config.alloy"
remote_path = "/etc/alloy/config.alloy"
"""
SIDECAR_COMMAND = [sys.executable, str(SIDECAR), "run", "/etc/alloy/config.alloy"]
SPECS = {
    "plain": {"stop_timeout": 5, "command": SIDECAR_COMMAND},
    "impatient": {"stop_timeout": 1, "command": SIDECAR_COMMAND},
    "missing": {"stop_timeout": 5, "command": ["/nonexistent/alloy", "run", "x"]},
}


@dataclass
class App:
    path: Path
    module: ModuleType
    service: Service

    def enter(self) -> Any:
        instance = self.service.user_cls()
        for attribute in self.service.lifecycle["enter_post_snapshot"]:
            lifecycle_method(self.service.user_cls, attribute)(instance)
        return instance

    def exit(self, instance: Any) -> None:
        for attribute in self.service.lifecycle["exit"]:
            lifecycle_method(self.service.user_cls, attribute)(instance)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, App]:
    root = tmp_path_factory.mktemp("sidecars")
    (root / "specs").mkdir()
    (root / "observability").mkdir()
    (root / "observability" / "config.alloy").write_text(CONFIG)
    for name, settings in SPECS.items():
        command = json.dumps(settings["command"])
        text = SPEC.format(
            name=name, port=PORT, command=command, stop_timeout=settings["stop_timeout"]
        )
        (root / "specs" / f"{name}.toml").write_text(text)
    project = Project(root)
    for output in project.render(project.discover_specs()):
        project.write(output)
    loaded = {}
    for name in SPECS:
        path = root / "generated" / f"{name}.py"
        module = import_app_file(path)
        (service,) = describe_app(module).services.values()
        loaded[name] = App(path, module, service)
    return loaded


@dataclass
class Logs:
    engine: StandinLog
    sidecar: Path

    def started(self) -> dict[str, Any]:
        """The sidecar's start record, once it has written it (it runs beside the test)."""
        deadline = time.monotonic() + 10
        while not (events := self.sidecar_events("start")) and time.monotonic() < deadline:
            time.sleep(0.02)
        (start,) = events
        return start

    def sidecar_events(self, kind: str) -> list[dict[str, Any]]:
        if not self.sidecar.exists():
            return []
        events = [json.loads(line) for line in self.sidecar.read_text().splitlines()]
        return [event for event in events if event["event"] == kind]


@pytest.fixture
def logs(apps: dict[str, App], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Logs]:
    """The stand-in engine and sidecar, with the environment of the container: the image's
    variables and files, and the Secret's variable (which Modal sets from `grafana-secret`)."""
    engine = StandinLog(tmp_path / "standin.jsonl")
    image = apps["plain"].service.image
    for key, value in {
        **image.env,
        **standin_environment(engine.path),
        "STANDIN_FILE_MAP": json.dumps(image.mounted_files),
        "SIDECAR_LOG": str(tmp_path / "sidecar.jsonl"),
        "SIDECAR_HEALTH_URL": f"http://127.0.0.1:{PORT}/health",
        "GRAFANA_API_KEY": "glc-standin",
    }.items():
        monkeypatch.setenv(key, value)
    wait_port_free(PORT)
    logs = Logs(engine, tmp_path / "sidecar.jsonl")
    yield logs
    engine.kill_servers()
    for event in logs.sidecar_events("start"):
        for pid in [event["pid"], *event["children"]]:
            if pid_alive(pid):
                subprocess.run(["kill", "-9", str(pid)], check=False)


def group_alive(group: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, _, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            except (OSError, ValueError):
                continue
            if int(pgrp) == group and state != "Z":
                return True
    return False


def test_sidecars_are_declared_with_their_secret_and_files(apps: dict[str, App]) -> None:
    service = apps["plain"].service
    assert service.declared["secrets"] == ["grafana-secret"]
    assert service.image.mounted_files == {
        "/etc/alloy/config.alloy": str(
            apps["plain"].path.parent.parent / "observability" / "config.alloy"
        )
    }
    assert apps["plain"].module.SIDECARS == {"alloy": SIDECAR_COMMAND}


def test_a_sidecar_starts_once_the_engine_is_healthy_with_its_file_and_secret(
    apps: dict[str, App], logs: Logs
) -> None:
    app = apps["plain"]
    instance = app.enter()
    try:
        start = logs.started()
        assert start["engine_health"] == 200  # started after the engine was healthy
        assert logs.engine.requests("/v1/chat/completions")  # and warm
        assert start["argv"] == ["run", "/etc/alloy/config.alloy"]
        assert start["config"] == CONFIG
        assert start["credential"] == "glc-standin"
        assert start["pgid"] == start["pid"]  # its own process group
    finally:
        app.exit(instance)


def test_exit_stops_the_sidecar_before_the_engine_and_leaves_nothing(
    apps: dict[str, App], logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIDECAR_CHILD", "1")
    app = apps["plain"]
    instance = app.enter()
    start = logs.started()
    app.exit(instance)
    (sigterm,) = logs.sidecar_events("sigterm")
    assert sigterm["engine_health"] == 200  # the engine still served when the sidecar stopped
    assert not group_alive(start["pgid"])  # its child too
    assert [pid for pid in logs.engine.server_pids() if pid_alive(pid)] == []


def test_exit_kills_a_sidecar_that_ignores_sigterm_after_the_grace(
    apps: dict[str, App], logs: Logs, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("SIDECAR_IGNORE_SIGTERM", "1")
    app = apps["impatient"]  # stop_timeout = 1
    instance = app.enter()
    start = logs.started()
    started = time.monotonic()
    app.exit(instance)
    assert 1 <= time.monotonic() - started < 4
    assert "Sidecar alloy still running 1 s after SIGTERM: killing it" in capsys.readouterr().out
    assert not group_alive(start["pgid"])


def test_a_sidecar_that_cannot_start_stops_the_engine(apps: dict[str, App], logs: Logs) -> None:
    with pytest.raises(FileNotFoundError):
        apps["missing"].enter()
    assert logs.engine.server_pids()
    assert [pid for pid in logs.engine.server_pids() if pid_alive(pid)] == []


def test_a_sidecar_crash_ends_the_container_with_its_output(
    apps: dict[str, App], logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a cluster rank's engine does: the container ends (exit code 1), after the sidecar's
    last lines; Modal then replaces it. Run in a process of its own, the container here."""
    monkeypatch.setenv("SIDECAR_CRASH_AFTER", "0.5")
    monkeypatch.setenv("SIDECAR_CRASH_CODE", "3")
    container = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tests.support.introspect import describe_app, import_app_file, lifecycle_method
        module = import_app_file(__import__("pathlib").Path({str(apps["plain"].path)!r}))
        (service,) = describe_app(module).services.values()
        instance = service.user_cls()
        lifecycle_method(service.user_cls, "startup")(instance)
        print("container: serving", flush=True)
        time.sleep(30)
        """
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", container], capture_output=True, text=True, timeout=60
    )
    assert time.monotonic() - started < 20
    assert result.returncode == 1, result.stdout + result.stderr
    assert "container: serving" in result.stdout
    assert "Sidecar alloy exited with code 3: ending the container" in result.stdout
    assert "fatal error: remote write refused (simulated)" in result.stdout

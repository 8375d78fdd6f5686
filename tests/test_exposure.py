"""The three server kinds: what each declares on Modal, and how its clients authenticate.

Apps are generated from specs written here, imported with the real `modal` package and read
back; their start-up and test clients run against the stand-in engine.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from generator.project.project import Project
from tests.support.engine import StandinLog, free_port, kill_processes
from tests.support.facts import DeployedStandin
from tests.support.introspect import (
    Service,
    describe_app,
    endpoint_methods,
    import_app_file,
    lifecycle_method,
)

SPEC = """\
version = 1

[app]
name = "{name}"
class_name = "{service}"

[image]
registry_tag = "lmsysorg/sglang:v0.5.10.post1-cu130-runtime"

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[[volumes]]
name = "huggingface-cache"
mount_path = "/root/.cache/huggingface"

[deep_gemm]
enabled = false

[server]
gpu = {{ type = "H100", count = 1 }}
port = {port}
{server}

[engine]
{engine}

[warmup]
requests = {warmup}
{tail}"""

SPECS: dict[str, dict[str, str]] = {
    "current": {
        "service": "Server",
        "server": """kind = "server"
routing_region = "us-east"
compute_region = ["us-east", "us-west"]
target_concurrency = 12
max_concurrency = 40
min_containers = 1
max_containers = 8
buffer_containers = 2
scaleup_window = 30
scaledown_window = 600
cpu = [4.0, 8.0]
memory = [32768, 65536]
ephemeral_disk = 100000
cloud = "aws"
nonpreemptible = true
startup_timeout = 1200
exit_grace_period = 20
h2_enabled = true""",
        "engine": "",
        "warmup": "1",
    },
    "endpoint": {
        "service": "serve",
        "server": """kind = "web_server"
max_inputs = 32
timeout = 600
region = "us-east"
scaledown_window = 900""",
        "engine": "",
        "warmup": "0",
    },
    "keyed": {
        "service": "Server",
        "server": """kind = "http_server"
proxy_regions = ["us-east"]""",
        "engine": 'api_key_secret = "engine-key"\napi_key_variable = "ENGINE_KEY"',
        "warmup": "1",
    },
    "snapshotted": {
        "service": "Server",
        "server": """kind = "web_server"
target_inputs = 10
max_inputs = 100""",
        "engine": "",
        "warmup": "1",
        "tail": "[lifecycle]\nmemory_snapshot = true\n",
    },
    "classed": {
        "service": "SGLang",
        "server": """kind = "web_server"
on_class = true
max_inputs = 8
max_containers = 2
startup_timeout = 900""",
        "engine": "",
        "warmup": "0",
    },
    "open": {
        "service": "Server",
        "server": """kind = "server"
target_concurrency = 4
startup_timeout = 600
unauthenticated = true""",
        "engine": "",
        "warmup": "1",
    },
}
PROXY_TOKEN = {"MODAL_PROXY_TOKEN_ID": "wk-exposure", "MODAL_PROXY_TOKEN_SECRET": "ws-exposure"}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ModuleType, Service, int]]:
    root = tmp_path_factory.mktemp("exposure")
    (root / "specs").mkdir()
    ports = {}
    for name, settings in SPECS.items():
        ports[name] = free_port()
        text = SPEC.format(name=name, port=ports[name], **{"tail": "", **settings})
        (root / "specs" / f"{name}.toml").write_text(text)
    project = Project(root)
    for output in project.render(project.discover_specs()):
        project.write(output)
    loaded = {}
    for name in SPECS:
        module = import_app_file(root / "generated" / f"{name}.py")
        (service,) = describe_app(module).services.values()
        loaded[name] = (module, service, ports[name])
    return loaded


def test_server_kind_passes_the_whole_surface_to_app_server(apps) -> None:
    _, service, port = apps["current"]
    declared = service.declared
    assert service.decorator == "server"
    assert declared["is_server"]
    assert declared["min_containers"] == 1
    assert declared["max_containers"] == 8
    assert declared["buffer_containers"] == 2
    assert declared["scaledown_window"] == 600
    assert declared["cpu"] == (4.0, 8.0)
    assert declared["memory"] == (32768, 65536)
    assert declared["ephemeral_disk"] == 100000
    assert declared["cloud"] == "aws"
    assert declared["startup_timeout"] == 1200
    assert declared["scheduler_placement"] == {
        "regions": ["us-east", "us-west"],
        "nonpreemptible": True,
    }
    assert declared["http_config"] == {
        "port": port,
        "proxy_regions": ["us-east"],
        "startup_timeout": 1200,
        "exit_grace_period": 20,
        "h2_enabled": True,
    }
    assert declared["autoscaler_settings"]["target_concurrency_float"] == 12
    assert declared["autoscaler_settings"]["scaleup_window"] == 30


def test_server_kind_requires_proxy_auth_unless_told_otherwise(apps) -> None:
    protected = apps["current"][1].declared["http_config"]
    assert "unauthenticated" not in protected  # false: Modal's proxy asks for a token
    assert apps["open"][1].declared["http_config"]["unauthenticated"] is True


def test_web_server_kind_is_a_function_behind_proxy_auth(apps) -> None:
    _, service, port = apps["endpoint"]
    declared = service.declared
    assert service.decorator == "function"
    assert service.user_cls is None
    assert declared["max_concurrent_inputs"] == 32
    assert declared["timeout"] == 600
    assert declared["scaledown_window"] == 900
    assert declared["scheduler_placement"] == {"regions": ["us-east"]}
    webhook = declared["webhook_config"]
    assert webhook["web_server_port"] == port
    assert webhook["web_server_startup_timeout"] == 600
    assert webhook["requires_proxy_auth"] is True


def test_web_server_with_memory_snapshots_is_a_class_whose_method_is_the_endpoint(apps) -> None:
    _, service, port = apps["snapshotted"]
    declared = service.declared
    assert service.decorator == "cls"
    assert declared["enable_memory_snapshot"] is True
    assert declared["experimental_options"] == {"enable_gpu_snapshot": "True"}
    assert declared["max_concurrent_inputs"] == 100
    assert declared["target_concurrent_inputs_int"] == 10
    assert service.lifecycle == {
        "enter_pre_snapshot": ["startup"],
        "enter_post_snapshot": ["wake_up"],
        "exit": ["stop"],
    }
    assert service.user_cls is not None
    (webhook,) = endpoint_methods(service.user_cls).values()
    assert webhook["web_server_port"] == port
    assert webhook["requires_proxy_auth"] is True


def test_web_server_on_a_class_without_snapshots(apps) -> None:
    """`on_class`: `@app.cls` with `@modal.enter` and `@modal.exit`, no snapshot, and a `serve`
    method that is the web endpoint with its own startup_timeout (Modal's sgl_grafana.py)."""
    _, service, port = apps["classed"]
    declared = service.declared
    assert service.decorator == "cls"
    assert declared["enable_memory_snapshot"] is False
    assert declared["max_concurrent_inputs"] == 8
    assert declared["max_containers"] == 2
    assert declared["webhook_config"] is None  # the class's method is the endpoint, not the class
    assert service.lifecycle == {
        "enter_pre_snapshot": [],
        "enter_post_snapshot": ["startup"],
        "exit": ["stop"],
    }
    assert service.user_cls is not None
    (webhook,) = endpoint_methods(service.user_cls).values()
    assert webhook["web_server_port"] == port
    assert webhook["web_server_startup_timeout"] == 900
    assert webhook["requires_proxy_auth"] is True


def test_no_warm_up_step_when_warmup_requests_is_zero(apps) -> None:
    module, _, _ = apps["endpoint"]
    source = Path(module.__file__).read_text()
    assert "warm_up" not in source and "WARMUP" not in source


def run_client(module: ModuleType, standin: StandinLog, port: int, entrypoint: str) -> list[dict]:
    """Start the stand-in on `port`, point the app's URL lookups at it and run a client."""
    standin.clear()
    servers = _start_engine(module, port)
    try:
        url = f"http://127.0.0.1:{port}"
        if entrypoint == "deployed":
            asyncio.run(module.test_deployed("Hello from the deployed client"))
        else:
            app = describe_app(module)
            (service_name,) = app.services
            setattr(module, service_name, DeployedStandin(url))
            asyncio.run(app.entrypoints["main"].function())
    finally:
        kill_processes(servers)
    return standin.requests("/v1/chat/completions")


def _start_engine(module: ModuleType, port: int) -> list[int]:
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "sglang.launch_server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import requests

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.05)
    return [process.pid]


def test_client_fails_at_once_without_a_proxy_token(
    apps, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _, port = apps["current"]
    for variable in PROXY_TOKEN:
        monkeypatch.delenv(variable, raising=False)
    started = time.monotonic()
    with pytest.raises(SystemExit) as failure:
        run_client(module, standin, port, "main")
    assert time.monotonic() - started < 5  # no retrying until the probe's deadline
    message = str(failure.value)
    assert "https://modal.com/settings/proxy-auth-tokens" in message
    assert "MODAL_PROXY_TOKEN_ID" in message and "MODAL_PROXY_TOKEN_SECRET" in message
    assert standin.requests("/v1/chat/completions") == []


@pytest.mark.parametrize("name", ["current", "endpoint", "snapshotted", "classed"])
def test_client_sends_the_proxy_token(
    apps, name: str, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _, port = apps[name]
    for variable, value in PROXY_TOKEN.items():
        monkeypatch.setenv(variable, value)
    (request,) = run_client(module, standin, port, "main")
    assert request["headers"]["Modal-Key"] == "wk-exposure"
    assert request["headers"]["Modal-Secret"] == "ws-exposure"


def test_unauthenticated_app_client_sends_no_token(
    apps, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _, port = apps["open"]
    for variable in PROXY_TOKEN:
        monkeypatch.delenv(variable, raising=False)
    (request,) = run_client(module, standin, port, "main")
    assert "Modal-Key" not in request["headers"]


@pytest.mark.parametrize(
    ("name", "lookup"),
    [
        ("current", "modal.Server.from_name"),
        ("endpoint", "modal.Function.from_name"),
        ("keyed", "modal.Cls.from_name"),
        ("snapshotted", "modal.Cls.from_name"),
        ("classed", "modal.Cls.from_name"),
    ],
)
def test_deployed_client_finds_the_app_by_name(
    apps, name: str, lookup: str, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, service, port = apps[name]
    looked_up: list[tuple[Any, ...]] = []

    def from_name(app_name: str, object_name: str, **_: Any) -> DeployedStandin:
        looked_up.append((app_name, object_name))
        return DeployedStandin(f"http://127.0.0.1:{port}")

    owner, _, attribute = lookup.rpartition(".")
    monkeypatch.setattr(eval(owner, {"modal": module.modal}), attribute, from_name)
    for variable, value in {**PROXY_TOKEN, "ENGINE_KEY": "k-standin"}.items():
        monkeypatch.setenv(variable, value)
    (request,) = run_client(module, standin, port, "deployed")
    assert looked_up == [(name, service.name)]
    user = request["body"]["messages"][-1]
    assert user["content"] == "Hello from the deployed client"


def test_engine_api_key_comes_from_the_secret_at_run_time(
    apps, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, service, _ = apps["keyed"]
    source = Path(module.__file__).read_text()
    assert service.declared["secrets"] == ["engine-key"]
    assert "k-standin" not in source
    monkeypatch.setenv("ENGINE_KEY", "k-standin")
    assert service.user_cls is not None
    instance = service.user_cls()
    for attribute in service.lifecycle["enter_post_snapshot"]:
        lifecycle_method(service.user_cls, attribute)(instance)
    try:
        (launch,) = standin.events("launch_server")
        assert launch["argv"][-2:] == ["--api-key", "k-standin"]
        (warmup,) = standin.requests("/v1/chat/completions")
        assert warmup["headers"]["Authorization"] == "Bearer k-standin"
    finally:
        for attribute in service.lifecycle["exit"]:
            lifecycle_method(service.user_cls, attribute)(instance)


def test_client_sends_the_engine_api_key(
    apps, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _, port = apps["keyed"]
    monkeypatch.delenv("ENGINE_KEY", raising=False)
    with pytest.raises(SystemExit, match="ENGINE_KEY"):
        run_client(module, standin, port, "main")
    monkeypatch.setenv("ENGINE_KEY", "k-standin")
    (request,) = run_client(module, standin, port, "main")
    assert request["headers"]["Authorization"] == "Bearer k-standin"

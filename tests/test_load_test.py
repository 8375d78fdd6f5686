"""The generated load test, run for real against the stand-in engine on loopback.

Apps are rendered from small specs into a temporary project; their `load_test` runs the sweep
against a stand-in with known timings, prints its tables and verdict, and writes the JSON of
every request and the chart into the working directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from generator.project import Project
from tests.support.engine import (
    StandinLog,
    free_port,
    kill_processes,
    standin_environment,
    wait_listening,
)
from tests.support.introspect import describe_app, import_app_file

SPEC = """\
version = 1

[app]
name = "bench-{name}"
class_name = "Server"

[image]
registry_tag = "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[server]
unauthenticated = true
gpu = {{ type = "H100", count = 1 }}
target_inputs = 4
proxy_regions = ["us-east"]
region = "us-east"

[probe]
cli_options = true
session_id = "bench-session"

[bench]
{bench}
"""
BENCHES = {
    # Within the SLO at 4, the target, when TTFT is 50 ms; beyond it at 80 ms.
    "sweep": """\
concurrency = [1, 4]
requests_per_level = 8
warmup_requests = 2
output_tokens = 8
input_tokens = 12
output = "results/sweep.json"
slo = { ttft_p99_ms = 65, tpot_p99_ms = 20 }
""",
    "poisson": """\
prompts = ["Hello there.", "Explain RAID 5."]
concurrency = [2]
requests_per_level = 6
warmup_requests = 0
output_tokens = 4
request_rate = 50.0
in_region = true
""",
    "off": "enabled = false",
}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    root = tmp_path_factory.mktemp("bench")
    (root / "specs").mkdir()
    for name, bench in BENCHES.items():
        (root / "specs" / f"{name}.toml").write_text(SPEC.format(name=name, bench=bench))
    project = Project(root)
    for output in project.render(project.discover_specs()):
        project.write(output)
    return {name: import_app_file(root / "generated" / f"{name}.py") for name in BENCHES}


@pytest.fixture
def start_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Start the stand-in with the settings given; the test runs in `tmp_path`."""
    monkeypatch.chdir(tmp_path)
    log = StandinLog(tmp_path / "standin.jsonl")
    processes = []

    def start(**settings: str) -> str:
        port = free_port()
        environment = {**standin_environment(log.path), **settings}
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "sglang.launch_server", "--port", str(port)],
                env={**os.environ, **environment},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_listening(port)
        return f"http://127.0.0.1:{port}"

    start.log = log  # type: ignore[attr-defined]
    yield start
    kill_processes([process.pid for process in processes])


def run(module: ModuleType, url: str, **options: object) -> int:
    return asyncio.run(
        module.load_test(url, module.client_headers(), module.measure_here, **options)
    )


def test_the_sweep_reports_tables_json_chart_and_the_slo_met(
    apps: dict[str, ModuleType], start_engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = start_engine(STANDIN_TTFT="0.05", STANDIN_ITL="0.01")
    assert run(apps["sweep"], url) == 0
    output = capsys.readouterr().out
    for level in (1, 4):
        assert f"Concurrency {level}: 8/8 requests in " in output
    assert output.count("errors: none; within SLO") == 2
    assert "  ms          p50       p90       p99" in output
    for metric in ("TTFT", "TPOT", "ITL", "E2E"):
        assert f"\n  {metric:<5}" in output
    assert (
        "SLO (no errors, TTFT p99 <= 65 ms, TPOT p99 <= 20 ms): target 4, holds 4 within SLO: met"
        in output
    )

    results = json.loads(Path("results/sweep.json").read_text())
    assert results["met"] is True and results["target"] == 4
    assert [level["concurrency"] for level in results["levels"]] == [1, 4]
    for level in results["levels"]:
        assert level["completed"] == 8 and level["errors"] == {}
        assert 50 <= level["ttft_p50_ms"] < 65
        assert 9 <= level["tpot_p50_ms"] < 13
        requests = level["requests"]
        assert [request["index"] for request in requests] == list(range(8))
        for request in requests:
            assert request["output_tokens"] == 8  # from the usage chunk
            assert len(request["itl_ms"]) == 7
            assert request["e2e_ms"] > request["ttft_ms"]
    assert Path("results/sweep.png").read_bytes().startswith(b"\x89PNG")
    assert "Chart: results/sweep.png" in output
    # Each request names its completion, so the server's own record of it can be found.
    served = {event["id"] for event in start_engine.log.events("chat") if event.get("id")}
    measured = [request["id"] for level in results["levels"] for request in level["requests"]]
    assert len(set(measured)) == 16 and set(measured) <= served
    assert all(request["started_at"] > 0 for request in results["levels"][0]["requests"])

    chats = start_engine.log.requests("/v1/chat/completions")
    assert len(chats) == 2 + 16  # the warm-up is sent, not counted
    body = chats[-1]["body"]
    assert body["max_tokens"] == 8 and body["ignore_eos"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert len(body["messages"][0]["content"].split()) == 12
    assert len({chat["body"]["messages"][0]["content"] for chat in chats}) == 18
    assert all(chat["headers"]["Modal-Session-Id"] == "bench-session" for chat in chats)


def test_a_level_beyond_the_slo_fails_the_verdict(
    apps: dict[str, ModuleType], start_engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = start_engine(STANDIN_TTFT="0.08", STANDIN_ITL="0.01")
    assert run(apps["sweep"], url) == 1
    output = capsys.readouterr().out
    assert output.count("NOT within SLO") == 2
    assert "target 4, no level within SLO: NOT met" in output
    assert json.loads(Path("results/sweep.json").read_text())["met"] is False


def test_errors_mid_run_are_counted_and_the_run_goes_on(
    apps: dict[str, ModuleType], start_engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = start_engine(STANDIN_ERROR_EVERY="5", STANDIN_TTFT="0.01")
    assert run(apps["sweep"], url) == 1
    output = capsys.readouterr().out
    results = json.loads(Path("results/sweep.json").read_text())
    errors = [level["errors"].get("HTTP 500", 0) for level in results["levels"]]
    completed = [level["completed"] for level in results["levels"]]
    # Requests 5, 10, 15 of the 18 sent fail: the last two of the warm-up-free count.
    assert sum(errors) == 3 and sum(completed) == 13
    assert "errors: 1 HTTP 500" in output or "errors: 2 HTTP 500" in output
    assert "NOT met" in output


def test_spec_prompts_poisson_arrivals_and_no_chart_without_matplotlib(
    apps: dict[str, ModuleType], start_engine, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = start_engine()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # an ImportError, as if not installed
    module = apps["poisson"]
    # In-region, each level's shards go to `load_generator` on Modal: here they are sent from
    # this machine, as the Function's body sends them.
    results = asyncio.run(module.generate_load(url, module.client_headers(), module.measure_here))
    assert module.report(results) == 1  # no SLO limits, but 2 in flight is below the target 4
    output = capsys.readouterr().out
    assert "SLO (no errors): target 4, holds 2 within SLO: NOT met" in output
    assert "No chart: matplotlib is not installed here. `pip install matplotlib`" in output
    assert "bench/bench-poisson.png" in output and not Path("bench/bench-poisson.png").exists()
    (level,) = json.loads(Path("bench/bench-poisson.json").read_text())["levels"]
    sent = [request["sent_ms"] for request in level["requests"]]
    assert sent == sorted(sent) and sent[-1] > 40  # 6 arrivals at 50/s: about 120 ms
    prompts = [chat["body"]["messages"][0]["content"] for chat in start_engine.log.requests()]
    # The spec's prompts take turns; two requests in flight may reach the server in either order.
    assert sorted(prompts) == sorted(["Hello there.", "Explain RAID 5."] * 3)


def test_declarations(apps: dict[str, ModuleType]) -> None:
    described = {name: describe_app(module) for name, module in apps.items()}
    # The load test adds no local entrypoint, only `--bench` on the probe's.
    for app in described.values():
        assert list(app.entrypoints) == ["main"]
    assert described["sweep"].entrypoints["main"].parameters == {
        "test_timeout": 600,
        "prompt": None,
        "bench": False,
    }
    assert "bench" not in described["off"].entrypoints["main"].parameters
    assert not hasattr(apps["off"], "load_test")
    # In the serving region, a CPU-only Function runs the same load generator.
    assert "load_generator" not in described["sweep"].services
    generator = described["poisson"].services["load_generator"]
    assert generator.declared["gpu"] is None
    assert generator.declared["scheduler_placement"] == {"regions": ["us-east"]}
    assert generator.image.layers[-1] == {"dockerfile": ["RUN python -m pip install aiohttp"]}

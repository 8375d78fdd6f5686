"""The generated load test, run for real against the stand-in engine on loopback.

Apps are rendered from small specs into a temporary project; their `load_test` runs the sweep
against a stand-in with known timings, prints its tables and verdict, and writes the JSON of
every request and the chart into the working directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from generator.project.project import Project
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
    # 6 arrivals at 50/s, the same whichever process sends each: about 120 ms.
    arrivals, due = random.Random(0), 0.0  # seeded by the level's first request
    for request in sent:
        due += 1000 * arrivals.expovariate(50.0)
        assert due <= request < due + 15
    assert sent[-1] > 40
    chats = start_engine.log.requests("/v1/chat/completions")
    prompts = [chat["body"]["messages"][0]["content"] for chat in chats]
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
        # The worker-process load test's options, passed on to `load_test`.
        "workers": None,
        "compare": None,
        "tolerance": 10.0,
        "peak_rate": None,
    }
    assert "bench" not in described["off"].entrypoints["main"].parameters
    assert not hasattr(apps["off"], "load_test")
    # In the serving region, a CPU-only Function runs the same load generator.
    assert "load_generator" not in described["sweep"].services
    generator = described["poisson"].services["load_generator"]
    assert generator.declared["gpu"] is None
    assert generator.declared["scheduler_placement"] == {"regions": ["us-east"]}
    assert generator.image.layers[-1] == {"dockerfile": ["RUN python -m pip install aiohttp"]}


def test_worker_processes_send_their_shares_and_the_timings_are_merged(
    apps: dict[str, ModuleType], start_engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = start_engine(STANDIN_TTFT="0.02", STANDIN_ITL="0.005")
    module = apps["sweep"]
    results = asyncio.run(
        module.generate_load(url, module.client_headers(), module.measure_here, 2)
    )
    one, four = results["levels"]
    # Level 1 has one slot, so one process; level 4 two, with two slots each.
    assert [worker["slots"] for worker in one["workers"]] == [1]
    assert [worker["slots"] for worker in four["workers"]] == [2, 2]
    for worker in four["workers"]:
        assert worker["lag_p50_ms"] is not None and worker["lag_max_ms"] >= worker["lag_p99_ms"]
    # Every request of the level once, in order, whichever process sent it.
    assert [request["index"] for request in four["requests"]] == list(range(8))
    assert four["completed"] == 8 and four["errors"] == {}
    ids = {request["id"] for request in four["requests"]}
    assert len(ids) == 8
    # The requests reached the server from two processes, with their own connections.
    served = [e for e in start_engine.log.events("chat") if e.get("id") in ids]
    assert len(served) == 8 and len({event["accepted_at"] for event in served}) >= 2
    for request in four["requests"]:
        assert 0 <= request["connected_ms"] <= request["written_ms"] <= request["first_byte_ms"]
        assert request["first_byte_ms"] < request["ttft_ms"]
    # Each process opened a connection per slot before the level started (asking for the model
    # list), and its requests went over those: none was the first on its connection.
    assert len(start_engine.log.requests("/v1/models", "GET")) == 1 + 4
    assert all(event["connection_request"] > 1 for event in served)
    # The slots started one after another over the ramp-up (100 ms by default), not at once.
    assert module.BENCH_RAMP_UP == 0.1
    for request in four["requests"][:4]:
        assert request["sent_ms"] >= 1000 * module.BENCH_RAMP_UP * request["index"] / 4 - 1
    assert four["first_byte_p50_ms"] is not None
    assert module.report(results) == 0
    output = capsys.readouterr().out
    assert "  load generator: 2 process(es), " in output
    assert "  client p50 ms from start: connected " in output


def test_merging_shares_orders_requests_and_counts_from_the_first_start(
    apps: dict[str, ModuleType],
) -> None:
    merge = apps["sweep"].merge_shares
    lag = {"slots": 1, "lag_p50_ms": 0.1, "lag_p90_ms": 0.2, "lag_p99_ms": 0.3, "lag_max_ms": 1.0}
    shares = [
        {
            "requests": [{"index": 1, "sent_ms": 0.0}, {"index": 3, "sent_ms": 5.0}],
            "started_at": 100.5,
            "duration_s": 2.0,
            "cpu_s": 0.25,
            "workers": [lag],
        },
        {
            "requests": [{"index": 0, "sent_ms": 1.0}, {"index": 2, "sent_ms": 2.0}],
            "started_at": 100.0,
            "duration_s": 1.0,
            "cpu_s": 0.5,
            "workers": [{**lag, "slots": 2}],
        },
    ]
    merged = merge(shares)
    assert [(r["index"], r["sent_ms"]) for r in merged["requests"]] == [
        (0, 1.0),
        (1, 500.0),
        (2, 2.0),
        (3, 505.0),
    ]
    assert merged["started_at"] == 100.0
    assert merged["duration_s"] == 2.5  # from the first start to the last end
    assert merged["cpu_s"] == 0.75
    assert [worker["slots"] for worker in merged["workers"]] == [1, 2]
    # Merging merged shards (the containers of a level) is the same merge.
    assert merge([merged])["requests"] == merged["requests"]


def test_in_region_levels_beyond_a_container_are_sharded(
    apps: dict[str, ModuleType], start_engine
) -> None:
    module = apps["poisson"]
    per_container = module.BENCH_STREAMS_PER_CONTAINER
    job = module.bench_job("http://x", {}, 2 * per_container + 1, 7)
    shards = module.level_shards(job, 99)
    assert len(shards) == 3
    slots = sorted(slot for shard in shards for slot in shard["slots"])
    assert slots == list(range(2 * per_container + 1))
    assert all(len(shard["slots"]) <= per_container for shard in shards)
    assert {shard["workers"] for shard in shards} == {module.BENCH_CONTAINER_WORKERS}
    assert {shard["first"] for shard in shards} == {7}
    (small,) = module.level_shards(module.bench_job("http://x", {}, 2, 0), 99)
    assert small["slots"] == [0, 1]
    # The Function's body sends a shard from its container's processes.
    url = start_engine()
    shard = {**module.bench_job(url, module.client_headers(), 2, 0), "slots": [0, 1], "workers": 2}
    share = asyncio.run(module.load_generator.local(shard))
    assert [request["index"] for request in share["requests"]] == list(range(6))
    assert len(share["workers"]) == 2


def test_the_spec_change_for_the_capacity_and_max_containers_for_a_peak(
    apps: dict[str, ModuleType], start_engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = start_engine(STANDIN_TTFT="0.05", STANDIN_ITL="0.01")
    assert run(apps["sweep"], url, peak_rate=50.0) == 0
    output = capsys.readouterr().out
    results = json.loads(Path("results/sweep.json").read_text())
    throughput = results["levels"][1]["request_throughput"]
    replicas = -(-50.0 // throughput)
    assert (
        "To size the server for 4 requests in flight per replica (the sweep's highest level: "
        "it may hold more), in specs/sweep.toml:\n"
        "  [server]\n"
        "  target_inputs = 4\n"
        f"  max_containers = {replicas:.0f}  # 50 req/s at {throughput:.2f} req/s per replica\n"
    ) in output
    # Nothing within the SLO: no change to suggest.
    url = start_engine(STANDIN_TTFT="0.08", STANDIN_ITL="0.01")
    assert run(apps["sweep"], url) == 1
    assert "To size the server" not in capsys.readouterr().out


def test_compare_reports_regressions_beyond_the_tolerance(
    apps: dict[str, ModuleType], start_engine, capsys: pytest.CaptureFixture[str]
) -> None:
    module = apps["sweep"]
    url = start_engine(STANDIN_TTFT="0.02", STANDIN_ITL="0.005")
    assert run(module, url) == 0
    baseline = json.loads(Path("results/sweep.json").read_text())
    Path("old.json").write_text(json.dumps(baseline))
    capsys.readouterr()
    # The same server again: within the tolerance.
    assert run(module, url, compare="old.json", tolerance=50.0) == 0
    assert "Against old.json: no regression(s) beyond 50%" in capsys.readouterr().out
    # A baseline much faster at level 4, and one that measured a level not swept now.
    faster = json.loads(json.dumps(baseline))
    faster["levels"][1]["ttft_p50_ms"] /= 3
    faster["levels"][1]["output_throughput"] *= 3
    faster["levels"].append({**faster["levels"][1], "concurrency": 64})
    Path("faster.json").write_text(json.dumps(faster))
    assert run(module, url, compare="faster.json", tolerance=50.0) == 1
    output = capsys.readouterr().out
    assert "Concurrency 4: ttft_p50_ms " in output and "Concurrency 4: output_throughput " in output
    assert "Concurrency 1: " not in output.split("Every request's timings")[1]
    assert "Concurrency 64: not measured this time" in output
    assert "Against faster.json: 3 regression(s) beyond 50%" in output
    # New errors are a regression whatever the tolerance.
    errors = module.compare_levels(
        baseline["levels"],
        [{**baseline["levels"][0], "completed": 7, "errors": {"HTTP 500": 1}}],
        1000,
    )
    assert errors[0] == "Concurrency 1: errors {'HTTP 500': 1}, none before"


@pytest.mark.parametrize(
    ("app_file", "expected"),
    [
        # A YAML spec, its server section as YAML writes it.
        (
            "generated/qwen35_low_latency.py",
            "in specs/qwen35_low_latency.yaml:\n  server:\n    target_inputs: 24\n"
            "    max_containers: 3  # 100 req/s at 40.00 req/s per replica\n",
        ),
        # A Modal Server: its concurrency target is `target_concurrency`.
        (
            "examples/modal-examples/generated/sglang_vlm.py",
            "in specs/sglang_vlm.toml:\n  [server]\n  target_concurrency = 24\n"
            "  max_containers = 3  # 100 req/s at 40.00 req/s per replica\n",
        ),
    ],
)
def test_the_spec_change_is_written_in_the_spec_s_format_and_the_kind_s_field(
    app_file: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = import_app_file(Path(__file__).parent.parent / app_file)
    module.print_spec_change({"concurrency": 24, "request_throughput": 40.0}, False, 100.0)
    assert expected in capsys.readouterr().out

"""Workloads (chat, completion, embedding, rerank) and LoRA adapters, run for real against the
stand-in.

Apps are rendered from small specs into a temporary project. Their server command is read from
the imported module; their build steps, start-up, warm-up, probe (the `modal run` entrypoint)
and shut-down run as the equivalence tests run them (`observe_app`); their deployed client and
load test talk to a stand-in started with the same command line. The reproduction of Modal's
sglang_embeddings.py is compared with the facts recorded from it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from generator.project.project import Project
from tests.conftest import ROOT
from tests.support.engine import (
    StandinLog,
    free_port,
    kill_processes,
    standin_environment,
    wait_listening,
    wait_port_free,
)
from tests.support.facts import DeployedStandin, differences, observe_app
from tests.support.introspect import import_app_file
from tests.test_generated_apps import (
    PROXY_TOKEN,
    gpu_count_written_out,
    restore_method_named_wake_up,
    sglang_options_in_any_order,
)

SGLANG = 'registry_tag = "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"'
HEADER = """\
version = 1

[app]
name = "wl-{name}"
class_name = "Server"

[image]
{image}

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"
{model}

[[volumes]]
name = "huggingface-cache"
mount_path = "/root/.cache/huggingface"

[deep_gemm]
enabled = false

[server]
unauthenticated = true
gpu = {{ type = "H100", count = 1 }}
target_inputs = 2
proxy_regions = ["us-east"]

[engine]
kind = "{engine}"

{rest}
"""
ADAPTERS = """\
[[model.adapters]]
name = "sql"
repo = "org/sql-lora"
revision = "1111111111111111111111111111111111111111"

[[model.adapters]]
name = "chess"
repo = "org/chess-lora"
revision = "2222222222222222222222222222222222222222"
"""
EMBEDDING_BENCH = """\
[bench]
concurrency = [1, 2]
batch_sizes = [1, 4]
requests_per_level = 4
warmup_requests = 1
input_tokens = 8
output = "results/embed.json"
slo = { latency_p99_ms = 500 }
"""
RERANK_BENCH = """\
[bench]
concurrency = [1, 2]
batch_sizes = [2, 8]
requests_per_level = 4
warmup_requests = 1
input_tokens = 8
output = "results/rerank.json"
slo = { latency_p99_ms = 500 }
"""
SPECS = {
    "embed-sglang": dict(image=SGLANG, engine="sglang", rest='[workload]\nkind = "embedding"\n'),
    "embed-vllm-old": dict(
        image='registry_tag = "vllm/vllm-openai:v0.9.1"',
        engine="vllm",
        rest=f'[workload]\nkind = "embedding"\n\n{EMBEDDING_BENCH}',
    ),
    "embed-vllm-new": dict(
        image='registry_tag = "vllm/vllm-openai:v0.11.2"',
        engine="vllm",
        rest=f'[workload]\nkind = "embedding"\n\n{EMBEDDING_BENCH}',
    ),
    "swapped": dict(
        image=SGLANG,
        engine="sglang",
        rest='[workload]\nkind = "embedding"\n'
        'queries = ["Where is Paris?", "Who plays chess?"]\n'
        'documents = ["Chess players play chess.", "Paris is in France."]\n',
    ),
    "completion-lora": dict(
        image='registry_tag = "vllm/vllm-openai:v0.11.2"',
        model=f"max_lora_rank = 16\nmax_adapters_per_batch = 2\n\n{ADAPTERS}",
        engine="vllm",
        rest='[workload]\nkind = "completion"\n\n[probe]\nadapter = "sql"\n\n[bench]\n'
        'adapters = ["sql", "chess"]\nconcurrency = [1, 2]\nrequests_per_level = 4\n'
        "warmup_requests = 0\noutput_tokens = 4\ninput_tokens = 8\n"
        'output = "results/completion.json"\n',
    ),
    "rerank-sglang": dict(image=SGLANG, engine="sglang", rest='[workload]\nkind = "rerank"\n'),
    "rerank-vllm-old": dict(
        image='registry_tag = "vllm/vllm-openai:v0.9.1"',
        engine="vllm",
        rest=f'[workload]\nkind = "rerank"\n\n{RERANK_BENCH}',
    ),
    "rerank-vllm-new": dict(
        image='registry_tag = "vllm/vllm-openai:v0.11.2"',
        engine="vllm",
        rest=f'[workload]\nkind = "rerank"\n\n{RERANK_BENCH}',
    ),
    # The relevant document is not the first: the check must fail.
    "rerank-misordered": dict(
        image=SGLANG,
        engine="sglang",
        rest='[workload]\nkind = "rerank"\nquery = "Where is Paris?"\n'
        'documents = ["Chess players play chess.", "Paris is in France."]\n',
    ),
    "chat-lora-sglang": dict(
        image=SGLANG,
        model=ADAPTERS,
        engine="sglang",
        rest='[probe]\nadapter = "chess"\n',
    ),
}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("workloads")
    (root / "specs").mkdir()
    for name, parts in SPECS.items():
        spec = HEADER.format(name=name, **{"model": "", **parts})
        (root / "specs" / f"{name.replace('-', '_')}.toml").write_text(spec)
    project = Project(root)
    for output in project.render(project.discover_specs()):
        project.write(output)
    return {name: root / "generated" / f"{name.replace('-', '_')}.py" for name in SPECS}


def server_command(path: Path) -> list[str]:
    return list(import_app_file(path).SERVER_COMMAND)


def after(command: list[str], flag: str, count: int = 1) -> list[str]:
    index = command.index(flag)
    return command[index + 1 : index + 1 + count]


def test_each_engine_version_gets_its_own_task_flags(apps: dict[str, Path]) -> None:
    assert "--is-embedding" in server_command(apps["embed-sglang"])
    # vLLM 0.10.1 added the pooling runner and deprecated `--task`, which 0.13 removed.
    old = server_command(apps["embed-vllm-old"])
    assert after(old, "--task") == ["embed"] and "--runner" not in old
    new = server_command(apps["embed-vllm-new"])
    assert after(new, "--runner") == ["pooling"] and "--task" not in new
    for name in ("completion-lora", "chat-lora-sglang"):
        command = server_command(apps[name])
        assert "--is-embedding" not in command and "--runner" not in command
    # A cross-encoder: SGLang's embedding runner; vLLM's `--task score`, then the pooling runner.
    assert "--is-embedding" in server_command(apps["rerank-sglang"])
    old = server_command(apps["rerank-vllm-old"])
    assert after(old, "--task") == ["score"] and "--runner" not in old
    new = server_command(apps["rerank-vllm-new"])
    assert after(new, "--runner") == ["pooling"] and "--task" not in new


def test_adapters_are_passed_as_each_engine_expects(apps: dict[str, Path]) -> None:
    cache = "/root/.cache/huggingface/hub"
    paths = [
        f"sql={cache}/lora-adapters/org--sql-lora/{'1' * 40}",
        f"chess={cache}/lora-adapters/org--chess-lora/{'2' * 40}",
    ]
    vllm = server_command(apps["completion-lora"])
    assert "--enable-lora" in vllm
    assert after(vllm, "--lora-modules", 2) == paths
    assert after(vllm, "--max-lora-rank") == ["16"] and after(vllm, "--max-loras") == ["2"]
    sglang = server_command(apps["chat-lora-sglang"])
    assert "--enable-lora" in sglang and after(sglang, "--lora-paths", 2) == paths
    assert "--max-loras-per-batch" not in sglang  # the engine's default unless set


@pytest.fixture
def observe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    log = StandinLog(tmp_path / "standin.jsonl")
    for key, value in standin_environment(log.path).items():
        monkeypatch.setenv(key, value)

    def run(path: Path) -> dict[str, Any]:
        wait_port_free(8000)
        return observe_app(path, log, monkeypatch)["observed"]["Server"]

    yield run
    log.kill_servers()


def test_embedding_app_warms_up_probes_and_checks_similarity(
    apps: dict[str, Path], observe, capsys: pytest.CaptureFixture[str]
) -> None:
    observed = observe(apps["embed-sglang"])
    warmups = [r for r in observed["startup_requests"] if r["method"] == "POST"]
    assert [r["path"] for r in warmups] == ["/v1/embeddings"] * 2
    assert warmups[0]["body"] == {"model": "Qwen/Qwen3-8B", "input": "Hello, how are you?"}
    single, pairs = observed["client_requests"]
    assert single["body"]["input"] == ["Hello, how are you?"]
    assert len(pairs["body"]["input"]) == 4 and pairs["body"]["encoding_format"] == "float"
    output = capsys.readouterr().out
    assert "64 dimensions in " in output
    assert "Similarity check passed: each query is nearest its own document" in output


def test_the_similarity_check_fails_when_a_query_is_nearer_another_document(
    apps: dict[str, Path], engine
) -> None:
    module = import_app_file(apps["swapped"])
    url = engine(module)
    with pytest.raises(RuntimeError, match=r"queries \[0, 1\] are nearer another document"):
        asyncio.run(module.probe(url, "Hello", {}, timeout=5))


def test_completion_app_downloads_adapters_and_probes_one(
    apps: dict[str, Path], observe, capsys: pytest.CaptureFixture[str]
) -> None:
    observed = observe(apps["completion-lora"])
    (step,) = observed["build_steps"]
    assert step["name"] == "download_adapters"
    downloads = [(e["repo_id"], e["revision"], e["local_dir"]) for e in step["events"]]
    # Each into the folder the server command names.
    command = server_command(apps["completion-lora"])
    folders = [path.split("=", 1)[1] for path in after(command, "--lora-modules", 2)]
    assert downloads == [
        ("org/sql-lora", "1" * 40, folders[0]),
        ("org/chess-lora", "2" * 40, folders[1]),
    ]
    (warmup, *_) = [r for r in observed["startup_requests"] if r["method"] == "POST"]
    assert warmup["path"] == "/v1/completions"
    assert warmup["body"]["model"] == "Qwen/Qwen3-8B"  # the base model
    (request,) = observed["client_requests"]
    assert request["path"] == "/v1/completions"
    assert request["body"] == {"model": "sql", "prompt": "Hello, how are you?", "stream": True}
    assert "Hello from the stand-in." in capsys.readouterr().out


def test_sglang_chat_asks_for_its_adapter_by_lora_path(apps: dict[str, Path], observe) -> None:
    (request,) = observe(apps["chat-lora-sglang"])["client_requests"]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["lora_path"] == "chess" and "model" not in request["body"]


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start the stand-in with the app's own server command, on a free port."""
    monkeypatch.chdir(tmp_path)
    log = StandinLog(tmp_path / "standin.jsonl")
    pids: list[int] = []

    def start(module: ModuleType, **settings: str) -> str:
        port = free_port()
        command = [str(part) for part in module.SERVER_COMMAND]
        command[command.index("--port") + 1] = str(port)
        if command[0] == "python":
            command[0] = sys.executable
        environment = {**os.environ, **standin_environment(log.path), **settings}
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        pids.append(process.pid)
        wait_listening(port)
        return f"http://127.0.0.1:{port}"

    start.log = log  # type: ignore[attr-defined]
    yield start
    kill_processes(pids)


def test_deployed_embedding_client_embeds_the_prompt(
    apps: dict[str, Path], engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = import_app_file(apps["embed-sglang"])
    url = engine(module)
    monkeypatch.setattr(module.modal.Cls, "from_name", lambda *_, **__: DeployedStandin(url))
    asyncio.run(module.test_deployed("Embed me"))
    first, _ = engine.log.requests("/v1/embeddings")
    assert first["body"]["input"] == ["Embed me"]


def test_embedding_load_test_reports_each_batch_size_and_level(
    apps: dict[str, Path], engine, capsys: pytest.CaptureFixture[str]
) -> None:
    module = import_app_file(apps["embed-vllm-new"])
    url = engine(module, STANDIN_TTFT="0.01")
    assert asyncio.run(module.load_test(url, module.client_headers(), module.measure_here)) == 0
    output = capsys.readouterr().out
    for batch in (1, 4):
        for level in (1, 2):
            assert f"Batch size {batch}, concurrency {level}: 4/4 requests in " in output
        assert f"  batch size {batch}: holds 2 within SLO: met" in output
    assert "SLO (no errors, latency p99 <= 500 ms): target 2" in output
    results = json.loads(Path("results/embed.json").read_text())
    assert results["met"] is True
    for level in results["levels"]:
        assert level["errors"] == {} and level["completed"] == 4
        # 8 words a text, each about one token: the stand-in's usage.
        assert level["input_token_throughput"] == pytest.approx(
            8 * level["text_throughput"], rel=1e-6
        )
        assert 10 <= level["latency_p50_ms"] < 500
    sizes = [len(r["body"]["input"]) for r in engine.log.requests("/v1/embeddings")]
    assert sizes == [1] + [1] * 8 + [4] * 8  # the uncounted warm-up, then each batch size
    # Sent as the streaming load test sends its levels: by worker processes, one per slot here
    # at most, on connections each opened before the level (asking for the model list).
    two = min(2, os.cpu_count() or 1)  # processes at level 2: one per core, one per slot at most
    assert [len(level["workers"]) for level in results["levels"]] == [1, two, 1, two]
    assert len(engine.log.requests("/v1/models", "GET")) == 2 * (1 + 2)
    assert output.count("  load generator: ") == 4
    texts = [text for r in engine.log.requests("/v1/embeddings")[1:] for text in r["body"]["input"]]
    assert len(set(texts)) == len(texts)  # every text of the run once, whichever worker sent it


def test_embedding_load_test_misses_its_slo_when_slow(
    apps: dict[str, Path], engine, capsys: pytest.CaptureFixture[str]
) -> None:
    module = import_app_file(apps["embed-vllm-new"])
    url = engine(module, STANDIN_TTFT="0.6")
    assert asyncio.run(module.load_test(url, module.client_headers(), module.measure_here)) == 1
    assert "batch size 1: no level within SLO: NOT met" in capsys.readouterr().out


def test_completion_load_test_spreads_requests_over_the_adapters(
    apps: dict[str, Path], engine, capsys: pytest.CaptureFixture[str]
) -> None:
    module = import_app_file(apps["completion-lora"])
    url = engine(module)
    asyncio.run(module.load_test(url, module.client_headers(), module.measure_here))
    output = capsys.readouterr().out
    assert output.count("errors: none") == 2
    bodies = [r["body"] for r in engine.log.requests("/v1/completions")]
    # Request `n` asks for adapter `n % 2`, whichever worker process sends it.
    assert sorted(body["model"] for body in bodies) == ["chess"] * 4 + ["sql"] * 4
    assert all(body["max_tokens"] == 4 and len(body["prompt"].split()) == 8 for body in bodies)
    results = json.loads(Path("results/completion.json").read_text())
    assert all(r["output_tokens"] == 4 for level in results["levels"] for r in level["requests"])


def test_an_adapter_the_engine_does_not_serve_gets_its_404(
    apps: dict[str, Path], engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = import_app_file(apps["completion-lora"])
    command = list(module.SERVER_COMMAND)
    del command[command.index("--lora-modules") : command.index("--max-lora-rank")]
    monkeypatch.setattr(module, "SERVER_COMMAND", command)
    url = engine(module)
    with pytest.raises(aiohttp.ClientResponseError) as failure:
        asyncio.run(module.probe(url, "Hi", {}, timeout=5))
    assert failure.value.status == 404  # not retried: only 503 is
    (request,) = engine.log.requests("/v1/completions")
    assert request["body"]["model"] == "sql"


@pytest.mark.parametrize("name", ["rerank-sglang", "rerank-vllm-new"])
def test_rerank_app_warms_up_probes_and_checks_the_ranking(
    apps: dict[str, Path], observe, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    from generator.workloads.section import DEFAULT_RERANK_DOCUMENTS, DEFAULT_RERANK_QUERY

    observed = observe(apps[name])
    warmups = [r for r in observed["startup_requests"] if r["method"] == "POST"]
    assert [r["path"] for r in warmups] == ["/v1/rerank"] * 2
    assert warmups[0]["body"] == {
        "model": "Qwen/Qwen3-8B",
        "query": "Hello, how are you?",
        "documents": DEFAULT_RERANK_DOCUMENTS,
    }
    prompt, check = observed["client_requests"]
    assert prompt["path"] == check["path"] == "/v1/rerank"
    assert prompt["body"]["query"] == "Hello, how are you?"
    assert prompt["body"]["documents"] == DEFAULT_RERANK_DOCUMENTS
    # The check asks for the spec's query with the documents reversed: the relevant one last.
    assert check["body"]["query"] == DEFAULT_RERANK_QUERY
    assert check["body"]["documents"] == DEFAULT_RERANK_DOCUMENTS[::-1]
    output = capsys.readouterr().out
    assert "2 documents ranked in " in output
    assert "Rerank check passed: the relevant document ranks first" in output


def test_the_rerank_check_fails_when_another_document_ranks_first(
    apps: dict[str, Path], engine
) -> None:
    module = import_app_file(apps["rerank-misordered"])
    url = engine(module)
    with pytest.raises(RuntimeError, match=r"document 1 ranks first, not the relevant one"):
        asyncio.run(module.probe(url, "Hello", {}, timeout=5))


def test_a_rerank_answer_in_the_order_sent_fails_the_check(
    apps: dict[str, Path], engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine that scores every document alike keeps the order it was sent: the check sends
    the relevant document last, so that such an answer fails."""
    module = import_app_file(apps["rerank-sglang"])
    url = engine(module)
    monkeypatch.setattr(module, "RERANK_QUERY", "?")  # no word: every score is 0
    with pytest.raises(RuntimeError, match=r"Rerank check failed: .* document 1 ranks first"):
        asyncio.run(module.probe(url, "Hello", {}, timeout=5))


def test_a_rerank_request_to_a_generation_model_is_refused(
    apps: dict[str, Path], engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = import_app_file(apps["rerank-vllm-new"])
    command = list(module.SERVER_COMMAND)
    del command[command.index("--runner") : command.index("--runner") + 2]
    monkeypatch.setattr(module, "SERVER_COMMAND", command)
    url = engine(module)
    with pytest.raises(aiohttp.ClientResponseError) as failure:
        asyncio.run(module.probe(url, "Hi", {}, timeout=5))
    assert failure.value.status == 400


def test_deployed_rerank_client_ranks_for_the_prompt(
    apps: dict[str, Path], engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = import_app_file(apps["rerank-vllm-old"])
    url = engine(module)
    monkeypatch.setattr(module.modal.Cls, "from_name", lambda *_, **__: DeployedStandin(url))
    asyncio.run(module.test_deployed("Where do pandas live?"))
    first, _ = engine.log.requests("/v1/rerank")
    assert first["body"]["query"] == "Where do pandas live?"


def test_rerank_load_test_reports_each_batch_size_and_level(
    apps: dict[str, Path], engine, capsys: pytest.CaptureFixture[str]
) -> None:
    module = import_app_file(apps["rerank-vllm-new"])
    url = engine(module, STANDIN_TTFT="0.01")
    assert asyncio.run(module.load_test(url, module.client_headers(), module.measure_here)) == 0
    output = capsys.readouterr().out
    for batch in (2, 8):
        for level in (1, 2):
            assert f"Batch size {batch}, concurrency {level}: 4/4 requests in " in output
        assert f"  batch size {batch}: holds 2 within SLO: met" in output
    assert "SLO (no errors, latency p99 <= 500 ms): target 2" in output
    results = json.loads(Path("results/rerank.json").read_text())
    assert results["met"] is True
    for level in results["levels"]:
        assert level["errors"] == {} and level["completed"] == 4
        assert level["document_throughput"] == pytest.approx(
            level["batch_size"] * level["request_throughput"], rel=1e-6
        )
        assert 10 <= level["latency_p50_ms"] < 500
    bodies = [r["body"] for r in engine.log.requests("/v1/rerank")]
    assert [len(body["documents"]) for body in bodies] == [1] + [2] * 8 + [8] * 8
    assert {body["query"] for body in bodies} == {module.BENCH_QUERY}
    assert all(len(d.split()) == 8 for body in bodies for d in body["documents"])


def test_rerank_load_test_misses_its_slo_when_slow(
    apps: dict[str, Path], engine, capsys: pytest.CaptureFixture[str]
) -> None:
    module = import_app_file(apps["rerank-sglang"])
    url = engine(module, STANDIN_TTFT="0.01")
    module.BENCH_SLO = {"latency_p99_ms": 1.0}  # no answer is that fast
    assert asyncio.run(module.load_test(url, module.client_headers(), module.measure_here)) == 1
    assert "no level within SLO: NOT met" in capsys.readouterr().out


# ## The reproduction of Modal's sglang_embeddings.py

UPSTREAM_FACTS = (
    ROOT / "tests" / "fixtures" / "reference_facts" / "upstream__sglang_embeddings.json"
)
EMBEDDINGS_APP = ROOT / "examples" / "modal-examples" / "generated" / "sglang_embeddings.py"


def defaults_written_out(facts: dict[str, Any]) -> None:
    """The generated command writes out two of SGLang's defaults: the served model name (the
    model) and `--tp-size 1`."""
    for observed in facts["observed"].values():
        for launch in observed["launches"]:
            argv = launch["argv"]
            argv += ["--served-model-name", argv[argv.index("--model-path") + 1], "--tp-size", "1"]


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    log = StandinLog(tmp_path_factory.mktemp("embeddings") / "standin.jsonl")
    same_meaning = sglang_options_in_any_order("0.5.6.post2")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in standin_environment(log.path).items():
            monkeypatch.setenv(key, value)
        try:
            wait_port_free(8000)
            actual = observe_app(EMBEDDINGS_APP, log, monkeypatch)
        finally:
            log.kill_servers()
    expected = json.loads(UPSTREAM_FACTS.read_text(encoding="utf-8"))
    expected.pop("reference")
    for fix in (gpu_count_written_out, restore_method_named_wake_up):
        fix(expected)
    defaults_written_out(expected)
    same_meaning(expected)
    same_meaning(actual)
    return expected, actual


def test_sglang_embeddings_declares_what_the_example_declares(reproduction) -> None:
    expected, actual = reproduction
    for key in ("app_name", "entrypoints", "services"):
        assert differences({key: expected[key]}, {key: actual[key]}) == []


def test_sglang_embeddings_builds_launches_and_warms_up_like_the_example(reproduction) -> None:
    expected, actual = reproduction
    for name, service in expected["observed"].items():
        ours = actual["observed"][name]
        assert ours["launches"] and ours["startup_requests"]
        for key in ("build_steps", "launches", "startup_requests"):
            assert differences({key: service[key]}, {key: ours[key]}) == [], key


def test_a_changed_launch_fact_is_named(reproduction) -> None:
    expected, actual = copy.deepcopy(reproduction[0]), reproduction[1]
    ((name, service),) = expected["observed"].items()
    service["launches"][0]["argv"]["options"].remove(["--is-embedding", []])
    (found,) = differences(service["launches"], actual["observed"][name]["launches"])
    assert found.startswith("[0].argv.options")


def test_the_lora_example_downloads_its_adapter_and_its_probe_asks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """examples/modal-examples' vllm_lora_summarizer (after a real deployment on Modal), imported
    with the real modal: its build steps, start-up, warm-up and probe against the stand-in."""
    log = StandinLog(tmp_path / "standin.jsonl")
    for key, value in standin_environment(log.path).items():
        monkeypatch.setenv(key, value)
    path = ROOT / "examples/modal-examples/generated/vllm_lora_summarizer.py"
    wait_port_free(8000)
    try:
        observed = observe_app(path, log, monkeypatch)["observed"]["serve"]
    finally:
        log.kill_servers()
    (step,) = observed["build_steps"]
    assert step["name"] == "download_adapters"
    command = server_command(path)
    assert "--enable-lora" in command and after(command, "--max-lora-rank") == ["64"]
    (adapter,) = after(command, "--lora-modules")
    folder = (
        "/root/.cache/huggingface/hub/lora-adapters/"
        "moo3030--Llama-3.2-1B-QLoRA-Summarizer-adapters/main"
    )
    assert adapter == f"summarizer={folder}"  # the branch's folder, whatever commit it holds
    assert [(e["repo_id"], e["revision"], e["local_dir"]) for e in step["events"]] == [
        ("moo3030/Llama-3.2-1B-QLoRA-Summarizer-adapters", "main", folder)
    ]
    (warmup, *_) = [r for r in observed["startup_requests"] if r["method"] == "POST"]
    assert warmup["body"]["model"] == "meta-llama/Llama-3.2-1B-Instruct"  # the base model
    (request,) = observed["client_requests"]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "summarizer"
    assert "Hello from the stand-in." in capsys.readouterr().out


def test_the_rerank_example_launches_as_sglang_s_and_its_probe_checks_the_ranking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """examples/modal-examples' bge_reranker, imported with the real modal: SGLang's rerank
    launch options, and its start-up, warm-up and probe against the stand-in (behind Modal's
    proxy authentication: the probe sends a token)."""
    log = StandinLog(tmp_path / "standin.jsonl")
    for key, value in {**standin_environment(log.path), **PROXY_TOKEN}.items():
        monkeypatch.setenv(key, value)
    path = ROOT / "examples/modal-examples/generated/bge_reranker.py"
    command = server_command(path)
    for flag in ("--is-embedding", "--disable-radix-cache"):
        assert flag in command
    assert after(command, "--attention-backend") == ["triton"]
    assert after(command, "--chunked-prefill-size") == ["-1"]
    wait_port_free(8000)
    try:
        observed = observe_app(path, log, monkeypatch)["observed"]["Reranker"]
    finally:
        log.kill_servers()
    warmup, *_ = [r for r in observed["startup_requests"] if r["method"] == "POST"]
    assert warmup["path"] == "/v1/rerank" and warmup["body"]["query"] == "what is panda?"
    prompt, check = observed["client_requests"]
    assert prompt["body"]["query"] == "Which animal lives in bamboo forests?"
    assert check["body"]["documents"][-1].startswith("The giant panda")
    assert prompt["headers"]["Modal-Key"] == PROXY_TOKEN["MODAL_PROXY_TOKEN_ID"]
    assert "Rerank check passed: the relevant document ranks first" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("app", "answer", "error"),
    [
        # One vector for two texts; SGLang's rerank answer (a list) with one score for two.
        ("embed-vllm-new", {"data": [{"embedding": [0.0]}]}, "wrong number of vectors"),
        ("rerank-sglang", [{"index": 0, "score": 1.0}], "wrong number of scores"),
        ("embed-vllm-new", {"object": "list"}, "KeyError"),  # no `data` at all
    ],
)
def test_a_pooling_answer_without_an_item_per_input_is_an_error(
    apps: dict[str, Path], app: str, answer: Any, error: str
) -> None:
    module = import_app_file(apps[app])

    async def answered(request: web.Request) -> web.Response:
        return web.json_response(answer)  # whatever it was sent

    async def run() -> dict:
        server = web.Application()
        server.router.add_post("/{path:.*}", answered)
        runner = web.AppRunner(server)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with module.bench_session(f"http://127.0.0.1:{port}", {}) as session:
                path, payload = module.bench_request({"first": 0, "batch": 2}, 0)
                return await module.timed_request(session, path, payload)
        finally:
            await runner.cleanup()

    assert asyncio.run(run())["error"] == error

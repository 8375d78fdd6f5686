"""The stand-in engine itself: its vLLM front end, and the timing and workload it can be set to.

Each test starts a stand-in on a free port of its own, as `vllm serve` or as
`python -m sglang.launch_server`, with the STANDIN_* settings it needs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests

from tests.support.engine import (
    STANDIN_BIN,
    StandinLog,
    free_port,
    standin_environment,
    wait_listening,
)

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there!"}]
VLLM = ["vllm", "serve", "Qwen/Qwen3-8B"]
SGLANG = [sys.executable, "-m", "sglang.launch_server", "--model-path", "Qwen/Qwen3-8B"]


@dataclass
class Standin:
    url: str
    log: StandinLog

    def chat(self, headers: dict[str, str] | None = None, **body: Any) -> requests.Response:
        """Post a chat completion; a streamed answer is read as it comes."""
        return requests.post(
            f"{self.url}/v1/chat/completions",
            json={"messages": MESSAGES, **body},
            headers=headers,
            stream=bool(body.get("stream")),
            timeout=10,
        )

    def chats(self) -> list[dict[str, Any]]:
        return self.log.events("chat")


Start = Callable[..., Standin]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start a stand-in: `start(command, *options, env={...}, **STANDIN_settings)`."""
    logs: list[StandinLog] = []
    processes: list[subprocess.Popen[bytes]] = []

    def run(
        command: list[str], *options: str, env: dict[str, str] | None = None, **settings: str
    ) -> Standin:
        log = StandinLog(tmp_path / f"standin-{len(logs)}.jsonl")
        logs.append(log)
        port = free_port()
        environment = {**os.environ, **standin_environment(log.path), **settings, **(env or {})}
        process = subprocess.Popen(
            [*command, *options, "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        wait_listening(port)
        return Standin(f"http://127.0.0.1:{port}", log)

    yield run
    for process in processes:
        process.kill()
        process.wait()
    for log in logs:
        log.kill_servers()


@dataclass
class Stream:
    """A streamed answer as the client saw it: its events and when each arrived."""

    started: float
    events: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    done: bool = False

    @property
    def tokens(self) -> list[str]:
        return [
            text
            for event in self.events
            for choice in event["choices"]
            for text in choice["delta"].values()
        ]

    @property
    def token_arrivals(self) -> list[float]:
        return [
            at for event, at in zip(self.events, self.arrivals, strict=True) if event["choices"]
        ]


def stream(standin: Standin, **body: Any) -> Stream:
    started = time.monotonic()
    with standin.chat(stream=True, **body) as response:
        response.raise_for_status()
        seen = Stream(started)
        for line in response.iter_lines():
            if not line.startswith(b"data: "):
                continue
            data = line[len(b"data: ") :]
            if data == b"[DONE]":
                seen.done = True
                break
            seen.events.append(json.loads(data))
            seen.arrivals.append(time.monotonic())
    return seen


# ## The vLLM front end


@pytest.mark.parametrize("command", [VLLM, [sys.executable, "-m", "vllm", *VLLM[1:]]])
def test_vllm_serve_records_its_command_line_and_is_healthy(
    start: Start, command: list[str]
) -> None:
    standin = start(command, "--tensor-parallel-size", "2", "--served-model-name", "qwen")
    (launch,) = standin.log.events("launch_server")
    assert launch["engine"] == "vllm"
    assert launch["argv"][:5] == [
        "serve",
        "Qwen/Qwen3-8B",
        "--tensor-parallel-size",
        "2",
        "--served-model-name",
    ]
    health = requests.get(f"{standin.url}/health", timeout=5)
    assert (health.status_code, health.content) == (200, b"")
    models = requests.get(f"{standin.url}/v1/models", timeout=5).json()
    assert [model["id"] for model in models["data"]] == ["qwen"]


def test_the_vllm_command_runs_the_tests_python_whatever_python3_is_on_path(
    start: Start,
) -> None:
    standin = start(VLLM, env={"PATH": os.pathsep.join([str(STANDIN_BIN), "/usr/bin", "/bin"])})
    (launch,) = standin.log.events("launch_server")
    assert launch["executable"] == sys.executable


def test_sglang_records_its_engine(start: Start) -> None:
    standin = start(SGLANG)
    (launch,) = standin.log.events("launch_server")
    assert launch["engine"] == "sglang"
    assert launch["argv"][:2] == ["--model-path", "Qwen/Qwen3-8B"]


def test_vllm_streams_a_chat_completion_with_its_usage_last(start: Start) -> None:
    standin = start(VLLM, STANDIN_CONTENT="One two three.")
    seen = stream(standin, stream_options={"include_usage": True})
    assert seen.done
    assert "".join(seen.tokens) == "One two three."
    *answer, last = seen.events
    assert last["choices"] == []
    assert last["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    assert [event["choices"][0]["finish_reason"] for event in answer] == [None, None, "stop"]
    assert {event["model"] for event in seen.events} == {"Qwen/Qwen3-8B"}
    assert {event["id"] for event in seen.events} == {standin.chats()[0]["id"]}

    without_usage = stream(standin)
    assert all(event["choices"] and "usage" not in event for event in without_usage.events)

    whole = standin.chat().json()
    assert whole["choices"][0]["message"] == {"role": "assistant", "content": "One two three."}
    assert whole["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(
    ("dev_mode", "sleep_mode", "expected"),
    [
        pytest.param("0", True, {"sleep": 404, "wake_up": 404, "is_sleeping": 404}, id="no-dev"),
        pytest.param("1", False, {"sleep": 500, "wake_up": 500, "is_sleeping": 200}, id="no-flag"),
    ],
)
def test_vllm_sleep_needs_dev_mode_and_the_option(
    start: Start, dev_mode: str, sleep_mode: bool, expected: dict[str, int]
) -> None:
    options = ["--enable-sleep-mode"] if sleep_mode else []
    standin = start(VLLM, *options, env={"VLLM_SERVER_DEV_MODE": dev_mode})
    answers = {
        "sleep": requests.post(f"{standin.url}/sleep?level=1", timeout=5).status_code,
        "wake_up": requests.post(f"{standin.url}/wake_up", timeout=5).status_code,
        "is_sleeping": requests.get(f"{standin.url}/is_sleeping", timeout=5).status_code,
    }
    assert answers == expected
    assert standin.log.events("sleep") == []
    assert standin.chat().status_code == 200


def test_vllm_sleeps_and_wakes_up(start: Start) -> None:
    standin = start(VLLM, "--enable-sleep-mode", env={"VLLM_SERVER_DEV_MODE": "1"})

    def is_sleeping() -> bool:
        return requests.get(f"{standin.url}/is_sleeping", timeout=5).json()["is_sleeping"]

    assert not is_sleeping()
    assert requests.post(f"{standin.url}/sleep?level=2", timeout=5).status_code == 200
    assert is_sleeping()
    assert requests.get(f"{standin.url}/health", timeout=5).status_code == 200
    assert standin.chat().status_code == 503
    assert requests.post(f"{standin.url}/wake_up", timeout=5).status_code == 200
    assert not is_sleeping()
    assert standin.chat().status_code == 200
    assert [event["level"] for event in standin.log.events("sleep")] == [2]
    assert len(standin.log.events("wake_up")) == 1


@pytest.mark.parametrize("command", [VLLM, SGLANG], ids=["vllm", "sglang"])
def test_an_api_key_guards_the_v1_routes(start: Start, command: list[str]) -> None:
    standin = start(command, "--api-key", "sesame")
    models = f"{standin.url}/v1/models"
    assert requests.get(models, timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer open"}
    assert requests.get(models, headers=wrong, timeout=5).status_code == 401
    assert standin.chat(headers=wrong).status_code == 401
    right = {"Authorization": "Bearer sesame"}
    assert requests.get(models, headers=right, timeout=5).status_code == 200
    assert standin.chat(headers=right).status_code == 200
    assert requests.get(f"{standin.url}/health", timeout=5).status_code == 200


def test_vllm_reads_its_api_key_from_the_environment(start: Start) -> None:
    standin = start(VLLM, env={"VLLM_API_KEY": "sesame"})
    assert standin.chat().status_code == 401
    assert standin.chat(headers={"Authorization": "Bearer sesame"}).status_code == 200


# ## Timing and workload


@pytest.mark.parametrize("command", [VLLM, SGLANG], ids=["vllm", "sglang"])
def test_tokens_come_when_ttft_and_itl_say(start: Start, command: list[str]) -> None:
    standin = start(command, STANDIN_TTFT="0.2", STANDIN_ITL="0.02", STANDIN_OUTPUT_TOKENS="10")
    seen = stream(standin)
    assert len(seen.tokens) == 10
    first, last = seen.token_arrivals[0], seen.token_arrivals[-1]
    # Lower bounds are behaviour (never early); the upper bounds only tell a token that waits
    # for its deadline from one that waits a whole extra interval or TTFT.
    assert 0.2 <= first - seen.started < 0.35
    assert 0.38 <= last - seen.started < 0.55
    (chat,) = standin.chats()
    assert 0.2 <= chat["first_token_at"] - chat["started_at"] < 0.3
    assert 0.38 <= chat["last_token_at"] - chat["started_at"] < 0.5

    started = time.monotonic()
    whole = standin.chat().json()  # not streamed: all at once, when the last token is due
    assert 0.38 <= time.monotonic() - started < 0.55
    assert whole["usage"]["completion_tokens"] == 10


def test_timing_holds_for_many_concurrent_streams(start: Start) -> None:
    standin = start(VLLM, STANDIN_TTFT="0.3", STANDIN_ITL="0.02", STANDIN_OUTPUT_TOKENS="20")
    streams = 128

    async def one(session: aiohttp.ClientSession) -> int:
        payload = {"messages": MESSAGES, "stream": True}
        async with session.post(f"{standin.url}/v1/chat/completions", json=payload) as response:
            lines = [line async for line in response.content if line.startswith(b"data: {")]
            return len(lines)

    async def all_of_them() -> list[int]:
        connector = aiohttp.TCPConnector(limit=streams)
        async with aiohttp.ClientSession(connector=connector) as session:
            return await asyncio.gather(*(one(session) for _ in range(streams)))

    assert asyncio.run(all_of_them()) == [20] * streams
    chats = standin.chats()
    assert len(chats) == streams
    lateness = [
        max(
            chat["first_token_at"] - (chat["started_at"] + 0.3),
            chat["last_token_at"] - (chat["started_at"] + 0.3 + 19 * 0.02),
        )
        for chat in chats
    ]
    # No token is sent before its deadline. How late tokens are under load on this machine is a
    # figure, not a behaviour: benchmarks/bench_load_test.py measures it ("delivered" column).
    assert min(lateness) >= 0


@pytest.mark.parametrize(
    ("body", "tokens", "finish_reason"),
    [
        pytest.param({}, 10, "stop", id="configured"),
        pytest.param({"max_tokens": 4}, 4, "length", id="max_tokens-cuts"),
        pytest.param({"max_tokens": 20}, 10, "stop", id="max_tokens-above"),
        pytest.param({"max_tokens": 20, "ignore_eos": True}, 20, "length", id="ignore_eos"),
        pytest.param({"max_completion_tokens": 3}, 3, "length", id="max_completion_tokens"),
    ],
)
def test_max_tokens_and_ignore_eos_set_the_length(
    start: Start, body: dict[str, Any], tokens: int, finish_reason: str
) -> None:
    standin = start(SGLANG, STANDIN_OUTPUT_TOKENS="10")
    seen = stream(standin, stream_options={"include_usage": True}, **body)
    assert len(seen.tokens) == tokens
    assert seen.events[-2]["choices"][0]["finish_reason"] == finish_reason
    assert seen.events[-1]["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": tokens,
        "total_tokens": 4 + tokens,
    }
    whole = standin.chat(**body).json()
    assert whole["usage"]["completion_tokens"] == tokens
    assert whole["choices"][0]["finish_reason"] == finish_reason


def test_output_tokens_beyond_the_content_repeat_its_words(start: Start) -> None:
    standin = start(
        VLLM, STANDIN_REASONING="Hmm.", STANDIN_CONTENT="Yes, sure.", STANDIN_OUTPUT_TOKENS="6"
    )
    seen = stream(standin)
    deltas = [event["choices"][0]["delta"] for event in seen.events]
    assert deltas == [
        {"reasoning_content": "Hmm."},
        {"content": "Yes, "},
        {"content": "sure."},
        {"content": " Yes,"},
        {"content": " sure."},
        {"content": " Yes,"},
    ]


def test_an_invalid_max_tokens_is_a_bad_request(start: Start) -> None:
    standin = start(VLLM)
    assert standin.chat(max_tokens=0).status_code == 400


def test_every_nth_chat_completion_fails(start: Start) -> None:
    standin = start(VLLM, STANDIN_ERROR_EVERY="3")
    statuses = [standin.chat().status_code for _ in range(3)]
    statuses += [stream_status(standin) for _ in range(4)]
    assert statuses == [200, 200, 500, 200, 200, 500, 200]
    assert [chat["status"] for chat in standin.chats()] == statuses
    assert [chat["number"] for chat in standin.chats()] == list(range(1, 8))


def stream_status(standin: Standin) -> int:
    """The status of a streamed chat, read to its end: the stand-in has recorded it by then."""
    with standin.chat(stream=True) as response:
        for _ in response.iter_lines():
            pass
        return response.status_code


def test_chats_record_when_they_were_accepted_and_read_on_kept_alive_connections(
    start: Start,
) -> None:
    standin = start(SGLANG, STANDIN_TTFT="0.05", STANDIN_OUTPUT_TOKENS="3")
    with requests.Session() as session:  # one connection, kept alive as uvicorn keeps it
        for _ in range(2):
            answer = session.post(
                f"{standin.url}/v1/chat/completions",
                json={"messages": MESSAGES, "stream": True},
                timeout=10,
            )
            assert answer.headers["Transfer-Encoding"] == "chunked"
            assert answer.text.endswith("data: [DONE]\n\n")
    first, second = standin.chats()
    assert [first["connection_request"], second["connection_request"]] == [1, 2]
    assert first["accepted_at"] == second["accepted_at"]
    for chat in (first, second):
        assert chat["accepted_at"] <= chat["parsed_at"]
        # The answer's deadlines count from when the request was read, as an engine's TTFT
        # counts from its arrival.
        assert chat["started_at"] == chat["parsed_at"]
        assert chat["first_token_at"] - chat["started_at"] >= 0.05

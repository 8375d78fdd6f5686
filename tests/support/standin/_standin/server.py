"""The HTTP server under both stand-in front ends, and the process around it.

`Handler` answers what SGLang and vLLM have in common (/health, /v1/models and streamed or whole
chat completions, with the timing and workload the STANDIN_* variables set); each front end
subclasses it to add its own routes and says how it behaves while its memory is released.
`run` records the launch, starts the workers, schedules a crash if asked, and serves.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs, urlsplit

from .cluster import ClusterRole, Rendezvous, join
from .record import record
from .workload import BadRequest, Completion, plan, prompt_tokens, usage

STARTED = time.monotonic()
STARTED_AT = time.time()  # the same instant, as wall-clock time that other processes can compare
WORKER_CODE = """
import signal, sys, time
if sys.argv[1] == "1":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(60)
"""


def _float(environ: Mapping[str, str], name: str) -> float | None:
    value = environ.get(name)
    return float(value) if value else None


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class Settings:
    """The STANDIN_* variables, read once at start (see the package docstring)."""

    ready_delay: float = 0.0
    listen_delay: float = 0.0
    crash_after: float | None = None
    crash_code: int = 3
    ignore_sigterm: bool = False
    workers: int = 0
    chat_status: int = 200
    chat_503s: int = 0
    chat_delay: float = 0.0
    error_every: int = 0
    ttft: float = 0.0
    itl: float = 0.0
    output_tokens: int | None = None
    reasoning: str = ""
    content: str = "Hello from the stand-in."
    release_status: int = 200
    resume_status: int = 200

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        output_tokens = environ.get("STANDIN_OUTPUT_TOKENS")
        itl = _float(environ, "STANDIN_ITL")
        return cls(
            ready_delay=_float(environ, "STANDIN_READY_DELAY") or 0.0,
            listen_delay=_float(environ, "STANDIN_LISTEN_DELAY") or 0.0,
            crash_after=_float(environ, "STANDIN_CRASH_AFTER"),
            crash_code=_int(environ, "STANDIN_CRASH_CODE", 3),
            ignore_sigterm=environ.get("STANDIN_IGNORE_SIGTERM") == "1",
            workers=_int(environ, "STANDIN_WORKERS", 0),
            chat_status=_int(environ, "STANDIN_CHAT_STATUS", 200),
            chat_503s=_int(environ, "STANDIN_CHAT_503S", 0),
            chat_delay=_float(environ, "STANDIN_CHAT_DELAY") or 0.0,
            error_every=_int(environ, "STANDIN_ERROR_EVERY", 0),
            ttft=_float(environ, "STANDIN_TTFT") or 0.0,
            itl=itl if itl is not None else _float(environ, "STANDIN_CHUNK_DELAY") or 0.0,
            output_tokens=int(output_tokens) if output_tokens else None,
            reasoning=environ.get("STANDIN_REASONING", ""),
            content=environ.get("STANDIN_CONTENT", "Hello from the stand-in."),
            release_status=_int(environ, "STANDIN_RELEASE_STATUS", 200),
            resume_status=_int(environ, "STANDIN_RESUME_STATUS", 200),
        )


@dataclass(frozen=True)
class Launch:
    """What the front end's command line says about the server."""

    engine: str  # "sglang" or "vllm"
    port: int
    model: str  # the name it serves the model under
    api_key: str | None = None
    cluster: ClusterRole | None = None  # one rank of an engine over several nodes


class State:
    """What changes while the server runs; shared by the threads that answer requests."""

    def __init__(self, settings: Settings) -> None:
        self.lock = threading.Lock()
        self.chat_503s_left = settings.chat_503s
        self.chats = 0  # chat completion requests received so far
        self.asleep = False  # memory released (SGLang) or sleeping (vLLM)


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a load test opens its connections all at once

    def __init__(self, launch: Launch, settings: Settings, handler: type[Handler]) -> None:
        self.launch = launch
        self.settings = settings
        self.state = State(settings)
        self.rendezvous: Rendezvous | None = None
        super().__init__(("127.0.0.1", launch.port), handler)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else {}
        except json.JSONDecodeError as error:
            raise BadRequest(f"the body is not JSON: {error}") from error


Route = Callable[[Request], None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each chunk leaves when written, not with the next one

    # /health while the memory is released: SGLang says 503, vLLM still says 200.
    healthy_while_asleep: ClassVar[bool] = False
    asleep_error: ClassVar[str] = "memory released"
    healthy_body: ClassVar[object | None] = {}  # what /health answers with its 200

    @property
    def standin(self) -> StandinServer:
        return cast(StandinServer, self.server)

    def routes(self) -> dict[tuple[str, str], Route]:
        """Routes by method and path; front ends add theirs."""
        return {
            ("GET", "/health"): self.health,
            ("GET", "/v1/models"): self.models,
            ("POST", "/v1/chat/completions"): self.chat,
        }

    # ## Plumbing

    def log_message(self, format: str, *args: object) -> None:
        print(f"standin: {self.command} {self.path}", flush=True)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._record_request(body)
        url = urlsplit(self.path)
        request = Request(self.command, url.path, parse_qs(url.query), body)
        if url.path.startswith("/v1/") and not self._authorized():
            self.send_json(401, {"error": "Unauthorized"})
            return
        route = self.routes().get((self.command, url.path))
        if route is None:
            self.not_found(url.path)
            return
        try:
            route(request)
        except BadRequest as error:
            self.send_json(400, {"error": str(error)})

    def _authorized(self) -> bool:
        key = self.standin.launch.api_key
        return key is None or self.headers.get("Authorization") == f"Bearer {key}"

    def _record_request(self, body: bytes) -> None:
        try:
            parsed = json.loads(body) if body else None
        except json.JSONDecodeError:
            parsed = body.decode(errors="replace")
        record(
            "request",
            method=self.command,
            path=self.path,
            headers=dict(self.headers.items()),
            body=parsed,
        )

    def send_json(self, status: int, payload: object | None) -> None:
        """Answer `payload` as JSON, or with an empty body when it is None."""
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self, path: str) -> None:
        self.send_json(404, {"error": f"no route {path}"})

    def set_asleep(self, asleep: bool) -> None:
        with self.standin.state.lock:
            self.standin.state.asleep = asleep

    # ## Routes both engines answer

    def health(self, request: Request) -> None:
        settings, state = self.standin.settings, self.standin.state
        if state.asleep and not self.healthy_while_asleep:
            status, payload = 503, {"error": self.asleep_error}
        elif self.standin.rendezvous and not self.standin.rendezvous.complete.is_set():
            status, payload = 503, {"error": "waiting for the other ranks"}
        elif time.monotonic() - STARTED >= settings.ready_delay:
            status, payload = 200, self.healthy_body
        else:
            status, payload = 503, {"error": "still loading"}
        record("health", at=time.time(), status=status)
        self.send_json(status, payload)

    def models(self, request: Request) -> None:
        model = {"id": self.standin.launch.model, "object": "model", "owned_by": "standin"}
        self.send_json(200, {"object": "list", "data": [model]})

    def chat(self, request: Request) -> None:
        settings, state = self.standin.settings, self.standin.state
        time.sleep(settings.chat_delay)
        with state.lock:
            state.chats += 1
            number = state.chats
            if state.chat_503s_left > 0:
                state.chat_503s_left -= 1
                status, error = 503, "no replica available"
            elif state.asleep:
                status, error = 503, self.asleep_error
            elif settings.error_every and number % settings.error_every == 0:
                status = 500
                error = f"stand-in configured to fail one chat in {settings.error_every}"
            elif settings.chat_status != 200:
                status = settings.chat_status
                error = f"stand-in configured to answer {status}"
            else:
                status, error = 200, ""
        if status != 200:
            record("chat", number=number, status=status, at=time.time())
            self.send_json(status, {"error": error})
            return
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("the body is not a JSON object")
        completion = plan(body, settings.reasoning, settings.content, settings.output_tokens)
        answer = _Answer(
            handler=self,
            number=number,
            completion=completion,
            prompt_tokens=prompt_tokens(body.get("messages")),
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        )
        if body.get("stream"):
            answer.stream()
        else:
            answer.whole()


class _Answer:
    """One successful chat completion, timed against deadlines fixed when it starts.

    Token `i` is due at start + TTFT + i * ITL: each write sleeps until its own deadline, so a
    late write (a busy machine) does not delay the ones after it.
    """

    def __init__(
        self,
        handler: Handler,
        number: int,
        completion: Completion,
        prompt_tokens: int,
        include_usage: bool,
    ) -> None:
        self.handler = handler
        self.number = number
        self.completion = completion
        self.usage = usage(prompt_tokens, len(completion.tokens))
        self.include_usage = include_usage
        self.started = time.monotonic()
        self.started_at = time.time()
        self.id = f"chatcmpl-standin-{number}"
        settings = handler.standin.settings
        self.ttft, self.itl = settings.ttft, settings.itl

    def _deadline(self, index: int) -> float:
        return self.started + self.ttft + index * self.itl

    def _wall(self, index: int) -> float:
        return self.started_at + self.ttft + index * self.itl

    def _envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": int(self.started_at),
            "model": self.handler.standin.launch.model,
            "choices": choices,
        }

    def _record(self, **fields: object) -> None:
        record(
            "chat",
            number=self.number,
            status=200,
            id=self.id,
            prompt_tokens=self.usage["prompt_tokens"],
            completion_tokens=self.usage["completion_tokens"],
            started_at=self.started_at,
            finished_at=time.time(),
            **fields,
        )

    def whole(self) -> None:
        """Answer once every token is due, all at once."""
        tokens = self.completion.tokens
        _sleep_until(self._deadline(max(len(tokens) - 1, 0)))
        message = {"role": "assistant", "content": self.completion.text("content")}
        if reasoning := self.completion.text("reasoning_content"):
            message["reasoning_content"] = reasoning
        choice = {"index": 0, "message": message, "finish_reason": self.completion.finish_reason}
        payload = {**self._envelope("chat.completion", [choice]), "usage": self.usage}
        # Recorded before the answer goes out, so that a client holding it finds it in the log.
        self._record(
            stream=False,
            first_token_at=self._wall(0) if tokens else None,
            last_token_at=self._wall(len(tokens) - 1) if tokens else None,
        )
        self.handler.send_json(200, payload)

    def stream(self) -> None:
        """Stream each token when due as a Server-Sent Event, then the usage if asked, then done."""
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        tokens = self.completion.tokens
        written: list[float] = []
        try:
            for index, token in enumerate(tokens):
                last = index == len(tokens) - 1
                choice = {
                    "index": 0,
                    "delta": {token.field: token.text},
                    "finish_reason": self.completion.finish_reason if last else None,
                }
                event = self._envelope("chat.completion.chunk", [choice])
                _sleep_until(self._deadline(index))
                self._send_event(event)
                written.append(time.time())
            if self.include_usage:
                final = self._envelope("chat.completion.chunk", [])
                self._send_event({**final, "usage": self.usage})
        except (BrokenPipeError, ConnectionResetError):
            sent = len(written)
            self._record(stream=True, disconnected=True, tokens_sent=sent, **_times(written))
            return
        # Recorded before the stream ends, so that a client that read it all finds it in the log.
        self._record(stream=True, **_times(written))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(b"data: [DONE]\n\n")
            handler.wfile.flush()

    def _send_event(self, event: dict[str, Any]) -> None:
        self.handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.handler.wfile.flush()


def _times(written: list[float]) -> dict[str, float | None]:
    return {
        "first_token_at": written[0] if written else None,
        "last_token_at": written[-1] if written else None,
    }


def _sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def _config_file(argv: list[str]) -> object:
    """What the file given with `--config` holds (YAML, as both engines read it), if any."""
    for index, item in enumerate(argv):
        path = argv[index + 1] if item == "--config" and index + 1 < len(argv) else None
        if item.startswith("--config="):
            path = item.split("=", 1)[1]
        if path is not None:
            import yaml

            # A file the app added to its image, read from where it lies on this machine.
            path = json.loads(os.environ.get("STANDIN_FILE_MAP") or "{}").get(path, path)
            with open(path, encoding="utf-8") as stream:
                return yaml.safe_load(stream)
    return None


def run(launch: Launch, handler: type[Handler]) -> None:
    """Record the launch, start the workers, then serve until killed (or the simulated crash)."""
    settings = Settings.from_environment(os.environ)
    record(
        "launch_server",
        engine=launch.engine,
        argv=sys.argv[1:],
        executable=sys.executable,
        pid=os.getpid(),
        pgid=os.getpgid(0),
        at=STARTED_AT,
        hf_hub_offline=os.environ.get("HF_HUB_OFFLINE"),
        config=_config_file(sys.argv[1:]),
    )
    if settings.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ignore = "1" if settings.ignore_sigterm else "0"
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER_CODE, ignore])
        for _ in range(settings.workers)
    ]
    if workers:
        record("workers", pids=[worker.pid for worker in workers])
    if settings.crash_after is not None:
        threading.Thread(target=_crash, args=(settings,), daemon=True).start()
    cluster = launch.cluster
    if cluster is not None and cluster.rank != 0:
        join(cluster)  # serves no HTTP; returns never
    if settings.listen_delay:
        time.sleep(settings.listen_delay)
    server = StandinServer(launch, settings, handler)
    if cluster is not None:
        server.rendezvous = Rendezvous(cluster)
    print(f"standin: serving on 127.0.0.1:{launch.port}", flush=True)
    record("ready", at=max(time.time(), STARTED_AT + settings.ready_delay))
    # As SGLang does once /health answers 200.
    ready_in = max(0.0, STARTED + settings.ready_delay - time.monotonic())
    announce = threading.Timer(ready_in, print, ["standin: the server is ready"], {"flush": True})
    announce.daemon = True
    announce.start()
    server.serve_forever()


def _crash(settings: Settings) -> None:
    assert settings.crash_after is not None
    time.sleep(settings.crash_after)
    print("standin: fatal error: CUDA out of memory (simulated)", flush=True)
    os._exit(settings.crash_code)

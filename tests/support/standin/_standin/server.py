"""The HTTP server under both stand-in front ends, and the process around it.

`Handler` answers what SGLang and vLLM have in common (/health, /v1/models and streamed or whole
chat completions, with the timing and workload the STANDIN_* variables set); each front end
subclasses it to add its own routes and says how it behaves while its memory is released.
`run` records the launch, starts the workers, schedules a crash if asked, and serves.

The server is one asyncio event loop (uvloop's when it is installed), so that hundreds of
streams in flight cost a timer each, not a thread each under one interpreter lock: a load test
measures the load generator and the engine, not the stand-in. HTTP/1.1 as uvicorn (under both
engines) speaks it: connections kept alive, streams sent chunked.

A route is a method of `Handler` taking the `Request`, listed in `routes()`; it answers with
`send_json`, or streams with `start_stream`/`write_chunk`/`end_stream` (it is then `async`,
and awaits `write_chunk`, which raises ConnectionError when the client went away).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar
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
    # The command the server was started as: the front end's, unless a wrapper (`bin/sglang`)
    # says otherwise in STANDIN_COMMAND.
    command: str = ""
    embedding: bool = False  # an embedding model (SGLang --is-embedding, vLLM's pooling runner)
    # A cross-encoder that scores documents against a query (SGLang --is-embedding, vLLM's
    # pooling runner or --task score).
    rerank: bool = False
    adapters: tuple[str, ...] = ()  # names of the LoRA adapters it serves
    aliases: tuple[str, ...] = ()  # further names it serves the model under
    cluster: ClusterRole | None = None  # one rank of an engine over several nodes


class State:
    """What changes while the server runs; shared by the requests it answers."""

    def __init__(self, settings: Settings) -> None:
        self.lock = threading.Lock()  # the front ends' routes take it; one loop needs no more
        self.chat_503s_left = settings.chat_503s
        self.chats = 0  # chat completion requests received so far
        self.asleep = False  # memory released (SGLang) or sleeping (vLLM)


@dataclass
class StandinServer:
    """What every request's handler shares: the launch, the settings and the state."""

    launch: Launch
    settings: Settings
    handler: type[Handler]
    rendezvous: Rendezvous | None = None  # rank 0 of a cluster: where the other ranks join

    def __post_init__(self) -> None:
        self.state = State(self.settings)

    async def listen(self) -> asyncio.Server:
        # A load test opens its connections all at once: a long backlog, as uvicorn's 2048.
        return await asyncio.start_server(
            self.connection, "127.0.0.1", self.launch.port, backlog=2048, reuse_address=True
        )

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer the requests of one connection in turn, until either side closes it."""
        accepted_at = time.time()
        try:
            for number in range(1, sys.maxsize):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
                method, target, version = request_line.split(" ", 2)
                headers = Headers(
                    [(name.strip(), value.strip()) for name, _, value in map(_header, lines)]
                )
                length = int(headers.get("Content-Length") or 0)
                body = await reader.readexactly(length) if length else b""
                timing = Timing(
                    accepted_at=accepted_at,
                    parsed_at=time.time(),
                    parsed=time.monotonic(),
                    request=number,
                )
                handler = self.handler(self, writer, method, target, headers, timing)
                await handler.dispatch(body)
                close = (headers.get("Connection") or "").lower() == "close"
                if handler.close_connection or close or version == "HTTP/1.0":
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def _header(line: str) -> tuple[str, str, str]:
    return line.partition(":")


class Headers:
    """A request's headers as received; names compare without regard to case, as in HTTP."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._by_name = {name.lower(): value for name, value in items}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._by_name.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


@dataclass(frozen=True)
class Timing:
    """When the stand-in took a request in: wall-clock times, for the chat record."""

    accepted_at: float  # its connection was accepted
    parsed_at: float  # its head and body were read, and its answer began
    parsed: float  # the same instant, on the monotonic clock its answer's deadlines count from
    request: int  # 1 for the first request on its connection, 2 for the next, ...


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


Route = Callable[[Request], Awaitable[None] | None]


class Handler:
    """One request: its routes, and how it answers. A front end subclasses it."""

    # /health while the memory is released: SGLang says 503, vLLM still says 200.
    healthy_while_asleep: ClassVar[bool] = False
    asleep_error: ClassVar[str] = "memory released"
    healthy_body: ClassVar[object | None] = {}  # what /health answers with its 200

    def __init__(
        self,
        server: StandinServer,
        writer: asyncio.StreamWriter,
        command: str,
        path: str,
        headers: Headers,
        timing: Timing,
    ) -> None:
        self.standin = server
        self.writer = writer
        self.command = command
        self.path = path
        self.headers = headers
        self.timing = timing
        self.close_connection = False

    def routes(self) -> dict[tuple[str, str], Route]:
        """Routes by method and path; front ends add theirs."""
        return {
            ("GET", "/health"): self.health,
            ("GET", "/v1/models"): self.models,
            ("POST", "/v1/chat/completions"): self.chat,
            ("POST", "/v1/completions"): self.completion,
            ("POST", "/v1/embeddings"): self.embeddings,
            ("POST", "/v1/rerank"): self.rerank,
        }

    # How each engine answers a request for a model or adapter it does not serve, and for an
    # API the model does not have: front ends override.

    def unknown_model(self, body: dict[str, Any]) -> tuple[int, object] | None:
        """The error for a `model` the server does not serve, or None when it does (or none
        is named)."""
        model = body.get("model")
        launch = self.standin.launch
        if model is None or model in (launch.model, *launch.aliases, *launch.adapters):
            return None
        return 404, {"error": f"The model `{model}` does not exist."}

    def wrong_api(self, embedding: bool) -> tuple[int, object] | None:
        """The error for a generation request to an embedding model, or the reverse."""
        if embedding == self.standin.launch.embedding:
            return None
        which = "an embedding" if self.standin.launch.embedding else "a generation"
        return 400, {"error": f"the model is {which} model"}

    def rerank_answer(
        self, body: dict[str, Any], documents: list[str], ranked: list[tuple[int, float]]
    ) -> object:
        """The `/v1/rerank` answer for `documents`, `ranked` as (index, score), highest first:
        front ends override with their engine's shape."""
        raise NotImplementedError

    # ## Plumbing

    async def dispatch(self, body: bytes) -> None:
        print(f"standin: {self.command} {self.path}", flush=True)
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
            answer = route(request)
            if inspect.isawaitable(answer):
                await answer
        except BadRequest as error:
            self.send_json(400, {"error": str(error)})
        except ConnectionError:
            self.close_connection = True
        except Exception:  # as http.server does: say what failed, and drop the connection
            traceback.print_exc()
            self.close_connection = True

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

    def _head(self, status: int, headers: list[tuple[str, str]]) -> None:
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "server: standin"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send_json(self, status: int, payload: object | None) -> None:
        """Answer `payload` as JSON, or with an empty body when it is None."""
        data = b"" if payload is None else json.dumps(payload).encode()
        headers = [("Content-Type", "application/json")] if payload is not None else []
        self._head(status, [*headers, ("Content-Length", str(len(data)))])
        self.writer.write(data)

    def start_stream(self, content_type: str) -> None:
        """Begin a 200 answer whose body follows in chunks, as uvicorn streams one."""
        self._head(200, [("Content-Type", content_type), ("Transfer-Encoding", "chunked")])

    async def write_chunk(self, data: bytes) -> None:
        """Send `data` now; ConnectionError when the client has gone away."""
        if self.writer.is_closing():
            raise ConnectionResetError("the client closed the connection")
        self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await self.writer.drain()

    async def end_stream(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

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

    async def completion(self, request: Request) -> None:
        """`/v1/completions`: a chat completion's tokens, as `text` choices."""
        await self.chat(request)

    async def embeddings(self, request: Request) -> None:
        """`/v1/embeddings`: one vector per input text, after STANDIN_TTFT seconds. Each vector
        counts the text's words into EMBEDDING_DIMENSIONS buckets, so that texts which share
        words are near each other, as a real embedding model's would be."""
        settings, state = self.standin.settings, self.standin.state
        with state.lock:
            state.chats += 1
            number = state.chats
            asleep = state.asleep
        if asleep:
            self.send_json(503, {"error": self.asleep_error})
            return
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("the body is not a JSON object")
        refused = self.wrong_api(embedding=True) or self.unknown_model(body)
        if refused is not None:
            record("embedding", number=number, status=refused[0], at=time.time())
            self.send_json(*refused)
            return
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise BadRequest("`input` must be a string or a non-empty list of strings")
        await asyncio.sleep(settings.ttft)
        data = [
            {"object": "embedding", "index": index, "embedding": embedding(text)}
            for index, text in enumerate(texts)
        ]
        tokens = sum(len(text.split()) for text in texts)
        record("embedding", number=number, status=200, texts=len(texts), at=time.time())
        self.send_json(
            200,
            {
                "object": "list",
                "model": body.get("model") or self.standin.launch.model,
                "data": data,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    async def rerank(self, request: Request) -> None:
        """`/v1/rerank`: a score per document, how near its words are to the query's (the
        cosine of `embedding`), after STANDIN_TTFT seconds; highest first, in the engine's
        shape. A model that is no cross-encoder gets a 400, as from both engines."""
        settings, state = self.standin.settings, self.standin.state
        with state.lock:
            state.chats += 1
            number = state.chats
            asleep = state.asleep
        if asleep:
            self.send_json(503, {"error": self.asleep_error})
            return
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("the body is not a JSON object")
        refused = self.unknown_model(body)
        if refused is None and not self.standin.launch.rerank:
            refused = 400, {"error": "the model does not support the rerank (score) API"}
        if refused is not None:
            record("rerank", number=number, status=refused[0], at=time.time())
            self.send_json(*refused)
            return
        query, documents = body.get("query"), body.get("documents")
        if not isinstance(query, str) or not query.strip():
            raise BadRequest("Query cannot be empty")
        if (
            not isinstance(documents, list)
            or not documents
            or not all(isinstance(d, str) and d.strip() for d in documents)
        ):
            raise BadRequest("`documents` must be a non-empty list of non-empty strings")
        await asyncio.sleep(settings.ttft)
        target = embedding(query)
        scores = [cosine(target, embedding(document)) for document in documents]
        ranked = sorted(enumerate(scores), key=lambda pair: pair[1], reverse=True)
        record("rerank", number=number, status=200, documents=len(documents), at=time.time())
        self.send_json(200, self.rerank_answer(body, documents, ranked))

    async def chat(self, request: Request) -> None:
        settings, state = self.standin.settings, self.standin.state
        await asyncio.sleep(settings.chat_delay)
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
        refused = self.wrong_api(embedding=False) or self.unknown_model(body)
        if refused is not None:
            record("chat", number=number, status=refused[0], at=time.time())
            self.send_json(*refused)
            return
        completion = plan(body, settings.reasoning, settings.content, settings.output_tokens)
        text_completion = request.path == "/v1/completions"
        if text_completion and not isinstance(body.get("prompt"), str):
            raise BadRequest("`prompt` must be a string")
        answer = _Answer(
            handler=self,
            number=number,
            completion=completion,
            prompt_tokens=len(body["prompt"].split())
            if text_completion
            else prompt_tokens(body.get("messages")),
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
            text_completion=text_completion,
            model=body.get("model") or self.standin.launch.model,
        )
        if body.get("stream"):
            await answer.stream()
        else:
            await answer.whole()


class _Answer:
    """One successful chat completion, timed against deadlines fixed when it starts.

    Token `i` is due at start + TTFT + i * ITL, the start being when the request was read (and
    STANDIN_CHAT_DELAY later), as an engine's TTFT counts from a request's arrival: the time this
    process spends on other requests before it gets to this one is inside the TTFT, not added to
    it. Each write waits for its own deadline, so a late write (a busy machine) does not delay the
    ones after it; how late it was shows in the recorded times.
    """

    def __init__(
        self,
        handler: Handler,
        number: int,
        completion: Completion,
        prompt_tokens: int,
        include_usage: bool,
        text_completion: bool = False,
        model: str = "",
    ) -> None:
        self.handler = handler
        self.text_completion = text_completion
        self.model = model
        self.number = number
        self.completion = completion
        self.usage = usage(prompt_tokens, len(completion.tokens))
        self.include_usage = include_usage
        settings = handler.standin.settings
        self.started = handler.timing.parsed + settings.chat_delay
        self.started_at = handler.timing.parsed_at + settings.chat_delay
        self.id = f"{'cmpl' if text_completion else 'chatcmpl'}-standin-{number}"
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
            "model": self.model or self.handler.standin.launch.model,
            "choices": choices,
        }

    def _record(self, **fields: object) -> None:
        timing = self.handler.timing
        record(
            "chat",
            number=self.number,
            status=200,
            id=self.id,
            prompt_tokens=self.usage["prompt_tokens"],
            completion_tokens=self.usage["completion_tokens"],
            accepted_at=timing.accepted_at,
            parsed_at=timing.parsed_at,
            connection_request=timing.request,
            started_at=self.started_at,
            finished_at=time.time(),
            **fields,
        )

    async def whole(self) -> None:
        """Answer once every token is due, all at once."""
        tokens = self.completion.tokens
        await _sleep_until(self._deadline(max(len(tokens) - 1, 0)))
        message = {"role": "assistant", "content": self.completion.text("content")}
        if reasoning := self.completion.text("reasoning_content"):
            message["reasoning_content"] = reasoning
        choice = {"index": 0, "message": message, "finish_reason": self.completion.finish_reason}
        kind = "chat.completion"
        if self.text_completion:
            kind = "text_completion"
            choice = {
                "index": 0,
                "text": self.completion.text("content"),
                "finish_reason": choice["finish_reason"],
            }
        payload = {**self._envelope(kind, [choice]), "usage": self.usage}
        # Recorded before the answer goes out, so that a client holding it finds it in the log.
        self._record(
            stream=False,
            first_token_at=self._wall(0) if tokens else None,
            last_token_at=self._wall(len(tokens) - 1) if tokens else None,
        )
        self.handler.send_json(200, payload)

    async def stream(self) -> None:
        """Stream each token when due as a Server-Sent Event, then the usage if asked, then done."""
        handler = self.handler
        handler.start_stream("text/event-stream")
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
                kind = "chat.completion.chunk"
                if self.text_completion:  # no reasoning field: its text is part of the text
                    kind = "text_completion"
                    choice = {
                        "index": 0,
                        "text": token.text,
                        "finish_reason": choice["finish_reason"],
                    }
                event = self._envelope(kind, [choice])
                await _sleep_until(self._deadline(index))
                await self._send_event(event)
                written.append(time.time())
            if self.include_usage:
                final = self._envelope(
                    "text_completion" if self.text_completion else "chat.completion.chunk", []
                )
                await self._send_event({**final, "usage": self.usage})
        except ConnectionError:
            sent = len(written)
            self._record(stream=True, disconnected=True, tokens_sent=sent, **_times(written))
            handler.close_connection = True
            return
        # Recorded before the stream ends, so that a client that read it all finds it in the log.
        self._record(stream=True, **_times(written))
        try:
            await handler.write_chunk(b"data: [DONE]\n\n")
            await handler.end_stream()
        except ConnectionError:
            handler.close_connection = True

    async def _send_event(self, event: dict[str, Any]) -> None:
        await self.handler.write_chunk(f"data: {json.dumps(event)}\n\n".encode())


EMBEDDING_DIMENSIONS = 64


def embedding(text: str) -> list[float]:
    """A bag of words: each word (lower case, without punctuation) adds 1 to its bucket."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in text.lower().split():
        word = word.strip(".,;:!?\"'()")
        if word:
            bucket = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
            vector[bucket % EMBEDDING_DIMENSIONS] += 1.0
    return vector


def cosine(a: list[float], b: list[float]) -> float:
    norms = sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


def _times(written: list[float]) -> dict[str, float | None]:
    return {
        "first_token_at": written[0] if written else None,
        "last_token_at": written[-1] if written else None,
    }


async def _sleep_until(deadline: float) -> None:
    # The loop's timers are as coarse as a millisecond: sleep again if woken early.
    while (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(remaining)


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
        command=os.environ.get("STANDIN_COMMAND") or launch.command,
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
    _event_loop_run(_serve(server))


async def _serve(server: StandinServer) -> None:
    listening = await server.listen()
    print(f"standin: serving on 127.0.0.1:{server.launch.port}", flush=True)
    record("ready", at=max(time.time(), STARTED_AT + server.settings.ready_delay))
    # As SGLang does once /health answers 200.
    ready_in = max(0.0, STARTED + server.settings.ready_delay - time.monotonic())
    asyncio.get_running_loop().call_later(
        ready_in, lambda: print("standin: the server is ready", flush=True)
    )
    async with listening:
        await listening.serve_forever()


def _event_loop_run(main: Any) -> None:
    """Run `main` on uvloop's event loop when it is installed, else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _crash(settings: Settings) -> None:
    assert settings.crash_after is not None
    time.sleep(settings.crash_after)
    print("standin: fatal error: CUDA out of memory (simulated)", flush=True)
    os._exit(settings.crash_code)

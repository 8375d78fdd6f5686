"""Stand-in for `python -m sglang.launch_server`: a tiny OpenAI-compatible server on loopback.

It records its argv and every request it receives (see `_record`), and its behaviour is set by
environment variables, so tests can drive each path of the code that starts and uses it:

  STANDIN_LOG           JSON-lines file to record into
  STANDIN_READY_DELAY   seconds after start before /health answers 200 (before: 503)
  STANDIN_LISTEN_DELAY  seconds after start before the port is even opened
  STANDIN_CRASH_AFTER   exit with STANDIN_CRASH_CODE (default 3) this many seconds after start
  STANDIN_CHAT_STATUS   HTTP status of chat completions (default 200), body says why
  STANDIN_CHAT_503S     answer the first N chat completions with 503, as Modal does with no replica
  STANDIN_CHAT_DELAY    seconds a chat completion waits before answering at all
  STANDIN_CHUNK_DELAY   seconds between two streamed chunks
  STANDIN_IGNORE_SIGTERM  when "1", SIGTERM is ignored, by the workers too (to test the kill)
  STANDIN_WORKERS       child processes to start, as SGLang starts its schedulers; they share the
                        server's process group and output, and live until killed
  STANDIN_REASONING     reasoning text streamed before the content (default: none)
  STANDIN_CONTENT       content text streamed (default: "Hello from the stand-in.")
  STANDIN_RELEASE_STATUS, STANDIN_RESUME_STATUS
                        HTTP status of /release_memory_occupation and /resume_memory_occupation
                        (default 200). While memory is released, /health and chat answer 503.

Besides each request, it records `launch_server` (argv, pids, start time), `workers` (their
pids), `ready` (the wall-clock time, `at`, from which /health answers 200) and `health` (time
and status of each /health answer), so that tests can time the code that waits for it.

It always binds 127.0.0.1, whatever --host says.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sglang._record import record

STARTED = time.monotonic()
STARTED_AT = time.time()  # the same instant, as wall-clock time that other processes can compare
WORKER_CODE = """
import signal, sys, time
if sys.argv[1] == "1":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(60)
"""


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    return float(value) if value else None


class _State:
    chat_503s_left = int(os.environ.get("STANDIN_CHAT_503S", "0"))
    memory_released = False
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        print(f"standin: {self.command} {self.path}", flush=True)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

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

    def _send(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _ready(self) -> bool:
        delay = _env_float("STANDIN_READY_DELAY") or 0.0
        return time.monotonic() - STARTED >= delay

    def do_GET(self) -> None:
        self._record_request(b"")
        if self.path == "/health":
            if _State.memory_released:
                status, payload = 503, {"error": "memory released"}
            elif self._ready():
                status, payload = 200, {}
            else:
                status, payload = 503, {"error": "still loading"}
            record("health", at=time.time(), status=status)
            self._send(status, payload)
        elif self.path == "/v1/models":
            self._send(200, {"data": [{"id": "standin"}]})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        body = self._body()
        self._record_request(body)
        if self.path == "/v1/chat/completions":
            self._chat(json.loads(body or b"{}"))
        elif self.path in ("/release_memory_occupation", "/resume_memory_occupation"):
            action = self.path[1:].split("_")[0]
            status = int(os.environ.get(f"STANDIN_{action.upper()}_STATUS", "200"))
            if status != 200:
                self._send(status, {"error": f"stand-in configured to fail the {action}"})
                return
            with _State.lock:
                _State.memory_released = action == "release"
            self._send(200, {"success": True})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def _chat(self, request: dict) -> None:
        time.sleep(_env_float("STANDIN_CHAT_DELAY") or 0.0)
        with _State.lock:
            if _State.chat_503s_left > 0:
                _State.chat_503s_left -= 1
                self._send(503, {"error": "no replica available"})
                return
            if _State.memory_released:
                self._send(503, {"error": "memory released"})
                return
        status = int(os.environ.get("STANDIN_CHAT_STATUS", "200"))
        if status != 200:
            self._send(status, {"error": f"stand-in configured to answer {status}"})
            return
        reasoning = os.environ.get("STANDIN_REASONING", "")
        content = os.environ.get("STANDIN_CONTENT", "Hello from the stand-in.")
        if not request.get("stream"):
            message = {"role": "assistant", "content": content}
            self._send(200, {"choices": [{"index": 0, "message": message}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        deltas = [{"reasoning_content": word} for word in _words(reasoning)]
        deltas += [{"content": word} for word in _words(content)]
        chunk_delay = _env_float("STANDIN_CHUNK_DELAY") or 0.0
        for index, delta in enumerate(deltas):
            if index:
                time.sleep(chunk_delay)
            event = {"choices": [{"index": 0, "delta": delta}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [word + " " for word in words[:-1]] + words[-1:] if text else []


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--port", type=int, default=30000)
    known, _ = parser.parse_known_args()
    record("launch_server", argv=sys.argv[1:], pid=os.getpid(), pgid=os.getpgid(0), at=STARTED_AT)

    ignore_sigterm = os.environ.get("STANDIN_IGNORE_SIGTERM") == "1"
    if ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER_CODE, "1" if ignore_sigterm else "0"])
        for _ in range(int(os.environ.get("STANDIN_WORKERS", "0")))
    ]
    if workers:
        record("workers", pids=[worker.pid for worker in workers])
    crash_after = _env_float("STANDIN_CRASH_AFTER")
    if crash_after is not None:

        def crash() -> None:
            time.sleep(crash_after)
            print("standin: fatal error: CUDA out of memory (simulated)", flush=True)
            os._exit(int(os.environ.get("STANDIN_CRASH_CODE", "3")))

        threading.Thread(target=crash, daemon=True).start()
    listen_delay = _env_float("STANDIN_LISTEN_DELAY")
    if listen_delay:
        time.sleep(listen_delay)
    server = ThreadingHTTPServer(("127.0.0.1", known.port), Handler)
    server.daemon_threads = True
    print(f"standin: serving on 127.0.0.1:{known.port}", flush=True)
    ready_at = max(time.time(), STARTED_AT + (_env_float("STANDIN_READY_DELAY") or 0.0))
    record("ready", at=ready_at)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""Stand-in for `python -m sglang.launch_server`: a tiny OpenAI-compatible server on loopback.

It records its argv and every request it receives (see `_record`), and its behaviour is set by
environment variables, so tests can drive each path of the code that starts and uses it:

  STANDIN_LOG           JSON-lines file to record into
  STANDIN_READY_DELAY   seconds after start before /health answers 200 (before: 503)
  STANDIN_LISTEN_DELAY  seconds after start before the port is even opened
  STANDIN_CRASH_AFTER   exit with STANDIN_CRASH_CODE (default 3) this many seconds after start
  STANDIN_CHAT_STATUS   HTTP status of chat completions (default 200), body says why
  STANDIN_CHAT_503S     answer the first N chat completions with 503, as Modal does with no replica
  STANDIN_IGNORE_SIGTERM  when "1", SIGTERM is ignored (to test the kill after the grace period)
  STANDIN_REASONING     reasoning text streamed before the content (default: none)
  STANDIN_CONTENT       content text streamed (default: "Hello from the stand-in.")

It always binds 127.0.0.1, whatever --host says.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sglang._record import record

STARTED = time.monotonic()


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
            if self._ready():
                self._send(200, {})
            else:
                self._send(503, {"error": "still loading"})
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
            with _State.lock:
                _State.memory_released = self.path.startswith("/release")
            self._send(200, {"success": True})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def _chat(self, request: dict) -> None:
        with _State.lock:
            if _State.chat_503s_left > 0:
                _State.chat_503s_left -= 1
                self._send(503, {"error": "no replica available"})
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
        for delta in deltas:
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
    record("launch_server", argv=sys.argv[1:], pid=os.getpid(), pgid=os.getpgid(0))

    if os.environ.get("STANDIN_IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
    print(f"standin: serving on 127.0.0.1:{known.port}", flush=True)
    server = ThreadingHTTPServer(("127.0.0.1", known.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

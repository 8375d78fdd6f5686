"""A stand-in for the Hugging Face Hub's revision API on loopback, for `modalgen pin`.

`GET /api/models/{org}/{name}/revision/{revision}` answers `{"id": ..., "sha": ...}` from a
table of repositories, 404 for what it does not hold, and 401 for a gated repository asked
without the expected Bearer token (403 with another token), as the Hub does. It listens on a
free port (never a fixed one) and records each request's path and Authorization header.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class StandinHub:
    # repository id -> revision (branch, tag or commit) -> commit
    repos: dict[str, dict[str, str]]
    gated: dict[str, str] = field(default_factory=dict)  # repository id -> the token it wants
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""


@contextmanager
def standin_hub(
    repos: dict[str, dict[str, str]], gated: dict[str, str] | None = None
) -> Iterator[StandinHub]:
    hub = StandinHub(repos, gated or {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hub.requests.append((self.path, self.headers.get("Authorization")))
            prefix, _, rest = self.path.partition("/api/models/")
            repo, _, revision = rest.partition("/revision/")
            repo, revision = urllib.parse.unquote(repo), urllib.parse.unquote(revision)
            if prefix or not revision:
                return self._answer(404, {"error": "not found"})
            wanted = hub.gated.get(repo)
            given = self.headers.get("Authorization")
            if wanted is not None and given is None:
                return self._answer(401, {"error": "Access to model is restricted"})
            if wanted is not None and given != f"Bearer {wanted}":
                return self._answer(403, {"error": "not on the list"})
            sha = hub.repos.get(repo, {}).get(revision)
            if sha is None:
                return self._answer(404, {"error": f"Revision Not Found for url {self.path}"})
            return self._answer(200, {"id": repo, "sha": sha, "siblings": []})

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

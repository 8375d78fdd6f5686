"""Append what the stand-in saw to the JSON-lines file named by STANDIN_LOG."""

from __future__ import annotations

import json
import os
import threading
from typing import IO

_lock = threading.Lock()
_open: dict[str, IO[str]] = {}  # the log, kept open: hundreds of requests a second record


def _log(path: str) -> IO[str]:
    """The log file, opened again when a test has removed or replaced it."""
    stream = _open.get(path)
    try:
        current = stream is not None and os.stat(path).st_ino == os.fstat(stream.fileno()).st_ino
    except FileNotFoundError:
        current = False
    if not current:
        if stream is not None:
            stream.close()
        stream = _open[path] = open(path, "a", encoding="utf-8")  # noqa: SIM115
    assert stream is not None
    return stream


def record(event: str, **fields: object) -> None:
    path = os.environ.get("STANDIN_LOG")
    if not path:
        return
    line = json.dumps({"event": event, **fields}, sort_keys=True)
    with _lock:
        stream = _log(path)
        stream.write(line + "\n")
        stream.flush()  # whole lines, at once: a test reads the log while the server runs

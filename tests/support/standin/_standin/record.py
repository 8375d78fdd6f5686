"""Append what the stand-in saw to the JSON-lines file named by STANDIN_LOG."""

from __future__ import annotations

import json
import os
import threading

_lock = threading.Lock()


def record(event: str, **fields: object) -> None:
    path = os.environ.get("STANDIN_LOG")
    if not path:
        return
    line = json.dumps({"event": event, **fields}, sort_keys=True)
    with _lock, open(path, "a", encoding="utf-8") as stream:
        stream.write(line + "\n")

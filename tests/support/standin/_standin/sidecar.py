"""Stand-in for a sidecar program (`bin/alloy`): `python -m _standin.sidecar PROGRAM ARGS...`.

It records what an app started it with and in which state, then idles until it is stopped:
`launch_sidecar` with the program, its arguments, what each argument that names a file holds
(a file the app added to its image is read from where it lies here, by STANDIN_FILE_MAP),
whether it leads its own process group, and the engine's /health answer
(STANDIN_ENGINE_PORT, 8000 by default); then `sidecar_stopped` with the signal that stopped it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

from .record import record


def engine_health() -> int | None:
    port = os.environ.get("STANDIN_ENGINE_PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def files(arguments: list[str]) -> dict[str, str]:
    """What each argument that names a file holds, by the argument."""
    mounted = json.loads(os.environ.get("STANDIN_FILE_MAP") or "{}")
    found = {}
    for argument in arguments:
        path = mounted.get(argument, argument)
        if os.path.isabs(argument) and os.path.isfile(path):
            with open(path, encoding="utf-8") as stream:
                found[argument] = stream.read()
    return found


def on_signal(signum: int, frame: object) -> None:
    record(
        "sidecar_stopped",
        pid=os.getpid(),
        signal=signal.Signals(signum).name,
    )
    sys.exit(0)


def main() -> None:
    program, *arguments = sys.argv[1:]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    record(
        "launch_sidecar",
        program=program,
        argv=arguments,
        files=files(arguments),
        pid=os.getpid(),
        own_process_group=os.getpgid(0) == os.getpid(),
        engine_health=engine_health(),
    )
    while True:
        time.sleep(0.1)


if __name__ == "__main__":
    main()

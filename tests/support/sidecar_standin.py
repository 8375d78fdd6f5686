"""A stand-in sidecar for the lifecycle tests: `python sidecar_standin.py run CONFIG`.

It records what it found into SIDECAR_LOG (one JSON object a line): its process and group, its
config file (the image path CONFIG read through STANDIN_FILE_MAP, as the image would hold it),
the credential variable it inherits, and the engine's /health answer when it started and when
it was asked to stop. SIDECAR_CRASH_AFTER (seconds) makes it exit with SIDECAR_CRASH_CODE;
SIDECAR_IGNORE_SIGTERM makes it ignore SIGTERM; SIDECAR_CHILD starts a child in its group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

LOG = os.environ["SIDECAR_LOG"]


def record(event: str, **fields: object) -> None:
    with open(LOG, "a") as log:
        log.write(json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\n")


def engine_health() -> int | None:
    try:
        with urllib.request.urlopen(os.environ["SIDECAR_HEALTH_URL"], timeout=1) as response:
            return response.status
    except OSError:
        return None


def on_sigterm(signum: int, frame: object) -> None:
    record("sigterm", engine_health=engine_health())
    sys.exit(0)


def main() -> None:
    _, config = sys.argv[1:3]
    mounted = json.loads(os.environ.get("STANDIN_FILE_MAP", "{}"))
    with open(mounted.get(config, config)) as stream:
        content = stream.read()
    if os.environ.get("SIDECAR_IGNORE_SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, on_sigterm)
    children = []
    if os.environ.get("SIDECAR_CHILD"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        children.append(child.pid)
    record(
        "start",
        pgid=os.getpgid(0),
        argv=sys.argv[1:],
        config=content,
        credential=os.environ.get("GRAFANA_API_KEY"),
        engine_health=engine_health(),
        children=children,
    )
    print("sidecar: shipping metrics", flush=True)
    crash_after = os.environ.get("SIDECAR_CRASH_AFTER")
    if crash_after is not None:
        time.sleep(float(crash_after))
        print("sidecar: fatal error: remote write refused (simulated)", flush=True)
        sys.exit(int(os.environ.get("SIDECAR_CRASH_CODE", "1")))
    while True:
        time.sleep(0.1)


if __name__ == "__main__":
    main()

"""Cold-start latency of the generated app against the reference program it reproduces.

For several engine start-up times, the stand-in engine (tests/support/standin) becomes healthy
that many seconds after it starts; we time from that moment, which the stand-in records, to the
moment the class's `modal.enter` methods return, for the generated low-latency app and for the
reference program, each starting, waiting for and warming up the same stand-in on port 8000.

    .venv/bin/python benchmarks/bench_cold_start.py [--repeats N] [--delays 0.5 1 2 3]

Targets: a median of at most 30 ms, and at most a fifth of the reference's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.engine import StandinLog, standin_environment, wait_port_free  # noqa: E402
from tests.support.introspect import describe_app, import_app_file, lifecycle_method  # noqa: E402

GENERATED = ROOT / "generated" / "qwen35_low_latency.py"
REFERENCE = ROOT.parent / "shared" / "reference" / "sglang_low_latency.py"
PORT = 8000  # both apps serve on it
TARGET_SECONDS = 0.03
TARGET_RATIO = 1 / 5


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence this process's and its children's output (the engine's log) at the fd level."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def cold_start(path: Path, delay: float, workdir: Path) -> float:
    """Seconds from the engine becoming healthy to the app's enter methods returning."""
    log = StandinLog(workdir / f"standin-{time.monotonic_ns()}.jsonl")
    os.environ.update(standin_environment(log.path))
    os.environ["STANDIN_READY_DELAY"] = str(delay)
    (server,) = describe_app(import_app_file(path)).services.values()
    instance = server.user_cls()
    wait_port_free(PORT)
    try:
        with quiet():
            for phase in ("enter_pre_snapshot", "enter_post_snapshot"):
                for attribute in server.lifecycle[phase]:
                    lifecycle_method(server.user_cls, attribute)(instance)
            entered = time.time()
            for attribute in server.lifecycle["exit"]:
                lifecycle_method(server.user_cls, attribute)(instance)
    finally:
        log.kill_servers()
    (ready,) = log.events("ready")
    return entered - ready["at"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per app and delay")
    parser.add_argument(
        "--delays", type=float, nargs="+", default=[0.5, 1, 2, 3], help="engine start-up times"
    )
    args = parser.parse_args()

    compare = REFERENCE.is_file()
    if not compare:
        print(f"No reference program at {REFERENCE} (it sits beside CI's checkout): generated only")
    rows = []
    generated_all: list[float] = []
    reference_all: list[float] = []
    with tempfile.TemporaryDirectory() as workdir:
        for delay in args.delays:
            generated, reference = [], []
            for _ in range(args.repeats):
                generated.append(cold_start(GENERATED, delay, Path(workdir)))
                if compare:
                    reference.append(cold_start(REFERENCE, delay, Path(workdir)))
            generated_all += generated
            reference_all += reference
            rows.append((f"{delay:g} s", generated, reference))
    rows.append(("all", generated_all, reference_all))

    print(f"Healthy engine -> enter methods returned, median of {args.repeats} runs per delay")
    print(f"{'engine start-up':>15}  {'generated':>10}  {'reference':>10}  {'ratio':>6}")
    for label, generated, reference in rows:
        ours = statistics.median(generated)
        if not compare:
            print(f"{label:>15}  {ours:>9.3f}s  {'-':>10}  {'-':>6}")
            continue
        theirs = statistics.median(reference)
        print(f"{label:>15}  {ours:>9.3f}s  {theirs:>9.3f}s  {ours / theirs:>6.3f}")
    ours = statistics.median(generated_all)
    if not compare:
        met = ours <= TARGET_SECONDS
        print(f"Target: median <= {TARGET_SECONDS} s: {'met' if met else 'NOT met'} ({ours:.3f} s)")
        return 0 if met else 1
    theirs = statistics.median(reference_all)
    met = ours <= TARGET_SECONDS and ours <= TARGET_RATIO * theirs
    print(
        f"Target: median <= {TARGET_SECONDS} s and <= {TARGET_RATIO:.2f} x reference: "
        f"{'met' if met else 'NOT met'} ({ours:.3f} s, {ours / theirs:.3f} x)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of the generated load test against a server whose timings are known.

The stand-in engine (tests/support/standin) streams every answer with a time to first token of
200 ms, 20 ms between tokens and 64 output tokens; the load generator of an app generated from a
small spec measures it at each concurrency level, from this machine, as `python <app>.py bench`
would. We compare its TTFT and TPOT with those true values and report the load generator's own
CPU time per request (the stand-in runs in another process).

    .venv/bin/python benchmarks/bench_load_test.py [--levels 1 16 64 128]

Targets, at every level: TTFT p50 within 5 ms of 200 ms, TPOT p50 within 1 ms of 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.project import Project  # noqa: E402
from tests.support.engine import (  # noqa: E402
    free_port,
    kill_processes,
    standin_environment,
    wait_listening,
)
from tests.support.introspect import import_app_file  # noqa: E402

TTFT_MS, ITL_MS, OUTPUT_TOKENS = 200, 20, 64
TTFT_TOLERANCE_MS, TPOT_TOLERANCE_MS = 5, 1

SPEC = """\
version = 1

[app]
name = "load-test-accuracy-{level}"
class_name = "Server"

[image]
registry_tag = "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[server]
unauthenticated = true
gpu = {{ type = "H100", count = 1 }}
target_inputs = {level}
proxy_regions = ["us-east"]

[bench]
concurrency = [{level}]
requests_per_level = {requests}
warmup_requests = 2
output_tokens = {output_tokens}
input_tokens = 256
"""


def requests_for(level: int) -> int:
    """Two full waves at each level, and at least 16 requests."""
    return max(16, 2 * level)


@contextlib.contextmanager
def standin(workdir: Path):
    port = free_port()
    environment = {
        **os.environ,
        **standin_environment(workdir / "standin.jsonl"),
        "STANDIN_TTFT": str(TTFT_MS / 1000),
        "STANDIN_ITL": str(ITL_MS / 1000),
        "STANDIN_OUTPUT_TOKENS": str(OUTPUT_TOKENS),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "sglang.launch_server", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        kill_processes([process.pid])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64, 128])
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        (workdir / "specs").mkdir()
        for level in args.levels:
            spec = SPEC.format(
                level=level, requests=requests_for(level), output_tokens=OUTPUT_TOKENS
            )
            (workdir / "specs" / f"level_{level}.toml").write_text(spec)
        project = Project(workdir)
        for output in project.render(project.discover_specs()):
            project.write(output)
        os.chdir(workdir)
        for level in args.levels:
            module = import_app_file(workdir / "generated" / f"level_{level}.py")
            with standin(workdir) as url:
                results = asyncio.run(module.generate_load(url, module.client_headers()))
            (summary,) = results["levels"]
            rows.append(summary)

    print(
        f"Stand-in: TTFT {TTFT_MS} ms, ITL {ITL_MS} ms, {OUTPUT_TOKENS} output tokens; "
        f"{os.cpu_count()} CPUs"
    )
    header = (
        f"{'level':>5} {'reqs':>5} {'err':>4} {'TTFT p50':>9} {'p99':>7} {'TPOT p50':>9} "
        f"{'p99':>7} {'ITL p50':>8} {'p99':>7} {'E2E p50':>8} {'tok/s':>7} {'CPU/req':>8}"
    )
    print(header)
    met = True
    for row in rows:
        ttft_error = abs(row["ttft_p50_ms"] - TTFT_MS)
        tpot_error = abs(row["tpot_p50_ms"] - ITL_MS)
        met &= ttft_error <= TTFT_TOLERANCE_MS and tpot_error <= TPOT_TOLERANCE_MS
        met &= row["completed"] == row["sent"]
        print(
            f"{row['concurrency']:>5} {row['sent']:>5} {sum(row['errors'].values()):>4} "
            f"{row['ttft_p50_ms']:>9.2f} {row['ttft_p99_ms']:>7.2f} {row['tpot_p50_ms']:>9.3f} "
            f"{row['tpot_p99_ms']:>7.3f} {row['itl_p50_ms']:>8.2f} {row['itl_p99_ms']:>7.2f} "
            f"{row['e2e_p50_ms']:>8.1f} {row['output_throughput']:>7.0f} "
            f"{row['client_cpu_ms_per_request']:>6.2f}ms"
        )
    print("(times in ms; CPU/req: the load generator's own CPU time per request)")
    print(
        f"Target: TTFT p50 within {TTFT_TOLERANCE_MS} ms of {TTFT_MS} ms and TPOT p50 within "
        f"{TPOT_TOLERANCE_MS} ms of {ITL_MS} ms at every level, no errors: "
        f"{'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of the generated load test against a server whose timings are known.

The stand-in engine (tests/support/standin) streams every answer with a time to first token of
200 ms, 20 ms between tokens and 64 output tokens; the load generator of an app generated from a
small spec measures it at each concurrency level, from this machine, as `python <app>.py bench`
would, with the load test's defaults: worker processes (one per core), connections opened before
each level, and the requests in flight starting one after another over `bench.ramp_up_ms`
(100 ms; `--ramp-up-ms 0` sends each level's first requests in one burst, as the load test
did before). Each request is timed from its own start. We compare its TTFT and TPOT with those
true values and report the CPU time per request of the load generator and of the stand-in
(another process).

    .venv/bin/python benchmarks/bench_load_test.py [--levels 1 16 64 128] [--ramp-up-ms MS]
        [--chart FILE.png]

Targets, at every level: TTFT p50 within 5 ms of 200 ms, TPOT p50 within 1 ms of 20 ms.

The stand-in records when it accepted each connection, read each request and wrote each
answer's first token; matched by completion id with the client's wall-clock send time, that
gives the TTFT the client really saw (`delivered`). `error` is the client's measurement minus
that: the load generator's own accuracy, whatever the server does. A second table says where the
time to first token went, client and stand-in side by side (p50 from the client's start of each
request), with the load generator's processes and their event-loop lag. The last lines name the
highest level within the target's accuracy on this machine, and whether the target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.project.project import Project  # noqa: E402
from tests.support.engine import (  # noqa: E402
    StandinLog,
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
warmup_requests = 2{ramp_up}
output_tokens = {output_tokens}
input_tokens = 256
"""


def requests_for(level: int) -> int:
    """Two full waves at each level, and at least 16 requests."""
    return max(16, 2 * level)


def delivered_ttfts(log: StandinLog, requests: list[dict]) -> list[tuple[float, float]]:
    """(delivered TTFT, client's measurement error) in ms of each request the stand-in served."""
    first_tokens = {
        event["id"]: event["first_token_at"]
        for event in log.events("chat")
        if event.get("id") and event.get("first_token_at")
    }
    pairs = []
    for request in requests:
        written = first_tokens.get(request.get("id"))
        if request.get("error") is None and written is not None:
            delivered = 1000 * (written - request["started_at"])
            pairs.append((delivered, request["ttft_ms"] - delivered))
    return pairs


def breakdown(log: StandinLog, requests: list[dict]) -> dict[str, float | None]:
    """Where each request's time to first token went, p50 in ms from the client's start: the
    client's marks, and the stand-in's (matched by completion id; wall clocks of one machine)."""
    served = {event["id"]: event for event in log.events("chat") if event.get("id")}
    steps: dict[str, list[float]] = {
        "connected": [],
        "written": [],
        "accepted": [],
        "parsed": [],
        "first byte": [],
        "written 1st": [],
        "ttft": [],
    }
    for request in requests:
        event = served.get(request.get("id"))
        if request.get("error") is not None or event is None:
            continue
        steps["connected"].append(request["connected_ms"])
        steps["written"].append(request["written_ms"])
        if event["connection_request"] == 1:  # a kept-alive connection was accepted earlier
            steps["accepted"].append(1000 * (event["accepted_at"] - request["started_at"]))
        steps["parsed"].append(1000 * (event["parsed_at"] - request["started_at"]))
        steps["first byte"].append(request["first_byte_ms"])
        steps["written 1st"].append(1000 * (event["first_token_at"] - request["started_at"]))
        steps["ttft"].append(request["ttft_ms"])
    return {step: statistics.median(values) if values else None for step, values in steps.items()}


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def standin(workdir: Path, log: StandinLog):
    port = free_port()
    environment = {
        **os.environ,
        **standin_environment(log.path),
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
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        kill_processes([process.pid])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64, 128])
    parser.add_argument(
        "--ramp-up-ms",
        type=int,
        help="the spec's bench.ramp_up_ms (default: the load test's own default; 0: each level's "
        "requests start in one burst)",
    )
    parser.add_argument(
        "--chart", type=Path, help="also draw the generated load test's chart of all levels here"
    )
    args = parser.parse_args()
    chart = args.chart.resolve() if args.chart else None

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        (workdir / "specs").mkdir()
        for level in args.levels:
            spec = SPEC.format(
                level=level,
                requests=requests_for(level),
                output_tokens=OUTPUT_TOKENS,
                ramp_up="" if args.ramp_up_ms is None else f"\nramp_up_ms = {args.ramp_up_ms}",
            )
            (workdir / "specs" / f"level_{level}.toml").write_text(spec)
        project = Project(workdir)
        for output in project.render(project.discover_specs()):
            project.write(output)
        os.chdir(workdir)
        for level in args.levels:
            module = import_app_file(workdir / "generated" / f"level_{level}.py")
            log = StandinLog(workdir / f"standin-{level}.jsonl")
            with standin(workdir, log) as (url, pid):
                cpu_before = cpu_seconds(pid)
                results = asyncio.run(
                    module.generate_load(url, module.client_headers(), module.measure_here)
                )
                standin_cpu = cpu_seconds(pid) - cpu_before
            (summary,) = results["levels"]
            pairs = delivered_ttfts(log, summary["requests"])
            summary["delivered_p50_ms"] = statistics.median(p[0] for p in pairs)
            summary["error_p50_ms"] = statistics.median(p[1] for p in pairs)
            summary["error_max_ms"] = max(abs(p[1]) for p in pairs)
            summary["breakdown"] = breakdown(log, summary["requests"])
            summary["standin_cpu_ms_per_request"] = 1000 * standin_cpu / summary["sent"]
            rows.append(summary)
        if chart is not None:  # the app's own chart, drawn from every level's summary
            module.BENCH_CHART = str(chart)
            module.write_chart(rows)

    print(
        f"Stand-in: TTFT {TTFT_MS} ms, ITL {ITL_MS} ms, {OUTPUT_TOKENS} output tokens; "
        f"{os.cpu_count()} CPUs; ramp-up {1000 * module.BENCH_RAMP_UP:g} ms; load average "
        f"{' '.join(f'{load:.2f}' for load in os.getloadavg())} (after)"
    )
    header = (
        f"{'level':>5} {'reqs':>5} {'err':>4} {'TTFT p50':>9} {'p99':>7} {'TPOT p50':>9} "
        f"{'p99':>7} {'ITL p50':>8} {'p99':>7} {'E2E p50':>8} {'tok/s':>7} {'CPU/req':>8} "
        f"{'server':>8} {'delivered':>9} {'error p50':>9} {'max':>6}"
    )
    print(header)
    accurate_levels = []
    for row in rows:
        ttft_error = abs(row["ttft_p50_ms"] - TTFT_MS)
        tpot_error = abs(row["tpot_p50_ms"] - ITL_MS)
        if (
            ttft_error <= TTFT_TOLERANCE_MS
            and tpot_error <= TPOT_TOLERANCE_MS
            and row["completed"] == row["sent"]
        ):
            accurate_levels.append(row["concurrency"])
        print(
            f"{row['concurrency']:>5} {row['sent']:>5} {sum(row['errors'].values()):>4} "
            f"{row['ttft_p50_ms']:>9.2f} {row['ttft_p99_ms']:>7.2f} {row['tpot_p50_ms']:>9.3f} "
            f"{row['tpot_p99_ms']:>7.3f} {row['itl_p50_ms']:>8.2f} {row['itl_p99_ms']:>7.2f} "
            f"{row['e2e_p50_ms']:>8.1f} {row['output_throughput']:>7.0f} "
            f"{row['client_cpu_ms_per_request']:>6.2f}ms"
            f" {row['standin_cpu_ms_per_request']:>6.2f}ms"
            f" {row['delivered_p50_ms']:>9.2f} {row['error_p50_ms']:>9.2f}"
            f" {row['error_max_ms']:>6.2f}"
        )
    print(
        "(times in ms; CPU/req: the load generator's own CPU time per request; server: the\n"
        " stand-in's, per request of the level, its warm-up included; delivered: the TTFT p50\n"
        " the stand-in really delivered; error: measured minus delivered, p50 and max)"
    )
    print(
        "\nWhere the time to first token went, p50 in ms from the client's start of each request"
        "\n(client: connection got, request written, first byte of the answer, first token;"
        "\n stand-in: connection accepted (new connections only: none when opened before the"
        "\n level), request read, first token written), and the load generator's processes"
        "\n and event-loop lag (p99, the worst):"
    )
    steps = list(rows[0]["breakdown"])
    print(
        f"{'level':>5}"
        + "".join(f" {step:>11}" for step in steps)
        + f" {'procs':>5} {'lag p99':>7}"
    )
    for row in rows:
        cells = "".join(
            f" {'-':>11}" if value is None else f" {value:>11.2f}"
            for value in row["breakdown"].values()
        )
        lag = max(worker["lag_p99_ms"] or 0.0 for worker in row["workers"])
        print(f"{row['concurrency']:>5}{cells} {len(row['workers']):>5} {lag:>7.2f}")
    accurate = all(abs(row["error_p50_ms"]) <= TTFT_TOLERANCE_MS for row in rows)
    print(
        f"Accuracy: the measured TTFT p50 within {TTFT_TOLERANCE_MS} ms of what the stand-in "
        f"delivered at every level: {'met' if accurate else 'NOT met'}"
    )
    met = len(accurate_levels) == len(rows)
    highest = max(accurate_levels, default=None)
    print(
        f"Highest level driven within {TTFT_TOLERANCE_MS} ms (TTFT p50) and {TPOT_TOLERANCE_MS} ms "
        f"(TPOT p50), without errors, on this machine: {highest or 'none'}"
    )
    print(
        f"Target: TTFT p50 within {TTFT_TOLERANCE_MS} ms of {TTFT_MS} ms and TPOT p50 within "
        f"{TPOT_TOLERANCE_MS} ms of {ITL_MS} ms at every level, no errors: "
        f"{'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

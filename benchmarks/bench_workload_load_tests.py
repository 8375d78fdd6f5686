"""The load-test output the README shows for each workload: completion, LoRA, embedding, rerank.

Each is an example spec of `examples/modal-examples/specs/` with the README's `[workload]` and
`[bench]` appended, generated into a scratch copy of that project and load-tested, as
`python <app>.py bench` would, against the stand-in engine (tests/support/standin) started with
the app's own server command (`STANDIN_TTFT=0.02`, `STANDIN_ITL=0.005`); the concurrency target
is set to 4, as in the README.

    .venv/bin/python benchmarks/bench_workload_load_tests.py [NAME ...]

Run it inside `unshare --net` when tests run beside it: the stand-in listens on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.engine import (  # noqa: E402
    free_port,
    kill_processes,
    standin_environment,
    wait_listening,
)
from tests.support.introspect import import_app_file  # noqa: E402

GENERATION_BENCH = """[bench]
concurrency = [1, 4]
requests_per_level = 16
input_tokens = 64
output_tokens = 32
slo = { ttft_p99_ms = 100, tpot_p99_ms = 20 }
"""
POOLING_BENCH = """[bench]
concurrency = [1, 4]
batch_sizes = [1, 16]
requests_per_level = 16
input_tokens = 64
slo = { latency_p99_ms = 100 }
"""
# Example spec -> what the README's section adds to it.
RUNS = {
    "vllm_inference": '[workload]\nkind = "completion"\n\n' + GENERATION_BENCH,
    "vllm_lora_summarizer": GENERATION_BENCH.replace(
        "[bench]\n", '[bench]\nadapters = ["summarizer"]\n'
    ),
    "sglang_embeddings": POOLING_BENCH,
    "bge_reranker": POOLING_BENCH,
}
# Chat roles, which the completion workload refuses.
CHAT_ONLY = ("system_prompt", "second_system_prompt")


def _with_bench(text: str, added: str) -> str:
    """The spec without its own `[bench]` (and, for completion, chat roles), plus `added`."""
    lines, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.strip() == "[bench]"
        if skipping or ("completion" in added and line.startswith(CHAT_ONLY)):
            continue
        lines.append(line)
    return "\n".join(lines).rstrip("\n") + "\n\n" + added


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(RUNS)}")
    names = parser.parse_args().names or list(RUNS)
    if unknown := sorted(set(names) - set(RUNS)):
        parser.error(f"no such run: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "project"
        subprocess.run(
            ["cp", "-r", str(ROOT / "examples" / "modal-examples"), str(project)], check=True
        )
        for name in names:
            spec = project / "specs" / f"{name}.toml"
            spec.write_text(_with_bench(spec.read_text(), RUNS[name]))
        modalgen = Path(sys.executable).parent / "modalgen"
        subprocess.run(
            [str(modalgen), "-q", "generate", "-C", str(project)],
            check=True,
            stderr=subprocess.DEVNULL,  # the examples' warnings
        )
        os.chdir(project)  # where each load test writes bench/<app>.json
        # The rerank example sits behind Modal's proxy authentication: any token will do here.
        os.environ.setdefault("MODAL_PROXY_TOKEN_ID", "wk-stand-in")
        os.environ.setdefault("MODAL_PROXY_TOKEN_SECRET", "ws-stand-in")
        for name in names:
            module = import_app_file(project / "generated" / f"{name}.py")
            module.CONCURRENCY_TARGET = 4
            port = free_port()
            command = [str(part) for part in module.SERVER_COMMAND]
            command[command.index("--port") + 1] = str(port)
            if command[0] == "python":
                command[0] = sys.executable
            environment = {
                **os.environ,
                **standin_environment(project / "standin.jsonl"),
                "STANDIN_TTFT": "0.02",
                "STANDIN_ITL": "0.005",
            }
            server = subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                wait_listening(port)
                print(f"===== {name}", flush=True)
                url = f"http://127.0.0.1:{port}"
                asyncio.run(module.load_test(url, module.client_headers(), module.measure_here))
            finally:
                kill_processes([server.pid])
    return 0


if __name__ == "__main__":
    sys.exit(main())

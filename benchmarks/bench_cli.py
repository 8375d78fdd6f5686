"""Wall time of the modalgen CLI: `generate` and `check` over 200 synthetic specs, `check` over
this repository, warm (the user's cache knows the outputs) and cold (an empty cache, as in CI:
every spec rendered and compared), `upgrade`'s dry run over the 200 specs (each one's diff and its
generated file's, rendered in memory), and the CLI's import time. Medians of several runs of the
real command, with a cache directory of the benchmark's own.

    .venv/bin/python benchmarks/bench_cli.py [--specs 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = [
    ("Qwen/Qwen3-8B", "H100", 1, None),
    ("Qwen/Qwen3-32B", "H100", 2, None),
    ("Qwen/Qwen3.5-35B-A3B-FP8", "H100!", 2, "EAGLE"),
    ("meta-llama/Llama-3.1-8B-Instruct", "L40S", 1, None),
    ("meta-llama/Llama-3.3-70B-Instruct", "H200", 2, None),
    ("mistralai/Mistral-Small-24B-Instruct-2501", "A100-80GB", 1, None),
    ("google/gemma-3-27b-it", "H100", 1, None),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", "L40S", 2, None),
]
IMAGES = [
    "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime",
    "lmsysorg/sglang:v0.5.10.post1-cu130-runtime",
]


def synthetic_spec(index: int) -> str:
    model, gpu, count, speculative = MODELS[index % len(MODELS)]
    image = IMAGES[index % len(IMAGES)]
    lines = [
        "version = 1",
        "[app]",
        f'name = "bench-{index}"',
        'class_name = "Server"',
        "[image]",
        f'registry_tag = "{image}"',
        "[image.env]",
        'HF_HUB_CACHE = "/root/.cache/huggingface"',
        "[model]",
        f'name = "{model}"',
        f'revision = "{index:040x}"',
        "[[volumes]]",
        'name = "huggingface-cache"',
        'mount_path = "/root/.cache/huggingface"',
        "[deep_gemm]",
        f"enabled = {'true' if index % 3 else 'false'}",
        "[server]",
        "unauthenticated = true",
        f'gpu = {{ type = "{gpu}", count = {count} }}',
        f"target_inputs = {4 + index % 12}",
        'region = "us-east"',
        f"startup_timeout = {900 + index}",
        "[engine]",
        f"context_length = {8192 * (1 + index % 4)}",
        f"decode_log_interval = {50 + index % 50}",
    ]
    if speculative:
        lines += [
            "[engine.speculative]",
            f'algorithm = "{speculative}"',
            "num_steps = 3",
            "eagle_topk = 1",
            "num_draft_tokens = 4",
        ]
    lines += ["[warmup]", f"requests = {1 + index % 3}", "[probe]", "cli_options = true"]
    return "\n".join(lines) + "\n"


def modalgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "generator", *args]


CACHE = Path(tempfile.mkdtemp(prefix="modalgen-bench-cache-"))


def timed(command: list[str], runs: int, expect: int = 0, cold: bool = False) -> float:
    """Median wall time of `command`; `cold`: with an empty cache directory each run."""
    times = []
    for _ in range(runs):
        cache = Path(tempfile.mkdtemp(prefix="modalgen-cold-")) if cold else CACHE
        environment = {**os.environ, "MODALGEN_CACHE_DIR": str(cache)}
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, check=False, env=environment)
        times.append(time.perf_counter() - started)
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        if result.returncode != expect:
            raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--specs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory)
        (project / "specs").mkdir()
        for index in range(arguments.specs):
            (project / "specs" / f"model_{index:03d}.toml").write_text(synthetic_spec(index))
        generate = modalgen("-q", "generate", "-C", str(project))
        # The first run writes every file; time it once, then runs that find nothing to change.
        first = timed(generate, 1)
        rows.append((f"generate, {arguments.specs} specs, writing all", first))
        shutil.copytree(ROOT / "schemas", project / "schemas")
        rows.append(
            (f"generate, {arguments.specs} specs, unchanged", timed(generate, arguments.runs))
        )
        check = modalgen("-q", "check", "-C", str(project))
        rows.append((f"check, {arguments.specs} specs", timed(check, arguments.runs)))
        rows.append(
            (f"check, {arguments.specs} specs, cold cache", timed(check, arguments.runs, cold=True))
        )
        # Every spec moved to the newest SGLang: each edited, validated and rendered in memory.
        upgrade = modalgen("-q", "upgrade", "-C", str(project), "--latest")
        rows.append(
            (f"upgrade --latest dry run, {arguments.specs} specs", timed(upgrade, arguments.runs))
        )
    check = modalgen("-q", "check", "-C", str(ROOT))
    timed(check, 1)  # the cache learns this repository
    rows.append(("check, this repository", timed(check, arguments.runs)))
    rows.append(("check, this repository, cold cache", timed(check, arguments.runs, cold=True)))
    imports = [
        timed([sys.executable, "-c", "import generator.cli.cli"], 1) for _ in range(arguments.runs)
    ]
    bare = [timed([sys.executable, "-c", "pass"], 1) for _ in range(arguments.runs)]
    rows.append(("import generator.cli.cli (python start-up included)", statistics.median(imports)))
    rows.append(("python start-up alone", statistics.median(bare)))

    shutil.rmtree(CACHE, ignore_errors=True)
    print(f"modalgen CLI, median of {arguments.runs} runs (first generate: 1 run)")
    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        print(f"  {label:<{width}}  {seconds:6.3f} s")
    targets = {
        "check, this repository": 0.15,
        f"check, {arguments.specs} specs": 1.0,
        f"generate, {arguments.specs} specs, unchanged": 1.0,
    }
    for label, limit in targets.items():
        seconds = dict(rows)[label]
        verdict = "met" if seconds <= limit else "MISSED"
        print(f"target {label} <= {limit} s: {verdict} ({seconds:.3f} s)")


if __name__ == "__main__":
    main()

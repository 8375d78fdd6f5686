"""Time and peak memory of reading hostile spec files: each shape is written to a temporary
file and read by `loader.load_document` (what `validate`, `generate` and `check` do first), in
a fresh process of its own, so that its peak memory is its own.

    .venv/bin/python benchmarks/bench_hostile_specs.py          # through modalgen's loader
    .venv/bin/python benchmarks/bench_hostile_specs.py --raw    # tomllib, pyyaml, the scanner

`--raw` shows what the pre-scan prevents (use `--scale` below 1 to keep it short: the shapes
are quadratic there; each process is held to `--max-memory-gib`, 4 by default). Without it,
every hostile shape should be refused in a moment, and the largest shapes that stay within the
limits show the cost of a file that is merely big.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def _lines(line: Callable[[int], str], size: int) -> str:
    """As many lines as fit in `size` characters."""
    parts: list[str] = []
    total = 0
    index = 0
    while total + len(line(index)) <= size:
        parts.append(line(index))
        total += len(parts[-1])
        index += 1
    return "".join(parts)


# name -> (file suffix, text for a scale of 1). Sizes are those of the issue where it gives one.
SHAPES: dict[str, tuple[str, Callable[[float], str]]] = {
    # Over a limit: refused before parsing.
    "dotted key, 40,000 parts (80 KB)": (
        ".toml",
        lambda s: "version = 1\n" + ".".join(["a"] * int(40_000 * s)) + " = 1\n",
    ),
    "table header, 100,000 quoted parts (400 KB)": (
        ".toml",
        lambda s: "version = 1\n[" + ".".join(['"a"'] * int(100_000 * s)) + "]\n",
    ),
    "inline table, dotted key of 40,000 parts": (
        ".toml",
        lambda s: "version = 1\nx = {" + ".".join(["a"] * int(40_000 * s)) + " = 1}\n",
    ),
    "arrays nested 3,000 deep": (
        ".toml",
        lambda s: "version = 1\nx = " + "[" * int(3000 * s) + "]" * int(3000 * s) + "\n",
    ),
    "inline tables nested 3,000 deep": (
        ".toml",
        lambda s: "version = 1\nx = " + "{a = " * int(3000 * s) + "1" + "}" * int(3000 * s) + "\n",
    ),
    "500,000 list items (1 MiB)": (
        ".toml",
        lambda s: "version = 1\nx = [" + "1," * int(500_000 * s) + "]\n",
    ),
    "YAML flow lists nested 3,000 deep": (
        ".yaml",
        lambda s: "version: 1\nx: " + "[" * int(3000 * s) + "]" * int(3000 * s) + "\n",
    ),
    "YAML 500,000 flow items (1 MiB)": (
        ".yaml",
        lambda s: "version: 1\nx: [" + "1," * int(500_000 * s) + "]\n",
    ),
    "YAML block mappings nested 3,000 deep": (
        ".yaml",
        lambda s: (
            "version: 1\n"
            + "".join(" " * i + "a:\n" for i in range(int(1400 * s)))
            + " " * int(1400 * s)
            + "1\n"
        ),
    ),
    # Within the limits: parsed, then refused by validation (or by the node count).
    "1 MiB of 32-part dotted keys": (
        ".toml",
        lambda s: (
            "version = 1\n"
            + _lines(lambda i: ".".join(["k"] * 31) + f".v{i} = 1\n", int(MIB * s) - 20)
        ),
    ),
    "1 MiB of 32-part dotted keys, each its own tables": (
        ".toml",
        lambda s: (
            "version = 1\n"
            + _lines(lambda i: f"v{i}." + ".".join(["k"] * 31) + " = 1\n", int(MIB * s) - 20)
        ),
    ),
    "9,990 keys of 32 parts, just under the count": (
        ".toml",
        lambda s: (
            "version = 1\n"
            + "".join(f"v{i}." + ".".join(["k"] * 31) + " = 1\n" for i in range(int(9_990 * s)))
        ),
    ),
    "1 MiB of 32-part quoted table headers": (
        ".toml",
        lambda s: (
            "version = 1\n"
            + _lines(lambda i: "[" + ".".join(['"k"'] * 31) + f'."v{i}"]\n', int(MIB * s) - 20)
        ),
    ),
    "1 MiB of one-line inline tables": (
        ".toml",
        lambda s: (
            "version = 1\n"
            + _lines(lambda i: f'k{i} = {{ a = 1, "b.c" = 2, d.e = "x" }}\n', int(MIB * s) - 20)
        ),
    ),
    "1 MiB string": (".toml", lambda s: 'version = 1\nx = "' + "a" * int((MIB - 40) * s) + '"\n'),
}


def measure(name: str, scale: float, raw: bool) -> dict[str, object]:
    """Read one shape in this process; its time, this process's peak memory, and the outcome."""
    sys.path.insert(0, str(ROOT))
    from generator.spec.errors import SpecError
    from generator.spec.loader import _toml_positions, load_document

    suffix, make = SHAPES[name]
    text = make(scale)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"spec{suffix}"
        path.write_text(text, encoding="utf-8")
        started = time.perf_counter()
        try:
            if raw and suffix == ".toml":
                import tomllib

                tomllib.loads(text)
                _toml_positions(text)
                outcome = "parsed"
            elif raw:
                import yaml

                yaml.safe_load(text)
                outcome = "parsed"
            else:
                load_document(path, path.name, Path(directory))
                outcome = "read"
        except SpecError as error:
            outcome = str(error.problems[0]).split(": ", 1)[-1][:70]
        except (RecursionError, ValueError, MemoryError) as error:
            outcome = type(error).__name__
        elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    return {"seconds": elapsed, "peak_mib": peak, "bytes": len(text), "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", action="store_true", help="parse without modalgen's limits")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every shape's size")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per shape")
    parser.add_argument(
        "--max-memory-gib",
        type=float,
        default=4.0,
        help="address-space limit of each shape's process (a MemoryError beyond it)",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:
        limit = int(arguments.max_memory_gib * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps(measure(arguments.one, arguments.scale, arguments.raw)))
        return
    mode = "tomllib / pyyaml / the key scanner alone" if arguments.raw else "modalgen's loader"
    print(f"{mode}, scale {arguments.scale}")
    print(f"{'shape':<46} {'size':>9} {'time':>9} {'peak':>9}  outcome")
    for name in SHAPES:
        command = [sys.executable, __file__, "--one", name, "--scale", str(arguments.scale)]
        command += ["--max-memory-gib", str(arguments.max_memory_gib)]
        try:
            result = subprocess.run(
                [*command, *(["--raw"] if arguments.raw else [])],
                capture_output=True,
                text=True,
                timeout=arguments.timeout,
                check=True,
            )
        except subprocess.TimeoutExpired:
            print(f"{name:<46} {'':>9} {'>' + str(int(arguments.timeout)) + ' s':>9}")
            continue
        except subprocess.CalledProcessError as error:
            print(f"{name:<46} failed: {error.stderr.strip().splitlines()[-1:]}")
            continue
        figures = json.loads(result.stdout)
        size = f"{figures['bytes'] / 1024:.0f} KiB"
        print(
            f"{name:<46} {size:>9} {figures['seconds']:>7.3f} s {figures['peak_mib']:>5} MiB"
            f"  {figures['outcome']}"
        )


if __name__ == "__main__":
    main()

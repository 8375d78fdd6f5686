"""The load test every generated app carries: its spec section, `bench`.

The load generator itself lives in the generated file (templates/partials/bench/load_test.py.jinja);
`generator/view/bench.py` turns this section into the literals that file starts from. Metrics
follow the definitions of vLLM's and SGLang's serving benchmarks.
"""

from __future__ import annotations

import itertools
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import Field, StrictBool, field_validator

from generator.spec.fields import Seconds, SpecModel

PositiveInt = Annotated[int, Field(gt=0)]


class BenchSlo(SpecModel):
    ttft_p99_ms: float | None = Field(
        default=None,
        gt=0,
        description="Highest 99th-percentile time to first token, in milliseconds, at which a "
        "concurrency level counts as within the SLO.",
    )
    tpot_p99_ms: float | None = Field(
        default=None,
        gt=0,
        description="Highest 99th-percentile time per output token after the first, in "
        "milliseconds, at which a concurrency level counts as within the SLO.",
    )
    latency_p99_ms: float | None = Field(
        default=None,
        gt=0,
        description="Embedding and rerank workloads: highest 99th-percentile request latency, "
        "in milliseconds, at which a concurrency level and batch size count as within the SLO.",
    )


class BenchSection(SpecModel):
    enabled: StrictBool = Field(
        default=True,
        description="Generate the load test (`python <app>.py bench`, and `--bench` on the probe "
        "entrypoint when `probe.cli_options` is set).",
    )
    prompts: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="User messages the load test sends, in turn; when empty, synthetic prompts "
        "of `input_tokens` words.",
    )
    input_tokens: PositiveInt = Field(
        default=256,
        description="Length of each synthetic prompt, in words (about one token each).",
    )
    output_tokens: PositiveInt = Field(
        default=128,
        description="Tokens every answer has: `max_tokens`, with `ignore_eos` so that no answer "
        "ends early.",
    )
    concurrency: list[PositiveInt] = Field(
        default_factory=lambda: [1, 4, 16, 64],
        min_length=1,
        description="The concurrency levels of the sweep, increasing: requests in flight at once.",
    )
    requests_per_level: PositiveInt = Field(
        default=64, description="Requests measured at each concurrency level."
    )
    request_rate: float | None = Field(
        default=None,
        gt=0,
        description="Requests per second, sent as a Poisson process (never more in flight than "
        "the level); when absent, each request is sent as soon as one in flight ends.",
    )
    ramp_up_ms: int = Field(
        default=100,
        ge=0,
        description="Milliseconds over which the requests in flight at a level start, evenly, "
        "one after another (as a pool of users arrives) rather than in one burst; each then "
        "sends its next request as soon as its last ends, and every request is timed from its "
        "own start. 0 starts them all at once. Not with `request_rate`, whose arrivals are "
        "spread already.",
    )
    warmup_requests: int = Field(
        default=4, ge=0, description="Requests sent before the sweep and not counted."
    )
    timeout: Seconds = Field(default=600, description="Seconds allowed for each request.")
    batch_sizes: list[PositiveInt] | None = Field(
        default=None,
        min_length=1,
        description="Embedding workload: texts per request; rerank workload: documents per "
        "request (each scored against one query). Increasing; the sweep measures each "
        "concurrency level at each batch size. Defaults to `[1]`.",
    )
    adapters: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Names of LoRA adapters (`model.adapters`) the requests ask for, in turn; "
        "when empty, every request asks for what the probe does.",
    )
    output: str | None = Field(
        default=None,
        min_length=1,
        description="JSON file of every request's timings, relative to the directory the load "
        "test runs in; the chart is written next to it as `.png`. Defaults to "
        "`bench/<app name>.json`.",
    )
    in_region: StrictBool = Field(
        default=False,
        description="Also deploy a small CPU-only Modal Function, in the serving region when the "
        "spec gives one, that runs the load generator near the server; results still come "
        "back to the terminal.",
    )
    slo: BenchSlo = Field(
        default_factory=BenchSlo,
        description="Latency objectives: the result names the highest concurrency that meets "
        "them, and compares it with the server's concurrency target.",
    )

    @field_validator("output")
    @classmethod
    def _inside_working_directory(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or "\\" in value:
            raise ValueError("must be a path inside the working directory: relative, without `..`")
        if path.suffix != ".json":
            raise ValueError("must name a `.json` file (the chart goes next to it as `.png`)")
        return value

    @field_validator("concurrency")
    @classmethod
    def _levels_increase(cls, levels: list[int]) -> list[int]:
        if any(later <= earlier for earlier, later in itertools.pairwise(levels)):
            raise ValueError("the levels must increase, each used once")
        return levels

    @field_validator("batch_sizes")
    @classmethod
    def _batch_sizes_increase(cls, sizes: list[int] | None) -> list[int] | None:
        if sizes is not None and any(b <= a for a, b in itertools.pairwise(sizes)):
            raise ValueError("the batch sizes must increase, each used once")
        return sizes

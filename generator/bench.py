"""The load test every generated app carries: its spec section and what the templates need.

The load generator itself lives in the generated file (templates/partials/load_test.py.jinja):
this module checks the `bench` section and turns it into the literals that file starts from.
Metrics follow the definitions of vLLM's and SGLang's serving benchmarks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StrictBool, field_validator

from generator.fields import Seconds, SpecModel
from generator.pycode import PyCode, comment, literal

if TYPE_CHECKING:
    from generator.models import Spec

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
        description="Embedding workload: highest 99th-percentile request latency, in "
        "milliseconds, at which a concurrency level and batch size count as within the SLO.",
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
        description="Embedding workload: texts per request, increasing; the sweep measures each "
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


@dataclass(frozen=True)
class BenchView:
    concurrency: PyCode
    requests_per_level: PyCode
    request_rate: PyCode | None  # None: each request as soon as a slot is free
    ramp_up: PyCode | None  # seconds over which a level's slots start; None with a request rate
    warmup_requests: PyCode
    timeout: PyCode
    path: PyCode  # the endpoint each request goes to
    what: PyCode  # one request, in the docstring: "chat completion"
    payload: PyCode  # the request body, built from `messages` (`prompt`, `texts`)
    adapters: PyCode | None  # the target fields of each adapter the requests ask for in turn
    batch_sizes: PyCode  # texts per request, for the embedding workload
    prompts: PyCode | None  # the spec's prompts; None: synthetic ones
    input_tokens: PyCode
    output: PyCode
    chart: PyCode
    slo: PyCode
    target: PyCode
    target_source: PyCode  # for the comment next to the target
    needs_random: bool  # synthetic prompts or Poisson arrivals
    in_region: bool
    streams_per_container: PyCode  # in region: requests in flight from one container
    container_workers: PyCode  # in region: load-generator processes in each container
    entrypoint_option: bool  # `--bench` on the probe entrypoint
    function_keywords: PyCode  # of the in-region Function's decorator
    # The load test takes --workers, --compare, --tolerance and --peak-rate (the streaming load
    # test, whose report compares runs and suggests the spec change).
    options: bool
    tolerance: PyCode  # BENCH_TOLERANCE, the default of --tolerance
    entrypoint_call: PyCode  # runs the load test inside `modal run`, with its options
    deployed_call: PyCode  # and in the deployed-app client, with its command-line options
    # The spec change the sweep suggests: the file, and how its format writes a setting of the
    # server section.
    spec_file: PyCode
    spec_section: PyCode
    spec_setting: PyCode  # str.format with `key` and `value`
    target_key: PyCode  # the server kind's field for the concurrency target


# Percent a figure may worsen before `--compare` calls it a regression.
BENCH_TOLERANCE = 10.0
# The `modal run --bench` options of the streaming load test, passed on to `load_test`.
ENTRYPOINT_OPTIONS = ("workers", "compare", "tolerance", "peak_rate")
# Each call of the in-region Function sends one level's shard: an hour is ample for any.
IN_REGION_TIMEOUT = 3600
IN_REGION_IMAGE = PyCode('modal.Image.debian_slim().pip_install("aiohttp")')
# A load-generator container: this many cores, one worker process on each, and at most this
# many streams in flight from it (measured: one process drives 128 streams with under 1 ms of lag
# against the stand-in engine); a level beyond it is spread over several containers.
IN_REGION_CPUS = 4
IN_REGION_STREAMS = 512
# How a setting of the server section is written, by the spec's format.
SPEC_SETTINGS = {
    ".toml": ("[server]", "{key} = {value}"),
    ".yaml": ("server:", "  {key}: {value}"),
    ".yml": ("server:", "  {key}: {value}"),
}


def bench_view(
    spec: Spec,
    spec_path: str,
    path: str,
    what: str,
    payload: dict[str, object],
    adapters: PyCode | None,
    options: bool,
) -> BenchView | None:
    bench = spec.bench
    if not bench.enabled:
        return None
    output = PurePosixPath(bench.output or f"bench/{spec.app.name}.json")
    slo = {
        key: value
        for key, value in (
            ("ttft_p99_ms", bench.slo.ttft_p99_ms),
            ("tpot_p99_ms", bench.slo.tpot_p99_ms),
            ("latency_p99_ms", bench.slo.latency_p99_ms),
        )
        if value is not None
    }
    target = spec.server.concurrency_target
    # TOML for a path without a spec's suffix (a caller's placeholder name).
    section, setting = SPEC_SETTINGS.get(PurePosixPath(spec_path).suffix, SPEC_SETTINGS[".toml"])
    regions = spec.server.compute_regions
    entrypoint_option = bool(spec.probe.cli_options)
    keywords = [
        f"image={IN_REGION_IMAGE}",
        f"cpu={literal(float(IN_REGION_CPUS))}",
        f"timeout={literal(IN_REGION_TIMEOUT)}",
    ]
    if regions:
        keywords.append(f"region={literal(regions[0] if len(regions) == 1 else regions)}")
    return BenchView(
        concurrency=literal(bench.concurrency),
        requests_per_level=literal(bench.requests_per_level),
        request_rate=literal(bench.request_rate) if bench.request_rate is not None else None,
        ramp_up=literal(bench.ramp_up_ms / 1000) if bench.request_rate is None else None,
        warmup_requests=literal(bench.warmup_requests),
        timeout=literal(bench.timeout),
        path=literal(path),
        what=comment(what),
        payload=literal(payload),
        adapters=adapters,
        batch_sizes=literal(bench.batch_sizes or [1]),
        prompts=literal(bench.prompts) if bench.prompts else None,
        input_tokens=literal(bench.input_tokens),
        output=literal(str(output)),
        chart=literal(str(output.with_suffix(".png"))),
        slo=literal(slo),
        target=literal(target if target is not None else bench.concurrency[-1]),
        target_source=comment(
            "the server's concurrency target"
            if target is not None
            else "the sweep's highest level: the spec sets no concurrency target"
        ),
        needs_random=not bench.prompts or bench.request_rate is not None,
        in_region=bench.in_region,
        entrypoint_option=entrypoint_option,
        function_keywords=PyCode(", ".join(keywords)),
        streams_per_container=literal(IN_REGION_STREAMS),
        container_workers=literal(IN_REGION_CPUS),
        options=options,
        tolerance=literal(BENCH_TOLERANCE),
        entrypoint_call=PyCode(
            _load_test_call(
                bench.in_region,
                "load_generator",
                "".join(f", {option}={option}" for option in ENTRYPOINT_OPTIONS)
                if options and entrypoint_option
                else "",
            )
        ),
        deployed_call=PyCode(
            _load_test_call(
                bench.in_region,
                'modal.Function.from_name(APP_NAME, "load_generator")',
                ", **options" if options else "",
            )
        ),
        spec_file=literal(spec_path),
        spec_section=literal(section),
        spec_setting=literal(setting),
        target_key=literal(type(spec.server).concurrency_target_key),
    )


def _load_test_call(in_region: bool, generator: str, options: str) -> str:
    """How `load_test` is called: with what sends each level's requests (worker processes here,
    or shards from the in-region Function `generator`), and the options it was given."""
    sender = f"measure_in_region({generator})" if in_region else "measure_here"
    return f"load_test(url, headers, {sender}{options})"

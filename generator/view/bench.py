"""The load test's part of the view: the `bench` section (and what the workload sends) as the
literals the generated load test starts from (templates/partials/bench/load_test.py.jinja)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from generator.code.pycode import PyCode, comment, literal

if TYPE_CHECKING:
    from generator.model.models import Spec


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
    payload: PyCode  # the request body, built from `messages` (`prompt`, `inputs`)
    adapters: PyCode | None  # the target fields of each adapter the requests ask for in turn
    batch_sizes: PyCode  # inputs per request, for the pooling workloads
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

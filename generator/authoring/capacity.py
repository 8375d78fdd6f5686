"""`modalgen capacity`: the spec change a load test's sweep suggests, made in the spec.

The generated load test (`python <app>.py bench`, templates/partials/bench/load_test.py.jinja)
writes every level it measured to its JSON file (`BENCH_OUTPUT`): the concurrency, requests per
second and whether the level was within the SLO (`within_slo`), with the SLO it was measured
against. The capacity is the highest level within the SLO, the same one the load test prints: it
becomes the server kind's concurrency target (`target_inputs` or `target_concurrency`), and with
a peak rate `max_containers` becomes the replicas that rate needs at that level's requests per
second (times the nodes of a replica, as Modal counts a cluster's containers one by one).

An embedding load test measures each level at each batch size: the capacity is then the level
that holds at every batch size, and a replica's rate there the lowest of its batch sizes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.model.models import Spec
from generator.spec.errors import FieldPath, format_field_path


class CapacityError(Exception):
    """A load test's results that cannot size the spec; the message says why and what to do."""


@dataclass(frozen=True)
class Level:
    concurrency: int
    request_throughput: float
    within_slo: bool
    batch_size: int | None


@dataclass(frozen=True)
class Capacity:
    """What a sweep held within its SLO, and the settings that size the server for it."""

    concurrency: int  # the highest level within the SLO (at every batch size)
    request_throughput: float  # a replica's requests per second there
    highest_swept: bool  # no higher level was measured: the server may hold more
    settings: dict[FieldPath, int]  # (field, value) of the server section
    notes: dict[FieldPath, str]  # why each setting has its value


def read_results(path: Path, display_path: str) -> tuple[list[Level], dict[str, float]]:
    """The levels of the load test's JSON at `path`, and the SLO they were measured against."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CapacityError(
            f"{display_path}: no such file; run the load test first (`python <app>.py bench` "
            "writes it), or give the JSON it wrote with --from"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CapacityError(f"{display_path}: not a load test's JSON ({error})") from None
    try:
        levels = [
            Level(
                _integer(level["concurrency"]),
                float(level["request_throughput"]),
                _boolean(level["within_slo"]),
                None if level.get("batch_size") is None else _integer(level["batch_size"]),
            )
            for level in data["levels"]
        ]
        slo = {str(key): float(limit) for key, limit in data["slo"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CapacityError(
            f"{display_path}: not the JSON a generated load test writes (`levels`, each with "
            "`concurrency`, `request_throughput` and `within_slo`, and `slo`); give the file "
            "its BENCH_OUTPUT names"
        ) from None
    if not levels:
        raise CapacityError(f"{display_path}: the load test measured no level")
    return levels, slo


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(value)
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(value)
    return value


def spec_slo(spec: Spec) -> dict[str, float]:
    """The spec's SLO as the load test writes it: the limits it sets, by name."""
    return {
        key: float(value) for key, value in spec.bench.slo.model_dump().items() if value is not None
    }


def capacity(
    spec: Spec, levels: list[Level], slo: Mapping[str, float], results: str, peak_rate: float | None
) -> Capacity:
    """The capacity `levels` show for `spec`, and the settings of its server section for it."""
    if dict(slo) != spec_slo(spec):
        raise CapacityError(
            f"{results} was measured against the SLO {dict(slo)}, and the spec's is now "
            f"{spec_slo(spec)}: run the load test again to measure against it"
        )
    by_batch: dict[int | None, list[Level]] = {}
    for level in levels:
        by_batch.setdefault(level.batch_size, []).append(level)
    held = {}
    for batch, measured in by_batch.items():
        holding = [level for level in measured if level.within_slo]
        if not holding:
            at = "" if batch is None else f" at batch size {batch}"
            raise CapacityError(
                f"{results}: no level{at} was within the SLO (the lowest swept, "
                f"{min(level.concurrency for level in measured)}, already was not), so the "
                "sweep shows no capacity to set; sweep lower levels (`bench.concurrency`), "
                "relax `bench.slo` or fix the errors, and run the load test again"
            )
        held[batch] = max(level.concurrency for level in holding)
    level = min(held.values())
    throughput = min(
        measured.request_throughput
        for measured in levels
        if measured.concurrency == level and measured.within_slo
    )
    highest = all(held[batch] == max(m.concurrency for m in by_batch[batch]) for batch in held)
    key = type(spec.server).concurrency_target_key
    settings: dict[FieldPath, int] = {("server", key): level}
    notes: dict[FieldPath, str] = {
        (
            "server",
            key,
        ): f"the highest level within the SLO{' at every batch size' if len(held) > 1 else ''}"
    }
    if peak_rate is not None:
        if throughput <= 0:
            raise CapacityError(
                f"{results}: level {level} completed no request, so no peak rate can be sized"
            )
        replicas = math.ceil(peak_rate / throughput)
        nodes = spec.server.nodes
        settings[("server", "max_containers")] = replicas * nodes
        notes[("server", "max_containers")] = (
            f"{peak_rate:g} req/s at {throughput:.2f} req/s per replica: {replicas} replica(s)"
            + (f" of {nodes} nodes" if nodes > 1 else "")
        )
    return Capacity(level, throughput, highest, settings, notes)


def describe(field: FieldPath, value: int, note: str, file: str) -> str:
    """`specs/x.toml: server.target_inputs = 16 (the highest level within the SLO)`."""
    return f"{file}: {format_field_path(field)} = {value} ({note})"

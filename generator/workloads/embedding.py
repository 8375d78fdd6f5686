"""Embedding: `/v1/embeddings`, a batch of texts in, one vector per text out.

The probe embeds its prompt and prints the dimensions, then checks that each query of
`workload.queries` is nearer its own document than any other (cosine similarity). The load test
sweeps concurrency levels at each batch size and reports requests, texts and input tokens per
second and latency percentiles, with an SLO on the p99 latency.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from generator.errors import FieldPath
from generator.pycode import literal, name
from generator.workloads.base import SimilarityView, Workload, served_name
from generator.workloads.section import WorkloadKind

if TYPE_CHECKING:
    from generator.models import Spec

# Fields of the embedding request the generated code sets itself.
RESERVED_FIELDS = frozenset({"input", "model"})


class Embedding(Workload):
    kind = WorkloadKind.EMBEDDING
    noun = "embedding"
    path = "/v1/embeddings"
    one_request = "embedding request"
    prompt_help = "the text to embed"
    request_partial = "partials/workloads/embedding.py.jinja"
    load_test_partial = "partials/workloads/embedding_load_test.py.jinja"
    # Its report has no --compare or spec change; `modalgen capacity` reads its JSON.
    load_test_options = False
    probe_call = "embed_and_compare(session, prompt, timeout=remaining)"

    def target_fields(self, spec: Spec, adapter: str | None) -> dict[str, str]:
        # OpenAI's embeddings API requires `model`, and both engines accept it: always name it.
        return {"model": served_name(spec)}

    def warmup_body(self, spec: Spec) -> dict[str, Any]:
        return {
            **self.target_fields(spec, None),
            "input": spec.warmup.message.text,
            **dict(spec.warmup.request_extras),
        }

    def probe_body(self, spec: Spec) -> dict[str, Any]:
        return {
            **self.target_fields(spec, None),
            "input": name("texts"),
            "encoding_format": "float",
            **dict(spec.probe.request_extras),
        }

    def bench_body(self, spec: Spec) -> dict[str, Any]:
        return {
            **self.target_fields(spec, None),
            "input": name("texts"),
            "encoding_format": "float",
            **dict(spec.probe.request_extras),
        }

    def similarity(self, spec: Spec) -> SimilarityView:
        workload = spec.workload
        return SimilarityView(
            queries=literal(workload.similarity_queries),
            documents=literal(workload.similarity_documents),
        )

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        yield from super().findings(spec)
        if spec.model.adapters:
            yield (
                ("model", "adapters"),
                "LoRA adapters are served for the chat and completion workloads; the embedding "
                "probe and load test cannot ask for one: leave them out",
            )
        probe, warmup, bench = spec.probe, spec.warmup, spec.bench
        generation_only: list[tuple[FieldPath, bool]] = [
            (("warmup", "max_tokens"), "max_tokens" in warmup.model_fields_set),
            (("probe", "system_prompt"), probe.system_prompt is not None),
            (("probe", "second_system_prompt"), probe.second_system_prompt is not None),
            (("probe", "second_prompt"), probe.second_prompt is not None),
            (("probe", "adapter"), probe.adapter is not None),
            (("bench", "adapters"), bool(bench.adapters)),
            (("bench", "output_tokens"), "output_tokens" in bench.model_fields_set),
            (("bench", "slo", "ttft_p99_ms"), bench.slo.ttft_p99_ms is not None),
            (("bench", "slo", "tpot_p99_ms"), bench.slo.tpot_p99_ms is not None),
        ]
        for field, given in generation_only:
            if given:
                yield (
                    field,
                    f"`{field[-1]}` is about generated tokens, and an embedding model generates "
                    "none: leave it out"
                    + (" (the SLO is `latency_p99_ms`)" if field[1] == "slo" else ""),
                )
        for field, message in (("warmup", warmup.message), ("probe", probe.message)):
            if message is not None and message.image_url is not None:
                yield (
                    (field, "message", "image_url"),
                    "the embedding probe sends text: leave out `image_url`",
                )
        for field, extras in (("probe", probe.request_extras), ("warmup", warmup.request_extras)):
            for key in sorted(RESERVED_FIELDS & extras.keys()):
                yield (
                    (field, "request_extras", key),
                    f"the app sets `{key}` itself: leave it out here",
                )


WORKLOAD = Embedding()

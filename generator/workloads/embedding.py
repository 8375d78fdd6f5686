"""Embedding: `/v1/embeddings`, a batch of texts in, one vector per text out.

The probe embeds its prompt and prints the dimensions, then checks that each query of
`workload.queries` is nearer its own document than any other (cosine similarity). The load test
sweeps concurrency levels at each batch size and reports requests, texts and input tokens per
second and latency percentiles, with an SLO on the p99 latency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.code.pycode import PyCode, comment, literal, name
from generator.workloads.base import BatchView, Pooling, SimilarityView
from generator.workloads.section import WorkloadKind

if TYPE_CHECKING:
    from generator.model.models import Spec


class Embedding(Pooling):
    kind = WorkloadKind.EMBEDDING
    noun = "embedding"
    path = "/v1/embeddings"
    one_request = "embedding request"
    prompt_help = "the text to embed"
    request_partial = "partials/workloads/requests/embedding.py.jinja"
    probe_call = "embed_and_compare(session, prompt, timeout=remaining)"
    reserved_fields = frozenset({"input", "model"})

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
            "input": name("inputs"),
            "encoding_format": "float",
            **dict(spec.probe.request_extras),
        }

    def similarity(self, spec: Spec) -> SimilarityView:
        workload = spec.workload
        return SimilarityView(
            queries=literal(workload.similarity_queries),
            documents=literal(workload.similarity_documents),
        )

    def batch(self, spec: Spec) -> BatchView:
        return BatchView(
            input_name=comment("text"),
            inputs_name=comment("texts"),
            inputs_title=comment("Texts"),
            per_request=comment("texts per request"),
            throughputs=comment("requests, texts and input tokens (the answers' `usage`)"),
            one_per_input=comment("a vector per text"),
            request_doc=comment("the embedding of"),
            query=None,
            inputs_field=literal("input"),
            answered=PyCode('body["data"]'),
            answered_comment=comment("one vector per text"),
            count_error=literal("wrong number of vectors"),
            throughput_key=literal("text_throughput"),
            token_usage=True,
        )


WORKLOAD = Embedding()

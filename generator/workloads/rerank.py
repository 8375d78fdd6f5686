"""Rerank: `/v1/rerank`, a query and documents in, a relevance score per document out.

A cross-encoder (BAAI/bge-reranker-v2-m3, ...) served by SGLang (`--is-embedding`, whose
`/v1/rerank` answers a list sorted by `score`) or vLLM (the pooling runner, or `--task score`
before 0.10.1, whose Jina/Cohere-style `/v1/rerank` answers `results` with a
`relevance_score` each). The probe ranks the spec's documents for its prompt and prints the
scores, then checks that, for `workload.query`, the first of `workload.documents` ranks first,
sending them in reverse order. The load test sweeps concurrency levels at each batch size
(documents per request) and reports requests and documents per second and latency
percentiles, with an SLO on the p99 latency.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from generator.code.pycode import PyCode, comment, literal, name
from generator.spec.errors import FieldPath
from generator.workloads.base import BatchView, Pooling, RankingView
from generator.workloads.section import WorkloadKind

if TYPE_CHECKING:
    from generator.model.models import Spec


class Rerank(Pooling):
    kind = WorkloadKind.RERANK
    noun = "rerank"
    path = "/v1/rerank"
    one_request = "rerank request"
    prompt_help = "the query to rank the spec's documents for"
    request_partial = "partials/workloads/requests/rerank.py.jinja"
    probe_call = "rank_and_check(session, prompt, timeout=remaining)"
    reserved_fields = frozenset({"query", "documents", "model"})

    def warmup_body(self, spec: Spec) -> dict[str, Any]:
        return {
            **self.target_fields(spec, None),
            "query": spec.warmup.message.text,
            "documents": spec.workload.rerank_documents,
            **dict(spec.warmup.request_extras),
        }

    def probe_body(self, spec: Spec) -> dict[str, Any]:
        return {
            **self.target_fields(spec, None),
            "query": name("query"),
            "documents": name("documents"),
            **dict(spec.probe.request_extras),
        }

    def bench_body(self, spec: Spec) -> dict[str, Any]:
        return {
            **self.target_fields(spec, None),
            "query": name("BENCH_QUERY"),
            "documents": name("inputs"),
            **dict(spec.probe.request_extras),
        }

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        from generator.engines.registry import engine_for

        yield from super().findings(spec)
        yield from engine_for(spec).rerank_findings(spec)

    def ranking(self, spec: Spec) -> RankingView:
        # Imported here: the engine modules read `workload.kind` from this package.
        from generator.engines.registry import engine_for

        answer = engine_for(spec).rerank_answer()
        return RankingView(
            query=literal(spec.workload.rerank_query),
            documents=literal(spec.workload.rerank_documents),
            results=PyCode(answer.results),
            score=literal(answer.score),
            engine_comment=comment(engine_for(spec).title),
        )

    def batch(self, spec: Spec) -> BatchView:
        # Imported here: the engine modules read `workload.kind` from this package.
        from generator.engines.registry import engine_for

        return BatchView(
            input_name=comment("document"),
            inputs_name=comment("documents"),
            inputs_title=comment("Documents"),
            per_request=comment("documents per request"),
            throughputs=comment("requests and documents"),
            one_per_input=comment("a score per document"),
            request_doc=comment("the ranking of"),
            query=literal(spec.workload.rerank_query),
            inputs_field=literal("documents"),
            answered=PyCode(engine_for(spec).rerank_answer().results),
            answered_comment=comment(
                f"one score per document, as {engine_for(spec).title} answers"
            ),
            count_error=literal("wrong number of scores"),
            throughput_key=literal("document_throughput"),
            token_usage=False,
        )


WORKLOAD = Rerank()

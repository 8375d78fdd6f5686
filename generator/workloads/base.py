"""The interface every workload implements: what the app's requests look like for it.

The view asks a `Workload` for what differs between workloads: the endpoint the warm-up, the
probe and the load test send to, their request bodies, the template partials that hold the
probe's request and the load test, and what the workload refuses in a spec.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from generator.code.pycode import PyCode, comment, literal, name
from generator.spec.errors import FieldPath
from generator.workloads.section import WorkloadKind

if TYPE_CHECKING:
    from generator.model.models import Spec

_PATH = re.compile(r"^/[a-z0-9/]+$")


@dataclass(frozen=True)
class WorkloadView:
    """What the templates need to know about the workload."""

    kind: str
    chat: bool  # chat messages, rather than a prompt
    noun: PyCode  # "a chat", "a completion", "an embedding": for comments and messages
    path: PyCode  # the endpoint inside an f-string: a constant of ours, checked to be a plain path
    request_partial: str  # the partial with the probe's request
    load_test_partial: str  # the partial with the load test
    probe_argument: PyCode  # the name of the probe's input: `messages`, `prompt`
    probe_argument_type: PyCode
    probe_call: PyCode  # what the probe awaits each attempt
    similarity: SimilarityView | None  # the embedding probe's check
    ranking: RankingView | None  # the rerank probe's check
    batch: BatchView | None  # what the pooling load test sends in a request, and reads back


@dataclass(frozen=True)
class SimilarityView:
    queries: PyCode
    documents: PyCode


@dataclass(frozen=True)
class RankingView:
    """The rerank probe's check, and how the engine's answer reads."""

    query: PyCode
    documents: PyCode  # the relevant one first
    results: PyCode  # the answer's list of scored documents, from its JSON `body`
    score: PyCode  # the key of a document's score in it
    engine_comment: PyCode  # the engine's title, in a comment


@dataclass(frozen=True)
class BatchView:
    """What a pooling workload's load test (partials/bench/pooling_load_test.py.jinja) sends in
    each request, several inputs at a time, and how it reads the answer."""

    input_name: PyCode  # one input, in comments: "text", "document"
    inputs_name: PyCode  # several: "texts", "documents"
    inputs_title: PyCode  # at the start of a docstring: "Texts"
    per_request: PyCode  # what a batch size counts, in the comment: "texts per request"
    throughputs: PyCode  # what a level reports per second, in the comment
    one_per_input: PyCode  # what the answer must hold per input, in the comment
    request_doc: PyCode  # what a request does with its inputs, in docstrings: "the embedding of"
    query: PyCode | None  # BENCH_QUERY, which every request's inputs are scored against
    inputs_field: PyCode  # the request field that holds the inputs
    answered: PyCode  # the answer's list of one item per input, from its JSON `body`
    answered_comment: PyCode
    count_error: PyCode  # the error kind of an answer with another number of items
    throughput_key: PyCode  # the summary's key of inputs per second
    token_usage: bool  # the answer's `usage` counts its input tokens


class Workload(ABC):
    kind: ClassVar[WorkloadKind]
    noun: ClassVar[str]
    path: ClassVar[str]
    request_partial: ClassVar[str]
    load_test_partial: ClassVar[str] = "partials/bench/load_test.py.jinja"
    # Whether that load test takes --workers, --compare, --tolerance and --peak-rate (the
    # streaming one, whose report compares runs and suggests the spec change).
    load_test_options: ClassVar[bool] = True
    probe_argument: ClassVar[str] = "prompt"
    probe_argument_type: ClassVar[str] = "str"
    probe_call: ClassVar[str]
    one_request: ClassVar[str]  # one request, in a docstring: "chat completion"
    default_input: ClassVar[str] = "PROMPT"  # the probe's input when the prompt is PROMPT
    prompt_help: ClassVar[str]  # what `--prompt` is, for the deployed client's help

    def view(self, spec: Spec) -> WorkloadView:
        assert _PATH.match(self.path), self.path
        return WorkloadView(
            kind=self.kind.value,
            chat=self.kind is WorkloadKind.CHAT,
            noun=comment(f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"),
            path=PyCode(self.path),
            request_partial=self.request_partial,
            load_test_partial=self.load_test_partial,
            probe_argument=name(self.probe_argument),
            probe_argument_type=name(self.probe_argument_type),
            probe_call=PyCode(
                self.probe_call.removesuffix(")") + ", options=options)"
                if spec.probe.request_options
                else self.probe_call
            ),
            similarity=self.similarity(spec),
            ranking=self.ranking(spec),
            batch=self.batch(spec),
        )

    def similarity(self, spec: Spec) -> SimilarityView | None:
        return None

    def ranking(self, spec: Spec) -> RankingView | None:
        return None

    def batch(self, spec: Spec) -> BatchView | None:
        return None

    @abstractmethod
    def warmup_body(self, spec: Spec) -> dict[str, Any]:
        """The body of each warm-up request."""

    @abstractmethod
    def probe_body(self, spec: Spec) -> dict[str, Any]:
        """The body of the probe's request, with names of the generated code as `PyCode`."""

    @abstractmethod
    def bench_body(self, spec: Spec) -> dict[str, Any]:
        """The body of each load-test request, with names of the generated code as `PyCode`."""

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        """What this workload refuses in a spec that pydantic's rules cannot see."""
        bench = spec.bench
        if "ramp_up_ms" in bench.model_fields_set and bench.request_rate is not None:
            yield (
                ("bench", "ramp_up_ms"),
                "the ramp-up spreads the start of requests sent as soon as a slot is free; "
                "`request_rate` spreads their arrivals already: leave one of them out",
            )
        if spec.probe.request_options and self.kind is not WorkloadKind.CHAT:
            yield (
                ("probe", "request_options"),
                f"request options are fields of a chat request; the {self.noun} probe sends "
                "none: set fixed fields in `probe.request_extras`",
            )

    # --- shared -------------------------------------------------------------------------------

    def target_fields(self, spec: Spec, adapter: str | None) -> dict[str, str]:
        """The fields that name what a request asks for: an adapter in the engine's way, else
        the served model for engines that check it."""
        # Imported here: the engine modules read `workload.kind` from this package.
        from generator.engines.registry import engine_for

        if adapter is not None:
            return engine_for(spec).adapter_fields(spec, adapter)
        model = engine_for(spec).request_model(spec)
        return {"model": model} if model is not None else {}

    def bench_target_fields(self, spec: Spec) -> dict[str, str]:
        """The target of every load-test request when they all ask for the probe's adapter;
        none when they ask for the base model (the engine's default) or for several adapters."""
        adapter = spec.probe.adapter
        if spec.bench.adapters or adapter is None:
            return {}
        return self.target_fields(spec, adapter)

    def bench_adapters(self, spec: Spec) -> PyCode | None:
        """The target fields of each adapter the load test spreads its requests over."""
        if not spec.bench.adapters:
            return None
        return literal([self.target_fields(spec, adapter) for adapter in spec.bench.adapters])


class Pooling(Workload):
    """What embedding and rerank share: a model that pools its input and generates nothing,
    asked for by its served name, without adapters or generation settings."""

    reserved_fields: ClassVar[frozenset[str]]  # request fields the generated code sets itself
    load_test_partial = "partials/bench/pooling_load_test.py.jinja"
    # Its load test's report has no --compare or spec change; `modalgen capacity` reads its JSON.
    load_test_options = False

    def target_fields(self, spec: Spec, adapter: str | None) -> dict[str, str]:
        # vLLM answers only for a model it serves, and SGLang accepts the field (OpenAI's
        # embeddings API requires it): always name it.
        return {"model": served_name(spec)}

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        yield from super().findings(spec)
        article = "an" if self.noun[0] in "aeiou" else "a"
        if spec.model.adapters:
            yield (
                ("model", "adapters"),
                f"LoRA adapters are served for the chat and completion workloads; the {self.noun} "
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
                    f"`{field[-1]}` is about generated tokens, and {article} {self.noun} model "
                    "generates none: leave it out"
                    + (" (the SLO is `latency_p99_ms`)" if field[1] == "slo" else ""),
                )
        for field, message in (("warmup", warmup.message), ("probe", probe.message)):
            if message is not None and message.image_url is not None:
                yield (
                    (field, "message", "image_url"),
                    f"the {self.noun} probe sends text: leave out `image_url`",
                )
        for field, extras in (("probe", probe.request_extras), ("warmup", warmup.request_extras)):
            for key in sorted(self.reserved_fields & extras.keys()):
                yield (
                    (field, "request_extras", key),
                    f"the app sets `{key}` itself: leave it out here",
                )


def served_name(spec: Spec) -> str:
    """The first name the engine serves the model under."""
    served = spec.engine.served_model_name
    if isinstance(served, list):
        return served[0]
    return served or spec.model.name

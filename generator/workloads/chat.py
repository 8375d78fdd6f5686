"""Chat: `/v1/chat/completions`, streamed, with messages from the spec (the default)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from generator.code.pycode import name
from generator.spec.errors import FieldPath
from generator.workloads.base import Workload
from generator.workloads.section import WorkloadKind

if TYPE_CHECKING:
    from generator.model.models import Spec


def content(message, text: object = None) -> object:
    """The `content` of a chat message: a string, or typed parts with the image first."""
    from generator.model.models import ContentFormat

    body = message.text if text is None else text
    if message.format is ContentFormat.TEXT:
        return body
    parts: list[dict[str, object]] = []
    if message.image_url is not None:
        parts.append({"type": "image_url", "image_url": {"url": message.image_url}})
    parts.append({"type": "text", "text": body})
    return parts


class Generating(Workload):
    """What chat and completion share: streamed tokens, `max_tokens`, and LoRA adapters."""

    def bench_body(self, spec: Spec) -> dict[str, Any]:
        return {  # the probe's sampling options, but every answer exactly output_tokens long
            **self.bench_target_fields(spec),
            **dict(spec.probe.request_extras),
            **self.bench_input(),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": spec.bench.output_tokens,
            "ignore_eos": True,
        }

    def probe_body(self, spec: Spec) -> dict[str, Any]:
        return {
            **self.target_fields(spec, spec.probe.adapter),
            **self.bench_input(),
            "stream": True,
            **dict(spec.probe.request_extras),
        }

    def bench_input(self) -> dict[str, Any]:
        """The request's input, as the probe and the load test name it: messages or a prompt."""
        raise NotImplementedError

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        yield from super().findings(spec)
        bench = spec.bench
        if bench.batch_sizes is not None:
            yield (
                ("bench", "batch_sizes"),
                f"batch sizes are texts per embedding request, and the workload is `{self.kind}`: "
                "leave them out",
            )
        if bench.slo.latency_p99_ms is not None:
            yield (
                ("bench", "slo", "latency_p99_ms"),
                f"the `{self.kind}` load test streams, and its SLO is on `ttft_p99_ms` and "
                "`tpot_p99_ms`: use those",
            )


class Chat(Generating):
    kind = WorkloadKind.CHAT
    noun = "chat"
    path = "/v1/chat/completions"
    one_request = "chat completion"
    default_input = "chat_messages(PROMPT)"
    prompt_help = "the user message to send"
    request_partial = "partials/workloads/requests/chat.py.jinja"
    probe_argument = "messages"
    probe_argument_type = "list"
    probe_call = "stream_chat(session, messages, timeout=remaining)"

    def warmup_body(self, spec: Spec) -> dict[str, Any]:
        warmup = spec.warmup
        return {  # the base model, which every adapter shares
            **self.target_fields(spec, None),
            "messages": [{"role": "user", "content": content(warmup.message)}],
            "max_tokens": warmup.max_tokens,
            **dict(warmup.request_extras),
        }

    def bench_input(self) -> dict[str, Any]:
        return {"messages": name("messages")}


WORKLOAD = Chat()

"""Completion: `/v1/completions`, streamed, with a prompt and no chat template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from generator.code.pycode import name
from generator.spec.errors import FieldPath
from generator.workloads.chat import Generating
from generator.workloads.section import WorkloadKind

if TYPE_CHECKING:
    from generator.model.models import Spec


class Completion(Generating):
    kind = WorkloadKind.COMPLETION
    noun = "completion"
    path = "/v1/completions"
    one_request = "completion"
    prompt_help = "the prompt to complete"
    request_partial = "partials/workloads/requests/completion.py.jinja"
    probe_call = "stream_completion(session, prompt, timeout=remaining)"

    def warmup_body(self, spec: Spec) -> dict[str, Any]:
        warmup = spec.warmup
        return {  # the base model, which every adapter shares
            **self.target_fields(spec, None),
            "prompt": warmup.message.text,
            "max_tokens": warmup.max_tokens,
            **dict(warmup.request_extras),
        }

    def bench_input(self) -> dict[str, Any]:
        return {"prompt": name("prompt")}

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        yield from super().findings(spec)
        probe = spec.probe
        for key in ("system_prompt", "second_system_prompt"):
            if getattr(probe, key) is not None:
                yield (
                    ("probe", key),
                    "a completion request sends a prompt, without chat roles: leave out "
                    f"`{key}`, or use the chat workload",
                )
        for field, message in (("warmup", spec.warmup.message), ("probe", probe.message)):
            if message is not None and message.image_url is not None:
                yield (
                    (field, "message", "image_url"),
                    "a completion request sends a text prompt, without images: leave out "
                    "`image_url`, or use the chat workload",
                )
        for field, extras in (
            ("probe", probe.request_extras),
            ("warmup", spec.warmup.request_extras),
        ):
            if "prompt" in extras:
                yield (
                    (field, "request_extras", "prompt"),
                    "the completion's `prompt` is the message text: leave it out here",
                )


WORKLOAD = Completion()

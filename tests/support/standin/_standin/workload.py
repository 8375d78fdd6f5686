"""What a stand-in chat completion answers: its tokens, why it stops, and the token counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Token:
    """One streamed chunk: its text and the delta field it goes in."""

    field: str  # "reasoning_content" or "content"
    text: str


@dataclass(frozen=True)
class Completion:
    tokens: list[Token]
    finish_reason: str  # "stop" or "length"

    def text(self, field: str) -> str:
        return "".join(token.text for token in self.tokens if token.field == field)


class BadRequest(ValueError):
    """The request asks for something no engine would accept; answered with HTTP 400."""


def words(text: str) -> list[str]:
    """`text` in streamable pieces: each word with the space after it, so they join back."""
    pieces = text.split(" ")
    return [piece + " " for piece in pieces[:-1]] + pieces[-1:] if text else []


def default_tokens(reasoning: str, content: str) -> list[Token]:
    """The answer when nothing limits or lengthens it: the reasoning's words, then the content's."""
    return [Token("reasoning_content", piece) for piece in words(reasoning)] + [
        Token("content", piece) for piece in words(content)
    ]


def tokens(reasoning: str, content: str, count: int) -> list[Token]:
    """`count` tokens: the default answer cut short, or followed by the content's words again."""
    base = default_tokens(reasoning, content)
    again = content.split() or ["token"]
    extra = [
        Token("content", " " + again[index % len(again)]) for index in range(count - len(base))
    ]
    return (base + extra)[:count]


def token_limit(request: Mapping[str, Any]) -> int | None:
    """The request's `max_completion_tokens`, or else its `max_tokens`, if either is given."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = request.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadRequest(f"{name} must be a positive integer, not {value!r}")
        return value
    return None


def plan(
    request: Mapping[str, Any], reasoning: str, content: str, output_tokens: int | None
) -> Completion:
    """The completion to answer `request` with.

    Without a limit the answer has `output_tokens` tokens (default: the words of the reasoning
    and content). `max_tokens` cuts it short; with `ignore_eos` the answer has exactly that many.
    """
    configured = len(default_tokens(reasoning, content)) if output_tokens is None else output_tokens
    limit = token_limit(request)
    if limit is None:
        count, reason = configured, "stop"
    elif request.get("ignore_eos") or limit < configured:
        count, reason = limit, "length"
    else:
        count, reason = configured, "stop"
    return Completion(tokens(reasoning, content, count), reason)


def prompt_tokens(messages: object) -> int:
    """Words in the text of the messages: the stand-in's idea of a prompt's length in tokens."""
    if not isinstance(messages, list):
        return 0
    total = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content.split())
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"].split())
    return total


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }

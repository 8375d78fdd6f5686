"""Pieces of generated code the view hands to templates: calls' keywords and list items."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from generator.code.pycode import PyCode, call, comment, name


@dataclass(frozen=True)
class Keyword:
    """A keyword argument of a call, with an optional trailing comment of our own."""

    name: PyCode
    value: PyCode
    comment: PyCode | None = None


@dataclass(frozen=True)
class ListItem:
    """One element of a rendered list, with an optional trailing comment of our own."""

    value: PyCode
    comment: PyCode | None = None


@dataclass(frozen=True)
class Decorator:
    """A decorator line: `@call(keyword=value, ...)`."""

    call: PyCode
    keywords: tuple[Keyword, ...]
    comment: PyCode | None = None

    @property
    def inline(self) -> bool:
        """Written on one line: a single keyword without a comment of its own."""
        return len(self.keywords) <= 1 and all(k.comment is None for k in self.keywords)


def keyword(keyword_name: str, value: PyCode, note: str = "") -> Keyword:
    return Keyword(name(keyword_name), value, comment(note) if note else None)


def secret(secret_name: str, secret_keys: Mapping[str, list[str]]) -> PyCode:
    """`modal.Secret.from_name(...)`, with the variables the spec says it must hold."""
    keys = secret_keys.get(secret_name)
    if keys:
        return call("modal.Secret.from_name", secret_name, required_keys=list(keys))
    return call("modal.Secret.from_name", secret_name)

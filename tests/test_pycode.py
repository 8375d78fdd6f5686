"""Spec values become exact Python literals and nothing else."""

from __future__ import annotations

import ast

import pytest

from generator.code.pycode import PyCode, comment, literal, name

TRICKY = [
    "",
    "plain",
    "quote ' and \" and \"\"\" and '''",
    "back\\slash \\n not a newline",
    "new\nline\r\nand\ttab",
    "{{ jinja }} {% if x %} {# c #}",
    'f\'{__import__("os").system("id")}\'',
    "\x00\x1b[31m\u2028\u2029\ufeff",
    "emoji 🚀 and 中文 and \U0010ffff",
]


@pytest.mark.parametrize("text", TRICKY)
def test_strings_round_trip(text: str) -> None:
    assert ast.literal_eval(literal(text)) == text


def test_containers_round_trip() -> None:
    value = {"a": [1, 2.5, True, None, "x"], "b": {"c": (1,)}}
    assert ast.literal_eval(literal(value)) == value


def test_names_are_placed_as_code_inside_containers() -> None:
    assert literal({"messages": name("messages"), "stream": True}) == (
        "{'messages': messages, 'stream': True}"
    )


@pytest.mark.parametrize("bad", ["1x", "a-b", "a b", "class", "x;import os", ""])
def test_name_rejects_what_is_not_an_identifier(bad: str) -> None:
    with pytest.raises(ValueError):
        name(bad)


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\u2028b", "a\x00b"])
def test_comment_rejects_line_breaks(bad: str) -> None:
    with pytest.raises(ValueError):
        comment(bad)


def test_literal_rejects_what_has_no_literal() -> None:
    with pytest.raises(ValueError):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal(object())
    assert isinstance(literal(1), PyCode)

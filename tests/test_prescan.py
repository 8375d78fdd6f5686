"""The TOML pre-scan: the shapes that make `tomllib` or the key scanner slow or deep are refused
before parsing, at the place they go over the limit; a file within the limits is never refused.
Timings are in `benchmarks/bench_hostile_specs.py`, not here."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.spec import limits
from generator.spec.errors import Position
from generator.spec.prescan import toml_problem
from tests.conftest import ROOT

DEEP = limits.TOO_DEEP
PARTS = limits.TOO_MANY_PARTS
NODES = limits.TOO_MANY_NODES


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("version = 1\n" + ".".join(["a"] * 40_000) + " = 1\n", 2, 1, PARTS),
        ("version = 1\n  " + " . ".join(['"a.b"'] * 33) + " = 1\n", 2, 3, PARTS),
        ("version = 1\n[" + ".".join(['"a"'] * 100_000) + "]\n", 2, 1, PARTS),
        ("version = 1\n[[" + ".".join(["t"] * 33) + "]]\n", 2, 1, PARTS),
        ("x = { y = 1, " + ".".join(["a"] * 33) + " = 1 }\n", 1, 14, PARTS),
        ("x = " + "[" * 3000 + "]" * 3000 + "\n", 1, 37, DEEP),
        ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", 1, 165, DEEP),
        ("x = [\n" + "  [\n" * 40 + "]\n" * 41, 33, 3, DEEP),
        ("x = [" + "1," * 20_000 + "]\n", 1, 40_003, NODES),
        ("".join(f"k{i} = 1\n" for i in range(10_001)), 10_001, 8, NODES),
        ("".join(f"[t{i}]\n" for i in range(10_001)), 10_001, 1, NODES),
    ],
)
def test_hostile_shapes_are_refused_where_they_go_over(
    text: str, line: int, column: int, message: str
) -> None:
    assert toml_problem(text) == (Position(line, column), message)


@pytest.mark.parametrize(
    "text",
    [
        # What looks like structure inside strings and comments is not.
        'x = "' + "[" * 100 + "." * 100 + '"\n',
        "x = '" + "{" * 100 + "'\n",
        'x = """\n' + "[" * 100 + '\n"""\n',
        "x = '''\n" + "a." * 100 + "\n'''\n",
        'x = """a \\""" ' + "[" * 100 + '"""\n',
        'x = """a""""\ny = 1\n',
        "# " + "[" * 100 + "\n",
        'x = "a\\"' + "[" * 100 + '"\n',
        # Dots in values: floats, times, and arrays of them.
        "x = [" + ", ".join(["1.5"] * 100) + "]\n",
        "t = 07:32:00.999\n",
        # Keys of exactly the limit, and nesting up to it.
        ".".join(["a"] * 32) + " = 1\n",
        "[" + ".".join(["a"] * 32) + "]\n",
        "x = " + "[" * 32 + "]" * 32 + "\n",
    ],
)
def test_strings_comments_and_values_within_the_limits_pass(text: str) -> None:
    assert toml_problem(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "".join(f"k{i} = 1\n" for i in range(9_999)),
        "".join(f"[t{i}]\n" for i in range(9_999)),
        "[[t]]\n" * 19_997,
        "x = [" + "1," * 19_997 + "]\n",
        "x = [" + "1," * 19_996 + "1]\n",
    ],
)
def test_documents_just_within_the_count_pass(text: str) -> None:
    """The pre-scan's count never runs ahead of the limits counted after parsing."""
    assert limits.find_excess(tomllib.loads(text)) is None
    assert toml_problem(text) is None


def test_the_committed_specs_pass() -> None:
    specs = [*ROOT.glob("specs/**/*.toml"), *ROOT.glob("examples/modal-examples/specs/**/*.toml")]
    specs += [*ROOT.glob("tests/fixtures/**/*.toml")]
    assert len(specs) >= 7
    for path in specs:
        assert toml_problem(path.read_text(encoding="utf-8")) is None, path


# Keys that TOML must quote, with the characters the pre-scan looks at.
keys = st.one_of(
    st.sampled_from(["a", "b", "version", "engine", "a.b", '"', "'", "[", "]", "{", "#", "=", ","]),
    st.text(alphabet=st.sampled_from("ab.[]{}=,#\"'\\ \n\t"), max_size=6),
)
scalars = st.one_of(
    st.text(alphabet=st.sampled_from("ab.[]{}=,#\"'\\ \n\t"), max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


def _nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=30,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, _nested(scalars), max_size=6))
def test_a_document_within_the_limits_is_never_refused(data: dict[str, Any]) -> None:
    """Whatever TOML writes for data the limits accept (tables, arrays of tables, inline and
    multi-line values, quoted keys with dots and brackets), the pre-scan lets it through."""
    text = tomli_w.dumps(data, multiline_strings=True)
    assert tomllib.loads(text) == data
    if limits.find_excess(data) is None:
        assert toml_problem(text) is None, text


@settings(max_examples=100, deadline=None)
@given(
    st.integers(limits.MAX_KEY_PARTS + 1, 3000),
    st.sampled_from(["a", '"a.b"', "'[x]'", "_-9"]),
    st.sampled_from(["{} = 1", "[{}]", "[[{}]]", "x = {{ {} = 1 }}"]),
)
def test_a_key_of_too_many_parts_is_refused_however_it_is_written(
    parts: int, part: str, shape: str
) -> None:
    text = "version = 1\n" + shape.format(".".join([part] * parts)) + "\n"
    found = toml_problem(text)
    assert found is not None and found[1] == PARTS
    assert found[0].line == 2


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["[", "{a = "]), min_size=limits.MAX_DEPTH + 1, max_size=3000))
def test_nesting_too_deep_is_refused_whatever_mixes_it(openers: list[str]) -> None:
    text = "x = " + "".join(openers)
    found = toml_problem(text)
    assert found is not None and found[1] == DEEP
    depth_33 = "x = " + "".join(openers[: limits.MAX_DEPTH])
    assert found[0] == Position(1, len(depth_33) + 1)


def test_a_spec_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """Through the loader: the message is the pre-scan's, with the file and position."""
    from click.testing import CliRunner

    from generator.cli.cli import main

    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "deep.toml"
    spec.write_text("version = 1\n" + ".".join(["a"] * 40_000) + " = 1\n")
    result = CliRunner().invoke(main, ["validate", "-C", str(tmp_path)])
    assert result.exit_code == 1
    assert f"specs/deep.toml:2:1: {PARTS}" in result.output

"""Structural fuzzing of `modalgen validate`: whole random documents, in TOML and YAML, and the
committed specs with a random part replaced. Whatever the file holds, the command must report
problems, never raise: exit code 0 or 1, every error line `file[:line:column]: message`, and
nothing written; a spec it accepts must render (`modalgen diff`). Set CI to run many more
examples."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli.cli import main
from tests.conftest import FLAT_SPECS, ROOT

EXAMPLES = 400 if os.environ.get("CI") else 60
fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Keys of real specs, so that random documents often get past the parser into validation.
SPEC_KEYS = [
    "version", "extends", "app", "name", "class_name", "image", "registry_tag", "env",
    "sglang_version", "model", "revision", "secrets", "volumes", "mount_path", "deep_gemm",
    "enabled", "gpu", "type", "count", "server", "port", "target_inputs", "proxy_regions",
    "timeout", "region", "engine", "extra_args", "speculative", "algorithm", "lifecycle",
    "memory_snapshot", "warmup", "requests", "message", "text", "format", "probe",
    "request_extras", "--enable-torch-compile", "mem_fraction_static",
]  # fmt: skip

# One line of error output: `error: FILE[:LINE:COLUMN]: message`.
ERROR_LINE = re.compile(r"^error: specs/[^\s:]+(?::\d+:\d+)?: \S")
# Problems the loader can always place in the file.
POSITIONED = (
    "anchors and aliases",
    "nested more than",
    "duplicate key",
    "holds more than",
    "are 64-bit",
    "nan and infinities",
)

keys = st.one_of(st.sampled_from(SPEC_KEYS), st.text(max_size=12))
scalars = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([2**63 - 1, -(2**63), 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.sampled_from(["H100", "H100!", "A10", "EAGLE", "lmsysorg/sglang:v0.5.9-cu129-runtime"]),
)


def _nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=25,
    )


def _deepen(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Random nested data, now and then wrapped up to 40 levels deep (the limit is 32)."""
    return st.one_of(
        _nested(leaves),
        st.tuples(_nested(leaves), st.integers(0, 40)).map(lambda pair: _deepen(*pair)),
    )


def documents(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A top-level mapping, usually with `version = 1` so that validation runs."""
    return st.tuples(st.dictionaries(keys, values(leaves), max_size=8), st.booleans()).map(
        lambda pair: {"version": 1, **pair[0]} if pair[1] else pair[0]
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


BASES = {
    "committed.toml": tomllib.loads((ROOT / "specs" / "qwen36_vlm.toml").read_text()),
    "flat.toml": tomllib.loads((FLAT_SPECS / "qwen36_vlm.toml").read_text()),
    "flat.yaml": yaml.safe_load((FLAT_SPECS / "qwen35_low_latency.yaml").read_text()),
}


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A committed spec with one random part (a value, a table, a list item) replaced."""
    name = draw(st.sampled_from(sorted(BASES)))
    data = BASES[name]
    path = draw(st.sampled_from(_paths(data)[1:]))
    leaves = st.one_of(scalars, st.none()) if name.endswith(".yaml") else scalars
    return name, _replace(data, path, draw(values(leaves)))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the committed bases, so that mutated specs can still `extends` them."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "specs" / "_base", root / "specs" / "_base")
    return root


def _serialise(data: dict[str, Any], suffix: str) -> str | None:
    if suffix == ".yaml":
        return yaml.safe_dump(data, allow_unicode=True)
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):  # None has no TOML form
        return None


def assert_validate_reports(project: Path, text: str, suffix: str) -> None:
    spec = project / "specs" / f"fuzz{suffix}"
    spec.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "-C", str(project), str(spec)])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r} for:\n{text[:2000]}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    assert not (project / "generated").exists()
    if result.exit_code == 0:
        assert "error:" not in result.stderr
        # A valid spec must also render; `diff` renders, writes nothing, and exits 1 for the
        # difference it prints: the whole new file.
        rendered = CliRunner().invoke(main, ["diff", "-C", str(project), str(spec)])
        assert rendered.exit_code == 1, f"{rendered.exception!r}\n{rendered.output}\nfor:\n{text}"
        assert rendered.output.startswith(f"--- /dev/null\n+++ b/generated/{spec.stem}.py\n")
        assert not (project / "generated").exists()
        return
    errors = result.stderr.splitlines()[:-1]  # the last line counts the problems
    assert errors, result.stderr
    assert result.stderr.splitlines()[-1].endswith("fix them and run again.")
    for line in errors:
        assert ERROR_LINE.match(line), f"{line!r} in:\n{result.stderr}"
        if any(fragment in line for fragment in POSITIONED):
            assert re.match(r"^error: specs/\S+?:\d+:\d+: ", line), line


@fuzz_settings
@given(documents(scalars))
def test_random_toml_documents_are_reported_not_raised(
    project: Path, document: dict[str, Any]
) -> None:
    text = _serialise(document, ".toml")
    assert text is not None
    assert_validate_reports(project, text, ".toml")


@fuzz_settings
@given(documents(st.one_of(scalars, st.none())))
def test_random_yaml_documents_are_reported_not_raised(
    project: Path, document: dict[str, Any]
) -> None:
    assert_validate_reports(project, _serialise(document, ".yaml") or "", ".yaml")


@fuzz_settings
@given(mutations())
def test_committed_specs_with_a_random_part_replaced_are_reported_not_raised(
    project: Path, mutation: tuple[str, dict[str, Any]]
) -> None:
    name, data = mutation
    suffix = Path(name).suffix
    text = _serialise(data, suffix)
    if text is not None:
        assert_validate_reports(project, text, suffix)


def test_the_unmutated_specs_are_valid(project: Path) -> None:
    for name, data in BASES.items():
        suffix = Path(name).suffix
        text = _serialise(data, suffix)
        assert text is not None
        spec = project / "specs" / f"fuzz{suffix}"
        spec.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(main, ["validate", "-C", str(project), str(spec)])
        assert result.exit_code == 0, result.output
        spec.unlink()


def test_floats_that_are_not_numbers_survive_serialising() -> None:
    # The documents above rely on both serialisers writing nan and inf.
    assert math.isnan(tomllib.loads(tomli_w.dumps({"x": math.nan}))["x"])
    assert yaml.safe_load(yaml.safe_dump({"x": math.inf}))["x"] == math.inf


@st.composite
def hostile_shapes(draw: st.DrawFn) -> tuple[str, str, str]:
    """A spec text with one shape that parsers are slow or deep on, its suffix, and the limit
    it must be refused for: a dotted key or header of many parts, or brackets nested deep,
    somewhere in a committed spec."""
    suffix = draw(st.sampled_from([".toml", ".yaml"]))
    name = "committed.toml" if suffix == ".toml" else "flat.yaml"
    lines = _serialise(BASES[name], suffix).splitlines()  # type: ignore[union-attr]
    at = len(lines)
    size = draw(st.integers(33, 5000))
    if suffix == ".toml":
        kind = draw(st.sampled_from(["key", "header", "inline", "array", "inline-table"]))
        part = draw(st.sampled_from(["a", '"a.b"', "'[x]'"]))
        dotted = ".".join([part] * size)
        shape = {
            "key": f"{dotted} = 1",
            "header": f"[{dotted}]",
            "inline": f"zz = {{ {dotted} = 1 }}",
            "array": "zz = " + "[" * size + "]" * size,
            "inline-table": "zz = " + "{a = " * size + "1" + "}" * size,
        }[kind]
        # On a line of its own where a key may start: after `version`, or before a header.
        starts = [1, *(i for i, line in enumerate(lines) if line.startswith("["))]
        at = draw(st.sampled_from(starts))
        limit = "32 dotted parts" if kind in ("key", "header", "inline") else "32 levels deep"
    else:
        shape = "zz: " + draw(st.sampled_from(["[", "{a: "])) * size
        at = len(lines)
        limit = "32 levels deep"
    return "\n".join([*lines[:at], shape, *lines[at:]]) + "\n", suffix, limit


@fuzz_settings
@given(hostile_shapes())
def test_hostile_shapes_anywhere_are_refused_with_the_limit(
    project: Path, case: tuple[str, str, str]
) -> None:
    text, suffix, limit = case
    spec = project / "specs" / f"fuzz{suffix}"
    spec.write_text(text, encoding="utf-8")
    for command in ("validate", "generate"):
        result = CliRunner().invoke(main, [command, "-C", str(project), str(spec)])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert re.search(rf"^error: specs/fuzz{suffix}:\d+:\d+: .*{limit}", result.stderr, re.M)
    assert not (project / "generated").exists()

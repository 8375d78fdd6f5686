"""Loading TOML and YAML specs into data with positions."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from generator.checks.validation import load_spec
from generator.spec import limits
from generator.spec.errors import Position, SpecError
from generator.spec.loader import load_document, parse_document
from tests.conftest import FLAT_SPECS


def test_toml_and_yaml_give_the_same_spec(tmp_path: Path) -> None:
    toml_spec = FLAT_SPECS / "qwen36_vlm.toml"
    as_yaml = tmp_path / "qwen36_vlm.yaml"
    as_yaml.write_text(yaml.safe_dump(tomllib.loads(toml_spec.read_text()), sort_keys=False))
    assert load_spec(toml_spec).spec == load_spec(as_yaml).spec

    yaml_spec = FLAT_SPECS / "qwen35_low_latency.yaml"
    as_json_yaml = tmp_path / "qwen35_low_latency.yml"  # JSON is YAML too
    as_json_yaml.write_text(json.dumps(yaml.safe_load(yaml_spec.read_text())))
    assert load_spec(yaml_spec).spec == load_spec(as_json_yaml).spec


def test_toml_positions_cover_headers_keys_arrays_and_inline_tables(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(
        "version = 1\n"
        "[server]\n"
        'gpu = { type = "H100", count = 2 }\n'
        "  port = 8000\n"
        "[[volumes]]\n"
        'name = "a"\n'
        "[[volumes]]\n"
        'name = "b"\n'
        'engine.speculative.algorithm = "EAGLE"\n'
    )
    positions = load_document(path, "spec.toml").positions
    assert positions[("version",)] == Position(1, 1)
    assert positions[("server",)] == Position(2, 1)
    assert positions[("server", "gpu")] == Position(3, 1)
    assert positions[("server", "gpu", "count")] == Position(3, 24)
    assert positions[("server", "port")] == Position(4, 3)
    assert positions[("volumes", 0, "name")] == Position(6, 1)
    assert positions[("volumes", 1, "name")] == Position(8, 1)
    assert positions[("volumes", 1, "engine", "speculative", "algorithm")] == Position(9, 1)


def test_yaml_positions(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nserver:\n  gpu:\n    count: 2\nvolumes:\n  - name: a\n")
    positions = load_document(path, "spec.yaml").positions
    assert positions[("server", "gpu", "count")] == Position(4, 5)
    assert positions[("volumes", 0)] == Position(6, 5)
    assert positions[("volumes", 0, "name")] == Position(6, 5)


def test_yaml_booleans_are_true_and_false_only(tmp_path: Path) -> None:
    """YAML 1.2's booleans, as TOML's: YAML 1.1's `yes`, `no`, `on`, `off` are strings, which a
    boolean field refuses and a string field keeps (`NO`, Norway's code, is not `False`)."""
    text = "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: False\ng: TRUE\n"
    data = parse_document(text, tmp_path / "spec.yaml", "spec.yaml").data
    assert data == {"a": "yes", "b": "No", "c": "on", "d": "OFF", "e": True, "f": False, "g": True}


def test_yaml_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nserver:\n  port: 1\n  port: 2\n")
    with pytest.raises(SpecError) as caught:
        load_document(path, "spec.yaml")
    (problem,) = caught.value.problems
    assert str(problem).startswith("spec.yaml:4:3: server.port: duplicate key 'port'")
    assert "first set at line 3" in problem.message


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.toml", "", "the file is empty"),
        ("blank.yaml", "\n# only a comment\n", "the file is empty"),
        ("list.yaml", "- 1\n- 2\n", "must be a mapping"),
        ("bad.toml", "version = \n", "bad.toml:1:"),
        ("bad.yaml", "version: [1\n", "invalid YAML"),
        ("spec.json", "{}", "unknown spec extension '.json'"),
        ("two.yaml", "version: 1\n---\nversion: 1\n", "one YAML document"),
    ],
)
def test_unreadable_files_are_reported(
    tmp_path: Path, name: str, content: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SpecError) as caught:
        load_document(path, name)
    assert fragment in str(caught.value)


def test_binary_garbage_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "garbage.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(SpecError, match=r"not UTF-8 text|not text"):
        load_document(path, "garbage.toml")


# --- limits -----------------------------------------------------------------------------------


def _alias_bomb(levels: int = 8) -> str:
    lines = ["version: 1", "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _problem(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(path, path.name)
    (problem,) = caught.value.problems
    return str(problem)


def test_an_alias_bomb_is_refused_at_its_first_anchor_in_a_moment(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    started = time.monotonic()
    message = _problem(path)
    assert time.monotonic() - started < 2
    assert message == (
        "bomb.yaml:2:5: anchors and aliases (&name, *name) are not supported in specs; "
        "use `extends: [...]` with a base spec for reuse"
    )


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("version: 1\napp: &app {name: x}\n", "2:6"),  # an anchor alone
        ("version: 1\napp: *app\n", "2:6"),  # an alias alone, even an undefined one
        ("version: 1\nserver: {<<: *base, port: 1}\n", "2:14"),  # a merge key
        ("version: 1\nprobe:\n  - &one 1\n", "3:5"),
    ],
)
def test_any_anchor_or_alias_is_refused_with_its_position(
    tmp_path: Path, text: str, position: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    assert _problem(path).startswith(f"spec.yaml:{position}: anchors and aliases")


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("version = 1\n" + "# padding\n" * (limits.MAX_FILE_BYTES // 10))
    assert _problem(path) == "big.toml: the file is larger than 1 MiB, the limit for a spec"
    with pytest.raises(SpecError, match="larger than 1 MiB"):
        parse_document("x" * (limits.MAX_FILE_BYTES + 1), path, "big.toml")


@pytest.mark.parametrize(
    ("name", "text", "position"),
    [
        ("many.toml", "version = 1\n\n[engine]\nitems = [" + "1, " * 20_000 + "]\n", "4:59993"),
        ("many.yaml", "version: 1\nengine:\n  items: [" + "1, " * 20_000 + "]\n", "3:59990"),
        ("keys.yaml", "version: 1\n" + "".join(f"k{i}: {i}\n" for i in range(10_000)), "10000:8"),
    ],
)
def test_too_many_keys_and_values_are_refused(
    tmp_path: Path, name: str, text: str, position: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert _problem(path) == (
        f"{name}:{position}: the file holds more than 20000 keys and values, the limit for a spec"
    )


@pytest.mark.parametrize(
    ("name", "text", "position"),
    [
        # Nested inline, deeply enough that the TOML parser itself would run out of stack.
        ("arrays.toml", "version = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n", "2:37"),
        ("flow.yaml", "version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n", "2:35"),
    ],
)
def test_nesting_deeper_than_the_limit_is_refused(
    tmp_path: Path, name: str, text: str, position: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert _problem(path) == (
        f"{name}:{position}: tables and lists are nested more than 32 levels deep, "
        "the limit for a spec"
    )


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nx: " + "[" * 31 + "]" * 31 + "\n")
    document = load_document(path, "spec.yaml")
    assert limits.find_excess(document.data) is None


def test_limits_apply_to_bases_too(tmp_path: Path) -> None:
    (tmp_path / "_base.yaml").write_text("version: 1\nserver: &server {port: 1}\n")
    spec = tmp_path / "spec.toml"
    spec.write_text('version = 1\nextends = ["_base.yaml"]\n')
    assert _problem(spec).startswith("_base.yaml:2:9: anchors and aliases")


def test_a_spec_may_read_only_so_many_bases(tmp_path: Path) -> None:
    # Each level names the next one twice: 2 ** 10 files without a limit.
    for level in range(10):
        (tmp_path / f"_l{level}.toml").write_text(
            f'version = 1\nextends = ["_l{level + 1}.toml", "_l{level + 1}.toml"]\n'
        )
    (tmp_path / "_l10.toml").write_text("version = 1\n")
    started = time.monotonic()
    message = _problem(tmp_path / "_l0.toml")
    assert time.monotonic() - started < 2
    assert ": a spec and its bases may read at most 16 files through `extends`" in message


@pytest.mark.parametrize(
    ("entry", "reason"),
    [("a" * 300 + ".toml", "File name too long"), ("a\\u0000.toml", "embedded null byte")],
)
def test_a_base_path_that_cannot_be_a_file_is_reported(
    tmp_path: Path, entry: str, reason: str
) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(f'version = 1\nextends = ["{entry}"]\n')
    message = _problem(spec)
    assert message.startswith("spec.toml:2:1: extends[0]: base spec ")
    assert message.endswith(f"cannot be read: {reason}")


@pytest.mark.parametrize(
    ("name", "text", "position"),
    [
        ("spec.toml", "version = 1\nport = " + "9" * 5000 + "\n", "2:8"),
        ("spec.yaml", "version: 1\nport: " + "9" * 5000 + "\n", "2:7"),
    ],
)
def test_a_number_too_long_for_python_is_reported(
    tmp_path: Path, name: str, text: str, position: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert _problem(path) == f"{name}:{position}: a number has more than 4300 digits"


def test_long_lines_do_not_make_key_positions_slow(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    spaces = " " * 200_000
    path.write_text(
        f'version = 1\nitems = [\n"{spaces}",\n]\n[a{spaces}.b]\nx = {{ y{spaces}= 1 }}\n'
    )
    started = time.monotonic()
    positions = load_document(path, "spec.toml").positions
    assert time.monotonic() - started < 2
    assert positions[("a", "b", "x", "y")] == Position(6, 7)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("spec.toml", "version = 1\n[server]\nport = 9223372036854775808\n", "3:1: server.port"),
        ("spec.yaml", "version: 1\nserver:\n  port: -9223372036854775809\n", "3:3: server.port"),
    ],
)
def test_integers_beyond_64_bits_are_refused(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert _problem(path) == (
        f"{name}:{expected}: integers in a spec are 64-bit: from -2**63 to 2**63 - 1"
    )


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("spec.toml", "version = 1\n[probe]\nrequest_extras = { top_k = nan }\n", "3:20"),
        ("spec.yaml", "version: 1\nprobe:\n  request_extras: {top_k: -.inf}\n", "3:20"),
    ],
)
def test_nan_and_infinities_are_refused(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert _problem(path) == (
        f"{name}:{expected}: probe.request_extras.top_k: nan and infinities are not supported "
        "in specs"
    )


def test_field_names_that_would_garble_a_message_are_quoted(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text('version: 1\nserver:\n  "a\\nb": 1\n  " ": 2\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path, "spec.yaml")
    messages = [str(problem) for problem in caught.value.problems]
    assert "spec.yaml:3:3: server.'a\\nb': unknown key 'a\\nb'" in "\n".join(messages)
    assert any(message.startswith("spec.yaml:4:3: server.' ': unknown key") for message in messages)


def test_a_key_that_looks_like_a_union_member_is_still_named(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\n'[': []\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path, "spec.yaml")
    assert "spec.yaml:2:1: [: unknown key '['" in str(caught.value)


def test_toml_positions_of_quoted_keys(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(
        'version = 1\n[a."b.c"]\n"é" = 1\n  \'x y\' . z = { "\\u001f" = 2 }\n[[l]]  # list\n'
    )
    positions = load_document(path, "spec.toml").positions
    assert positions[("a", "b.c")] == Position(2, 1)
    assert positions[("a", "b.c", "é")] == Position(3, 1)
    assert positions[("a", "b.c", "x y", "z")] == Position(4, 3)
    assert positions[("a", "b.c", "x y", "z", "\x1f")] == Position(4, 17)
    assert positions[("l", 0)] == Position(5, 1)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("a.toml", "version = 1\nx = 1979-05-27T07:32:00Z\n", "2:1: x: a date-time (1979-05-27"),
        ("b.toml", "version = 1\nx = 1979-05-27T07:32:00\n", "2:1: x: a date-time (1979-05-27"),
        ("c.toml", "version = 1\nx = 1979-05-27\n", "2:1: x: a date (1979-05-27)"),
        ("d.toml", "version = 1\n[t]\nx = [07:32:00]\n", "3:1: t.x[0]: a time (07:32:00)"),
        ("e.yaml", "version: 1\nx: 2001-12-14\n", "2:1: x: a date (2001-12-14)"),
        ("f.yaml", "version: 1\nx: [2001-12-14t21:59:43.10-05:00]\n", "2:5: x[0]: a date-time"),
    ],
)
def test_dates_and_times_are_not_spec_values(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    message = _problem(path)
    assert message.startswith(f"{name}:{expected}")
    assert message.endswith("no field takes dates or times; quote it if it is meant as text")


def test_a_quoted_date_is_text(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text('version = 1\nx = "1979-05-27"\n')
    assert load_document(path, "spec.toml").data["x"] == "1979-05-27"


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("version = 1\n" + ".".join(["t"] * 40) + " = 1\n", "2:1"),
        ("version = 1\n[" + ".".join(["t"] * 40) + "]\nx = 1\n", "2:1"),
        ("version = 1\n[a]\nx = { " + ".".join(['"t"'] * 40) + " = 1 }\n", "3:7"),
    ],
)
def test_a_key_of_too_many_parts_is_refused_before_parsing(
    tmp_path: Path, text: str, position: str
) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    assert _problem(path) == (
        f"spec.toml:{position}: a key or table header has more than 32 dotted parts, "
        "the limit for a spec"
    )

"""Loading TOML and YAML specs into data with positions."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from generator.errors import Position, SpecError
from generator.loader import load_document
from generator.validation import load_spec
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

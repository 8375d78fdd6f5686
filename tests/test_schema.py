"""The committed JSON Schema: current, and accepting the committed specs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from generator.model.schema import SCHEMA_PATH, TOML_SCHEMA_LINE, YAML_SCHEMA_LINE, spec_schema
from generator.project.project import Project
from generator.spec.inherit import load_layered
from tests.conftest import FLAT_SPECS, ROOT

SPECS = sorted(Project(ROOT).discover_specs())


def test_committed_schema_is_current() -> None:
    assert (ROOT / SCHEMA_PATH).read_text() == spec_schema(), "run `modalgen schema`"


@pytest.mark.parametrize("path", [*SPECS, *sorted(FLAT_SPECS.iterdir())], ids=lambda p: p.name)
def test_schema_accepts_the_committed_specs(path: Path) -> None:
    schema = json.loads((ROOT / SCHEMA_PATH).read_text())
    data = load_layered(path, path.name).data  # bases merged, as modalgen reads it
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)


def test_schema_rejects_what_the_models_reject() -> None:
    schema = json.loads(spec_schema())
    validator = jsonschema.Draft202012Validator(schema)
    data = load_layered(ROOT / "specs" / "qwen36_vlm.toml", "qwen36_vlm.toml").data
    assert not list(validator.iter_errors(data))
    for broken in (
        {**data, "servr": {}},
        {**data, "server": {**data["server"], "gpu": {"type": "H900", "count": 1}}},
        {**data, "model": {**data["model"], "revision": "main branch"}},
    ):
        assert list(validator.iter_errors(broken))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_specs_point_editors_at_the_schema(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first == (TOML_SCHEMA_LINE if path.suffix == ".toml" else YAML_SCHEMA_LINE)
    assert (path.parent / first.split("schema", 1)[1].lstrip(" =")).resolve() == (
        ROOT / SCHEMA_PATH
    )

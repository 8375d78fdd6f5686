"""The JSON Schema of a spec, generated from the pydantic models and committed for editors."""

from __future__ import annotations

from pathlib import Path

SCHEMA_PATH = Path("schemas/spec.schema.json")
# Where a spec in specs/ finds the schema, for the editor hints at the top of each spec.
SCHEMA_FROM_SPECS = "../schemas/spec.schema.json"
TOML_SCHEMA_LINE = f"#:schema {SCHEMA_FROM_SPECS}"
YAML_SCHEMA_LINE = f"# yaml-language-server: $schema={SCHEMA_FROM_SPECS}"


def packaged_schema() -> str:
    """The schema text this modalgen ships: the copy inside the installed package (the wheel's
    `generator/schemas/`), else the checkout's `schemas/`, else built from the models. For `init`
    to write without building the models; a test keeps the packaged copy equal to
    `spec_schema()`."""
    from generator.locations import PACKAGE_DIR

    for candidate in (PACKAGE_DIR / SCHEMA_PATH, PACKAGE_DIR.parent / SCHEMA_PATH):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    return spec_schema()


def spec_schema() -> str:
    """The schema as committed: deterministic JSON with a trailing newline."""
    import json

    from generator.model.models import Spec  # building the models is most of modalgen's start-up

    schema = Spec.model_json_schema(mode="validation")
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://modalgen.dev/schemas/spec.schema.json",
        **schema,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

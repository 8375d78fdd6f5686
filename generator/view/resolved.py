"""A validated spec as data, with defaults and inherited values filled in, in JSON, YAML or TOML."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.model.models import Spec

FORMATS = ("toml", "yaml", "json")


def resolved_data(spec: Spec) -> dict[str, Any]:
    return resolve(spec).model_dump(mode="json")


def dump(spec: Spec, format: str) -> str:
    data = resolved_data(spec)
    if format == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if format == "yaml":
        import yaml

        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if format == "toml":
        return to_toml(data)
    raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


def to_toml(data: dict[str, Any]) -> str:
    """TOML for spec-shaped data: tables, arrays of tables, scalars and lists of scalars.

    A None value has no TOML spelling and is left out, which reads back as the same default.
    """
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).strip("\n") + "\n"


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"no TOML for {value!r}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(data: dict[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    simple = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_list(v)}
    for key, value in simple.items():
        if value is not None:
            lines.append(f"{_key(key)} = {_scalar(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", "[" + ".".join(_key(part) for part in (*path, key)) + "]"]
            _table(value, (*path, key), lines)
        elif _is_table_list(value):
            for item in value:
                lines += ["", "[[" + ".".join(_key(part) for part in (*path, key)) + "]]"]
                _table(item, (*path, key), lines)


def resolve(spec: Spec) -> Spec:
    """The spec with every default that depends on other fields written out."""
    from generator.engines.registry import engine_for

    names = [volume.name for volume in spec.volumes]
    return spec.model_copy(
        update={
            "deep_gemm": spec.deep_gemm.model_copy(
                update={
                    "enabled": spec.deep_gemm_enabled,
                    "gpu": spec.deep_gemm_gpu,
                    "volumes": spec.deep_gemm.volumes
                    if spec.deep_gemm.volumes is not None
                    else names,
                }
            ),
            "server": spec.server.model_copy(
                update={
                    **spec.server.resolved_defaults(),
                    "startup_timeout": spec.server.startup_limit,
                    "volumes": spec.server.volumes if spec.server.volumes is not None else names,
                }
            ),
            "engine": engine_for(spec).resolved_section(spec),
            "lifecycle": spec.lifecycle.model_copy(update={"ready_timeout": spec.ready_timeout}),
            "probe": spec.probe.model_copy(update={"message": spec.probe_message}),
        }
    )

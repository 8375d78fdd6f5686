"""The SGLang options a spec makes the generated app pass, checked against the image's SGLang.

`checks.engine_options` reports the errors and `checks.engine_option_warnings` the warnings.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Literal

from generator.engines.sglang.catalog import (
    CatalogNotFound,
    OptionError,
    OptionTable,
    available_versions,
    engine_version_from_tag,
    extract_command,
    load_catalog,
)
from generator.errors import FieldPath
from generator.models import MEMORY_SNAPSHOT_FLAGS, Spec

Severity = Literal["error", "warning"]
EngineFinding = tuple[Severity, FieldPath, str]
SKIP_HINT = "or set `image.check_engine_options = false` to skip checking engine options"


def server_options(spec: Spec) -> list[tuple[FieldPath, str, object]]:
    """(field, flag, value) of each option `view._server_command` passes to launch_server.

    `tests/test_sglang_catalog.py` checks that both name the same flags.
    """
    engine, speculative = spec.engine, spec.engine.speculative
    options: list[tuple[FieldPath, str, object]] = [
        (("model", "name"), "--model-path", spec.model.name),
        (("model", "revision"), "--revision", spec.model.revision),
        (
            ("engine", "served_model_name"),
            "--served-model-name",
            engine.served_model_name or spec.model.name,
        ),
        (("engine", "host"), "--host", engine.host),
        (("server", "port"), "--port", spec.server.port),
        (("engine", "tensor_parallel_size"), "--tp-size", spec.tensor_parallel_size),
        (
            ("engine", "cuda_graph_max_bs"),
            "--cuda-graph-max-bs",
            spec.cuda_graph_max_bs,
        ),
        (("engine", "enable_metrics"), "--enable-metrics", engine.enable_metrics),
        (("engine", "decode_log_interval"), "--decode-log-interval", engine.decode_log_interval),
        (("engine", "mem_fraction_static"), "--mem-fraction-static", engine.mem_fraction_static),
        (("engine", "context_length"), "--context-length", engine.context_length),
        (
            ("engine", "mamba_scheduler_strategy"),
            "--mamba-scheduler-strategy",
            engine.mamba_scheduler_strategy,
        ),
        (("engine", "reasoning_parser"), "--reasoning-parser", engine.reasoning_parser),
        (("engine", "tool_call_parser"), "--tool-call-parser", engine.tool_call_parser),
    ]
    if speculative is not None:
        field = ("engine", "speculative")
        options += [
            ((*field, "algorithm"), "--speculative-algorithm", speculative.algorithm),
            ((*field, "num_steps"), "--speculative-num-steps", speculative.num_steps),
            ((*field, "eagle_topk"), "--speculative-eagle-topk", speculative.eagle_topk),
            (
                (*field, "num_draft_tokens"),
                "--speculative-num-draft-tokens",
                speculative.num_draft_tokens,
            ),
        ]
    if spec.lifecycle.memory_snapshot:
        options += [
            (("lifecycle", "memory_snapshot"), flag, True) for flag in MEMORY_SNAPSHOT_FLAGS
        ]
    # None and false are not passed at all.
    return [
        (field, flag, value)
        for field, flag, value in options
        if value is not None and value is not False
    ]


def deep_gemm_options(spec: Spec) -> list[tuple[FieldPath, str, object]]:
    """(field, flag, value) of each option of the DeepGEMM build (`view._deep_gemm_view`)."""
    if not spec.deep_gemm.enabled:
        return []
    return [
        (("model", "name"), "--model-path", spec.model.name),
        (("model", "revision"), "--revision", spec.model.revision),
        (("engine", "tensor_parallel_size"), "--tp-size", spec.tensor_parallel_size),
    ]


def engine_version(spec: Spec) -> str | None:
    """The SGLang version of the spec's image: `image.sglang_version`, else the tag's."""
    return spec.image.sglang_version or engine_version_from_tag(spec.image.registry_tag)


def engine_option_findings(spec: Spec) -> Iterator[EngineFinding]:
    image = spec.image
    if not image.check_engine_options:
        return
    from_tag = engine_version_from_tag(image.registry_tag)
    if image.sglang_version and from_tag and image.sglang_version != from_tag:
        yield (
            "error",
            ("image", "sglang_version"),
            f"the image tag says SGLang {from_tag}, not {image.sglang_version}: drop one",
        )
        return
    version = image.sglang_version or from_tag
    if version is None:
        yield (
            "error",
            ("image", "registry_tag"),
            f"cannot tell the SGLang version of {image.registry_tag!r} from its tag: set "
            f"`image.sglang_version`, {SKIP_HINT}",
        )
        return
    try:
        catalog = load_catalog(version)
    except CatalogNotFound:
        known = ", ".join(available_versions()) or "none"
        yield (
            "error",
            ("image", "sglang_version" if image.sglang_version else "registry_tag"),
            f"no option catalog for SGLang {version} (catalogs: {known}): create it with "
            f"`{extract_command(version)}`, {SKIP_HINT}",
        )
        return
    for field, flag, value in server_options(spec):
        yield from _option_findings(catalog.launch_server, field, flag, value, generated=True)
    for flag, value in spec.engine.extra_args.items():
        field = ("engine", "extra_args", flag)
        yield from _option_findings(catalog.launch_server, field, flag, value, generated=False)
    for field, flag, value in deep_gemm_options(spec):
        yield from _option_findings(catalog.compile_deep_gemm, field, flag, value, generated=True)
    for key in image.env:
        if key.startswith("SGLANG_") and key not in catalog.env_vars:
            close = difflib.get_close_matches(key, sorted(catalog.env_vars), n=3, cutoff=0.8)
            hint = f"; closest: {', '.join(close)}" if close else ""
            yield (
                "warning",
                ("image", "env", key),
                f"SGLang {version} does not read {key} (no such name in its source){hint}",
            )


def _option_findings(
    table: OptionTable, field: FieldPath, flag: str, value: object, generated: bool
) -> Iterator[EngineFinding]:
    # For a typed field, say where the flag comes from.
    passes = f" (the generated `{table.command}` command passes it for this field)"
    try:
        resolution = table.resolve(flag)
    except OptionError as error:
        yield "error", field, f"{error}{passes if generated else ''}"
        return
    if not resolution.exact:
        yield (
            "error",
            field,
            f"`{flag}` is an abbreviation: SGLang {table.version} expands it to "
            f"`{resolution.expanded}`; write `{resolution.expanded}` (an abbreviation breaks "
            "the day SGLang adds another option with the same prefix)",
        )
    problem = table.check_value(resolution.option, value)
    if problem is not None:
        yield "error", field, problem
    option = resolution.option
    if option.deprecated and value is not None and value is not False:
        instead = f"; use `{option.replacement}`" if option.replacement else ""
        yield "warning", field, f"`{flag}` is deprecated in SGLang {table.version}{instead}"

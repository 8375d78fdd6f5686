"""Read the options of `vllm serve` and the `VLLM_*` variables out of vLLM's source, statically.

Nothing of vLLM (or torch) is imported: the `.py` files of an sdist or wheel are parsed with
`ast`. The serve parser is followed from where vLLM builds it, `ServeSubcommand.subparser_init`
in `vllm/entrypoints/cli/serve.py`, through `make_arg_parser` (its explicit `add_argument` calls
in 0.9, `FrontendArgs.add_cli_args` over a dataclass later) and `AsyncEngineArgs.add_cli_args`,
whose options mostly come from `get_kwargs(SomeConfig)` over the config dataclasses (see
`vllm_type_hints` and `vllm_parser_walk`). Statements that cannot be followed are listed under
`unresolved`; option types that cannot be read are recorded as `type: null` with
`type_unresolved` holding their source. The names `--tool-call-parser` and `--reasoning-parser`
take are registered at run time, not given to argparse: `vllm_registries` reads them, and they are
recorded as the options' `choices`, with `choices_registry` saying where they come from.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from generator.extract.sglang import (
    ClassRef,
    Evaluator,
    FunctionRef,
    SourceTree,
    Unresolved,
)
from generator.extract.vllm_parser_walk import Frame, Option, Parser, ParserWalk
from generator.extract.vllm_registries import REGISTRIES, registered_names
from generator.extract.vllm_type_hints import TypeReader, detect_rules

ENV_VAR = re.compile(r"VLLM_[A-Z0-9_]+")
ARG_UTILS_MODULE = "vllm.engine.arg_utils"
ENVS_MODULE = "vllm.envs"
SERVE_MODULE = "vllm.entrypoints.cli.serve"
SERVE_CLASS = "ServeSubcommand"
# Where `make_arg_parser` lives, newest first, for sources without the `vllm` CLI module.
CLI_ARGS_MODULES = ("vllm.entrypoints.common.cli_args", "vllm.entrypoints.openai.cli_args")
# The files a catalog is read from (the rest are followed from them as needed).
SOURCE_PATHS = ("vllm/entrypoints/cli/serve.py", "vllm/engine/arg_utils.py", "vllm/envs.py")


def source_tree(files: Mapping[str, str]) -> SourceTree:
    """The `vllm/` Python files of a distribution, by path inside it (`vllm/...`)."""
    return SourceTree({path: text for path, text in files.items() if path.startswith("vllm/")})


def serve_walk(tree: SourceTree) -> ParserWalk:
    """Follow the building of the `vllm serve` parser and return what it collected."""
    evaluator = Evaluator(tree)
    rules = detect_rules(evaluator, ARG_UTILS_MODULE)
    walk = ParserWalk(evaluator, TypeReader(evaluator, rules))
    start = _serve_entry(evaluator)
    if start is None:
        raise Unresolved("neither vllm/entrypoints/cli/serve.py nor make_arg_parser found")
    function, owner = start
    arguments: list[Any] = [Parser()] if owner is None else [None, Parser()]
    walk.run_function(function, arguments, {}, Frame(function.module, owner=owner))
    if not walk.options:
        raise Unresolved("no options found for `vllm serve`")
    return walk


def _serve_entry(evaluator: Evaluator) -> tuple[FunctionRef, ClassRef | None] | None:
    sources = evaluator.sources
    if sources.has_module(SERVE_MODULE):
        serve = evaluator.module_binding(SERVE_MODULE, SERVE_CLASS)
        if isinstance(serve, ClassRef):
            for statement in serve.node.body:
                if isinstance(statement, ast.FunctionDef) and statement.name == "subparser_init":
                    return FunctionRef(serve.module, statement), serve
    for module in CLI_ARGS_MODULES:
        if sources.has_module(module):
            found = evaluator.module_binding(module, "make_arg_parser")
            if isinstance(found, FunctionRef):
                return found, None
    return None


def _records(options: list[Option]) -> list[dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for option in options:
        record = option.record()
        # argparse refuses a second option of the same name: the first one is vLLM's.
        records.setdefault(record["name"], record)
    return [records[name] for name in sorted(records)]


def environment_variables(tree: SourceTree) -> list[str]:
    """The `VLLM_*` keys of `environment_variables` in `vllm/envs.py`."""
    if not tree.has_module(ENVS_MODULE):
        return []
    names: set[str] = set()
    for statement in tree.tree(ENVS_MODULE).body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        value = getattr(statement, "value", None)
        if not any(isinstance(t, ast.Name) and t.id == "environment_variables" for t in targets):
            continue
        if isinstance(value, ast.Dict):
            for key in value.keys:
                if (
                    isinstance(key, ast.Constant)
                    and isinstance(key.value, str)
                    and ENV_VAR.fullmatch(key.value)
                ):
                    names.add(key.value)
    return sorted(names)


def extract_catalog(files: Mapping[str, str], version: str, source: dict[str, Any]) -> dict:
    """The catalog of one vLLM version from its source files (`vllm/... -> text`)."""
    tree = source_tree(files)
    walk = serve_walk(tree)
    records = _records(walk.options)
    notes = walk.notes + _registered_choices(records, files)
    return {
        "vllm_version": version,
        "source": source,
        "serve": records,
        "serve_positionals": walk.positionals,
        "env_vars": environment_variables(tree),
        "unresolved": sorted(set(notes)),
    }


def _registered_choices(records: list[dict[str, Any]], files: Mapping[str, str]) -> list[str]:
    """Give the options whose values a run-time registry checks that registry's names as
    `choices`; returns what could not be followed."""
    names, notes = registered_names({p: t for p, t in files.items() if p.startswith("vllm/")})
    by_name = {record["name"]: record for record in records}
    for registry in REGISTRIES:
        record = by_name.get(registry.option)
        found = names.get(registry.manager)
        if record is None or record.get("choices") is not None or not found:
            continue
        record["choices"] = found
        record["choices_registry"] = {
            "manager": registry.manager,
            "plugin_option": registry.plugin_option if registry.plugin_option in by_name else None,
        }
    return notes

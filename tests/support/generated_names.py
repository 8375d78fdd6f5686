"""Every Python name a generated file binds or uses: what a spec's names must not take."""

from __future__ import annotations

import ast


def names_in(source: str) -> set[str]:
    """The names `source` defines, imports, assigns, takes as parameters or reads (not
    attribute names, methods included, not keyword-argument names of calls)."""
    found: set[str] = set()
    tree = ast.parse(source)
    methods = {
        id(item)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if id(node) not in methods:  # a method is an attribute of its class
                found.add(node.name)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.update(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            found.add(node.name)
    return found


def top_level_names(source: str) -> list[str]:
    """The names the module itself binds at its top level, once per binding."""
    bound: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.append(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound += [alias.asname or alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.With | ast.For):
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    bound.append(child.id)
    return bound


# Settings that turn the templates' optional parts on or off, tried on every committed spec so
# that the names of every part are seen, not only those the committed files happen to use.
VARIANTS: tuple[dict, ...] = (
    {"probe": {"cli_options": True, "second_prompt": "Again."}},
    {"probe": {"system_prompt": "Be brief.", "second_system_prompt": "Be long."}},
    {"probe": {"session_header": ""}},
    {"bench": {"enabled": False}},
    {"bench": {"in_region": True, "slo": {"ttft_p99_ms": 100}}},
    {"lifecycle": {"memory_snapshot": True}},
    {"model": {"download": "build"}},
    {"model": {"download": "start"}},
    {"engine": {"api_key_secret": "api-key"}},
    {"engine": {"config": {"mem-fraction-static": 0.8}}},
    {"warmup": {"requests": 0}},
    {"deep_gemm": {"enabled": False}},
    {"server": {"kind": "server"}},
    {"server": {"kind": "http_server"}},
    {"server": {"kind": "web_server"}},
    {
        "server": {"kind": "web_server", "on_class": True},
        "sidecars": [{"name": "metrics", "command": ["alloy", "run", "/etc/alloy/config.alloy"]}],
    },
    {"workload": {"kind": "completion"}},
    {"workload": {"kind": "embedding"}},
)


def merged(base: dict, top: dict) -> dict:
    result = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result

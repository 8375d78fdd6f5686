"""The names vLLM registers at run time for `--tool-call-parser` and `--reasoning-parser`.

argparse knows no choices for these options: vLLM checks the name against a registry when the
server starts (`ToolParserManager`, `ReasoningParserManager`), and refuses one it does not hold.
The registries are filled in two ways, both read here statically, with `ast`:

- a class decorator, `@ToolParserManager.register_module("llama3_json")` (a name, a list of
  names, `name=...`, or none: the class's own name), in vLLM up to about 0.10;
- lazily, `ToolParserManager.register_lazy_module(name, module_path, class_name)`, called with
  a literal name or in a loop over a module-level dict whose keys are the names
  (`_TOOL_PARSERS_TO_REGISTER`), in later releases.

A plugin (`--tool-parser-plugin`, `--reasoning-parser-plugin`) registers further names: a spec
that passes one may use any name (see `Catalog.serve_for`).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Registry:
    """One run-time registry of names and the option whose values it checks."""

    option: str  # `--tool-call-parser`
    manager: str  # `ToolParserManager`
    plugin_option: str  # `--tool-parser-plugin`: a plugin that registers more names


REGISTRIES = (
    Registry("--tool-call-parser", "ToolParserManager", "--tool-parser-plugin"),
    Registry("--reasoning-parser", "ReasoningParserManager", "--reasoning-parser-plugin"),
)
_EAGER = "register_module"
_LAZY = "register_lazy_module"


def registered_names(files: Mapping[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Manager class name -> the names registered with it (sorted), and what was not followed
    (`path:line: source`)."""
    managers = {registry.manager for registry in REGISTRIES}
    names: dict[str, set[str]] = {manager: set() for manager in managers}
    notes: list[str] = []
    for path in sorted(files):
        text = files[path]
        if not path.endswith(".py") or not any(manager in text for manager in managers):
            continue
        try:
            module = ast.parse(text, filename=path)
        except SyntaxError:
            notes.append(f"{path}: not Python that parses")
            continue
        _ModuleScan(path, text, module, managers, names, notes).run()
    return {manager: sorted(found) for manager, found in names.items()}, notes


class _ModuleScan:
    def __init__(
        self,
        path: str,
        text: str,
        module: ast.Module,
        managers: set[str],
        names: dict[str, set[str]],
        notes: list[str],
    ) -> None:
        self.path, self.text, self.module = path, text, module
        self.managers, self.names, self.notes = managers, names, notes
        self.dicts = {
            target.id: statement.value
            for statement in module.body
            if isinstance(statement, ast.Assign | ast.AnnAssign)
            and isinstance(statement.value, ast.Dict)
            for target in (
                statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            )
            if isinstance(target, ast.Name)
        }

    def run(self) -> None:
        for node in ast.walk(self.module):
            if isinstance(node, ast.ClassDef):
                for decorator in node.decorator_list:
                    manager = self._manager_call(decorator, _EAGER)
                    if manager is not None:
                        assert isinstance(decorator, ast.Call)
                        self._add(manager, decorator, default=node.name)
            elif isinstance(node, ast.For):
                self._loop(node)
            elif isinstance(node, ast.Call) and not self._in_loop(node):
                manager = self._manager_call(node, _LAZY)
                if manager is not None:
                    self._add(manager, node, default=None)

    def _manager_call(self, node: ast.expr, method: str) -> str | None:
        """`Manager.method(...)`: the manager's name, for the managers looked for."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == method
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in self.managers
        ):
            return node.func.value.id
        return None

    def _add(self, manager: str, call: ast.Call, default: str | None) -> None:
        given = call.args[0] if call.args else None
        for keyword in call.keywords:
            if keyword.arg in ("name", "module_name"):
                given = keyword.value
        if given is None or (isinstance(given, ast.Constant) and given.value is None):
            if default is not None:
                self.names[manager].add(default)
                return
            self._note(call)
            return
        values = given.elts if isinstance(given, ast.List | ast.Tuple) else [given]
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                self.names[manager].add(value.value)
            else:
                self._note(call)

    def _loop_calls(self, loop: ast.For) -> list[tuple[str, ast.Call]]:
        return [
            (manager, node)
            for statement in loop.body
            for node in ast.walk(statement)
            if isinstance(node, ast.Call)
            and (manager := self._manager_call(node, _LAZY)) is not None
        ]

    def _in_loop(self, call: ast.Call) -> bool:
        return any(
            call is node
            for loop in ast.walk(self.module)
            if isinstance(loop, ast.For)
            for _, node in self._loop_calls(loop)
        )

    def _loop(self, loop: ast.For) -> None:
        """`for name, (...) in TABLE.items(): Manager.register_lazy_module(name, ...)`."""
        for manager, call in self._loop_calls(loop):
            table = _iterated_dict(loop.iter)
            key = _first_target(loop.target)
            first = call.args[0] if call.args else None
            for keyword in call.keywords:
                if keyword.arg == "name":
                    first = keyword.value
            if (
                table in self.dicts
                and key is not None
                and isinstance(first, ast.Name)
                and first.id == key
            ):
                for item in self.dicts[table].keys:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        self.names[manager].add(item.value)
                    else:
                        self._note(call)
            else:
                self._note(call)

    def _note(self, node: ast.AST) -> None:
        source = ast.get_source_segment(self.text, node) or ""
        line = getattr(node, "lineno", 0)
        self.notes.append(f"{self.path}:{line}: {source.splitlines()[0] if source else ''}")


def _iterated_dict(iterated: ast.expr) -> str | None:
    """`TABLE.items()` or `TABLE`: the name TABLE."""
    if (
        isinstance(iterated, ast.Call)
        and isinstance(iterated.func, ast.Attribute)
        and iterated.func.attr == "items"
        and isinstance(iterated.func.value, ast.Name)
    ):
        return iterated.func.value.id
    return iterated.id if isinstance(iterated, ast.Name) else None


def _first_target(target: ast.expr) -> str | None:
    if isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
        return target.elts[0].id
    return target.id if isinstance(target, ast.Name) else None

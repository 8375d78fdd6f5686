"""Read SGLang's command-line options and environment variables out of its source, statically.

Nothing of SGLang is imported or run: the source files of a wheel are parsed with `ast` and the
option declarations are read the way argparse would see them. Two declaration forms are
understood, the two SGLang has used:

- `parser.add_argument("--name", "--alias", type=..., choices=..., default=ServerArgs.name, ...)`
  calls in `ServerArgs.add_cli_args` (SGLang up to 0.5.10 and the manual options after), with
  defaults `ServerArgs.x` read from the dataclass field;
- fields declared as `name: A[T, "help"] = default` or `name: A[T, Arg(...)] = default` and
  registered by `add_cli_args_from_dataclass(parser, ServerArgs)` (later releases, whose
  `ServerArgs` collects its fields from namespace classes with `collect_input_fields([...])`),
  following the rules of `sglang.srt.arg_groups.arg_utils.add_cli_args_from_dataclass`.

Names such as `choices=ATTENTION_BACKEND_CHOICES` or `list(ReasoningParser.DetectorMap.keys())`
are followed through imports, class bodies and small functions; what cannot be known without
running code is recorded as unresolved, with its source text.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_VAR = re.compile(r"SGLANG_[A-Z0-9_]+")
SERVER_ARGS_MODULE = "sglang.srt.server_args"
SERVER_ARGS_CLASS = "ServerArgs"
COMPILE_DEEP_GEMM_MODULE = "sglang.compile_deep_gemm"
ENVIRON_MODULE = "sglang.srt.environ"

# argparse actions that take no value, and the type recorded for them.
FLAG_ACTIONS = {"store_true", "store_false", "store_const", "count", "help", "version"}
FLAG_TYPE = "bool-flag"
# How a `type=` callable is recorded; anything else is recorded by its name.
TYPE_NAMES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "json.loads": "json",
    "orjson.loads": "json",
    "json_list_type": "json_list",
}
_MAX_DEPTH = 40
# `argparse.SUPPRESS`: as a help text, the option is left out of `--help`.
ARGPARSE_SUPPRESS = "==SUPPRESS=="


class Unresolved(Exception):
    """A value that cannot be known without running code."""


@dataclass(frozen=True)
class Opaque:
    """A value that could not be resolved, kept where its absence does not matter."""

    source: str


@dataclass(frozen=True)
class ModuleRef:
    name: str


@dataclass(frozen=True)
class ClassRef:
    module: str
    node: ast.ClassDef

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(frozen=True)
class FunctionRef:
    module: str
    node: ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class EnumMember:
    name: str
    value: Any


_MISSING = object()


@dataclass
class Scope:
    """Where names are looked up: a function's locals (by line), then its module."""

    module: str
    locals: dict[str, list[tuple[int, ast.expr | ast.stmt]]] = field(default_factory=dict)
    bound: dict[str, Any] = field(default_factory=dict)
    line: int = 10**9


class SourceTree:
    """The Python files of a distribution, by module name, parsed on demand."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)
        self._modules: dict[str, str] = {}
        for path in self.files:
            if not path.endswith(".py"):
                continue
            parts = path[:-3].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            self._modules[".".join(parts)] = path
        self._trees: dict[str, ast.Module] = {}

    def has_module(self, module: str) -> bool:
        return module in self._modules

    def is_package(self, module: str) -> bool:
        return self._modules.get(module, "").endswith("__init__.py")

    def path_of(self, module: str) -> str:
        return self._modules[module]

    def tree(self, module: str) -> ast.Module:
        if module not in self._trees:
            path = self._modules.get(module)
            if path is None:
                raise Unresolved(f"module {module} is not in the distribution")
            self._trees[module] = ast.parse(self.files[path], filename=path)
        return self._trees[module]


class Evaluator:
    """Static evaluation of the expressions option declarations use."""

    def __init__(self, tree: SourceTree) -> None:
        self.sources = tree
        self.depth = 0
        self._following: set[tuple[str, str]] = set()

    # -- names -------------------------------------------------------------------------------

    def absolute(self, module: str, imported: str | None, level: int) -> str:
        if level == 0:
            return imported or ""
        package = module if self.sources.is_package(module) else module.rpartition(".")[0]
        for _ in range(level - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{imported}" if imported else package

    def module_binding(self, module: str, name: str) -> Any:
        """What `name` is bound to at the top level of `module` (its last binding)."""
        if not self.sources.has_module(module) or (module, name) in self._following:
            raise Unresolved(f"{module}.{name}")
        self._following.add((module, name))
        try:
            return self._module_binding(module, name)
        finally:
            self._following.discard((module, name))

    def _module_binding(self, module: str, name: str) -> Any:
        found: list[Callable[[], Any]] = []
        star_imports: list[str] = []
        for statement in _top_level(self.sources.tree(module).body):
            binding = self._binding_in(statement, module, name, star_imports)
            if binding is not None:
                found.append(binding)
        # The last binding, else an earlier one: `ServerArgs = msgspec.defstruct(...)` rebuilds
        # the class `ServerArgs` declared above it, with its methods.
        for binding in reversed(found):
            try:
                return binding()
            except Unresolved:
                continue
        for star in star_imports:
            try:
                return self.module_binding(star, name)
            except Unresolved:
                continue
        if self.sources.has_module(f"{module}.{name}"):
            return ModuleRef(f"{module}.{name}")
        raise Unresolved(f"{module}.{name}")

    def _binding_in(
        self, statement: ast.stmt, module: str, name: str, star_imports: list[str]
    ) -> Callable[[], Any] | None:
        scope = Scope(module)
        if isinstance(statement, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                return lambda: self.evaluate(statement.value, scope)
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
            if isinstance(target, ast.Name) and target.id == name and statement.value:
                value = statement.value
                return lambda: self.evaluate(value, scope)
        elif isinstance(statement, ast.ClassDef) and statement.name == name:
            return lambda: ClassRef(module, statement)
        elif (
            isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and statement.name == name
        ):
            return lambda: FunctionRef(module, statement)
        elif isinstance(statement, ast.ImportFrom):
            source = self.absolute(module, statement.module, statement.level)
            for alias in statement.names:
                if alias.name == "*":
                    star_imports.append(source)
                elif (alias.asname or alias.name) == name:
                    imported = alias.name
                    return lambda: self.module_binding(source, imported)
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname == name:
                    target_module = alias.name
                    return lambda: ModuleRef(target_module)
                if alias.asname is None and alias.name.split(".")[0] == name:
                    return lambda: ModuleRef(name)
        return None

    def lookup(self, name: str, scope: Scope) -> Any:
        if name in scope.bound:
            return scope.bound[name]
        candidates = [
            (line, node) for line, node in scope.locals.get(name, ()) if line < scope.line
        ]
        if candidates:
            _, node = max(candidates, key=lambda item: item[0])
            if isinstance(node, ast.ImportFrom):
                source = self.absolute(scope.module, node.module, node.level)
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return self.module_binding(source, alias.name)
            if isinstance(node, ast.expr):
                return self.evaluate(
                    node, Scope(scope.module, scope.locals, scope.bound, node_line(node))
                )
        if name in _BUILTINS:
            return _BUILTINS[name]
        return self.module_binding(scope.module, name)

    def attribute(self, value: Any, name: str) -> Any:
        if isinstance(value, ModuleRef):
            if value.name == "argparse" and name == "SUPPRESS":
                return ARGPARSE_SUPPRESS
            return self.module_binding(value.name, name)
        if isinstance(value, ClassRef):
            return self.class_attribute(value, name)
        if isinstance(value, FunctionRef) and name == "__doc__":
            return ast.get_docstring(value.node)
        if isinstance(value, EnumMember) and name in ("name", "value"):
            return getattr(value, name)
        if isinstance(value, dict | list | tuple | str | set) and name in _METHODS:
            return _Method(value, name)
        raise Unresolved(f"attribute {name}")

    def class_attribute(self, cls: ClassRef, name: str) -> Any:
        if self.is_enum(cls):
            for member in self.enum_members(cls):
                if member.name == name:
                    return member
        for statement in cls.node.body:
            if isinstance(statement, ast.ClassDef) and statement.name == name:
                return ClassRef(cls.module, statement)
            if isinstance(statement, ast.FunctionDef) and statement.name == name:
                return FunctionRef(cls.module, statement)
        # Names in a class body see the assignments above them: `ALL = (FULL, DISABLED)`.
        bindings = class_bindings(cls.node)
        if name in bindings:
            line, value = bindings[name][-1]
            assert isinstance(value, ast.expr)
            return self.evaluate(value, Scope(cls.module, bindings, line=line))
        for base in self.bases(cls):
            try:
                return self.class_attribute(base, name)
            except Unresolved:
                continue
        raise Unresolved(f"{cls.name}.{name}")

    def bases(self, cls: ClassRef) -> list[ClassRef]:
        found = []
        for base in cls.node.bases:
            try:
                value = self.evaluate(base, Scope(cls.module))
            except Unresolved:
                continue
            if isinstance(value, ClassRef):
                found.append(value)
        return found

    def is_enum(self, cls: ClassRef) -> bool:
        names = {ast.unparse(base).rpartition(".")[2] for base in cls.node.bases}
        return bool(names & {"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})

    def enum_members(self, cls: ClassRef) -> list[EnumMember]:
        members = []
        for statement in cls.node.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name) and not target.id.startswith("_"):
                    try:
                        value = self.evaluate(statement.value, Scope(cls.module))
                    except Unresolved:
                        value = Opaque(ast.unparse(statement.value))
                    members.append(EnumMember(target.id, value))
        return members

    # -- expressions -------------------------------------------------------------------------

    def evaluate(self, node: ast.expr, scope: Scope) -> Any:
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                raise Unresolved("too deep")
            return self._evaluate(node, scope)
        finally:
            self.depth -= 1

    def _evaluate(self, node: ast.expr, scope: Scope) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items: list[Any] = []
            for item in node.elts:
                if isinstance(item, ast.Starred):
                    items.extend(self.evaluate(item.value, scope))
                else:
                    items.append(self.evaluate(item, scope))
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.Dict):
            result: dict[Any, Any] = {}
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    result.update(self.evaluate(value, scope))
                    continue
                try:
                    resolved = self.evaluate(value, scope)
                except Unresolved:
                    resolved = Opaque(ast.unparse(value))
                result[self.evaluate(key, scope)] = resolved
            return result
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.evaluate(node.value, scope), node.attr)
        if isinstance(node, ast.BinOp):
            left, right = self.evaluate(node.left, scope), self.evaluate(node.right, scope)
            function = _BINARY.get(type(node.op))
            if function is None or isinstance(left, Opaque) or isinstance(right, Opaque):
                raise Unresolved(ast.unparse(node))
            try:
                return function(left, right)
            except Exception as error:
                raise Unresolved(ast.unparse(node)) from error
        if isinstance(node, ast.UnaryOp):
            operand = self.evaluate(node.operand, scope)
            if isinstance(node.op, ast.USub) and isinstance(operand, int | float):
                return -operand
            if isinstance(node.op, ast.UAdd) and isinstance(operand, int | float):
                return operand
            if isinstance(node.op, ast.Not):
                return not operand
            raise Unresolved(ast.unparse(node))
        if isinstance(node, ast.Subscript):
            container = self.evaluate(node.value, scope)
            if not isinstance(container, list | tuple | dict | str):
                raise Unresolved(ast.unparse(node))
            index = self.evaluate(node.slice, scope)
            try:
                return container[index]
            except Exception as error:
                raise Unresolved(ast.unparse(node)) from error
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if part is None else self.evaluate(part, scope) for part in parts))
        if isinstance(node, ast.JoinedStr):
            return self.format_string(node, scope, strict=True)
        if isinstance(node, ast.ListComp | ast.SetComp):
            return self.comprehension(node, scope)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        raise Unresolved(ast.unparse(node))

    def format_string(self, node: ast.JoinedStr, scope: Scope, strict: bool) -> str:
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            assert isinstance(value, ast.FormattedValue)
            try:
                result = self.evaluate(value.value, scope)
                if isinstance(result, Opaque | ModuleRef | ClassRef | FunctionRef):
                    raise Unresolved(ast.unparse(value.value))
                if value.conversion == ord("r"):
                    result = repr(result)
                elif value.conversion == ord("s"):
                    result = str(result)
                spec = (
                    self.format_string(value.format_spec, scope, strict)
                    if value.format_spec
                    else ""
                )
                parts.append(format(result, spec))
            except Unresolved:
                if strict:
                    raise
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)

    def text(self, node: ast.expr, scope: Scope) -> str:
        """Help text: evaluated where possible, the source of what is not."""
        if isinstance(node, ast.JoinedStr):
            return self.format_string(node, scope, strict=False)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.text(node.left, scope) + self.text(node.right, scope)
        try:
            value = self.evaluate(node, scope)
        except Unresolved:
            return "{" + ast.unparse(node) + "}"
        return value if isinstance(value, str) else "{" + ast.unparse(node) + "}"

    def comprehension(self, node: ast.ListComp | ast.SetComp, scope: Scope) -> list[Any]:
        if len(node.generators) != 1:
            raise Unresolved(ast.unparse(node))
        generator = node.generators[0]
        if not isinstance(generator.target, ast.Name) or generator.is_async:
            raise Unresolved(ast.unparse(node))
        results = []
        for item in self.iterate(self.evaluate(generator.iter, scope)):
            inner = Scope(scope.module, scope.locals, {**scope.bound, generator.target.id: item})
            inner.line = scope.line
            if all(self.evaluate(test, inner) for test in generator.ifs):
                results.append(self.evaluate(node.elt, inner))
        return results

    def iterate(self, value: Any) -> list[Any]:
        if isinstance(value, ClassRef) and self.is_enum(value):
            return list(self.enum_members(value))
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, list | tuple | set | str):
            return list(value)
        raise Unresolved("not iterable")

    def call(self, node: ast.Call, scope: Scope) -> Any:
        function = self.evaluate(node.func, scope)
        if isinstance(function, _Method):
            arguments = [self.evaluate(arg, scope) for arg in node.args]
            return function(*arguments)
        if isinstance(function, _Builtin):
            arguments = [self.evaluate(arg, scope) for arg in node.args]
            return function.call(self, arguments)
        if isinstance(function, FunctionRef):
            return self.call_function(function, node, scope)
        raise Unresolved(ast.unparse(node))

    def call_function(self, function: FunctionRef, node: ast.Call, scope: Scope) -> Any:
        """The value of a small function: its last top-level `return`, with its arguments."""
        definition = function.node
        parameters = [arg.arg for arg in definition.args.args]
        if node.keywords or len(node.args) > len(parameters):
            raise Unresolved(ast.unparse(node))
        bound = {
            name: self.evaluate(arg, scope)
            for name, arg in zip(parameters, node.args, strict=False)
        }
        defaults = definition.args.defaults
        for name, default in zip(
            parameters[len(parameters) - len(defaults) :], defaults, strict=True
        ):
            if name not in bound:
                bound[name] = self.evaluate(default, Scope(function.module))
        if len(bound) != len(parameters):
            raise Unresolved(ast.unparse(node))
        returns = [statement for statement in definition.body if isinstance(statement, ast.Return)]
        if not returns or returns[-1].value is None:
            raise Unresolved(ast.unparse(node))
        inner = Scope(function.module, local_bindings(definition.body), bound)
        inner.line = returns[-1].lineno
        return self.evaluate(returns[-1].value, inner)


@dataclass(frozen=True)
class _Method:
    owner: Any
    name: str

    def __call__(self, *arguments: Any) -> Any:
        if any(isinstance(argument, Opaque) for argument in arguments):
            raise Unresolved(self.name)
        try:
            result = getattr(self.owner, self.name)(*arguments)
        except Exception as error:
            raise Unresolved(self.name) from error
        if self.name in ("keys", "values", "items"):
            return list(result)
        return result


_METHODS = {
    "keys",
    "values",
    "items",
    "copy",
    "lower",
    "upper",
    "strip",
    "split",
    "join",
    "replace",
}


@dataclass(frozen=True)
class _Builtin:
    name: str
    function: Callable[..., Any]

    def call(self, evaluator: Evaluator, arguments: list[Any]) -> Any:
        if self.name in ("list", "tuple", "set", "sorted", "frozenset") and arguments:
            arguments = [evaluator.iterate(arguments[0]), *arguments[1:]]
        if any(isinstance(argument, Opaque) for argument in arguments):
            raise Unresolved(self.name)
        try:
            result = self.function(*arguments)
        except Exception as error:
            raise Unresolved(self.name) from error
        return list(result) if isinstance(result, set | frozenset) else result


def _ordered_set(items: Any = ()) -> list[Any]:
    return list(dict.fromkeys(items))


_BUILTINS: dict[str, Any] = {
    "list": _Builtin("list", list),
    "tuple": _Builtin("tuple", tuple),
    "set": _Builtin("set", _ordered_set),
    "frozenset": _Builtin("frozenset", _ordered_set),
    "sorted": _Builtin("sorted", sorted),
    "dict": _Builtin("dict", dict),
    "str": _Builtin("str", str),
    "int": _Builtin("int", int),
    "float": _Builtin("float", float),
    "len": _Builtin("len", len),
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.Mod: operator.mod,
    ast.BitOr: operator.or_,
}


def node_line(node: ast.AST) -> int:
    return getattr(node, "lineno", 0)


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, looking into `try` and `if` blocks (both branches)."""
    for statement in body:
        if isinstance(statement, ast.Try):
            yield from _top_level(statement.body)
            for handler in statement.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(statement.orelse)
        elif isinstance(statement, ast.If):
            yield from _top_level(statement.body)
            yield from _top_level(statement.orelse)
        else:
            yield statement


def class_bindings(node: ast.ClassDef) -> dict[str, list[tuple[int, ast.expr | ast.stmt]]]:
    """The assignments directly in a class body, by name, with their line."""
    bindings: dict[str, list[tuple[int, ast.expr | ast.stmt]]] = {}
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    bindings.setdefault(target.id, []).append((statement.lineno, statement.value))
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value is not None
        ):
            bindings.setdefault(statement.target.id, []).append((statement.lineno, statement.value))
    return bindings


def local_bindings(body: list[ast.stmt]) -> dict[str, list[tuple[int, ast.expr | ast.stmt]]]:
    """Simple local assignments and imports of a function body, by name, with their line."""
    bindings: dict[str, list[tuple[int, ast.expr | ast.stmt]]] = {}
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    bindings.setdefault(target.id, []).append((node.lineno, node.value))
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    bindings.setdefault(alias.asname or alias.name, []).append((node.lineno, node))
    return bindings


# -- options -------------------------------------------------------------------------------------


@dataclass
class Option:
    names: list[str]
    dest: str
    action: str = "store"
    type: str | None = None
    nargs: int | str | None = None
    choices: list[Any] | None = None
    choices_unresolved: str | None = None
    default: Any = None
    default_unresolved: str | None = None
    required: bool = False
    deprecated: bool = False
    replacement: str | None = None
    help: str = ""

    def record(self) -> dict[str, Any]:
        long_names = [name for name in self.names if name.startswith("--")] or self.names
        record: dict[str, Any] = {
            "name": long_names[0],
            "aliases": [name for name in self.names if name != long_names[0]],
            "dest": self.dest,
            "action": self.action,
            "type": self.type,
            "nargs": self.nargs,
            "choices": self.choices,
            "default": self.default,
            "required": self.required,
            "deprecated": self.deprecated,
            "hidden": self.help == ARGPARSE_SUPPRESS,
            "help": "" if self.help == ARGPARSE_SUPPRESS else self.help,
        }
        if self.choices_unresolved is not None:
            record["choices_unresolved"] = self.choices_unresolved
        if self.default_unresolved is not None:
            record["default_unresolved"] = self.default_unresolved
        if self.replacement is not None:
            record["replacement"] = self.replacement
        return record


def json_value(value: Any) -> Any:
    """`value` as JSON data, or raise `Unresolved`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unresolved(repr(value))
        return value
    if isinstance(value, EnumMember):
        return json_value(value.value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(json_value(key)): json_value(item) for key, item in value.items()}
    raise Unresolved(repr(value))


class OptionCollector:
    """Follows how a parser is built, in order, and collects its options."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.options: list[Option] = []

    # -- walking parser-building code ------------------------------------------------------

    def run_body(self, body: list[ast.stmt], scope: Scope, owner: ClassRef | None) -> None:
        calls = [
            node for statement in body for node in ast.walk(statement) if isinstance(node, ast.Call)
        ]
        for call in sorted(calls, key=lambda node: (node.lineno, node.col_offset)):
            self.visit_call(call, scope, owner)

    def visit_call(self, call: ast.Call, scope: Scope, owner: ClassRef | None) -> None:
        func = call.func
        at_line = Scope(scope.module, scope.locals, scope.bound, call.lineno)
        if isinstance(func, ast.Attribute) and func.attr == "add_argument":
            self.add_argument(call, at_line, owner)
        elif isinstance(func, ast.Attribute) and func.attr == "add_cli_args":
            try:
                target = self.evaluator.evaluate(func.value, at_line)
            except Unresolved:
                return
            if isinstance(target, ClassRef):
                self.run_class_method(target, "add_cli_args")
        elif _callee_name(func) == "add_cli_args_from_dataclass" and len(call.args) >= 2:
            try:
                target = self.evaluator.evaluate(call.args[1], at_line)
            except Unresolved:
                return
            if isinstance(target, ClassRef):
                self.add_fields(target)

    def run_class_method(self, cls: ClassRef, name: str) -> None:
        for statement in cls.node.body:
            if isinstance(statement, ast.FunctionDef) and statement.name == name:
                scope = Scope(cls.module, local_bindings(statement.body))
                self.run_body(statement.body, scope, cls)
                return

    # -- parser.add_argument(...) ----------------------------------------------------------

    def add_argument(self, call: ast.Call, scope: Scope, owner: ClassRef | None) -> None:
        evaluator = self.evaluator
        names: list[str] = []
        for arg in call.args:
            value = evaluator.evaluate(arg.value if isinstance(arg, ast.Starred) else arg, scope)
            names.extend(value if isinstance(arg, ast.Starred) else [value])
        keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
        long_names = [name for name in names if name.startswith("--")] or names
        dest = (
            evaluator.evaluate(keywords["dest"], scope)
            if "dest" in keywords
            else long_names[0].lstrip("-").replace("-", "_")
        )
        option = Option(names=names, dest=dest)
        if "help" in keywords:
            option.help = evaluator.text(keywords["help"], scope)
        if "required" in keywords:
            option.required = bool(_constant(keywords["required"], scope, evaluator, False))
        if "new_flag" in keywords:
            option.replacement = _constant(keywords["new_flag"], scope, evaluator, None)
        action_class: ClassRef | None = None
        if "action" in keywords:
            action = keywords["action"]
            if isinstance(action, ast.Constant):
                option.action = action.value
            else:
                option.action = ast.unparse(action).rpartition(".")[2]
                try:
                    resolved = evaluator.evaluate(action, scope)
                except Unresolved:
                    resolved = None
                if isinstance(resolved, ClassRef):
                    action_class = resolved
        if "nargs" in keywords:
            option.nargs = evaluator.evaluate(keywords["nargs"], scope)
        else:
            option.nargs = self.action_nargs(option.action, action_class)
        if "type" in keywords:
            option.type = type_name(keywords["type"])
        elif option.nargs == 0:
            option.type = FLAG_TYPE
        else:
            option.type = "str"
        self.finish(option, keywords.get("choices"), scope)
        if "default" in keywords:
            self.set_default(option, keywords["default"], scope, owner)
        else:
            option.default = _init_default(
                action_class, "default", _ARGPARSE_DEFAULTS.get(option.action)
            )
        self.options.append(option)

    def action_nargs(self, action: str, action_class: ClassRef | None) -> int | str | None:
        if action in FLAG_ACTIONS or action == "BooleanOptionalAction":
            return 0
        return _init_default(action_class, "nargs", None)

    def finish(self, option: Option, choices: ast.expr | None, scope: Scope) -> None:
        if option.action == "BooleanOptionalAction":
            option.type = FLAG_TYPE
            option.names += ["--no-" + name[2:] for name in option.names if name.startswith("--")]
        if option.action.startswith("Deprecated") or option.action == "DeprecatedAction":
            option.deprecated = True
        if choices is not None:
            try:
                option.choices = json_value(self.evaluator.evaluate(choices, scope))
            except Unresolved:
                option.choices = None
                option.choices_unresolved = ast.unparse(choices)

    def set_default(
        self, option: Option, node: ast.expr, scope: Scope, owner: ClassRef | None
    ) -> None:
        try:
            option.default = json_value(self.evaluator.evaluate(node, scope))
            return
        except Unresolved:
            pass
        # `default=_declared_default("x")` and the like: the dataclass field's default.
        if owner is not None:
            try:
                option.default = json_value(self.field_default(owner, option.dest))
                return
            except Unresolved:
                pass
        option.default = None
        option.default_unresolved = ast.unparse(node)

    # -- A[T, "help"] / A[T, Arg(...)] fields ----------------------------------------------

    def record_fields(self, cls: ClassRef) -> list[tuple[ClassRef, ast.AnnAssign]]:
        """The annotated fields of `cls`: its bases', its own, and those it collects."""
        fields: list[tuple[ClassRef, ast.AnnAssign]] = []
        for base in self.evaluator.bases(cls):
            fields += self.record_fields(base)
        for source in self.collected_namespaces(cls):
            fields += self.record_fields(source)
        for statement in cls.node.body:
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and "ClassVar" not in ast.unparse(statement.annotation)
            ):
                fields.append((cls, statement))
        return fields

    def collected_namespaces(self, cls: ClassRef) -> list[ClassRef]:
        """Classes whose fields `cls` takes with `collect_input_fields([...])` in its module."""
        if cls.node.name != SERVER_ARGS_CLASS:
            return []
        for statement in _top_level(self.evaluator.sources.tree(cls.module).body):
            for node in ast.walk(statement):
                if (
                    isinstance(node, ast.Call)
                    and _callee_name(node.func) == "collect_input_fields"
                    and node.args
                ):
                    try:
                        sources = self.evaluator.evaluate(node.args[0], Scope(cls.module))
                    except Unresolved:
                        return []
                    return [source for source in sources if isinstance(source, ClassRef)]
        return []

    def field_default(self, cls: ClassRef, name: str) -> Any:
        for owner, statement in reversed(self.record_fields(cls)):
            assert isinstance(statement.target, ast.Name)
            if statement.target.id == name:
                if statement.value is None:
                    raise Unresolved(f"{name} has no default")
                return self.field_value(statement.value, Scope(owner.module))
        raise Unresolved(f"no field {name}")

    def field_value(self, node: ast.expr, scope: Scope) -> Any:
        """A field's default, `field(default=...)` and `field(default_factory=...)` included."""
        if isinstance(node, ast.Call) and _callee_name(node.func) == "field":
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if "default" in keywords:
                return self.evaluator.evaluate(keywords["default"], scope)
            factory = keywords.get("default_factory")
            if isinstance(factory, ast.Lambda):
                return self.evaluator.evaluate(factory.body, scope)
            if isinstance(factory, ast.Name) and factory.id in ("list", "dict", "set", "tuple"):
                return {"list": [], "dict": {}, "set": [], "tuple": []}[factory.id]
            raise Unresolved(ast.unparse(node))
        return self.evaluator.evaluate(node, scope)

    def add_fields(self, cls: ClassRef) -> None:
        for owner, statement in self.record_fields(cls):
            option = self.field_option(owner, statement)
            if option is not None:
                self.options.append(option)

    def field_option(self, owner: ClassRef, statement: ast.AnnAssign) -> Option | None:
        """Mirror of `add_cli_args_from_dataclass` for one field."""
        evaluator = self.evaluator
        scope = Scope(owner.module)
        annotation = statement.annotation
        if not (
            isinstance(annotation, ast.Subscript)
            and _callee_name(annotation.value) in ("A", "Annotated")
            and isinstance(annotation.slice, ast.Tuple)
        ):
            return None
        inner, *metadata = annotation.slice.elts
        meta: dict[str, ast.expr] | None = None
        for item in metadata:
            if isinstance(item, ast.Call) and _callee_name(item.func) == "Arg":
                meta = {keyword.arg: keyword.value for keyword in item.keywords if keyword.arg}
                break
            if isinstance(item, ast.Constant | ast.JoinedStr | ast.BinOp):
                meta = {"help": item}
                break
        if meta is None:
            return None
        if _constant(meta.get("no_cli"), scope, evaluator, False):
            return None
        assert isinstance(statement.target, ast.Name)
        field_name = statement.target.id
        cli_name = _constant(meta.get("cli_name"), scope, evaluator, None) or (
            "--" + field_name.replace("_", "-")
        )
        aliases = _constant(meta.get("aliases"), scope, evaluator, None) or []
        option = Option(names=[cli_name, *aliases], dest=field_name)
        if "help" in meta:
            option.help = evaluator.text(meta["help"], scope)
        if statement.value is not None:
            try:
                option.default = json_value(self.field_value(statement.value, scope))
            except Unresolved:
                option.default_unresolved = ast.unparse(statement.value)
        choices = meta.get("choices")
        type_parser = meta.get("type_parser")
        if "action" in meta:
            action = meta["action"]
            option.action = ast.unparse(action).rpartition(".")[2].strip("'\"")
            action_class = None
            try:
                resolved = evaluator.evaluate(action, scope)
                action_class = resolved if isinstance(resolved, ClassRef) else None
            except Unresolved:
                pass
            kwargs = meta.get("action_kwargs")
            extra = _constant(kwargs, scope, evaluator, None) or {}
            option.nargs = extra.get("nargs", self.action_nargs(option.action, action_class))
            option.type = FLAG_TYPE if option.nargs == 0 else "str"
            self.finish(option, choices, scope)
            return option

        inner_type = _unwrap_optional(inner)
        literal = _literal_values(inner_type, scope, evaluator)
        if literal is not None:
            option.type = (
                type_name(type_parser)
                if type_parser is not None
                else _infer_type(type(literal[0]).__name__ if literal else "str")
            )
            self.finish(option, choices, scope)
            if choices is None:
                option.choices = json_value(literal)
            return option
        element = _list_element(inner_type)
        if element is not None and type_parser is None:
            option.type = _infer_type(ast.unparse(element))
            option.nargs = _constant(meta.get("nargs"), scope, evaluator, None) or "+"
            self.finish(option, choices, scope)
            return option
        if ast.unparse(inner_type) == "bool":
            option.action = "store_true"
            option.type = FLAG_TYPE
            option.nargs = 0
            return option
        option.type = (
            type_name(type_parser)
            if type_parser is not None
            else _infer_type(ast.unparse(inner_type))
        )
        option.nargs = _constant(meta.get("nargs"), scope, evaluator, None)
        self.finish(option, choices, scope)
        required = _constant(meta.get("required"), scope, evaluator, None)
        option.required = required is True or (required is None and statement.value is None)
        return option


_ARGPARSE_DEFAULTS = {"store_true": False, "store_false": True}


def _init_default(action_class: ClassRef | None, parameter: str, otherwise: Any) -> Any:
    """The constant default of a parameter of a custom argparse action's `__init__`."""
    for statement in action_class.node.body if action_class is not None else ():
        if isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            arguments = statement.args
            positional = arguments.args[len(arguments.args) - len(arguments.defaults) :]
            pairs = list(zip(positional, arguments.defaults, strict=True)) + list(
                zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            )
            for arg, default in pairs:
                if arg.arg == parameter and isinstance(default, ast.Constant):
                    return default.value
    return otherwise


def _constant(node: ast.expr | None, scope: Scope, evaluator: Evaluator, default: Any) -> Any:
    if node is None:
        return default
    try:
        return evaluator.evaluate(node, scope)
    except Unresolved:
        return default


def _callee_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def type_name(node: ast.expr) -> str:
    source = ast.unparse(node)
    return TYPE_NAMES.get(source, source)


def _infer_type(name: str) -> str:
    return name if name in ("str", "int", "float") else "str"


def _unwrap_optional(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Subscript) and _callee_name(node.value) == "Optional":
        return node.slice
    if isinstance(node, ast.Subscript) and _callee_name(node.value) == "Union":
        members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        rest = [member for member in members if ast.unparse(member) != "None"]
        if len(rest) == 1:
            return rest[0]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        members = [node.left, node.right]
        rest = [member for member in members if ast.unparse(member) != "None"]
        if len(rest) == 1:
            return rest[0]
    return node


def _literal_values(node: ast.expr, scope: Scope, evaluator: Evaluator) -> list[Any] | None:
    if isinstance(node, ast.Subscript) and _callee_name(node.value) == "Literal":
        members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return [evaluator.evaluate(member, scope) for member in members]
    return None


def _list_element(node: ast.expr) -> ast.expr | None:
    if isinstance(node, ast.Subscript) and _callee_name(node.value) in ("List", "list"):
        return node.slice
    if isinstance(node, ast.Name) and node.id in ("List", "list"):
        return ast.Name("str")
    return None


# -- catalogs ------------------------------------------------------------------------------------


def _find_function(body: list[ast.stmt], name: str) -> ast.FunctionDef | None:
    for statement in body:
        if isinstance(statement, ast.FunctionDef) and statement.name == name:
            return statement
    return None


def _main_block(module: ast.Module) -> list[ast.stmt]:
    for statement in module.body:
        if isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test):
            return statement.body
    raise Unresolved("no `if __name__ == '__main__':` block")


def _records(options: list[Option]) -> list[dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for option in options:
        record = option.record()
        # argparse refuses a second option with the same name; the first one is SGLang's.
        records.setdefault(record["name"], record)
    return [records[name] for name in sorted(records)]


def launch_server_options(tree: SourceTree) -> list[dict[str, Any]]:
    """Options of `python -m sglang.launch_server`, from `prepare_server_args`."""
    evaluator = Evaluator(tree)
    collector = OptionCollector(evaluator)
    module = tree.tree(SERVER_ARGS_MODULE)
    prepare = _find_function(module.body, "prepare_server_args")
    if prepare is not None:
        collector.run_body(
            prepare.body, Scope(SERVER_ARGS_MODULE, local_bindings(prepare.body)), None
        )
    else:
        server_args = evaluator.module_binding(SERVER_ARGS_MODULE, "ServerArgs")
        collector.run_class_method(server_args, "add_cli_args")
    if not collector.options:
        raise Unresolved(f"no options found in {tree.path_of(SERVER_ARGS_MODULE)}")
    return _records(collector.options)


def compile_deep_gemm_options(tree: SourceTree) -> list[dict[str, Any]]:
    """Options of `python -m sglang.compile_deep_gemm`, from its `__main__` block."""
    evaluator = Evaluator(tree)
    collector = OptionCollector(evaluator)
    body = _main_block(tree.tree(COMPILE_DEEP_GEMM_MODULE))
    collector.run_body(body, Scope(COMPILE_DEEP_GEMM_MODULE, local_bindings(body)), None)
    if not collector.options:
        raise Unresolved(f"no options found in {tree.path_of(COMPILE_DEEP_GEMM_MODULE)}")
    return _records(collector.options)


def environment_variables(tree: SourceTree) -> list[str]:
    """`SGLANG_*` names the code reads: string literals naming one, and `environ.Envs` fields."""
    names: set[str] = set()
    for path, text in sorted(tree.files.items()):
        if not path.endswith(".py") or "SGLANG_" not in text:
            continue
        try:
            module = ast.parse(text, filename=path)
        except SyntaxError:
            continue
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ENV_VAR.fullmatch(node.value)
            ):
                names.add(node.value)
    if tree.has_module(ENVIRON_MODULE):
        for node in ast.walk(tree.tree(ENVIRON_MODULE)):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    targets = (
                        statement.targets
                        if isinstance(statement, ast.Assign)
                        else [statement.target]
                        if isinstance(statement, ast.AnnAssign)
                        else []
                    )
                    for target in targets:
                        if isinstance(target, ast.Name) and ENV_VAR.fullmatch(target.id):
                            names.add(target.id)
    return sorted(names)


def extract_catalog(files: Mapping[str, str], version: str, source: dict[str, str]) -> dict:
    """The catalog of one SGLang version from its source files (`path in wheel -> text`)."""
    tree = SourceTree(files)
    return {
        "sglang_version": version,
        "source": source,
        "launch_server": launch_server_options(tree),
        "compile_deep_gemm": compile_deep_gemm_options(tree),
        "env_vars": environment_variables(tree),
    }

"""Follow the code that builds vLLM's `vllm serve` parser, statement by statement, statically.

vLLM builds the parser in small steps: `kwargs = get_kwargs(ModelConfig)`, a few edits such as
`kwargs["x"]["type"] = json.loads` or `del kwargs["x"]["nargs"]`, then
`group.add_argument("--x", "-a", **kwargs["x"])`, loops such as
`for key, value in kwargs.items(): group.add_argument(f"--{key...}", **value)`, and calls into
`make_arg_parser`, `FrontendArgs.add_cli_args` or `AsyncEngineArgs.add_cli_args`. This walker runs
those statements over plain dictionaries: the keyword dictionaries `get_kwargs` would return are
built by `TypeReader`, every other value by the SGLang extractor's `Evaluator`. Nothing of vLLM
is imported. What cannot be followed is noted, never guessed.
"""

from __future__ import annotations

import ast
import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from generator.extract.sglang import (
    ARGPARSE_SUPPRESS,
    FLAG_TYPE,
    ClassRef,
    Evaluator,
    FunctionRef,
    ModuleRef,
    Opaque,
    Scope,
    Unresolved,
    json_value,
)
from generator.extract.sglang import Option as BaseOption
from generator.extract.vllm_type_hints import Action, TypeReader, TypeTag

FLAG_ACTIONS = {"store_true", "store_false", "store_const", "count", "BooleanOptionalAction"}
# argparse `type=` callables, by the name the catalog records.
TYPE_CALLABLES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "json.loads": "json",
    "human_readable_int": "vllm_human_readable_int",
    "human_readable_int_or_auto": "vllm_human_readable_int_or_auto",
    "union_dict_and_str": "json_or_str",
}
# Helpers that wrap a `type=` callable without changing what it accepts (bar "None" and "").
TYPE_WRAPPERS = {"optional_type", "parse_type"}
_MAX_CALL_DEPTH = 12
_RETURN = object()


@dataclass
class Parser:
    """An argparse parser, argument group or subparser: what `add_argument` is called on."""


@dataclass(frozen=True)
class SuperRef:
    """`super()` inside a method of `defined_in`, called on behalf of `bound`."""

    defined_in: ClassRef
    bound: ClassRef | None


@dataclass
class Option(BaseOption):
    """An option as the SGLang extractor records it, plus a `type=` that could not be read."""

    type_unresolved: str | None = None

    def record(self) -> dict[str, Any]:
        record = super().record()
        if self.type_unresolved is not None:
            record["type_unresolved"] = self.type_unresolved
        return record


@dataclass
class Frame:
    module: str
    env: dict[str, Any] = field(default_factory=dict)
    owner: ClassRef | None = None  # the class whose method runs, for `super()`
    bound: ClassRef | None = None  # `cls` of a classmethod

    def scope(self) -> Scope:
        return Scope(self.module, bound=self.env)


class ParserWalk:
    """Collects the options, positionals and unfollowed statements of one parser."""

    def __init__(self, evaluator: Evaluator, reader: TypeReader) -> None:
        self.evaluator = evaluator
        self.reader = reader
        self.options: list[Option] = []
        self.positionals: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self._kwargs_cache: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._stack: list[int] = []

    # -- functions ------------------------------------------------------------------------------

    def run_function(
        self, function: FunctionRef, args: list[Any], keywords: dict[str, Any], frame: Frame
    ) -> Any:
        definition = function.node
        if id(definition) in self._stack or len(self._stack) > _MAX_CALL_DEPTH:
            return None
        parameters = [arg.arg for arg in definition.args.posonlyargs + definition.args.args]
        parameters += [arg.arg for arg in definition.args.kwonlyargs]
        env = dict(zip(parameters, args, strict=False))
        env.update({name: value for name, value in keywords.items() if name in parameters})
        defaults = definition.args.defaults
        positional = definition.args.posonlyargs + definition.args.args
        for arg, default in zip(
            positional[len(positional) - len(defaults) :], defaults, strict=True
        ):
            env.setdefault(arg.arg, self.safe_value(default, Frame(function.module)))
        inner = Frame(function.module, env, frame.owner, frame.bound)
        self._stack.append(id(definition))
        try:
            result = self.run_body(definition.body, inner)
        finally:
            self._stack.pop()
        return result[1] if isinstance(result, tuple) and result[0] is _RETURN else None

    def run_body(self, body: list[ast.stmt], frame: Frame) -> Any:
        for statement in body:
            try:
                result = self.statement(statement, frame)
            except (Unresolved, KeyError, TypeError, IndexError, ValueError, AttributeError):
                if _mentions_parser(statement):
                    self.note(statement, frame)
                continue
            if isinstance(result, tuple) and result and result[0] is _RETURN:
                return result
        return None

    def note(self, node: ast.AST, frame: Frame) -> None:
        source = " ".join(ast.unparse(node).split())
        source = source if len(source) <= 160 else source[:157] + "..."
        path = self.evaluator.sources.path_of(frame.module)
        self.notes.append(f"{path}:{getattr(node, 'lineno', 0)}: {source}")

    # -- statements -----------------------------------------------------------------------------

    def statement(self, statement: ast.stmt, frame: Frame) -> Any:
        if isinstance(statement, ast.Expr):
            self.value(statement.value, frame)
        elif isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                self.assign(target, statement.value, frame)
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Subscript):
            container, key = self.item(statement.target, frame)
            try:
                addition = self.value(statement.value, frame)
                current = container[key]
                if not isinstance(statement.op, ast.Add) or not (
                    isinstance(addition, list | str) and type(current) is type(addition)
                ):
                    raise Unresolved(ast.unparse(statement))
            except Unresolved:
                # Unknown additions leave the value unknown rather than too narrow.
                container[key] = Opaque(ast.unparse(statement))
                raise
            container[key] = current + addition
        elif isinstance(statement, ast.Delete):
            for target in statement.targets:
                if isinstance(target, ast.Subscript):
                    container, key = self.item(target, frame)
                    container.pop(key, None)
        elif isinstance(statement, ast.If):
            return self.branch(statement, frame)
        elif isinstance(statement, ast.For):
            return self.loop(statement, frame)
        elif isinstance(statement, ast.With):
            return self.run_body(statement.body, frame)
        elif isinstance(statement, ast.Try):
            return self.run_body(statement.body + statement.finalbody, frame)
        elif isinstance(statement, ast.ImportFrom):
            source = self.evaluator.absolute(frame.module, statement.module, statement.level)
            for alias in statement.names:
                try:
                    frame.env[alias.asname or alias.name] = self.evaluator.module_binding(
                        source, alias.name
                    )
                except Unresolved:
                    continue
        elif isinstance(statement, ast.Return):
            value = None if statement.value is None else self.safe_value(statement.value, frame)
            return (_RETURN, value)
        return None

    def assign(self, target: ast.expr, node: ast.expr, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = self.safe_value(node, frame)
        elif isinstance(target, ast.Subscript):
            container, key = self.item(target, frame)
            if not isinstance(container, dict | list):
                raise Unresolved(ast.unparse(target))
            container[key] = self.keyed_value(key, node, frame)

    def item(self, target: ast.Subscript, frame: Frame) -> tuple[Any, Any]:
        return self.value(target.value, frame), self.value(target.slice, frame)

    def branch(self, statement: ast.If, frame: Frame) -> Any:
        try:
            test = self.value(statement.test, frame)
        except (Unresolved, KeyError, TypeError, AttributeError):
            test = None
        if isinstance(test, bool):
            return self.run_body(statement.body if test else statement.orelse, frame)
        # Not known statically (`sys.argv`, the platform): both branches, as for `--help`.
        return self.run_body(statement.body, frame) or self.run_body(statement.orelse, frame)

    def loop(self, statement: ast.For, frame: Frame) -> Any:
        try:
            items = self.value(statement.iter, frame)
        except Unresolved:
            if _mentions_parser(statement):
                self.note(statement, frame)
            return None
        if isinstance(items, dict):
            items = list(items)
        if not isinstance(items, list | tuple):
            raise Unresolved(ast.unparse(statement.iter))
        for item in items:
            self.bind(statement.target, item, frame)
            result = self.run_body(statement.body, frame)
            if result is not None:
                return result
        return None

    def bind(self, target: ast.expr, item: Any, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = item
        elif isinstance(target, ast.Tuple) and isinstance(item, list | tuple):
            for part, value in zip(target.elts, item, strict=True):
                self.bind(part, value, frame)
        else:
            raise Unresolved(ast.unparse(target))

    # -- expressions ----------------------------------------------------------------------------

    def safe_value(self, node: ast.expr, frame: Frame) -> Any:
        try:
            return self.value(node, frame)
        except (Unresolved, KeyError, TypeError, IndexError, ValueError, AttributeError):
            return Opaque(ast.unparse(node))

    def keyed_value(self, key: Any, node: ast.expr, frame: Frame) -> Any:
        """A value for an `add_argument` keyword: `type=` and `action=` are read as such."""
        if key == "type":
            return self.type_tag(node, frame)
        if key == "action":
            return self.action(node, frame)
        return self.safe_value(node, frame)

    def type_tag(self, node: ast.expr, frame: Frame) -> TypeTag:
        source = ast.unparse(node)
        if isinstance(node, ast.Call) and _last(node.func) in TYPE_WRAPPERS and node.args:
            return self.type_tag(node.args[0], frame)
        shadowed = isinstance(node, ast.Name) and node.id in frame.env
        if source in TYPE_CALLABLES and not shadowed:
            return TypeTag(TYPE_CALLABLES[source])
        if isinstance(node, ast.Name) and isinstance(frame.env.get(node.id), TypeTag):
            return frame.env[node.id]
        if isinstance(node, ast.Attribute) and node.attr in TYPE_CALLABLES:
            return TypeTag(TYPE_CALLABLES[node.attr])
        return TypeTag(None, source)

    def action(self, node: ast.expr, frame: Frame) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in frame.env:
            return frame.env[node.id]
        return Action(_last(node) or ast.unparse(node))

    def value(self, node: ast.expr, frame: Frame) -> Any:
        if isinstance(node, ast.Call):
            return self.call(node, frame)
        if isinstance(node, ast.Name):
            if node.id in frame.env:
                return frame.env[node.id]
            if node.id in ("str", "int", "float", "bool"):
                return TypeTag(node.id)
            if node.id == "cls" and frame.bound is not None:
                return frame.bound
        if isinstance(node, ast.Subscript):
            container = self.value(node.value, frame)
            if isinstance(container, dict | list | tuple):
                return container[self.value(node.slice, frame)]
        if isinstance(node, ast.List | ast.Tuple):
            items: list[Any] = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    items.extend(self.value(element.value, frame))
                else:
                    items.append(self.value(element, frame))
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.Dict):
            result: dict[Any, Any] = {}
            for key, item in zip(node.keys, node.values, strict=True):
                if key is None:
                    result.update(copy.copy(self.value(item, frame)))
                else:
                    resolved = self.value(key, frame)
                    result[resolved] = self.keyed_value(resolved, item, frame)
            return result
        if isinstance(node, ast.Compare):
            return self.compare(node, frame)
        if isinstance(node, ast.ListComp):
            return self.comprehension(node, frame)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = self.value(node.operand, frame)
            if isinstance(operand, Opaque):
                raise Unresolved(ast.unparse(node))
            return not operand
        if isinstance(node, ast.BoolOp):
            values = [self.value(item, frame) for item in node.values]
            if any(not isinstance(item, bool) for item in values):
                raise Unresolved(ast.unparse(node))
            return all(values) if isinstance(node.op, ast.And) else any(values)
        return self.evaluator.evaluate(node, frame.scope())

    def comprehension(self, node: ast.ListComp, frame: Frame) -> list[Any]:
        (generator,) = node.generators
        items = self.value(generator.iter, frame)
        if not isinstance(items, list | tuple) or generator.ifs:
            return self.evaluator.evaluate(node, frame.scope())
        inner = Frame(frame.module, dict(frame.env), frame.owner, frame.bound)
        results = []
        for item in items:
            self.bind(generator.target, item, inner)
            results.append(self.value(node.elt, inner))
        return results

    def compare(self, node: ast.Compare, frame: Frame) -> bool:
        if len(node.ops) != 1:
            raise Unresolved(ast.unparse(node))
        left = self.value(node.left, frame)
        right = self.value(node.comparators[0], frame)
        if isinstance(left, Opaque) or isinstance(right, Opaque):
            raise Unresolved(ast.unparse(node))
        operator = node.ops[0]
        if isinstance(operator, ast.In | ast.NotIn):
            if not isinstance(right, dict | list | tuple | str | set):
                raise Unresolved(ast.unparse(node))
            return (left in right) == isinstance(operator, ast.In)
        if isinstance(operator, ast.Eq | ast.NotEq):
            return (left == right) == isinstance(operator, ast.Eq)
        raise Unresolved(ast.unparse(node))

    # -- calls ----------------------------------------------------------------------------------

    def call(self, node: ast.Call, frame: Frame) -> Any:
        func = node.func
        name = _last(func)
        if isinstance(func, ast.Attribute) and name == "add_argument":
            self.add_argument(node, frame)
            return None
        if name in ("add_argument_group", "add_mutually_exclusive_group", "add_parser"):
            return Parser()
        if name == "get_kwargs" and node.args:
            return self.get_kwargs(self.value(node.args[0], frame))
        if name == "permutations" and node.args:
            args, keywords = self.arguments(node, frame)
            return [list(item) for item in itertools.permutations(*args, **keywords)]
        if name == "get_args" and len(node.args) == 1:
            return self.literal_members(node.args[0], frame)
        if isinstance(func, ast.Name) and name == "super":
            if frame.owner is None:
                raise Unresolved("super() outside a method")
            return SuperRef(frame.owner, frame.bound)
        target: Any
        if isinstance(func, ast.Attribute):
            try:
                target = self.value(func.value, frame)
            except Unresolved:
                target = Opaque(ast.unparse(func.value))
            if isinstance(target, dict | list):
                return self.container_method(target, name, node, frame)
            return self.call_on(target, name, node, frame)
        try:
            target = self.value(func, frame)
        except Unresolved:
            target = None
        if isinstance(target, FunctionRef):
            args, keywords = self.arguments(node, frame)
            if _touches_parser(args, keywords):
                return self.run_function(target, args, keywords, Frame(target.module))
        return self.evaluator.evaluate(node, frame.scope())

    def call_on(self, target: Any, name: str, node: ast.Call, frame: Frame) -> Any:
        """`X.method(...)`: a class's static, class or plain method, or a module's function."""
        owner: ClassRef | None = None
        bound: ClassRef | None = None
        method: FunctionRef | None = None
        if isinstance(target, SuperRef):
            bound = target.bound
            for base in self.evaluator.bases(target.defined_in):
                method, owner = self.find_method(base, name)
                if method is not None:
                    break
        elif isinstance(target, ClassRef):
            method, owner = self.find_method(target, name)
            bound = target
        elif isinstance(target, ModuleRef):
            found = self.evaluator.module_binding(target.name, name)
            method = found if isinstance(found, FunctionRef) else None
        args, keywords = self.arguments(node, frame)
        if method is None or not _touches_parser(args, keywords):
            if _touches_parser(args, keywords):
                self.note(node, frame)
                return next((arg for arg in args if isinstance(arg, Parser | dict)), None)
            return self.evaluator.evaluate(node, frame.scope())
        decorators = {_last(item) for item in method.node.decorator_list}
        if "classmethod" in decorators:
            args = [bound, *args]
        inner_frame = Frame(method.module, owner=owner, bound=bound)
        return self.run_function(method, args, keywords, inner_frame)

    def find_method(
        self, cls: ClassRef, name: str, depth: int = 0
    ) -> tuple[FunctionRef | None, ClassRef | None]:
        for statement in cls.node.body:
            if isinstance(statement, ast.FunctionDef) and statement.name == name:
                return FunctionRef(cls.module, statement), cls
        if depth < _MAX_CALL_DEPTH:
            for base in self.evaluator.bases(cls):
                method, owner = self.find_method(base, name, depth + 1)
                if method is not None:
                    return method, owner
        return None, None

    def container_method(self, target: Any, name: str, node: ast.Call, frame: Frame) -> Any:
        args, _ = self.arguments(node, frame)
        if isinstance(target, dict):
            if name in ("items", "keys", "values"):
                return (
                    [list(pair) for pair in target.items()]
                    if name == "items"
                    else (list(getattr(target, name)()))
                )
            if name in ("pop", "get", "setdefault", "update", "copy"):
                return getattr(target, name)(*args)
        if isinstance(target, list) and name in ("append", "extend", "insert", "copy"):
            return getattr(target, name)(*args)
        if isinstance(target, list) and name == "remove":
            if args and args[0] in target:
                target.remove(args[0])
            return None
        raise Unresolved(ast.unparse(node))

    def arguments(self, node: ast.Call, frame: Frame) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                args.extend(self.value(arg.value, frame))
            else:
                args.append(self.safe_value(arg, frame))
        keywords = {
            keyword.arg: self.keyed_value(keyword.arg, keyword.value, frame)
            for keyword in node.keywords
            if keyword.arg is not None
        }
        return args, keywords

    def literal_members(self, node: ast.expr, frame: Frame) -> list[Any]:
        """`get_args(SomeLiteral)`: the values of a `Literal[...]` alias."""
        hints = self.reader.hints(node, frame.module)
        if not hints or any(hint.kind != "literal" for hint in hints):
            raise Unresolved(ast.unparse(node))
        return [value for hint in hints for value in hint.values]

    # -- get_kwargs ------------------------------------------------------------------------------

    def get_kwargs(self, cls: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(cls, ClassRef):
            raise Unresolved("get_kwargs of something not a class")
        key = (cls.module, cls.name)
        if key not in self._kwargs_cache:
            docs = self.reader.docs(cls)
            table: dict[str, dict[str, Any]] = {}
            for name, (owner, statement) in self.reader.fields(cls).items():
                try:
                    kwargs = self.reader.field_kwargs(name, statement.annotation, owner.module)
                except Unresolved:
                    kwargs = {"type": TypeTag(None, ast.unparse(statement.annotation))}
                default, unresolved = self.reader.default(statement, owner.module)
                kwargs["default"] = default if unresolved is None else Opaque(unresolved)
                kwargs["help"] = docs.get(name, "")
                table[name] = kwargs
            self._kwargs_cache[key] = table
        return copy.deepcopy(self._kwargs_cache[key])

    # -- add_argument ------------------------------------------------------------------------------

    def add_argument(self, node: ast.Call, frame: Frame) -> None:
        names, keywords = self.arguments(node, frame)
        for keyword in node.keywords:
            if keyword.arg == "choices":
                keywords["choices_source"] = ast.unparse(keyword.value)
            if keyword.arg is None:
                extra = self.value(keyword.value, frame)
                if not isinstance(extra, dict):
                    raise Unresolved(ast.unparse(keyword.value))
                keywords = {**extra, **keywords}
        if not names or not all(isinstance(name, str) for name in names):
            raise Unresolved(ast.unparse(node))
        if not names[0].startswith("-"):
            self.positionals.append(self.positional(names[0], keywords))
            return
        long_names = [name for name in names if name.startswith("--")] or names
        dest = keywords.get("dest")
        if not isinstance(dest, str):
            dest = long_names[0].lstrip("-").replace("-", "_")
        option = Option(names=list(names), dest=dest)
        self.describe(option, keywords)
        self.options.append(option)

    def describe(self, option: Option, keywords: dict[str, Any]) -> None:
        """Fill `option` from the keywords `add_argument` was given."""
        action = keywords.get("action", "store")
        option.action = action.name if isinstance(action, Action) else str(action)
        nargs = keywords.get("nargs", 0 if option.action in FLAG_ACTIONS else None)
        option.nargs = None if isinstance(nargs, Opaque) else nargs
        kind = keywords.get("type")
        if isinstance(kind, TypeTag):
            option.type, option.type_unresolved = kind.name, kind.unresolved
        else:
            option.type = FLAG_TYPE if option.nargs == 0 else "str"
        if option.action == "BooleanOptionalAction":
            option.type = FLAG_TYPE
            option.names += ["--no-" + name[2:] for name in option.names if name.startswith("--")]
        help_text = keywords.get("help", "")
        option.help = help_text if isinstance(help_text, str) else "{" + help_text.source + "}"
        option.required = keywords.get("required") is True
        option.deprecated = (
            keywords.get("deprecated") is True
            or option.action.startswith("Deprecated")
            or option.help.lstrip().upper().startswith("[DEPRECATED]")
        )
        choices = keywords.get("choices")
        choices_source = keywords.get("choices_source")
        if isinstance(choices, Opaque):
            option.choices_unresolved = choices.source
        elif choices is not None:
            try:
                option.choices = json_value(choices)
            except Unresolved:
                option.choices_unresolved = repr(choices)
            if option.choices == []:
                # A registry filled at import time (`list(SomeManager.parsers)`): not knowable.
                option.choices = None
                option.choices_unresolved = choices_source or "[]"
        default = keywords.get("default", False if option.action == "store_true" else None)
        if option.action == "store_false" and "default" not in keywords:
            default = True
        if isinstance(default, Opaque):
            option.default_unresolved = default.source
        else:
            try:
                option.default = json_value(default)
            except Unresolved:
                option.default_unresolved = repr(default)
        if option.default == ARGPARSE_SUPPRESS:
            option.default = None

    def positional(self, name: str, keywords: dict[str, Any]) -> dict[str, Any]:
        kind = keywords.get("type")
        help_text = keywords.get("help", "")
        return {
            "name": name,
            "nargs": keywords.get("nargs"),
            "type": kind.name if isinstance(kind, TypeTag) else "str",
            "help": help_text if isinstance(help_text, str) else "",
        }


def _last(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _touches_parser(args: list[Any], keywords: dict[str, Any]) -> bool:
    return any(isinstance(value, Parser | dict) for value in [*args, *keywords.values()])


def _mentions_parser(node: ast.AST) -> bool:
    source = ast.unparse(node)
    return "add_argument" in source or "parser" in source or "kwargs[" in source

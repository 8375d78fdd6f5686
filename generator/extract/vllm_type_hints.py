"""What vLLM's `get_kwargs(SomeConfig)` makes of each field of a config dataclass, statically.

`vllm.engine.arg_utils.get_kwargs` turns every dataclass field into `add_argument` keywords
from its type hint: `bool` gives `--x/--no-x`, `Literal[...]` gives choices, `list[T]` gives
`nargs="+"`, a nested config dataclass or a `dict` is read as JSON, and so on. This module reads
the same decisions off the source: the annotation (type aliases followed through imports, the
`if TYPE_CHECKING:` branch skipped as at run time), the default, and the docstring after the
field, which vLLM uses as help.
"""

from __future__ import annotations

import ast
import inspect
import itertools
from dataclasses import dataclass, field
from typing import Any

from generator.extract.sglang import (
    ClassRef,
    Evaluator,
    ModuleRef,
    Scope,
    Unresolved,
    json_value,
)

_BUILTIN_KINDS = {"bool", "str", "int", "float", "dict", "list", "tuple", "set"}
_GENERIC_KINDS = {
    "list": "list",
    "List": "list",
    "tuple": "tuple",
    "Tuple": "tuple",
    "set": "set",
    "Set": "set",
    "dict": "dict",
    "Dict": "dict",
}
_MAX_ALIAS_DEPTH = 20
# Generics that are `Annotated[T, ...]` at run time: their hint is T's.
_ANNOTATED = {"Annotated", "SkipValidation"}


@dataclass(frozen=True)
class TypeTag:
    """An argparse `type=`: a name the catalog knows, or None with the source that set it."""

    name: str | None
    unresolved: str | None = None


@dataclass(frozen=True)
class Action:
    """An argparse `action=` given as a class or attribute, by its last name."""

    name: str


@dataclass(frozen=True)
class Hint:
    """One member of a field's type hint, as `get_type_hints` in vLLM flattens it."""

    kind: str  # none, bool, str, int, float, dict, list, tuple, set, literal, dataclass, other
    args: tuple[ast.expr, ...] = ()
    values: tuple[Any, ...] = ()
    module: str = ""
    source: str = ""


@dataclass
class KwargsRules:
    """The parts of `get_kwargs` that changed between vLLM releases, read from its source."""

    # field name -> type tag, for the fields given `human_readable_int` and the like
    special_ints: dict[str, str] = field(default_factory=dict)
    # `Literal[...] | str` gives a metavar rather than choices
    literal_metavar_with_str: bool = False
    # `bool | str | None` gives `nargs="?"`, `const=True`
    optional_valued_flag: bool = False
    # a subclass of dict is read as a dict
    dict_subclass_is_dict: bool = False


class TypeReader:
    """Annotations, defaults and docstrings of config dataclasses."""

    def __init__(self, evaluator: Evaluator, rules: KwargsRules) -> None:
        self.evaluator = evaluator
        self.rules = rules

    # -- names ---------------------------------------------------------------------------------

    def definition(self, module: str, name: str, depth: int = 0) -> Any:
        """What `name` is at the top of `module` at run time: an expression, a class, or None."""
        sources = self.evaluator.sources
        if depth > _MAX_ALIAS_DEPTH or not sources.has_module(module):
            return None
        found: Any = None
        for statement in _runtime_statements(sources.tree(module).body):
            if isinstance(statement, ast.ClassDef) and statement.name == name:
                found = ClassRef(module, statement)
            elif (
                isinstance(statement, ast.Assign)
                and any(
                    isinstance(target, ast.Name) and target.id == name
                    for target in statement.targets
                )
            ) or (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.target.id == name
                and statement.value is not None
            ):
                found = (statement.value, module)
            elif isinstance(statement, ast.ImportFrom):
                source = self.evaluator.absolute(module, statement.module, statement.level)
                for alias in statement.names:
                    if (alias.asname or alias.name) == name:
                        found = self.definition(source, alias.name, depth + 1)
        return found

    def named(self, node: ast.Name | ast.Attribute, module: str, depth: int) -> list[Hint]:
        if isinstance(node, ast.Name):
            if node.id in _BUILTIN_KINDS:
                return [Hint(node.id)]
            if node.id == "None":
                return [Hint("none")]
            found = self.definition(module, node.id)
        else:
            try:
                owner = self.evaluator.evaluate(node.value, Scope(module))
            except Unresolved:
                owner = None
            found = self.definition(owner.name, node.attr) if isinstance(owner, ModuleRef) else None
        if isinstance(found, ClassRef):
            return [self.class_hint(found)]
        if isinstance(found, tuple):
            expression, where = found
            return self.hints(expression, where, depth + 1)
        return [Hint("other", source=ast.unparse(node))]

    def class_hint(self, cls: ClassRef) -> Hint:
        if self.is_dataclass(cls):
            return Hint("dataclass", module=cls.module, source=cls.name)
        if self.rules.dict_subclass_is_dict and self.is_dict_subclass(cls):
            return Hint("dict", source=cls.name)
        return Hint("other", source=cls.name)

    def is_dataclass(self, cls: ClassRef, depth: int = 0) -> bool:
        for decorator in cls.node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if _last_name(target) in ("dataclass", "config"):
                return True
        return depth < _MAX_ALIAS_DEPTH and any(
            self.is_dataclass(base, depth + 1) for base in self.evaluator.bases(cls)
        )

    def is_dict_subclass(self, cls: ClassRef) -> bool:
        names = {_last_name(_generic_origin(base)) for base in cls.node.bases}
        if "TypedDict" in names:
            return False
        return bool(names & {"dict", "Dict"}) or any(
            self.is_dict_subclass(base) for base in self.evaluator.bases(cls)
        )

    # -- annotations ---------------------------------------------------------------------------

    def hints(self, node: ast.expr, module: str, depth: int = 0) -> list[Hint]:
        """The flattened members of an annotation (Optional, Union, `|`, Annotated, aliases)."""
        if depth > _MAX_ALIAS_DEPTH:
            return [Hint("other", source=ast.unparse(node))]
        if isinstance(node, ast.Constant):
            if node.value is None:
                return [Hint("none")]
            if isinstance(node.value, str):
                return self.hints(ast.parse(node.value, mode="eval").body, module, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.hints(node.left, module, depth) + self.hints(node.right, module, depth)
        if isinstance(node, ast.Name | ast.Attribute):
            return self.named(node, module, depth)
        if isinstance(node, ast.Subscript):
            origin = _last_name(node.value)
            members = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
            if origin == "Optional":
                return [*self.hints(members[0], module, depth), Hint("none")]
            if origin == "Union":
                return [hint for member in members for hint in self.hints(member, module, depth)]
            if origin in _ANNOTATED:
                return self.hints(members[0], module, depth)
            if origin == "Literal":
                return [Hint("literal", values=tuple(self.literal_values(members, module)))]
            if origin in _GENERIC_KINDS:
                return [Hint(_GENERIC_KINDS[origin], tuple(members), module=module)]
        return [Hint("other", source=ast.unparse(node))]

    def literal_values(self, members: list[ast.expr], module: str) -> list[Any]:
        values: list[Any] = []
        for member in members:
            if isinstance(member, ast.Constant):
                values.append(member.value)
                continue
            nested = self.hints(member, module)
            if all(hint.kind == "literal" for hint in nested):
                values.extend(value for hint in nested for value in hint.values)
            else:
                values.append(self.evaluator.evaluate(member, Scope(module)))
        # `Literal[A, B]` with nested literals keeps each value once, as typing does.
        return list(dict.fromkeys(values))

    # -- get_kwargs for one field --------------------------------------------------------------

    def field_kwargs(self, name: str, annotation: ast.expr, module: str) -> dict[str, Any]:
        """The `add_argument` keywords vLLM's `get_kwargs` gives a field, less default and help."""
        hints = self.hints(annotation, module)
        kinds = {hint.kind for hint in hints}
        kwargs: dict[str, Any] = {}
        literal = next((hint for hint in hints if hint.kind == "literal"), None)
        collection = next((h for h in hints if h.kind in ("tuple", "list", "set")), None)
        if "dataclass" in kinds:
            kwargs["type"] = TypeTag("json")
        elif self.rules.optional_valued_flag and kinds == {"bool", "str", "none"}:
            kwargs.update(type=TypeTag("str"), nargs="?", const=True)
        elif "bool" in kinds:
            kwargs["action"] = Action("BooleanOptionalAction")
        elif literal is not None:
            kwargs.update(self.literal_kwargs(literal, "str" in kinds))
        elif collection is not None:
            kwargs.update(self.collection_kwargs(collection))
        elif "int" in kinds:
            kwargs["type"] = TypeTag(self.rules.special_ints.get(name, "int"))
        elif "float" in kinds:
            kwargs["type"] = TypeTag("float")
        elif "dict" in kinds and ("str" in kinds or "other" in kinds or "dataclass" in kinds):
            kwargs["type"] = TypeTag("json_or_str")
        elif "dict" in kinds:
            kwargs["type"] = TypeTag("json")
        elif "str" in kinds or "other" in kinds:
            kwargs["type"] = TypeTag("str")
        else:
            kwargs["type"] = TypeTag(None, ast.unparse(annotation))
        if "none" in kinds and "bool" not in kinds and kwargs.get("choices"):
            kwargs["choices"].append("None")
        return kwargs

    def literal_kwargs(self, literal: Hint, with_str: bool) -> dict[str, Any]:
        values = list(literal.values)
        kwargs: dict[str, Any] = {"type": TypeTag(type(values[0]).__name__ if values else "str")}
        if not (with_str and self.rules.literal_metavar_with_str):
            kwargs["choices"] = _sorted(values)
        return kwargs

    def collection_kwargs(self, hint: Hint) -> dict[str, Any]:
        elements = [element for element in hint.args if ast.unparse(element) != "..."]
        ellipsis = len(elements) != len(hint.args)
        nargs: int | str = "+" if hint.kind != "tuple" or ellipsis else len(hint.args)
        if not elements:
            return {"type": TypeTag(None, f"{hint.kind} without element type"), "nargs": nargs}
        element_hints = self.hints(elements[0], hint.module)
        kinds = {element.kind for element in element_hints}
        literal = next((element for element in element_hints if element.kind == "literal"), None)
        if len(element_hints) > 1 and "str" in kinds:
            return {"type": TypeTag("str"), "nargs": nargs}
        if literal is not None and len(element_hints) == 1:
            values = list(literal.values)
            kind = type(values[0]).__name__ if values else "str"
            return {"type": TypeTag(kind), "choices": _sorted(values), "nargs": nargs}
        if len(element_hints) == 1 and element_hints[0].kind in ("str", "int", "float"):
            return {"type": TypeTag(element_hints[0].kind), "nargs": nargs}
        return {"type": TypeTag(None, ast.unparse(elements[0])), "nargs": nargs}

    # -- fields, defaults, docs ----------------------------------------------------------------

    def fields(self, cls: ClassRef, depth: int = 0) -> dict[str, tuple[ClassRef, ast.AnnAssign]]:
        """The dataclass fields of `cls`, bases first, by name (a redefinition keeps its place)."""
        found: dict[str, tuple[ClassRef, ast.AnnAssign]] = {}
        if depth < _MAX_ALIAS_DEPTH:
            for base in reversed(self.evaluator.bases(cls)):
                found.update(self.fields(base, depth + 1))
        for statement in cls.node.body:
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and not {"ClassVar", "InitVar"} & _names_in(statement.annotation)
            ):
                found[statement.target.id] = (cls, statement)
        return found

    def docs(self, cls: ClassRef, depth: int = 0) -> dict[str, str]:
        """Docstrings after attribute assignments, of `cls` and its bases (`get_attr_docs`)."""
        found: dict[str, str] = {}
        if depth < _MAX_ALIAS_DEPTH:
            for base in reversed(self.evaluator.bases(cls)):
                found.update(self.docs(base, depth + 1))
        body = cls.node.body
        for statement, following in itertools.pairwise(body):
            if (
                isinstance(statement, ast.AnnAssign | ast.Assign)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                for target in targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = inspect.cleandoc(following.value.value)
        return found

    def default(self, statement: ast.AnnAssign, module: str) -> tuple[Any, str | None]:
        """A field's default as JSON data, or None and its source when it cannot be known."""
        node = statement.value
        if node is None:
            return None, None
        try:
            return json_value(self.default_value(node, module)), None
        except Unresolved:
            return None, ast.unparse(node)

    def default_value(self, node: ast.expr, module: str) -> Any:
        scope = Scope(module)
        if isinstance(node, ast.Call) and _last_name(node.func) in ("field", "Field"):
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if "default" in keywords:
                return self.evaluator.evaluate(keywords["default"], scope)
            if node.args and _last_name(node.func) == "Field":
                return self.evaluator.evaluate(node.args[0], scope)
            factory = keywords.get("default_factory")
            if isinstance(factory, ast.Lambda):
                return self.evaluator.evaluate(factory.body, scope)
            if isinstance(factory, ast.Name) and factory.id in ("list", "dict", "set", "tuple"):
                return {"dict": {}}.get(factory.id, [])
            raise Unresolved(ast.unparse(node))
        return self.evaluator.evaluate(node, scope)


def detect_rules(evaluator: Evaluator, module: str) -> KwargsRules:
    """How this vLLM's `get_kwargs` (in `module`) turns type hints into keywords."""
    rules = KwargsRules()
    tree = evaluator.sources.tree(module)
    functions = {
        statement.name: statement
        for statement in tree.body
        if isinstance(statement, ast.FunctionDef)
    }
    literal = functions.get("literal_to_kwargs")
    rules.literal_metavar_with_str = literal is not None and "metavar" in ast.unparse(literal)
    compute = functions.get("_compute_kwargs") or functions.get("get_kwargs")
    if compute is None:
        return rules
    source = ast.unparse(compute)
    rules.optional_valued_flag = "{bool, str, type(None)}" in source
    rules.dict_subclass_is_dict = "is_dict_subclass" in source
    sets = _local_sets(compute)
    for node in ast.walk(compute):
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)):
            continue
        test = node.test
        if not (isinstance(test.left, ast.Name) and test.left.id == "name"):
            continue
        names: set[str] = set()
        for comparator in test.comparators:
            if isinstance(comparator, ast.Constant) and isinstance(comparator.value, str):
                names.add(comparator.value)
            elif isinstance(comparator, ast.Set):
                names |= _strings(comparator)
            elif isinstance(comparator, ast.Name):
                names |= sets.get(comparator.id, set())
        tag = _assigned_type(node.body)
        for name in names:
            if tag is not None:
                rules.special_ints.setdefault(name, tag)
    return rules


_SPECIAL_INT_TYPES = {
    "human_readable_int": "vllm_human_readable_int",
    "human_readable_int_or_auto": "vllm_human_readable_int_or_auto",
}


def _assigned_type(body: list[ast.stmt]) -> str | None:
    for statement in body:
        if (
            isinstance(statement, ast.Assign)
            and ast.unparse(statement.targets[0]).endswith("['type']")
            and isinstance(statement.value, ast.Name)
        ):
            return _SPECIAL_INT_TYPES.get(statement.value.id)
    return None


def _local_sets(function: ast.FunctionDef) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Set):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = _strings(node.value)
    return found


def _strings(node: ast.Set) -> set[str]:
    return {
        element.value
        for element in node.elts
        if isinstance(element, ast.Constant) and isinstance(element.value, str)
    }


def _runtime_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level statements as run: `try` blocks looked into, `if TYPE_CHECKING:` skipped."""
    found: list[ast.stmt] = []
    for statement in body:
        if isinstance(statement, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(statement.test):
                found += _runtime_statements(statement.body)
            found += _runtime_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            found += _runtime_statements(statement.body)
            for handler in statement.handlers:
                found += _runtime_statements(handler.body)
        else:
            found.append(statement)
    return found


def _sorted(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _generic_origin(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Subscript) else node


def _names_in(node: ast.expr) -> set[str]:
    return {_last_name(part) for part in ast.walk(node) if isinstance(part, ast.expr)} - {""}

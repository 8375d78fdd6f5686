"""The package layout holds: generator's packages in stages that follow the data path, no
module importing one of a later stage, no circle of imports, and a `generate` that imports none
of the catalog extraction tooling.

Every import counts, also one inside a function or under `if TYPE_CHECKING:`: a type the code
names is a dependency of the code, whether or not Python runs the import.
"""

from __future__ import annotations

import ast
import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "generator"

# The stages, from the bottom: a module may import its own stage's modules and those of the
# stages before it, never a later one. A module is in the stage of its longest pattern (a
# module or package name, or a pattern with `*`). CONTRIBUTING.md draws the same path.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("generator", "generator.locations", "generator.code")),
    ("spec", ("generator.spec",)),
    # The sections a spec is made of that live with their engine, server kind or workload: the
    # model imports them, and they know no Spec.
    (
        "sections",
        (
            "generator.exposure",
            "generator.engines.section_base",
            "generator.engines.sections",
            "generator.engines.*.section",
            "generator.workloads.section",
        ),
    ),
    ("model", ("generator.model",)),
    ("engines", ("generator.engines",)),
    ("extract", ("generator.extract",)),
    ("workloads", ("generator.workloads",)),
    ("checks", ("generator.checks",)),
    ("view", ("generator.view",)),
    ("render", ("generator.render",)),
    ("project", ("generator.project",)),
    ("authoring", ("generator.authoring",)),
    ("cli", ("generator.cli", "generator.__main__")),
)
EXTRACTION = "generator.extract"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> set[str]:
    """The modules of generator that module `name` imports, anywhere in its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports(name) for name in MODULES}


def stage_of(name: str) -> int:
    best: tuple[int, int] | None = None  # (pattern length, stage)
    for index, (_, patterns) in enumerate(STAGES):
        for pattern in patterns:
            if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, pattern + ".*"):
                length = len(pattern.split("."))
                if best is None or length > best[0]:
                    best = (length, index)
    if best is None:
        raise AssertionError(f"{name} is in no stage: add it to a package that has one")
    return best[1]


def test_every_module_is_in_a_stage() -> None:
    for name in MODULES:
        stage_of(name)


def test_no_module_imports_a_later_stage() -> None:
    upward = [
        f"{name} ({STAGES[stage_of(name)][0]}) imports {imported} ({STAGES[stage_of(imported)][0]})"
        for name, imported_names in GRAPH.items()
        for imported in sorted(imported_names)
        if stage_of(imported) > stage_of(name)
    ]
    assert not upward, "\n".join(upward)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_circle_of_imports() -> None:
    assert circles(GRAPH) == []


def test_the_checks_here_find_a_circle_and_an_upward_import() -> None:
    """What the two tests above rely on, on a made-up graph."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert stage_of("generator.engines.vllm.section") < stage_of("generator.model.models")
    assert stage_of("generator.engines.vllm.engine") > stage_of("generator.model.models")
    assert stage_of("generator.spec.loader") < stage_of("generator.cli.cli")


def test_only_the_catalog_command_reaches_the_extraction_tooling() -> None:
    """Outside generator/extract/, one module imports it: the project's `catalog add`."""
    importers = sorted(
        name
        for name, imported in GRAPH.items()
        if not name.startswith(EXTRACTION) and any(m.startswith(EXTRACTION) for m in imported)
    )
    assert importers == ["generator.project.project_catalogs"]


@pytest.mark.parametrize("project", [ROOT, ROOT / "examples" / "modal-examples"])
def test_a_generate_imports_no_catalog_extraction(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "project"
    # The specs and the project files their images add (scripts/, observability/, ...).
    for folder in ("specs", "scripts", "observability"):
        if (project / folder).is_dir():
            shutil.copytree(project / folder, copy / folder)
    code = (
        "import sys; from generator.cli.cli import main; "
        "main(['-q', 'generate', '-C', sys.argv[1]], standalone_mode=False); "
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('generator.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(copy)], capture_output=True, text=True, check=True
    )
    loaded = result.stdout.split()
    assert "generator.render.render" in loaded, result.stdout  # it did render
    assert not [name for name in loaded if EXTRACTION in name], result.stdout
    assert sorted(path.name for path in (copy / "generated").iterdir()) == sorted(
        path.name for path in (project / "generated").glob("*.py")
    )

"""The `modalgen` command line.

Validation and rendering (pydantic, Jinja, ruff) are imported only by the commands that need
them, and `check` and `generate` need them only for specs whose generated file is not known to be
up to date from its raw inputs (see `raw_inputs.py` and `provenance.py`).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.console import Console
from generator.drift import find_drift
from generator.errors import SpecError
from generator.project import SPEC_STEM, CredentialInOutput, Project, UnsafeOutputPath
from generator.resolved import FORMATS
from generator.schema import SCHEMA_PATH
from generator.starter import DEFAULT_ENGINE, ENGINE_STARTERS

ENGINE_KINDS = tuple(ENGINE_STARTERS)

if TYPE_CHECKING:
    from generator.engines.option_table import OptionTable
    from generator.render import Output
    from generator.validation import LoadedSpec

EXIT_INVALID_SPEC = 1
EXIT_DRIFT = 1
EXIT_USAGE = 2


def _spec_paths(project: Project, specs: tuple[Path, ...]) -> list[Path]:
    """The SPECS given, relative to the project directory as `git -C` reads paths, or every
    spec in specs/."""
    paths = [_in_project(project, spec) for spec in specs] or project.discover_specs()
    if not paths:
        raise click.UsageError(f"no specs given and none found in {project.specs_dir}")
    return paths


def _in_project(project: Project, spec: Path) -> Path:
    path = spec if spec.is_absolute() else project.root / spec
    if not path.is_file():
        where = "" if spec.is_absolute() else f" in {project.root}"
        raise click.BadParameter(f"no spec file {str(spec)!r}{where}", param_hint="SPECS")
    return path


def _console() -> Console:
    context = click.get_current_context(silent=True)
    return context.find_object(Console) if context and context.find_object(Console) else Console()


def _report(error: SpecError, consequence: str) -> None:
    console = _console()
    for problem in error.problems:
        console.problem("error", str(problem))
    files = len({problem.file for problem in error.problems})
    click.echo(f"{len(error.problems)} problem(s) in {files} spec file(s); {consequence}", err=True)


@contextlib.contextmanager
def _exit_on_spec_error(consequence: str) -> Iterator[None]:
    """Report every problem of invalid specs and exit with EXIT_INVALID_SPEC."""
    try:
        yield
    except SpecError as error:
        _report(error, consequence)
        sys.exit(EXIT_INVALID_SPEC)


def _refuse_credentials(project: Project, outputs: list[Output]) -> None:
    """Stop, printing no file content, when an output would hold a credential."""
    try:
        project.check_contents(outputs)
    except CredentialInOutput as error:
        raise click.ClickException(str(error)) from None


def _warn(loaded: Iterable[LoadedSpec]) -> None:
    """Print what valid specs should still look at; warnings never fail a command."""
    for item in loaded:
        from generator.checks import run_warnings  # loaded specs have imported the models

        for field, message in run_warnings(item.spec):
            _console().problem("warning", str(item.document.problem(message, field)))


spec_argument = click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
project_option = click.option(
    "-C",
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding specs/ and generated/; SPECS are relative to it.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modalgen")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors, warnings and diffs.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail.")
@click.pass_context
def main(context: click.Context, quiet: bool, verbose: bool) -> None:
    """Generate deployable Modal apps that serve LLMs with SGLang or vLLM, from declarative specs.

    Colour is used on a terminal, unless NO_COLOR is set.
    """
    context.obj = Console(quiet=quiet, verbose=verbose)


@main.command()
@spec_argument
@project_option
def generate(specs: tuple[Path, ...], project_dir: Path) -> None:
    """Write generated/<name>.py for each SPEC (default: every spec in specs/).

    Every spec is validated first; if any is invalid, no file is written. A file that is known
    to be up to date from its raw inputs is left alone without validating its spec again, so
    its warnings show when it is next rewritten, or with `modalgen validate`.
    """
    project = Project(project_dir)
    paths = _spec_paths(project, specs)
    _, rest = project.split_current(paths)
    with _exit_on_spec_error("nothing was written."):
        outputs = {output.source.document.path: output for output in project.render(rest)}
    _warn(output.source for output in outputs.values())
    console = _console()
    try:
        project.check_targets(project.output_path(path) for path in paths)
    except UnsafeOutputPath as error:
        raise click.ClickException(str(error)) from None
    _refuse_credentials(project, list(outputs.values()))
    for path in paths:
        output = outputs.get(path)
        changed = output is not None and project.write(output)
        status = "wrote" if changed else "unchanged"
        target = project.output_path(path).as_posix()
        console.info(status, f"{target} (from {project.display_path(path)})")


@main.command()
@spec_argument
@project_option
def validate(specs: tuple[Path, ...], project_dir: Path) -> None:
    """Check each SPEC (default: every spec in specs/) without writing anything."""
    project = Project(project_dir)
    with _exit_on_spec_error("fix them and run again."):
        loaded = project.load_all(_spec_paths(project, specs))
    _warn(loaded)
    for spec in loaded:
        _console().info("ok", spec.display_path)


@main.command()
@project_option
def check(project_dir: Path) -> None:
    """Fail when generated/ or the schema is not what `generate` and `schema` would write.

    Names each stale, missing, hand-edited or orphaned file with its diff. Writes nothing: made
    for pre-commit hooks and CI.
    """
    project = Project(project_dir)
    console = _console()
    current, rest = project.split_current(_spec_paths(project, ()))
    with _exit_on_spec_error("cannot check generated/."):
        outputs = project.render(rest)
    _refuse_credentials(project, outputs)
    drifts = find_drift(
        project.root,
        outputs,
        project.generated_files(),
        [project.output_path(path) for path in current],
    )
    schema = project.schema_drift()
    for drift in drifts:
        console.problem("drift", f"{drift.path.as_posix()}: {drift.kind.value}: {drift.reason}")
        console.diff(drift.diff)
    if schema is not None:
        console.problem("drift", f"{SCHEMA_PATH.as_posix()}: stale: run `modalgen schema`")
        console.diff(schema)
    if drifts or schema is not None:
        count = len(drifts) + (schema is not None)
        click.echo(f"{count} file(s) out of date; run `modalgen generate` and review.", err=True)
        sys.exit(EXIT_DRIFT)
    count = len(outputs) + len(current)
    console.info("ok", f"{count} generated file(s) and the schema are up to date")


@main.command()
@spec_argument
@project_option
def diff(specs: tuple[Path, ...], project_dir: Path) -> None:
    """Print the unified diff `generate` would apply to the code of each SPEC's file (leaving out
    the digests in its header that only speed up `check`); write nothing."""
    project = Project(project_dir)
    _, rest = project.split_current(_spec_paths(project, specs))
    with _exit_on_spec_error("nothing to diff."):
        outputs = project.render(rest)
    _refuse_credentials(project, outputs)
    for drift in find_drift(project.root, outputs, None):
        _console().diff(drift.diff)


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--format", "format_", type=click.Choice(FORMATS), default="toml", show_default=True)
@project_option
def show(spec: Path, format_: str, project_dir: Path) -> None:
    """Print SPEC fully resolved: bases merged, every default filled in."""
    from generator.resolved import dump

    project = Project(project_dir)
    path = _in_project(project, spec)
    with _exit_on_spec_error("nothing to show."):
        (loaded,) = project.load_all([path])
    click.echo(dump(loaded.spec, format_), nl=False)


@main.command()
@click.argument("name")
@click.option("--model", required=True, help="Hugging Face repository id, ORG/NAME.")
@click.option("--revision", required=True, help="Full 40-character commit hash to pin.")
@click.option("--gpu", required=True, help="Modal GPU as TYPE:COUNT, such as H100:1.")
@click.option(
    "--engine",
    type=click.Choice(ENGINE_KINDS),
    default=DEFAULT_ENGINE,
    show_default=True,
    help="The inference engine.",
)
@click.option("--engine-image", default=None, help="Registry image; default: the engine's own.")
@project_option
def new(
    name: str,
    model: str,
    revision: str,
    gpu: str,
    engine: str,
    engine_image: str | None,
    project_dir: Path,
) -> None:
    """Write a commented, valid starter spec to specs/NAME.toml."""
    project = Project(project_dir)
    if not SPEC_STEM.match(name):
        raise click.BadParameter("use lower-case letters, digits and _", param_hint="NAME")
    target = project.specs_dir / f"{name}.toml"
    if target.exists() or any(project.specs_dir.glob(f"{name}.y*ml")):
        raise click.UsageError(f"a spec named {name!r} already exists in {project.specs_dir}")
    from generator.starter import starter_spec

    with _exit_on_spec_error("nothing was written."):
        text = starter_spec(name, model, revision, gpu, engine, engine_image)
    project.specs_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    _console().info("wrote", f"{project.display_path(target)}; next: `modalgen generate`")


@main.command()
@project_option
def schema(project_dir: Path) -> None:
    """Write schemas/spec.schema.json from the spec models, for editors and CI."""
    project = Project(project_dir)
    changed = project.write_schema()
    _console().info("wrote" if changed else "unchanged", SCHEMA_PATH.as_posix())


@main.command()
@click.argument("words", nargs=-1, metavar="[ENGINE] VERSION [PATTERN]")
@click.option(
    "--versions",
    "list_versions",
    is_flag=True,
    help="List the versions with a catalog instead, bundled and the project's: [ENGINE].",
)
@project_option
def flags(words: tuple[str, ...], list_versions: bool, project_dir: Path) -> None:
    """List the server options of ENGINE (sglang or vllm; default sglang) VERSION.

    As its catalog records them: `sglang.launch_server` for SGLang, `vllm serve` for vLLM.
    PATTERN keeps the options whose name or alias matches it (a regular expression, or plain
    text), such as `speculative` or `^--mem`. Examples: `modalgen flags vllm 0.11.2 speculative`,
    `modalgen flags sglang 0.5.10.post1 ^--mem`, `modalgen flags --versions vllm`. The project's
    own catalogs (`modalgen catalog add`) are used beside modalgen's.
    """
    Project(project_dir)  # its catalogs are looked up beside the bundled ones
    if list_versions:
        _print_versions(words)
        return
    named = bool(words) and words[0].lower() in ENGINE_KINDS
    engine = words[0].lower() if named else DEFAULT_ENGINE
    rest = words[1:] if named else words
    if not rest or len(rest) > 2:
        raise click.UsageError(
            "give [ENGINE] VERSION [PATTERN], such as `vllm 0.11.2 speculative`; "
            f"`modalgen flags --versions {engine}` lists the versions"
        )
    version, pattern = rest[0], (rest[1] if len(rest) > 1 else None)
    table = _option_table(engine, version)
    try:
        matcher = re.compile(pattern or "")
    except re.error:
        matcher = re.compile(re.escape(pattern or ""))
    for option in table.options:
        if not any(matcher.search(name) for name in option.names):
            continue
        aliases = f" ({', '.join(option.aliases)})" if option.aliases else ""
        details = [option.describe_type()]
        if option.choices is not None:
            details.append("choices: " + ", ".join(str(choice) for choice in option.choices))
        elif option.choices_unresolved is not None:
            details.append(f"choices: {option.choices_unresolved} (not known statically)")
        if not option.is_flag:
            details.append(f"default: {option.default!r}")
        if option.deprecated:
            instead = f", use {option.replacement}" if option.replacement else ""
            details.append(f"deprecated{instead}")
        click.echo(f"{option.name}{aliases}  [{'; '.join(details)}]")
        if option.help:
            click.echo(f"    {option.help}")


def _print_versions(words: tuple[str, ...]) -> None:
    """`flags --versions [ENGINE]`: one line a catalogued version, saying whose catalog it is."""
    from generator.engines.option_table import catalog_files, catalog_versions

    if len(words) > 1 or (words and words[0].lower() not in ENGINE_KINDS):
        raise click.UsageError(f"--versions takes at most an ENGINE: {', '.join(ENGINE_KINDS)}")
    engines = [words[0].lower()] if words else list(ENGINE_KINDS)
    for engine in engines:
        bundled = {version for version, folder in catalog_files(engine) if not folder.checked}
        for version, folder in catalog_versions(engine).items():
            if not folder.checked:
                origin = "bundled"
            else:
                origin = f"project ({_project_path(folder.path)})"
                if version in bundled:
                    origin += ", used instead of the bundled one"
            click.echo(f"{engine} {version}  {origin}")


def _project_path(folder: Path) -> str:
    try:
        return folder.resolve().relative_to(Path.cwd().resolve()).as_posix() + "/"
    except ValueError:
        return folder.as_posix() + "/"


def _option_table(engine: str, version: str) -> OptionTable:
    """The server options of one engine version, or a usage error naming the known versions."""
    from generator.engines.option_table import CatalogCorrupt, CatalogNotFound
    from generator.engines.registry import ENGINES as REGISTRY

    chosen = REGISTRY[engine]
    try:
        return chosen.server_options_table(version)
    except CatalogCorrupt as error:
        raise click.ClickException(str(error)) from None
    except CatalogNotFound as error:
        known = ", ".join(chosen.available_versions()) or "none"
        raise click.ClickException(
            f"{error} (catalogs: {known}); create it with `{chosen.extract_command(version)}`"
        ) from None


@main.group()
def catalog() -> None:
    """The project's own option catalogs, used beside the ones modalgen bundles."""


@catalog.command("add")
@click.argument("engine", type=click.Choice(ENGINE_KINDS, case_sensitive=False))
@click.argument("version")
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, path_type=Path),
    help="Read this sdist, wheel or source folder of the release instead of downloading it.",
)
@click.option("--force", is_flag=True, help="Replace a catalog the project or modalgen has.")
@click.option(
    "--index-url",
    default=None,
    help="Package index (simple API) to download from; default: pip's, else PyPI.",
)
@project_option
def catalog_add(
    engine: str,
    version: str,
    source: Path | None,
    force: bool,
    index_url: str | None,
    project_dir: Path,
) -> None:
    """Extract the option catalog of ENGINE VERSION into the project's catalogs/.

    From the release's sdist or wheel, downloaded from the package index, or read from --from
    FILE offline. Specs on that version are then checked against it (`modalgen flags --versions`
    lists it). Nothing is written when the release cannot be read.
    """
    from generator.project_catalogs import CatalogAddError, add_catalog

    project = Project(project_dir)
    try:
        added = add_catalog(project.root, engine.lower(), version, source, force, index_url)
    except CatalogAddError as error:
        raise click.ClickException(str(error)) from None
    status = "replaced" if added.replaced else "wrote"
    _console().info(status, f"{project.display_path(added.path)} ({added.summary})")

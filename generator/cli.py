"""The `modalgen` command line."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from generator.checks import run_warnings
from generator.errors import SpecError
from generator.project import Project
from generator.validation import LoadedSpec

EXIT_INVALID_SPEC = 1
EXIT_USAGE = 2


def _spec_paths(project: Project, specs: tuple[Path, ...]) -> list[Path]:
    paths = list(specs) or project.discover_specs()
    if not paths:
        raise click.UsageError(f"no specs given and none found in {project.specs_dir}")
    return paths


def _report(error: SpecError, consequence: str) -> None:
    for problem in error.problems:
        click.echo(f"error: {problem}", err=True)
    files = len({problem.file for problem in error.problems})
    click.echo(f"{len(error.problems)} problem(s) in {files} spec file(s); {consequence}", err=True)


def _warn(loaded: Iterable[LoadedSpec]) -> None:
    """Print what valid specs should still look at; warnings never fail a command."""
    for item in loaded:
        for field, message in run_warnings(item.spec):
            problem = item.document.problem(message, field)
            click.echo(f"warning: {problem}", err=True)


spec_argument = click.argument(
    "specs", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
project_option = click.option(
    "-C",
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding specs/ and generated/.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modalgen")
def main() -> None:
    """Generate deployable Modal apps that serve LLMs with SGLang, from declarative specs."""


@main.command()
@spec_argument
@project_option
def generate(specs: tuple[Path, ...], project_dir: Path) -> None:
    """Write generated/<name>.py for each SPEC (default: every spec in specs/).

    Every spec is validated first; if any is invalid, no file is written.
    """
    project = Project(project_dir)
    try:
        outputs = project.render(_spec_paths(project, specs))
    except SpecError as error:
        _report(error, "nothing was written.")
        sys.exit(EXIT_INVALID_SPEC)
    _warn(output.source for output in outputs)
    for output in outputs:
        changed = project.write(output)
        status = "wrote" if changed else "unchanged"
        click.echo(f"{status} {output.path.as_posix()} (from {output.source.display_path})")


@main.command()
@spec_argument
@project_option
def validate(specs: tuple[Path, ...], project_dir: Path) -> None:
    """Check each SPEC (default: every spec in specs/) without writing anything."""
    project = Project(project_dir)
    try:
        loaded = project.load_all(_spec_paths(project, specs))
    except SpecError as error:
        _report(error, "fix them and run again.")
        sys.exit(EXIT_INVALID_SPEC)
    _warn(loaded)
    for spec in loaded:
        click.echo(f"ok {spec.display_path}")


@main.command()
@click.argument("version")
@click.argument("pattern", required=False)
def flags(version: str, pattern: str | None) -> None:
    """List the `sglang.launch_server` options of SGLang VERSION, as its catalog records them.

    PATTERN keeps the options whose name or alias matches it (a regular expression, or plain
    text), such as `speculative` or `^--mem`.
    """
    from generator.sglang_catalog import (
        CatalogNotFound,
        available_versions,
        extract_command,
        load_catalog,
    )

    try:
        table = load_catalog(version).launch_server
    except CatalogNotFound as error:
        raise click.ClickException(
            f"{error} (catalogs: {', '.join(available_versions()) or 'none'}); create it with "
            f"`{extract_command(version)}`"
        ) from None
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

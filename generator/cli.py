"""The `modalgen` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.errors import SpecError
from generator.project import Project

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
    for spec in loaded:
        click.echo(f"ok {spec.display_path}")

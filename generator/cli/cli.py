"""The `modalgen` command line.

Every command finds its project upward from the current folder (or from -C DIR, as git does):
the folder that holds `modalgen.toml`, or `specs/` beside `generated/`. Validation and rendering
(pydantic, Jinja, ruff) are imported only by the commands that need them, and `check` and
`generate` need them only for specs whose generated file the user's cache does not already
know to be up to date (see `project.py`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.authoring.starter import DEFAULT_ENGINE, ENGINE_STARTERS
from generator.cli.console import Console
from generator.cli.reports import FORMATS as REPORT_FORMATS
from generator.cli.reports import Finding, Report, Severity
from generator.project.drift import Drift, DriftKind
from generator.project.project import (
    SPEC_STEM,
    CredentialInOutput,
    NoProject,
    Project,
    UnsafeOutputPath,
    WriteFailed,
)
from generator.project.settings import ProjectFileError
from generator.render.provenance import HEADER_LINE
from generator.spec.errors import Problem, SpecError
from generator.view.resolved import FORMATS

ENGINE_KINDS = tuple(ENGINE_STARTERS)

if TYPE_CHECKING:
    from generator.authoring.spec_edit import SpecEditor
    from generator.checks.validation import LoadedSpec
    from generator.engines.option_table import OptionTable
    from generator.render.render import Output
    from generator.spec.loader import SourceDocument

EXIT_INVALID_SPEC = 1
EXIT_DRIFT = 1
EXIT_DIFFERENCE = 1
EXIT_USAGE = 2


@contextlib.contextmanager
def _project_errors() -> Iterator[None]:
    """Problems with the project itself (none found, a broken modalgen.toml) as usage errors."""
    try:
        yield
    except NoProject as error:
        raise click.UsageError(str(error)) from None
    except ProjectFileError as error:
        raise click.ClickException(str(error)) from None


def _project(project_dir: Path | None) -> Project:
    """The project of this command: -C DIR (given before or after the command), else the one
    found upward from the current folder."""
    with _project_errors():
        project = Project.locate(_start_dir(project_dir))
        project.settings  # noqa: B018  (read now: a broken project file is reported here)
    return project


def _refuse_edits_outside(project: Project, editor: SpecEditor, verb: str) -> None:
    """Stop before writing when an edit would change a file outside the project (a base that
    `extends` reaches out of it): the user is to `verb` it there, by hand."""
    outside = [
        edit.display_path
        for edit in editor.edits()
        if not edit.path.resolve().is_relative_to(project.root.resolve())
    ]
    if outside:
        raise click.ClickException(
            f"{', '.join(outside)} lies outside the project at {project.root}: {verb} it there, "
            "by hand; nothing was written"
        )


def _project_or_here(project_dir: Path | None) -> Project:
    """The project of this command, or the current folder outside any (for commands that make
    or need no project: `new`, `show`, `flags`, `catalog add`)."""
    with _project_errors():
        return Project.locate(_start_dir(project_dir), create=True)


def _start_dir(project_dir: Path | None) -> Path | None:
    """-C DIR as given after the command, else before it."""
    if project_dir is not None:
        return project_dir
    context = click.get_current_context(silent=True)
    root = context.find_root() if context else None
    return root.params.get("project_dir") if root else None


def _base_dir(project_dir: Path | None) -> Path:
    """What relative SPECS are relative to: -C DIR (as `git -C` reads paths), else the current
    folder."""
    return _start_dir(project_dir) or Path.cwd()


def _spec_paths(project: Project, specs: tuple[Path, ...], project_dir: Path | None) -> list[Path]:
    """The SPECS given, relative to -C DIR or the current folder, or every spec of the project."""
    paths = [_in_project(project, spec, project_dir) for spec in specs] or project.discover_specs()
    if not paths:
        raise click.UsageError(
            f"no specs given and none found in {project.display_path(project.specs_dir)}/ "
            f"of the project at {project.root}; write one with `modalgen new NAME ...`"
        )
    return paths


def _in_project(project: Project, spec: Path, project_dir: Path | None) -> Path:
    if not str(spec).isprintable():  # it would be written into messages and generated files
        raise click.BadParameter(
            f"{str(spec)!r}: a spec's path may not hold control characters or line breaks; "
            "rename it",
            param_hint="SPECS",
        )
    path = spec if spec.is_absolute() else _base_dir(project_dir) / spec
    try:
        is_file = path.is_file()
        # As written (`..` folded, links kept): the loader refuses a link that leads out.
        inside = Path(os.path.abspath(path)).is_relative_to(project.root)
    except (OSError, ValueError) as error:  # a name too long for the file system, ...
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise click.BadParameter(
            f"{_shortened(str(spec))!r}: {reason}", param_hint="SPECS"
        ) from None
    if not is_file:
        raise click.BadParameter(
            f"no spec file {_shortened(str(spec))!r} in {path.parent}", param_hint="SPECS"
        )
    if not inside:
        raise click.BadParameter(
            f"{str(spec)!r} is not inside the project at {project.root}", param_hint="SPECS"
        )
    return path


def _render(project: Project, paths: list[Path]) -> list[Output]:
    """The outputs of `paths`; a fault of the machine (no room to format them) as a clear error."""
    try:
        return project.render(paths)
    except WriteFailed as error:
        raise click.ClickException(str(error)) from None


def _shortened(text: str, limit: int = 200) -> str:
    """`text`, cut in the middle when longer than `limit`, for a message."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}...({len(text) - limit} characters)...{text[-half:]}"


def _console() -> Console:
    context = click.get_current_context(silent=True)
    return context.find_object(Console) if context and context.find_object(Console) else Console()


def _once(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once, in order: one in a base file is found again in every spec that extends
    it, at the same file, position and field, with the same message."""
    return list(dict.fromkeys(problems))


def _report(error: SpecError, consequence: str, where: str | None = None) -> None:
    console = _console()
    problems = _once(error.problems)
    for problem in problems:
        console.problem("error", str(problem))
    where = where or f"{len({problem.file for problem in problems})} spec file(s)"
    click.echo(f"{len(problems)} problem(s) in {where}; {consequence}", err=True)


@contextlib.contextmanager
def _exit_on_spec_error(consequence: str, where: str | None = None) -> Iterator[None]:
    """Report every problem of invalid specs (in `where`, else in the files they name) and
    exit with EXIT_INVALID_SPEC."""
    try:
        yield
    except SpecError as error:
        _report(error, consequence, where)
        sys.exit(EXIT_INVALID_SPEC)


def _refuse_credentials(project: Project, outputs: list[Output]) -> None:
    """Stop, printing no file content, when an output would hold a credential."""
    try:
        project.check_contents(outputs)
    except CredentialInOutput as error:
        raise click.ClickException(str(error)) from None


def _warnings(loaded: Iterable[LoadedSpec]) -> list[Finding]:
    """What valid specs should still look at, each once (a base's warning is the same for every
    spec that extends it); warnings never fail a command."""
    loaded = list(loaded)
    if not loaded:
        return []  # nothing to import the checks for (an unchanged project's `generate`)
    from generator.checks.checks import run_warnings  # loaded specs have imported the models

    warnings = [
        item.document.problem(message, field)
        for item in loaded
        for field, message in run_warnings(item.spec)
    ]
    return [Finding.from_problem(problem, Severity.WARNING) for problem in _once(warnings)]


def _warn(loaded: Iterable[LoadedSpec]) -> None:
    for finding in _warnings(loaded):
        _console().problem("warning", _finding_text(finding))


def _finding_text(finding: Finding) -> str:
    where = finding.file
    if finding.line is not None:
        where += f":{finding.line}:{finding.column}"
    return (
        f"{where}: {finding.field}: {finding.message}"
        if finding.field
        else (f"{where}: {finding.message}")
    )


def _emit(report: Report, format_: str) -> None:
    """Print a json or github report (text is printed as the command goes)."""
    if format_ == "json":
        click.echo(report.as_json(), nl=False)
    elif format_ == "github":
        click.echo(report.as_github(), nl=False)


spec_argument = click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
project_option = click.option(
    "-C",
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The project's root folder (default: found upward from the current folder, from the "
    "folder holding modalgen.toml, or specs/ beside generated/); paths given are relative to "
    "it. Also accepted before the command.",
)
format_option = click.option(
    "--format",
    "format_",
    type=click.Choice(REPORT_FORMATS),
    default="text",
    show_default=True,
    help="text for people; json: one document on stdout; github: workflow annotations.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modalgen")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors, warnings and diffs.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail.")
@project_option
@click.pass_context
def main(context: click.Context, quiet: bool, verbose: bool, project_dir: Path | None) -> None:
    """Generate deployable Modal apps that serve LLMs with SGLang or vLLM, from declarative specs.

    Every command works from any folder of a project: the folder holding modalgen.toml (which
    `modalgen init` writes), or specs/ beside generated/. Colour is used on a terminal, unless
    NO_COLOR is set.
    """
    context.obj = Console(quiet=quiet, verbose=verbose)


@main.command()
@spec_argument
@project_option
def generate(specs: tuple[Path, ...], project_dir: Path | None) -> None:
    """Write generated/<name>.py for each SPEC (default: every spec of the project).

    Every spec is validated first; if any is invalid, no file is written, and the files are
    written all or none. Removes the generated files whose spec is gone (only files that carry
    modalgen's header) and temporary files a stopped run left, and keeps the project's schema
    current. A file the user's cache knows to be up to date is left alone without validating
    its spec again, so its warnings show when it is next rewritten, or with `modalgen validate`.
    """
    project = _project(project_dir)
    every_spec = project.discover_specs()
    paths = _spec_paths(project, specs, project_dir)
    _, rest = project.split_current(paths)
    with _exit_on_spec_error("nothing was written."):
        outputs = {output.source.document.path: output for output in _render(project, rest)}
    _warn(output.source for output in outputs.values())
    console = _console()
    leftovers = project.orphans({*every_spec, *paths})
    removals = [d.path for d in leftovers if d.kind in (DriftKind.ORPHANED, DriftKind.LEFTOVER)]
    extra: list[tuple[Path, str]] = []
    schema = project.schema_drift()
    if schema is not None:
        extra.append((schema.path, project.expected_schema()))
    _refuse_credentials(project, list(outputs.values()))
    try:
        project.check_targets(project.output_path(path) for path in paths)
        result = project.write_all(list(outputs.values()), removals, extra)
    except (UnsafeOutputPath, WriteFailed) as error:
        raise click.ClickException(str(error)) from None
    for path in paths:
        target = project.output_path(path)
        status = "wrote" if target in result.written else "unchanged"
        console.info(status, f"{target.as_posix()} (from {project.display_path(path)})")
    for drift in leftovers:
        if drift.kind is DriftKind.ORPHANED:
            console.info("removed", f"{drift.path.as_posix()} (no spec generates it any more)")
        elif drift.kind is DriftKind.LEFTOVER:
            console.info("removed", f"{drift.path.as_posix()} (a stopped run's temporary file)")
        else:
            console.problem("warning", f"{drift.path.as_posix()}: {drift.reason}")
    if schema is not None:
        console.info("wrote", f"{schema.path.as_posix()} (the spec schema)")


@main.command()
@spec_argument
@project_option
@format_option
def validate(specs: tuple[Path, ...], project_dir: Path | None, format_: str) -> None:
    """Check each SPEC (default: every spec of the project) without writing anything."""
    project = _project(project_dir)
    paths = _spec_paths(project, specs, project_dir)
    report = Report("validate", [project.display_path(path) for path in paths])
    try:
        loaded = project.load_all(paths)
    except SpecError as error:
        if format_ == "text":
            _report(error, "fix them and run again.")
        report.findings += [Finding.from_problem(p, Severity.ERROR) for p in _once(error.problems)]
        _emit(report, format_)
        sys.exit(EXIT_INVALID_SPEC)
    report.findings += _warnings(loaded)
    if format_ == "text":
        for finding in report.findings:
            _console().problem("warning", _finding_text(finding))
        for spec in loaded:
            _console().info("ok", spec.display_path)
    _emit(report, format_)


@main.command()
@project_option
@format_option
def check(project_dir: Path | None, format_: str) -> None:
    """Fail when generated/ or the schema is not exactly what `generate` would write.

    Checks every spec of the project. Names each stale, missing, hand-edited, orphaned or
    leftover file, with its diff. Proves it by rendering each spec and comparing byte for byte,
    except where the user's cache already knows the answer for these very bytes; nothing in
    the repository is trusted instead. Writes nothing in the project: made for pre-commit hooks
    and CI (`--format github` annotates a pull request).
    """
    project = _project(project_dir)
    console = _console()
    paths = _spec_paths(project, (), project_dir)
    report = Report("check", [project.output_path(path).as_posix() for path in paths])
    current, rest = project.split_current(paths)
    try:
        outputs = _render(project, rest)
    except SpecError as error:
        if format_ == "text":
            _report(error, "cannot check generated/.")
        report.findings += [Finding.from_problem(p, Severity.ERROR) for p in _once(error.problems)]
        _emit(report, format_)
        sys.exit(EXIT_INVALID_SPEC)
    _refuse_credentials(project, outputs)
    drifts = project.drift(outputs, current)
    schema = project.schema_drift()
    if schema is not None:
        drifts.append(schema)
    report.findings += [_drift_finding(drift) for drift in drifts]
    if format_ != "text":
        _emit(report, format_)
    else:
        for drift in drifts:
            console.problem(
                "drift", f"{drift.path.as_posix()}: {drift.kind.value}: {_reason(drift)}"
            )
            if drift.diff:
                console.diff(drift.diff)
    if drifts:
        if format_ == "text":
            click.echo(
                f"{len(drifts)} file(s) out of date; run `modalgen generate` and review.", err=True
            )
        sys.exit(EXIT_DRIFT)
    if format_ == "text":
        what = f"{len(paths)} generated file(s)"
        kept = project.schema_path
        console.info(
            "ok", f"{what} and {kept.as_posix()} up to date" if kept else f"{what} up to date"
        )


def _reason(drift: Drift) -> str:
    """Why the file is out of date, and (for the schema) what fixes it."""
    if drift.path.suffix != ".json":
        return drift.reason
    if drift.kind is DriftKind.MISSING:
        return (
            "modalgen.toml keeps the spec schema here, but there is none; "
            "`modalgen generate` writes it"
        )
    if drift.kind is DriftKind.STALE:
        return (
            "not the schema this modalgen writes; "
            "`modalgen generate` (or `modalgen schema`) rewrites it"
        )
    return drift.reason


def _drift_finding(drift: Drift) -> Finding:
    line = _first_changed_line(drift.diff)
    fix = "; run `modalgen generate` and commit the result" if drift.kind in _REGENERATE else ""
    return Finding(
        Severity.ERROR,
        drift.path.as_posix(),
        f"{drift.kind.value}: {_reason(drift)}{fix}",
        line=line,
        column=1 if line is not None else None,
        kind=drift.kind.value,
    )


# The drift that `generate` mends, and whose reason does not say so already.
_REGENERATE = (DriftKind.MISSING, DriftKind.STALE, DriftKind.HAND_EDITED)
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


def _first_changed_line(diff: str) -> int | None:
    """The line of the file on disk that the diff changes first (1 for a file to be written)."""
    line = None
    for text in diff.splitlines():
        hunk = _HUNK.match(text)
        if hunk is not None:
            line = int(hunk[1])
        elif line is not None and text[:1] == " ":
            line += 1
        elif line is not None and text[:1] in "+-":
            if not HEADER_LINE.match(text[1:]):  # the inputs digest changes with any change
                return max(1, line)
            line += text[:1] == "-"
    return None


@main.command()
@spec_argument
@project_option
def diff(specs: tuple[Path, ...], project_dir: Path | None) -> None:
    """Print the unified diff `generate` would apply to each SPEC's file; write nothing.

    Exits 1 when it prints a difference and 0 when there is none, as `git diff --exit-code`.
    """
    project = _project(project_dir)
    paths = _spec_paths(project, specs, project_dir)
    _, rest = project.split_current(paths)
    with _exit_on_spec_error("nothing to diff."):
        outputs = _render(project, rest)
    _refuse_credentials(project, outputs)
    drifts = project.drift(outputs, [])
    drifts = [drift for drift in drifts if drift.path in {output.path for output in outputs}]
    for drift in drifts:
        if drift.diff:
            _console().diff(drift.diff)
        else:
            _console().problem("drift", f"{drift.path.as_posix()}: {drift.reason}")
    if drifts:
        sys.exit(EXIT_DIFFERENCE)


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--format", "format_", type=click.Choice(FORMATS), default="toml", show_default=True)
@project_option
def show(spec: Path, format_: str, project_dir: Path | None) -> None:
    """Print SPEC fully resolved: bases merged, every default filled in."""
    from generator.view.resolved import dump

    project = _project_or_here(project_dir)
    path = _in_project(project, spec, project_dir)
    with _exit_on_spec_error("nothing to show."):
        (loaded,) = project.load_all([path])
    click.echo(dump(loaded.spec, format_), nl=False)


@main.command()
@click.argument("name")
@click.option("--model", required=True, help="Hugging Face repository id, ORG/NAME.")
@click.option(
    "--revision",
    required=True,
    help="Full 40-character commit hash to pin; a branch or tag (main) is accepted with a "
    "warning, and `modalgen pin` replaces it with its commit.",
)
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
    project_dir: Path | None,
) -> None:
    """Write a commented, valid starter spec to specs/NAME.toml."""
    project = _project_or_here(project_dir)
    if not SPEC_STEM.fullmatch(name):
        raise click.BadParameter("use lower-case letters, digits and _", param_hint="NAME")
    _refuse_link_out(project, project.specs_dir)
    target = project.specs_dir / f"{name}.toml"
    if target.exists() or any(project.specs_dir.glob(f"{name}.y*ml")):
        raise click.UsageError(
            f"a spec named {name!r} already exists in {project.display_path(project.specs_dir)}/"
        )
    from generator.authoring.starter import starter_spec

    with _exit_on_spec_error("nothing was written.", "the options of `modalgen new`"):
        text = starter_spec(name, model, revision, gpu, engine, engine_image)
    project.specs_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    _console().info("wrote", f"{project.display_path(target)}; next: `modalgen generate`")


def _refuse_link_out(project: Project, folder: Path) -> None:
    """Stop when `folder` (of the project) resolves outside it: nothing is written through a
    symbolic link to another place."""
    if not folder.resolve().is_relative_to(project.root.resolve()):
        name = folder.relative_to(project.root).as_posix()
        raise click.ClickException(
            f"refusing to write into {name}/: it resolves to {folder.resolve()}, outside the "
            "project (a symbolic link?); nothing was written"
        )


@main.command()
@project_option
def schema(project_dir: Path | None) -> None:
    """Write the spec schema (schemas/spec.schema.json) from the spec models, for editors and CI.

    `generate` keeps it current once the project has it."""
    project = _project(project_dir)
    target = project.schema_path or Path(project.settings.schema or "schemas/spec.schema.json")
    _refuse_link_out(project, (project.root / target).parent)
    changed = project.write_schema(target)
    _console().info("wrote" if changed else "unchanged", target.as_posix())


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="The starter spec's name; default: from the model.")
@click.option("--model", default=None, help="Hugging Face repository id, ORG/NAME, to serve.")
@click.option(
    "--revision", default=None, help="With --model: the full commit hash to pin (or a branch)."
)
@click.option("--gpu", default=None, help="With --model: Modal GPU as TYPE:COUNT, such as H100:1.")
@click.option(
    "--engine", type=click.Choice(ENGINE_KINDS), default=DEFAULT_ENGINE, show_default=True
)
def init(
    directory: Path | None,
    name: str | None,
    model: str | None,
    revision: str | None,
    gpu: str | None,
    engine: str,
) -> None:
    """Make DIRECTORY (default: this folder) a modalgen project.

    Writes modalgen.toml, a starter spec in specs/ (for --model, else a commented example), the
    spec schema, a pre-commit config and a GitHub workflow that run `modalgen check` at this
    release of modalgen, and adds bench/ to .gitignore. Never overwrites a file: what exists is
    skipped, so running it twice changes nothing.
    """
    from generator.authoring import scaffold
    from generator.authoring.starter import starter_spec

    if model is None and (revision or gpu):
        raise click.UsageError("--revision and --gpu go with --model")
    if model is not None and not (revision and gpu):
        raise click.UsageError("--model needs --revision (a full commit hash, or main) and --gpu")
    root = (directory or _start_dir(None) or Path.cwd()).resolve()
    if root.exists() and not root.is_dir():
        raise click.BadParameter(f"{root} is not a folder", param_hint="DIRECTORY")
    name = name or _spec_name(model or scaffold.DEFAULT_MODEL)
    if not SPEC_STEM.fullmatch(name):
        raise click.BadParameter("use lower-case letters, digits and _", param_hint="--name")
    project = Project(root)
    has_specs = bool(project.discover_specs())
    with _exit_on_spec_error("nothing was written."):
        text = starter_spec(
            name,
            model or scaffold.DEFAULT_MODEL,
            revision or scaffold.DEFAULT_REVISION,
            gpu or scaffold.DEFAULT_GPU,
            engine,
            None,
        )
    release = scaffold.this_release()
    planned = scaffold.plan(
        root, name, None if has_specs else text, project.expected_schema(), release
    )
    try:
        root.mkdir(parents=True, exist_ok=True)
        scaffold.write(root, planned)
    except OSError as error:
        raise click.ClickException(
            f"cannot write into {root}: {error.strerror or error}; nothing was written"
        ) from None
    console = _console()
    if has_specs:
        console.info("unchanged", f"{project.settings.specs}/ (it holds specs already)")
    for item in planned:
        if item.skip is not None:
            console.info("unchanged", f"{item.path.as_posix()} ({item.skip}: left as it is)")
        else:
            console.info("wrote", item.path.as_posix() + (" (added bench/)" if item.append else ""))
    if not has_specs:
        console.info("next", f"edit {project.settings.specs}/{name}.toml, then `modalgen generate`")


def _spec_name(model: str) -> str:
    """A spec name from a model id: `Qwen/Qwen3-8B` -> `qwen3_8b`."""
    stem = re.sub(r"[^a-z0-9]+", "_", model.rpartition("/")[2].lower()).strip("_")
    return stem if SPEC_STEM.fullmatch(stem) else f"model_{stem}".rstrip("_")


@main.command()
@click.argument("words", nargs=-1, metavar="[ENGINE] VERSION [PATTERN]")
@click.option(
    "--versions",
    "list_versions",
    is_flag=True,
    help="List the versions with a catalog instead, bundled and the project's: [ENGINE].",
)
@click.option(
    "--diff",
    "diff_versions",
    nargs=2,
    default=None,
    metavar="OLD NEW",
    help="What changed from release OLD to NEW: options added, removed, renamed, changed.",
)
@project_option
def flags(
    words: tuple[str, ...],
    list_versions: bool,
    diff_versions: tuple[str, str] | None,
    project_dir: Path | None,
) -> None:
    """List the server options of ENGINE (sglang or vllm; default sglang) VERSION.

    As its catalog records them: `sglang.launch_server` for SGLang, `vllm serve` for vLLM.
    PATTERN keeps the options whose name or alias matches it (a regular expression, or plain
    text), such as `speculative` or `^--mem`. Examples: `modalgen flags vllm 0.11.2 speculative`,
    `modalgen flags sglang 0.5.10.post1 ^--mem`, `modalgen flags --versions vllm`,
    `modalgen flags sglang --diff 0.5.10.post1 0.5.23 cuda-graph`. The project's own catalogs
    (`modalgen catalog add`) are used beside modalgen's.
    """
    _project_or_here(project_dir)  # its catalogs are looked up beside the bundled ones
    if list_versions:
        _print_versions(words)
        return
    if diff_versions:
        _flags_diff(words, diff_versions)
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
    project_dir: Path | None,
) -> None:
    """Extract the option catalog of ENGINE VERSION into the project's catalogs/.

    From the release's sdist or wheel, downloaded from the package index, or read from --from
    FILE offline. Specs on that version are then checked against it (`modalgen flags --versions`
    lists it). Nothing is written when the release cannot be read.
    """
    from generator.project.project_catalogs import CatalogAddError, add_catalog

    project = _project_or_here(project_dir)
    try:
        added = add_catalog(project.root, engine.lower(), version, source, force, index_url)
    except CatalogAddError as error:
        raise click.ClickException(str(error)) from None
    status = "replaced" if added.replaced else "wrote"
    _console().info(status, f"{project.display_path(added.path)} ({added.summary})")


@main.command()
@spec_argument
@click.option(
    "--dry-run", is_flag=True, help="Print the edits as a diff and write nothing (exit 0)."
)
@project_option
def pin(specs: tuple[Path, ...], dry_run: bool, project_dir: Path | None) -> None:
    """Replace each branch or tag a SPEC serves (`revision = "main"`) with its current commit.

    Default: every spec of the project. Each revision is resolved through the Hugging Face Hub
    (HF_ENDPOINT, else https://huggingface.co; HF_TOKEN for gated and private repositories), and
    the spec is rewritten in place, its comments and layout kept. A revision a base sets is
    pinned in the base, for every spec that extends it. If any revision cannot be resolved,
    nothing is written. Run `modalgen generate` afterwards to regenerate the apps.
    """
    from generator.authoring.pin import HubClient, describe, plan
    from generator.authoring.spec_edit import EditError, SpecEditor
    from generator.spec.inherit import load_layered

    project = _project(project_dir)
    paths = _spec_paths(project, specs, project_dir)
    console = _console()
    with _exit_on_spec_error("nothing was written."):
        documents = [load_layered(path, project.display_path(path)) for path in paths]
    editor = SpecEditor()
    try:
        pins, problems = plan(documents, HubClient.from_environment(), editor)
    except EditError as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    if problems:
        _report(SpecError(problems), "nothing was written.")
        sys.exit(EXIT_INVALID_SPEC)
    if not pins:
        console.info("ok", f"every revision of {len(paths)} spec(s) is a commit; nothing to pin")
        return
    _refuse_edits_outside(project, editor, "pin")
    if dry_run:
        console.diff(editor.diff())
        for item in pins:
            console.info("would pin", describe(item))
        console.info("dry run", "nothing was written; run `modalgen pin` to write")
        return
    try:
        editor.write()
    except EditError as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    for item in pins:
        console.info("pinned", describe(item))
    console.info("next", "run `modalgen generate` to regenerate the apps from the pinned specs")


# --- modalgen upgrade, flags --diff, outdated -------------------------------------------------

EXIT_UNTRANSLATABLE = 1


def _flags_diff(words: tuple[str, ...], versions: tuple[str, str]) -> None:
    """`flags [ENGINE] --diff OLD NEW [PATTERN]`: one line an option that changed."""
    from generator.authoring.upgrade import UpgradeError, format_diff, option_diff
    from generator.engines.registry import ENGINES as REGISTRY

    named = bool(words) and words[0].lower() in ENGINE_KINDS
    engine = words[0].lower() if named else DEFAULT_ENGINE
    rest = words[1:] if named else words
    if len(rest) > 1:
        raise click.UsageError("give [ENGINE] --diff OLD NEW [PATTERN]")
    pattern = None
    if rest:
        try:
            pattern = re.compile(rest[0])
        except re.error:
            pattern = re.compile(re.escape(rest[0]))
    try:
        diff = option_diff(REGISTRY[engine], *versions)
    except UpgradeError as error:
        raise click.UsageError(str(error)) from None
    for line in format_diff(diff, pattern):
        click.echo(line)


@main.command()
@spec_argument
@click.option("--engine-version", "version", default=None, help="The release to move to.")
@click.option("--latest", is_flag=True, help="Move to the newest catalogued release.")
@click.option("--write", is_flag=True, help="Write the edits (default: print them, write nothing).")
@click.option(
    "--force", is_flag=True, help="With --write: write even when some options cannot be moved."
)
@project_option
def upgrade(
    specs: tuple[Path, ...],
    version: str | None,
    latest: bool,
    write: bool,
    force: bool,
    project_dir: Path | None,
) -> None:
    """Move each SPEC (default: every spec of the project) to another engine release.

    The version is changed where the spec says it (`image.engine_version`, the registry tag,
    keeping its suffix scheme, or an `ENGINE==X` pin in a layer), and every option of
    `engine.extra_args` and `engine.config` that the new release renamed is renamed, following
    the option catalogs of every release between (and, for vLLM, a curated list of its renames).
    A field a base sets is changed in the base, and the specs that read it are named. Default:
    a dry run that prints the diff and, for each spec it changes, the diff of its generated file
    (rendered in memory), and writes nothing. With --write the files are written in place,
    comments and layout kept, and the apps regenerated. An option the new release removed, or a
    value it refuses, is listed at its file:line and nothing is written unless --force. Exit 0:
    upgraded, or nothing to do; 1: something cannot be moved (or a spec is invalid, or a file
    changed since it was read); 2: usage.
    """
    from generator.authoring.spec_edit import EditError, SpecEditor
    from generator.authoring.upgrade import UpgradeError, check_upgraded, describe, plan_upgrade
    from generator.checks.validation import validate_document
    from generator.engines.registry import engine_for
    from generator.render.render import FormatFailed, RenderError
    from generator.spec.inherit import load_layered

    if (version is None) == (not latest):
        raise click.UsageError("give --engine-version VERSION or --latest (one of them)")
    if force and not write:
        raise click.UsageError("--force goes with --write")
    project = _project(project_dir)
    paths = _spec_paths(project, specs, project_dir)
    console = _console()
    with _exit_on_spec_error("nothing was written."):
        documents = [load_layered(path, project.display_path(path)) for path in paths]
        items = []
        for document in documents:
            spec = validate_document(document, project.root)
            engine = engine_for(spec)
            current = engine.version(spec)
            if current is None:
                field, what = engine.version_source(spec)
                raise SpecError(
                    [document.problem(f"cannot tell the {engine.title} version of {what}", field)]
                )
            items.append((document, engine, current))
    every_document = list(documents)
    given = {path.resolve() for path in paths}
    for path in project.discover_specs():
        if path.resolve() not in given:
            with contextlib.suppress(SpecError):
                every_document.append(load_layered(path, project.display_path(path)))
    editor = SpecEditor()
    try:
        plan = plan_upgrade(items, version, editor, every_document)
    except (UpgradeError, EditError) as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    _refuse_edits_outside(project, editor, "upgrade")
    spec_files = {document.display_path: document.path for document in every_document}
    try:
        upgraded = check_upgraded(plan, editor, project, spec_files, render=not write)
    except (SpecError, RenderError, FormatFailed) as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    problems = _once([*plan.problems, *upgraded.problems])
    for text in (editor.diff(), "".join(change.diff() for change in upgraded.generated)):
        if text:
            console.diff(text)
    for edit in plan.edits:
        console.info("would change" if not write else "changes", describe(edit))
    for change in upgraded.generated:
        console.info("would regenerate", change.path)
    for display in upgraded.unrendered:
        if not write:
            console.info("not generated", f"{display}: invalid on the new release (below)")
    for problem in problems:
        console.problem("error", str(problem))
    if not plan.edits and not problems:
        console.info("ok", f"{len(paths)} spec(s) on that release already; nothing to do")
        return
    if problems and not force:
        click.echo(
            f"{len(problems)} option(s) cannot be moved to the new release; nothing was written "
            "(change them by hand, or --write --force to write the rest)",
            err=True,
        )
        sys.exit(EXIT_UNTRANSLATABLE)
    if not write:
        console.info("dry run", "nothing was written; run again with --write to write")
        return
    try:
        written = editor.write()
    except EditError as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    for file in written:
        console.info("wrote", file.display_path)
    regenerate = [
        path for path in project.discover_specs() if project.display_path(path) in plan.affected
    ]
    if regenerate:
        click.get_current_context().invoke(
            generate, specs=tuple(regenerate), project_dir=project_dir
        )
    if problems:
        sys.exit(EXIT_UNTRANSLATABLE)


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option(
    "--from",
    "results",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The JSON the app's load test wrote (its BENCH_OUTPUT, such as bench/APP.json).",
)
@click.option(
    "--peak-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Requests per second at peak: also set max_containers to the replicas it needs.",
)
@click.option("--write", is_flag=True, help="Write the change; default: print it as a diff.")
@project_option
def capacity(
    spec: Path, results: Path, peak_rate: float | None, write: bool, project_dir: Path | None
) -> None:
    """Set SPEC's concurrency target to the highest level its load test held within the SLO.

    Reads the JSON `python APP.py bench` wrote and prints the change of the server section as a
    diff: the kind's concurrency target (`target_inputs` or `target_concurrency`) and, with
    --peak-rate, `max_containers`. With --write the spec is edited in place, its comments and
    layout kept (a field a base sets is edited in the base); a spec changed on disk meanwhile is
    refused. Exits 1, writing nothing, when no level was within the SLO. Run `modalgen generate`
    afterwards to regenerate the app.
    """
    from generator.authoring.capacity import CapacityError, describe, read_results
    from generator.authoring.capacity import capacity as measure
    from generator.authoring.spec_edit import EditError, SpecEditor, specs_reading
    from generator.checks.validation import load_spec

    project = _project(project_dir)
    path = _in_project(project, spec, project_dir)
    console = _console()
    with _exit_on_spec_error("nothing was written."):
        loaded = load_spec(path, project.display_path(path), project.root)
    shown = results.as_posix()
    try:  # relative to -C DIR, as SPEC is
        levels, slo = read_results(_base_dir(project_dir) / results, shown)
        sized = measure(loaded.spec, levels, slo, shown, peak_rate)
    except CapacityError as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    editor = SpecEditor()
    changes = []
    try:
        for field, value in sized.settings.items():
            target = editor.owner(loaded.document, field)
            if target.has(field) and target.get(field) == value:
                console.info(
                    "unchanged", describe(field, value, sized.notes[field], target.display_path)
                )
                continue
            target.set(field, value)
            changes.append((field, value, target))
    except EditError as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    more = " (the sweep's highest level: it may hold more)" if sized.highest_swept else ""
    console.info("capacity", f"{sized.concurrency} requests in flight per replica{more}")
    if not changes:
        console.info("ok", f"{loaded.display_path} is sized so already; nothing to write")
        return
    _refuse_edits_outside(project, editor, "size")
    documents = [loaded.document, *_other_documents(project, path)]
    for field, value, target in changes:
        readers = [r.display_path for r in specs_reading(field, target, documents)]
        others = [reader for reader in readers if reader != target.display_path]
        suffix = f"; read by {', '.join(others)}" if others else ""
        console.info(
            "set", describe(field, value, sized.notes[field], target.display_path) + suffix
        )
    if not write:
        console.diff(editor.diff())
        console.info("dry run", "nothing was written; add --write to write it")
        return
    try:
        editor.write()
    except EditError as error:
        raise click.ClickException(f"{error}; nothing was written") from None
    for edit in editor.edits():
        console.info("wrote", edit.display_path)
    console.info("next", "run `modalgen generate` to regenerate the app from the sized spec")


@main.command()
@spec_argument
@project_option
def outdated(specs: tuple[Path, ...], project_dir: Path | None) -> None:
    """List each SPEC (default: every spec) on an engine release older than the newest one
    modalgen has a catalog of, with the command that moves it. Exit 0 whatever it finds."""
    from generator.checks.validation import validate_document
    from generator.engines.option_table import version_key
    from generator.engines.registry import engine_for
    from generator.spec.inherit import load_layered

    project = _project(project_dir)
    paths = _spec_paths(project, specs, project_dir)
    console = _console()
    found = 0
    with _exit_on_spec_error("nothing was checked."):
        for path in paths:
            document = load_layered(path, project.display_path(path))
            spec = validate_document(document, project.root)
            engine = engine_for(spec)
            current = engine.version(spec)
            known = engine.available_versions()
            newest = max(known, key=version_key) if known else None
            if current is None or newest is None:
                console.info("unknown", f"{document.display_path}: no {engine.title} version")
            elif version_key(current) < version_key(newest):
                found += 1
                console.info(
                    "outdated",
                    f"{document.display_path}: {engine.title} {current}, newest {newest}; "
                    f"`modalgen upgrade {document.display_path} --latest`",
                )
    if not found:
        console.info("ok", f"{len(paths)} spec(s) on the newest catalogued releases")


def _other_documents(project: Project, spec: Path) -> Iterator[SourceDocument]:
    """The project's other specs that load, to say which of them an edit of a base changes."""
    from generator.spec.inherit import load_layered

    for path in project.discover_specs():
        if path.resolve() != spec.resolve():
            with contextlib.suppress(SpecError):
                yield load_layered(path, project.display_path(path), project.root)

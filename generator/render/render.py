"""Render validated specs into formatted Python source: a pure function of specs and templates."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from generator import locations
from generator.checks.validation import LoadedSpec
from generator.code.pycode import PyCode
from generator.locations import TEMPLATE
from generator.render.provenance import inputs_digest
from generator.view.view import build_view

# ruff's formatter with fixed settings, whatever configuration surrounds the output directory.
RUFF_FORMAT_ARGS = ("format", "--isolated", "--line-length", "100", "--target-version", "py311")


class RenderError(Exception):
    """The templates produced something that is not valid Python: a bug in modalgen."""


class FormatFailed(Exception):
    """The formatter could not be run (no room for its temporary files, say): nothing was
    written."""


@dataclass(frozen=True)
class Output:
    """One generated file: where it goes, relative to the project root, and its content."""

    path: Path
    source: LoadedSpec
    content: str


def templates_dir() -> Path:
    """`templates/` of the checkout, or the copy packaged into an installed wheel."""
    found = locations.find_templates_dir()
    if found is None:
        raise RenderError(f"cannot find {TEMPLATE} next to the generator package")
    return found


def _only_code(value: object) -> object:
    """Jinja `finalize`: a template may only place `PyCode`, never raw spec data."""
    if not isinstance(value, PyCode):
        raise RenderError(
            f"template tried to output {type(value).__name__} {value!r}; "
            "wrap values with pycode.literal() in the view"
        )
    return value


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_only_code,
    )


def output_path(spec: LoadedSpec, output_dir: Path) -> Path:
    return output_dir / f"{spec.document.path.stem}.py"


def render_unformatted(spec: LoadedSpec, output_dir: Path) -> str:
    """The file for `spec`, before formatting."""
    path = output_path(spec, output_dir)
    digest = inputs_digest(spec.spec, spec.display_path, templates_dir(), _ruff_version())
    view = build_view(spec.spec, spec.display_path, path.as_posix(), digest)
    template = environment().get_template(TEMPLATE)
    text = template.render(app=view)
    try:
        ast.parse(text, filename=path.as_posix())
    except SyntaxError as error:
        raise RenderError(
            f"{TEMPLATE} rendered invalid Python for {spec.display_path} at line "
            f"{error.lineno}: {error.msg}\n  {error.text}"
        ) from None
    return text


def render_all(specs: list[LoadedSpec], output_dir: Path) -> list[Output]:
    """The generated files for `specs`, formatted. Writes nothing."""
    texts = [render_unformatted(spec, output_dir) for spec in specs]
    return [
        Output(output_path(spec, output_dir), spec, content)
        for spec, content in zip(specs, format_sources(texts), strict=True)
    ]


@cache
def _ruff_version() -> str:
    """The formatter's version, one of the inputs of every file (pinned in pyproject.toml)."""
    return f"ruff=={importlib.metadata.version('ruff')}"


def _ruff() -> str:
    from ruff.__main__ import find_ruff_bin

    return find_ruff_bin()


def format_sources(texts: list[str]) -> list[str]:
    """Format Python sources with ruff: one process for all of them, on copies in a temporary
    directory (a process per source costs more than formatting does)."""
    if not texts:
        return []
    try:
        return _format_in(texts)
    except OSError as error:
        raise FormatFailed(
            f"cannot format the generated code in a temporary folder ({tempfile.gettempdir()}): "
            f"{error.strerror or error}; nothing was written"
        ) from None


def _format_in(texts: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="modalgen-format-") as directory:
        files = [Path(directory) / f"source_{index:05d}.py" for index in range(len(texts))]
        for file, text in zip(files, texts, strict=True):
            file.write_bytes(text.encode())
        result = subprocess.run(
            [_ruff(), *RUFF_FORMAT_ARGS, "--no-cache", "--", *map(str, files)],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise RenderError(f"ruff format failed: {result.stderr.decode(errors='replace')}")
        return [file.read_bytes().decode() for file in files]

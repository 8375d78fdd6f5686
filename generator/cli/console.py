"""How the CLI talks: coloured on a terminal, plain when piped or NO_COLOR is set; --quiet keeps
errors and diffs only, --verbose adds detail."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import click

STYLES = {
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "ok": {"fg": "green"},
    "wrote": {"fg": "green", "bold": True},
    "unchanged": {"dim": True},
    "drift": {"fg": "red"},
}
DIFF_STYLES = {"+": {"fg": "green"}, "-": {"fg": "red"}, "@": {"fg": "cyan"}}


def use_color(stream=None) -> bool:
    if "NO_COLOR" in os.environ:
        return False
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


@dataclass(frozen=True)
class Console:
    quiet: bool = False
    verbose: bool = False

    def _echo(self, text: str, err: bool) -> None:
        color = use_color(sys.stderr if err else sys.stdout)
        click.echo(text, err=err, color=color)

    def label(self, kind: str, text: str) -> str:
        return f"{click.style(kind, **STYLES.get(kind, {}))} {text}"

    def info(self, kind: str, text: str) -> None:
        """A line of progress, on stdout; dropped with --quiet."""
        if not self.quiet:
            self._echo(self.label(kind, text), err=False)

    def detail(self, text: str) -> None:
        """A line only --verbose shows."""
        if self.verbose and not self.quiet:
            self._echo(click.style(text, dim=True), err=False)

    def problem(self, kind: str, text: str) -> None:
        """An error or warning, on stderr; never dropped."""
        self._echo(f"{click.style(kind + ':', **STYLES.get(kind, {}))} {text}", err=True)

    def diff(self, text: str) -> None:
        """A unified diff, on stdout; never dropped (it is the output asked for)."""
        lines = []
        for line in text.splitlines():
            style = {} if line.startswith(("+++", "---")) else DIFF_STYLES.get(line[:1], {})
            lines.append(click.style(line, **style) if style else line)
        self._echo("\n".join(lines), err=False)

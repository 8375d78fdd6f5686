"""Where modalgen's files are: its package, the templates it renders, and which files are
specs. Imports nothing, so that finding them costs nothing on the fast path of `check`."""

from __future__ import annotations

from pathlib import Path

TEMPLATE = "app.py.jinja"
# The suffixes of spec files: TOML or YAML.
SUFFIXES = (".toml", ".yaml", ".yml")
PACKAGE_DIR = Path(__file__).resolve().parent


def find_templates_dir() -> Path | None:
    """`templates/` of the checkout, or the copy packaged into an installed wheel."""
    for candidate in (PACKAGE_DIR.parent / "templates", PACKAGE_DIR / "templates"):
        if (candidate / TEMPLATE).is_file():
            return candidate
    return None

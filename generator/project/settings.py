"""`modalgen.toml`, the project file: it marks a project's root (commands find it upward from
any folder below it) and says where the project keeps its files.

    [paths]
    specs = "specs"                      # one spec per app; files starting with _ are bases
    generated = "generated"              # the generated apps, committed
    catalogs = "catalogs"                # option catalogs added by `modalgen catalog add`
    schema = "schemas/spec.schema.json"  # the spec schema editors read; "" keeps none

Every key is optional. Without a project file the defaults apply, and the schema is kept only
where the project already has one at its default path.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.spec import safe_files

PROJECT_FILE = "modalgen.toml"
MAX_PROJECT_FILE_BYTES = 64 * 1024
DEFAULT_SCHEMA = "schemas/spec.schema.json"
PATH_KEYS = ("specs", "generated", "catalogs", "schema")


class ProjectFileError(Exception):
    """modalgen.toml cannot be used; the message gives the file, line and what to write."""


@dataclass(frozen=True)
class Settings:
    specs: str = "specs"
    generated: str = "generated"
    catalogs: str = "catalogs"
    # None: the project keeps no schema; `schema_optional`: only where one exists already.
    schema: str | None = DEFAULT_SCHEMA
    schema_optional: bool = True


def read_settings(root: Path) -> Settings:
    """The settings of the project at `root`: its modalgen.toml, or the defaults without one."""
    path = root / PROJECT_FILE
    if not path.exists() and not path.is_symlink():
        return Settings()
    try:
        text = safe_files.read_bytes(root, path, MAX_PROJECT_FILE_BYTES).decode("utf-8")
        data = tomllib.loads(text)
    except safe_files.FileRefused as error:
        raise ProjectFileError(f"{PROJECT_FILE}: {error}") from None
    except UnicodeDecodeError:
        raise ProjectFileError(f"{PROJECT_FILE}: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ProjectFileError(f"{PROJECT_FILE}: {error}") from None
    return _settings(data, text)


def _settings(data: dict[str, object], text: str) -> Settings:
    unknown = sorted(set(data) - {"paths"})
    if unknown:
        raise _error(text, unknown[0], f"unknown key {unknown[0]!r}; expected only [paths]")
    paths = data.get("paths", {})
    if not isinstance(paths, dict):
        raise _error(text, "paths", "expected a table, [paths]")
    values: dict[str, str] = {}
    for key, value in paths.items():
        if key not in PATH_KEYS:
            raise _error(
                text, key, f"paths.{key}: unknown key; expected one of {', '.join(PATH_KEYS)}"
            )
        problem = _path_problem(key, value)
        if problem is not None:
            raise _error(text, key, f"paths.{key}: {problem}")
        values[key] = PurePosixPath(str(value)).as_posix() if value else ""
    settings = Settings(
        specs=values.get("specs", "specs"),
        generated=values.get("generated", "generated"),
        catalogs=values.get("catalogs", "catalogs"),
        schema=(values["schema"] or None) if "schema" in values else DEFAULT_SCHEMA,
        schema_optional="schema" not in values,
    )
    folders = [settings.specs, settings.generated, settings.catalogs]
    if len(set(folders)) != len(folders):
        raise _error(text, "paths", "specs, generated and catalogs must be different folders")
    return settings


def _path_problem(key: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"expected a path relative to this file, as a string; given {value!r}"
    if value == "" and key == "schema":
        return None
    if not value or re.search(r"[\x00-\x1f\x7f\\]", value):
        return "expected a non-empty path of printable characters, with / between folders"
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or value.startswith("~"):
        return f"{value!r} leaves the project: give a path inside it, relative to this file"
    if path.parts in ((), (".",)):
        return "expected a folder below the project root, not the root itself"
    return None


def _error(text: str, key: str, message: str) -> ProjectFileError:
    match = re.search(rf"^\s*\[?\s*{re.escape(key)}\b", text, re.MULTILINE)
    line = text.count("\n", 0, match.start()) + 1 if match else 1
    return ProjectFileError(f"{PROJECT_FILE}:{line}: {message}")


def project_file_text(settings: Settings = Settings()) -> str:
    """The project file `modalgen init` writes, every setting shown with its meaning."""
    return f"""\
# modalgen project: `modalgen` finds this project from any folder below this file.
# Every path is relative to this file; every key is optional.

[paths]
specs = "{settings.specs}"                      # one spec per app; names starting with _ are bases
generated = "{settings.generated}"              # the generated apps: commit them, never edit them
catalogs = "{settings.catalogs}"                # engine option catalogs from `modalgen catalog add`
schema = "{settings.schema or ""}"  # the spec schema editors read; "" keeps none
"""

"""An engine command's options as its catalog records them, and how argparse reads a flag.

Shared by the engines: each loads its catalogs (JSON under `generator/catalogs/`) into
`OptionTable`s, which resolve a flag as argparse would (exact name or unambiguous prefix) and
check a value against the option's type and choices.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.engines.catalog_folders import BUNDLED_DIR, CatalogFolder, catalog_folders

# modalgen's own catalogs (a project's are registered in `catalog_folders`).
CATALOG_DIR = BUNDLED_DIR
# The sha256 of each catalog, one `<digest>  <file name>` line each, as `sha256sum` writes them:
# what modalgen's own digest reads instead of the catalogs' many megabytes (see raw_inputs).
MANIFEST_NAME = "SHA256SUMS"
CATALOG_MANIFEST = CATALOG_DIR / MANIFEST_NAME
_VERSION_TEXT = re.compile(r"[0-9A-Za-z.+-]+")


def catalog_manifest_text(directory: Path = CATALOG_DIR) -> str:
    """The manifest the catalogs in `directory` call for."""
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        for path in sorted(directory.glob("*.json"))
    ]
    return "".join(lines)


def write_catalog_manifest(directory: Path = CATALOG_DIR) -> None:
    """Bring the manifest up to date after a catalog was written."""
    (directory / MANIFEST_NAME).write_text(catalog_manifest_text(directory), "utf-8")


def manifest_entries(manifest: Path) -> dict[str, str]:
    """File name -> sha256, as the manifest records them; lines it cannot read are left out."""
    entries: dict[str, str] = {}
    for line in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        if re.fullmatch(r"[0-9a-f]{64}", digest) and name:
            entries[name] = digest
    return entries


def catalog_file_name(engine: str, version: str) -> str:
    return f"{engine}-{version}.json"


# -- where catalogs are found: modalgen's own, and folders registered beside them --------------


class CatalogCorrupt(Exception):
    """A catalog file of a project's catalog folder that is not what its manifest records, or
    not a catalog; the message names the file and says what to do."""

    def __init__(self, path: Path, problem: str, engine: str, version: str) -> None:
        super().__init__(
            f"{path}: {problem}; extract it again with `modalgen catalog add {engine} "
            f"{version} --force`, or remove it"
        )
        self.path = path


def catalog_files(engine: str) -> list[tuple[str, CatalogFolder]]:
    """(version, folder) of every catalog file of `engine`, in lookup order: a version can be
    in two folders, and is read from the first."""
    return [
        (path.name.removeprefix(f"{engine}-").removesuffix(".json"), folder)
        for folder in catalog_folders()
        for path in sorted(folder.path.glob(f"{engine}-*.json"))
    ]


def catalog_versions(engine: str) -> dict[str, CatalogFolder]:
    """Each catalogued version of `engine` and the folder its catalog is read from, oldest
    first."""
    found: dict[str, CatalogFolder] = {}
    for version, folder in catalog_files(engine):
        found.setdefault(version, folder)
    return dict(sorted(found.items(), key=lambda item: version_key(item[0])))


def find_catalog(engine: str, version: str) -> tuple[Path, CatalogFolder] | None:
    if not _VERSION_TEXT.fullmatch(version):
        return None
    for folder in catalog_folders():
        path = folder.path / catalog_file_name(engine, version)
        if path.is_file():
            return path, folder
    return None


def read_catalog_data(
    engine: str, version: str, required: tuple[str, ...], title: str
) -> dict[str, Any]:
    """The catalog of `engine` `version` as JSON data; CatalogNotFound when no folder has it,
    CatalogCorrupt when a project's file does not match its manifest or is not a catalog."""
    found = find_catalog(engine, version)
    if found is None:
        raise CatalogNotFound(version, title)
    path, folder = found
    return read_catalog_file(path, folder.checked, engine, version, required)


def read_catalog_file(
    path: Path, checked: bool, engine: str, version: str, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The JSON data of one catalog file, checked against the manifest beside it when
    `checked`; CatalogCorrupt when it does not match, is not JSON or lacks a `required` key.
    Cached until the file or the manifest changes."""
    manifest = path.parent / MANIFEST_NAME
    key = (path, _stamp(path), _stamp(manifest) if checked else None)
    return _read_catalog(key, checked, engine, version, required)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


@cache
def _read_catalog(
    key: tuple[Path, object, object],
    checked: bool,
    engine: str,
    version: str,
    required: tuple[str, ...],
) -> dict[str, Any]:
    path = key[0]
    data = path.read_bytes()
    if checked:
        manifest = path.parent / MANIFEST_NAME
        if not manifest.is_file():
            raise CatalogCorrupt(path, f"no {MANIFEST_NAME} beside it", engine, version)
        recorded = manifest_entries(manifest).get(path.name)
        if recorded is None:
            raise CatalogCorrupt(path, f"not listed in {manifest}", engine, version)
        if hashlib.sha256(data).hexdigest() != recorded:
            raise CatalogCorrupt(
                path, f"its sha256 is not the one {manifest} records (edited?)", engine, version
            )
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise CatalogCorrupt(path, f"not valid JSON ({error})", engine, version) from None
    missing = [name for name in required if not isinstance(document, dict) or name not in document]
    if missing:
        raise CatalogCorrupt(
            path, f"not an option catalog (no {', '.join(missing)})", engine, version
        )
    return document


FLAG_TYPE = "bool-flag"

_HUMAN_READABLE_INT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:k|M|G|T)|[0-9]+(?:Ki|Mi|Gi|Ti)")
# vllm.utils.argparse_utils.human_readable_int: decimal k/m/g/t, binary K/M/G/T (whole numbers)
_VLLM_HUMAN_READABLE_INT = re.compile(r"[0-9]+(?:\.[0-9]+)?[kmgt]|[0-9]+[KMGT]")
# Types whose values are JSON text; a spec may give them as a mapping.
JSON_TYPES = frozenset({"json", "json_or_str"})


class CatalogNotFound(LookupError):
    def __init__(self, version: str, engine: str = "SGLang") -> None:
        super().__init__(f"no option catalog for {engine} {version}")
        self.version = version
        self.engine = engine


class OptionError(ValueError):
    """A flag that argparse would refuse or expand, with what to write instead."""


def version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.a-z]+", version))


@dataclass(frozen=True)
class Option:
    """One option of an SGLang command, as its catalog records it."""

    name: str
    aliases: tuple[str, ...]
    type: str | None
    nargs: int | str | None
    action: str
    choices: tuple[Any, ...] | None
    choices_unresolved: str | None
    default: Any
    help: str
    deprecated: bool
    replacement: str | None
    hidden: bool
    dest: str | None = None  # argparse's destination: two names of one setting share it

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Option:
        choices = record.get("choices")
        return cls(
            name=record["name"],
            aliases=tuple(record.get("aliases", ())),
            type=record.get("type"),
            nargs=record.get("nargs"),
            action=record.get("action", "store"),
            choices=tuple(choices) if choices is not None else None,
            choices_unresolved=record.get("choices_unresolved"),
            default=record.get("default"),
            help=record.get("help", ""),
            deprecated=bool(record.get("deprecated")),
            replacement=record.get("replacement"),
            hidden=bool(record.get("hidden")),
            dest=record.get("dest"),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def is_flag(self) -> bool:
        return self.nargs == 0

    def describe_type(self) -> str:
        if self.is_flag:
            return "flag"
        kind = self.type or "str"
        if self.nargs in ("+", "*"):
            return f"{kind} list"
        if self.nargs == "?":
            return f"optional {kind}"
        return kind


@dataclass(frozen=True)
class Resolution:
    option: Option
    written: str
    expanded: str

    @property
    def exact(self) -> bool:
        return self.written == self.expanded


# argparse adds `-h/--help` to every parser; it takes part in prefix matching.
HELP_OPTION = Option(
    "--help", ("-h",), None, 0, "help", None, None, None, "show the help", False, None, False
)


class OptionTable:
    """The options of one command of one engine version (SGLang unless told)."""

    def __init__(
        self, command: str, version: str, records: list[dict[str, Any]], engine: str = "SGLang"
    ) -> None:
        self.command = command
        self.version = version
        self.engine = engine
        self.options = [Option.from_record(record) for record in records]
        self.by_string: dict[str, Option] = {}
        for option in [*self.options, HELP_OPTION]:
            for name in option.names:
                self.by_string.setdefault(name, option)

    def resolve(self, flag: str) -> Resolution:
        """The option argparse gives `flag`: exact, else an unambiguous prefix of a long name."""
        option = self.by_string.get(flag)
        if option is not None:
            return Resolution(option, flag, flag)
        where = f"`{self.command}` of {self.engine} {self.version}"
        candidates = sorted(
            name for name in self.by_string if name.startswith("--") and name.startswith(flag)
        )
        if flag.startswith("--") and len(candidates) == 1:
            return Resolution(self.by_string[candidates[0]], flag, candidates[0])
        if flag.startswith("--") and len(candidates) > 1:
            raise OptionError(
                f"`{flag}` is ambiguous in {where}: it abbreviates "
                f"{_names(candidates)}; write the full name of the one you mean"
            )
        message = f"`{flag}` is not an option of {where}"
        close = self.closest(flag)
        if close:
            message += f"; closest: {_names(close)}"
        raise OptionError(message)

    def closest(self, flag: str, count: int = 3) -> list[str]:
        names = [name for name in self.by_string if name.startswith("--")]
        return difflib.get_close_matches(flag, names, n=count, cutoff=0.6)

    def check_value(self, option: Option, value: object) -> str | None:
        """Why argparse would refuse `value` for `option`, as the generated argv passes it."""
        if value is None or value is False:
            return None
        if value is True:
            if option.is_flag or option.nargs in ("?", "*"):
                return None
            return (
                f"`{option.name}` takes a value ({option.describe_type()}"
                f"{self._allowed(option)}); `true` would pass the flag without one"
            )
        if option.is_flag:
            return (
                f"`{option.name}` is a flag and takes no value; write `true` to pass it "
                "(`false` leaves it out)"
            )
        if isinstance(value, dict) and option.type in JSON_TYPES and option.nargs is None:
            return None
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list):
            count = len(value)
            if option.nargs in (None, "?") or (
                isinstance(option.nargs, int) and count != option.nargs
            ):
                expected = "one value" if option.nargs in (None, "?") else f"{option.nargs} values"
                return f"`{option.name}` takes {expected}; given a list of {count}"
            if option.nargs == "+" and count == 0:
                return f"`{option.name}` takes one or more values; given an empty list"
        for item in items:
            problem = self._check_item(option, str(item))
            if problem is not None:
                return problem
        return None

    def _check_item(self, option: Option, text: str) -> str | None:
        converted = _convert(option.type, text)
        if converted is _INVALID:
            expected = _TYPE_WORDS.get(option.type or "str", option.type)
            return f"`{option.name}` takes {expected}; given {text!r}"
        if option.choices is not None:
            allowed = [str(choice) for choice in option.choices]
            if converted not in option.choices and text not in allowed:
                message = f"{text!r} is not a choice of `{option.name}`; allowed: "
                message += ", ".join(allowed)
                close = difflib.get_close_matches(text, allowed, n=1, cutoff=0.75)
                return f"{message}; did you mean {close[0]!r}?" if close else message
        return None

    @staticmethod
    def _allowed(option: Option) -> str:
        if option.choices is None:
            return ""
        return "; allowed: " + ", ".join(str(choice) for choice in option.choices)


_INVALID = object()
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "text",
    "json": "JSON",
    "json_list": "a JSON list",
    "human_readable_int": "an integer, optionally with a suffix such as 128k or 1Mi",
    "vllm_human_readable_int": "an integer, optionally with a suffix such as 128k or 1M",
    "vllm_human_readable_int_or_auto": "an integer (suffixes such as 128k allowed), or auto",
}


def _convert(kind: str | None, text: str) -> object:
    """`text` as argparse's `type=` makes it, `_INVALID` when that fails; text when unknown.
    Numbers are ASCII: `int()` and `float()` also read Arabic-Indic and full-width
    digits, which a spec's numbers are never written with."""
    if kind in _TYPE_WORDS and kind not in ("str", "json", "json_list") and not text.isascii():
        return _INVALID
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "human_readable_int":
            return text if _HUMAN_READABLE_INT.fullmatch(text.strip()) else int(text)
        if kind == "vllm_human_readable_int_or_auto" and text.strip().lower() == "auto":
            return text
        if kind in ("vllm_human_readable_int", "vllm_human_readable_int_or_auto"):
            return text if _VLLM_HUMAN_READABLE_INT.fullmatch(text.strip()) else int(text)
        if kind in ("json", "json_list"):
            json.loads(text)
            return text
    except ValueError:
        return _INVALID
    return text


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)

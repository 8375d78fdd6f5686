"""Making an option catalog from an engine release: its files read from an sdist, a wheel or a
source folder, fetched from a package index when asked, and the catalog written beside its
sha256 manifest.

One code path for modalgen's bundled catalogs (`scripts/extract_*_catalog.py`) and for a
project's own (`modalgen catalog add`). Nothing of the engine is imported: the extractors parse
its source (see `sglang.py` and `vllm.py` beside this module).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from generator.engines.option_table import MANIFEST_NAME, catalog_file_name, manifest_entries

PYPI_SIMPLE = "https://pypi.org/simple/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_NAME_SEPARATORS = re.compile(r"[-_.]+")


class CatalogSourceError(Exception):
    """A release that cannot be fetched or read; the message says what to do. Nothing written."""


@dataclass(frozen=True)
class Extractor:
    """How one engine's catalog is made from its release."""

    engine: str  # `engine.kind`
    title: str  # "SGLang"
    package: str  # the distribution and its top-level package: "sglang"
    required: str  # a file every release has, to tell a wrong archive: "sglang/srt/server_args.py"
    prefer: tuple[str, ...]  # the kinds of file to fetch, best first: ("wheel", "sdist")
    extract: Callable[[dict[str, str], str, Path], dict[str, Any]]  # files, version, source
    summary: Callable[[dict[str, Any]], str]


def _sglang_catalog(files: dict[str, str], version: str, source: Path) -> dict[str, Any]:
    from generator.extract.sglang import SERVER_ARGS_MODULE, extract_catalog

    key = "wheel" if source.name.endswith(".whl") else "file"
    path = SERVER_ARGS_MODULE.replace(".", "/") + ".py"
    return extract_catalog(files, version, {key: source.name, "path": path})


def _sglang_summary(catalog: dict[str, Any]) -> str:
    return (
        f"{len(catalog['launch_server'])} launch_server options, "
        f"{len(catalog['compile_deep_gemm'])} compile_deep_gemm options, "
        f"{len(catalog['env_vars'])} SGLANG_* variables"
    )


def _vllm_catalog(files: dict[str, str], version: str, source: Path) -> dict[str, Any]:
    from generator.extract.vllm import SOURCE_PATHS, extract_catalog

    read = [path for path in SOURCE_PATHS if path in files]
    return extract_catalog(files, version, {"file": source.name, "paths": read})


def _vllm_summary(catalog: dict[str, Any]) -> str:
    return (
        f"{len(catalog['serve'])} serve options, {len(catalog['env_vars'])} VLLM_* variables, "
        f"{len(catalog['unresolved'])} statement(s) not followed"
    )


EXTRACTORS: dict[str, Extractor] = {
    "sglang": Extractor(
        "sglang",
        "SGLang",
        "sglang",
        "sglang/srt/server_args.py",
        # SGLang's wheels hold its Python source; they are a few megabytes.
        ("wheel", "sdist"),
        _sglang_catalog,
        _sglang_summary,
    ),
    "vllm": Extractor(
        "vllm",
        "vLLM",
        "vllm",
        "vllm/engine/arg_utils.py",
        # vLLM's sdists are 10-50 MB, its wheels ~400 MB.
        ("sdist", "wheel"),
        _vllm_catalog,
        _vllm_summary,
    ),
}


# -- reading a release -----------------------------------------------------------------------


def source_files(source: Path, package: str) -> dict[str, str]:
    """`<package>/...py` path -> text, from an sdist (`.tar.gz`, `.zip`), a wheel or a source
    folder (holding `<package>/`, or one folder that does)."""
    prefix = f"{package}/"
    if source.is_dir():
        root = source if (source / package).is_dir() else next(source.glob(f"*/{package}"), None)
        if root is None:
            return {}
        root = root if root == source else root.parent
        return {
            path.relative_to(root).as_posix(): path.read_text(encoding="utf-8", errors="replace")
            for path in (root / package).rglob("*.py")
        }
    if source.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(source) as archive:
            found: dict[str, str] = {}
            for name in archive.namelist():
                inside = name if name.startswith(prefix) else name.partition("/")[2]
                if inside.startswith(prefix) and inside.endswith(".py"):
                    found[inside] = archive.read(name).decode("utf-8", errors="replace")
            return found
    files: dict[str, str] = {}
    with tarfile.open(source) as archive:
        for member in archive.getmembers():
            _, _, inside = member.name.partition("/")
            if member.isfile() and inside.startswith(prefix) and inside.endswith(".py"):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[inside] = extracted.read().decode("utf-8", errors="replace")
    return files


def release_version(file_name: str, package: str) -> str | None:
    """The version an sdist's or wheel's name says (`sglang-0.5.9-py3-none-any.whl` -> `0.5.9`),
    None for another package's file or a name that says none."""
    if file_name.endswith(".whl"):
        name, _, rest = file_name.removesuffix(".whl").partition("-")
        version = rest.partition("-")[0]
    else:
        stem = next(
            (file_name.removesuffix(end) for end in (".tar.gz", ".zip") if file_name.endswith(end)),
            None,
        )
        if stem is None:
            return None
        name, _, version = stem.rpartition("-")
    if _normalise(name) != _normalise(package) or not version:
        return None
    return version


def _normalise(name: str) -> str:
    return _NAME_SEPARATORS.sub("-", name).lower()


def catalog_text(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def build_catalog(engine: str, version: str, source: Path) -> dict[str, Any]:
    """The catalog of `engine` `version` read from `source`; CatalogSourceError when the file
    is not that release or holds no source to read."""
    extractor = EXTRACTORS[engine]
    if not source.exists():
        raise CatalogSourceError(f"{source}: no such file or folder")
    named = None if source.is_dir() else release_version(source.name, extractor.package)
    if named is not None and named != version:
        raise CatalogSourceError(
            f"{source.name} is {extractor.title} {named}, not {version}: give the sdist or "
            f"wheel of {extractor.package} {version}"
        )
    try:
        files = source_files(source, extractor.package)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
        raise CatalogSourceError(
            f"{source}: cannot read it as an sdist, a wheel or a source folder ({error})"
        ) from None
    if extractor.required not in files:
        raise CatalogSourceError(
            f"{source}: holds no {extractor.required}, so it is not a release of "
            f"{extractor.title}: give the sdist or wheel of {extractor.package} {version}"
        )
    return extractor.extract(files, version, source)


# -- writing it ------------------------------------------------------------------------------


def write_catalog(engine: str, version: str, source: Path, output_dir: Path) -> Path:
    """Extract the catalog of `engine` `version` from `source` into `output_dir`, and record
    its sha256 in the folder's manifest; the other entries of the manifest are kept as they are.
    Both files are replaced atomically, the catalog first."""
    catalog = build_catalog(engine, version, source)
    text = catalog_text(catalog)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / catalog_file_name(engine, version)
    manifest = output_dir / MANIFEST_NAME
    entries = manifest_entries(manifest) if manifest.is_file() else {}
    entries[path.name] = hashlib.sha256(text.encode()).hexdigest()
    manifest_text = "".join(f"{entries[name]}  {name}\n" for name in sorted(entries))
    _replace(path, text)
    _replace(manifest, manifest_text)
    return path


def describe(engine: str, catalog_path: Path) -> str:
    catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    return EXTRACTORS[engine].summary(catalog)


def _replace(target: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- fetching it from a package index --------------------------------------------------------


@dataclass(frozen=True)
class IndexFile:
    name: str
    url: str
    sha256: str | None


def index_url() -> str:
    """The package index pip is configured with: $PIP_INDEX_URL, else pip's `global.index-url`
    setting, else PyPI."""
    explicit = os.environ.get("PIP_INDEX_URL")
    if explicit:
        return explicit
    import subprocess
    import sys

    try:
        configured = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return PYPI_SIMPLE
    value = configured.stdout.strip()
    return value if configured.returncode == 0 and value else PYPI_SIMPLE


def release_files(package: str, index: str) -> list[IndexFile]:
    """Every file the index lists for `package` (PEP 691 JSON or PEP 503 HTML)."""
    base = index if index.endswith("/") else index + "/"
    url = urllib.parse.urljoin(base, f"{_normalise(package)}/")
    request = urllib.request.Request(
        url, headers={"Accept": f"{SIMPLE_JSON}, text/html;q=0.1", "User-Agent": "modalgen"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            kind = response.headers.get_content_type()
            body = response.read()
            final = response.geturl()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise CatalogSourceError(_unreachable(url, f"HTTP {error.code}")) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CatalogSourceError(_unreachable(url, str(reason))) from None
    if kind == SIMPLE_JSON or body.lstrip().startswith(b"{"):
        files = json.loads(body)["files"]
        return [
            IndexFile(
                item["filename"],
                urllib.parse.urljoin(final, item["url"]),
                item.get("hashes", {}).get("sha256"),
            )
            for item in files
        ]
    links = _Links()
    links.feed(body.decode("utf-8", errors="replace"))
    found = []
    for href, text in links.found:
        target, _, fragment = urllib.parse.urljoin(final, href).partition("#")
        digest = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None
        found.append(IndexFile(text.strip(), target, digest))
    return found


def _unreachable(url: str, reason: str) -> str:
    return (
        f"cannot read the package index at {url} ({reason}): offline, give the release's "
        "sdist or wheel with --from FILE"
    )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.found.append((self._href, self._text))
            self._href = None


def choose_release_file(engine: str, version: str, files: list[IndexFile], index: str) -> IndexFile:
    """The file of `version` to read, of the kind the engine prefers; CatalogSourceError naming
    the newest versions the index has when it has no file of that version."""
    extractor = EXTRACTORS[engine]
    mine = [item for item in files if release_version(item.name, extractor.package) == version]

    def kind(item: IndexFile) -> str:
        return "wheel" if item.name.endswith(".whl") else "sdist"

    def rank(item: IndexFile) -> tuple[int, int]:
        pure = 0 if item.name.endswith("-none-any.whl") or kind(item) == "sdist" else 1
        return extractor.prefer.index(kind(item)), pure

    if not mine:
        from generator.engines.option_table import version_key

        versions = {release_version(item.name, extractor.package) for item in files} - {None}
        newest = sorted(versions, key=version_key)[-3:]  # type: ignore[arg-type]
        has = f"its newest: {', '.join(newest)}" if newest else f"it lists no {extractor.package}"
        raise CatalogSourceError(
            f"the package index {index} has no release {extractor.package} {version} ({has}): "
            "check the version, or give the release's sdist or wheel with --from FILE"
        )
    return min(mine, key=rank)


def fetch_release(engine: str, version: str, directory: Path, index: str | None = None) -> Path:
    """Download the sdist or wheel of `engine` `version` from the package index into
    `directory`, its sha256 checked when the index gives one."""
    index = index or index_url()
    chosen = choose_release_file(
        engine, version, release_files(EXTRACTORS[engine].package, index), index
    )
    target = directory / Path(urllib.parse.unquote(chosen.name)).name
    try:
        with (
            urllib.request.urlopen(chosen.url, timeout=600) as response,
            target.open("wb") as stream,
        ):
            digest = hashlib.sha256()
            while block := response.read(1 << 20):
                digest.update(block)
                stream.write(block)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CatalogSourceError(f"cannot download {chosen.url} ({reason})") from None
    if chosen.sha256 and digest.hexdigest() != chosen.sha256:
        raise CatalogSourceError(f"{chosen.name}: its sha256 does not match the index's")
    return target

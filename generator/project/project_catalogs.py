"""A project's own option catalogs: engine releases newer than modalgen's bundled catalogs (or
forks of them), written by `modalgen catalog add` and used beside the bundled ones.

They live in one folder of the project, `catalogs/` at its root unless `modalgen.toml` says
otherwise (`[paths] catalogs`), under a sha256 manifest (`SHA256SUMS`) as the bundled ones do; a
file that does not match it is refused when read. The folder is named by `project_catalog_dir`
alone.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.engines.catalog_folders import use_catalog_folders


def project_catalog_dir(root: Path) -> Path:
    """The folder of the project's own catalogs: `[paths] catalogs` of its modalgen.toml, by
    default `catalogs/` at the project's root (also when the project file cannot be read: that
    is reported where the settings are read)."""
    from generator.project.settings import ProjectFileError, Settings, read_settings

    try:
        return root / read_settings(root).catalogs
    except ProjectFileError:
        return root / Settings().catalogs


def use_project_catalogs(root: Path) -> None:
    """Use the project's catalogs beside the bundled ones from now on (one project at a time)."""
    use_catalog_folders([project_catalog_dir(root)])


class CatalogAddError(Exception):
    """`catalog add` refused, before writing anything; the message says why and what to do."""


@dataclass(frozen=True)
class Added:
    path: Path
    replaced: bool
    summary: str


def add_catalog(
    root: Path,
    engine: str,
    version: str,
    source: Path | None,
    force: bool = False,
    index: str | None = None,
) -> Added:
    """Extract the catalog of `engine` `version` into the project's catalog folder, from
    `source` or else from the release fetched from the package index. Writes nothing when it
    refuses: an existing catalog without `force`, a version the bundled catalogs have without
    `force`, a damaged catalog folder, a release the index does not have."""
    from generator.engines.option_table import catalog_file_name, find_catalog
    from generator.extract.source import (
        EXTRACTORS,
        CatalogSourceError,
        describe,
        fetch_release,
        write_catalog,
    )

    extractor = EXTRACTORS[engine]
    folder = project_catalog_dir(root)
    target = folder / catalog_file_name(engine, version)
    if not _is_version(version):
        raise CatalogAddError(f"{version!r} is not a version, such as 0.5.23")
    replaced = target.exists()
    if replaced and not force:
        raise CatalogAddError(
            f"{target} exists: pass --force to extract it again over it; nothing was written"
        )
    found = find_catalog(engine, version)
    if not force and found is not None and not found[1].checked:
        raise CatalogAddError(
            f"modalgen bundles the catalog of {extractor.title} {version} already; nothing was "
            "written (--force writes the project's own copy, which is then used instead)"
        )
    _check_folder(folder, keep=None if not force else target.name)
    try:
        if source is not None:
            path = write_catalog(engine, version, source, folder)
        else:
            with tempfile.TemporaryDirectory(prefix=f"modalgen-{engine}-") as directory:
                fetched = fetch_release(engine, version, Path(directory), index)
                path = write_catalog(engine, version, fetched, folder)
    except CatalogSourceError as error:
        raise CatalogAddError(f"{error}; nothing was written") from None
    return Added(path, replaced, describe(engine, path))


def _is_version(version: str) -> bool:
    import re

    return re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", version) is not None


def _check_folder(folder: Path, keep: str | None) -> None:
    """Refuse to touch a catalog folder whose files do not match its manifest: rewriting the
    manifest would bless them. `keep` is the file about to be replaced, which may be damaged."""
    if not folder.exists():
        return
    from generator.engines.option_table import (
        MANIFEST_NAME,
        CatalogCorrupt,
        manifest_entries,
        read_catalog_file,
    )

    manifest = folder / MANIFEST_NAME
    listed = manifest_entries(manifest) if manifest.is_file() else {}
    for path in sorted(folder.glob("*.json")):
        if path.name == keep:
            continue
        engine, _, version = path.name.removesuffix(".json").partition("-")
        if path.name not in listed:
            raise CatalogAddError(
                f"{path}: not listed in {manifest}; remove it, or extract it again with "
                f"`modalgen catalog add {engine} {version} --force`; nothing was written"
            )
        try:
            read_catalog_file(path, True, engine, version)
        except CatalogCorrupt as error:
            raise CatalogAddError(f"{error}; nothing was written") from None

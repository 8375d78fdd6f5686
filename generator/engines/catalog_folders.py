"""The folders option catalogs are looked up in: modalgen's bundled `generator/catalogs/`, and
folders registered beside it (a project's own, see `project_catalogs`).

Imports next to nothing, so that a project can register its folder on the fast path of `check`;
`option_table` reads catalogs from these folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Every engine's catalogs, one JSON file a version: `sglang-0.5.9.json`, `vllm-0.11.2.json`.
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "catalogs"


@dataclass(frozen=True)
class CatalogFolder:
    """A folder of catalogs: modalgen's bundled ones, or a project's (`modalgen catalog add`),
    whose files are checked against its manifest when they are read."""

    path: Path
    origin: str  # "bundled" or "project"

    @property
    def checked(self) -> bool:
        return self.origin != "bundled"


BUNDLED = CatalogFolder(BUNDLED_DIR, "bundled")
_registered: list[CatalogFolder] = []


def use_catalog_folders(paths: list[Path], origin: str = "project") -> None:
    """Look catalogs up in `paths` besides the bundled ones, from now on (replacing the folders
    registered before): a version found there is read from there, even one modalgen bundles."""
    _registered[:] = [CatalogFolder(path, origin) for path in paths]


def catalog_folders() -> tuple[CatalogFolder, ...]:
    """Where catalogs are looked up, first match wins: the registered folders, then modalgen's."""
    return (*_registered, BUNDLED)

"""Write generator/catalogs/sglang-<version>.json: the options and env variables of one SGLang.

    python scripts/extract_sglang_catalog.py 0.5.10.post1 [VERSION ...]
    python scripts/extract_sglang_catalog.py 0.5.10.post1 --wheel path/to/sglang-...whl

Downloads a wheel from the package index pip is configured with (PyPI by default) unless
`--wheel` is given (an sdist or a source directory does too), and reads its source without
importing SGLang (see `generator.extract.sglang`). The same code as `modalgen
catalog add sglang VERSION`, which writes into a project's own catalogs instead of modalgen's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.engines.option_table import CATALOG_DIR  # noqa: E402
from generator.extract.source import (  # noqa: E402
    CatalogSourceError,
    catalog_text,
    describe,
    fetch_release,
)
from generator.extract.source import write_catalog as write_engine_catalog  # noqa: E402

__all__ = ["catalog_text", "fetch_release", "main", "write_catalog"]


def write_catalog(version: str, wheel: Path, output_dir: Path) -> Path:
    path = write_engine_catalog("sglang", version, wheel, output_dir)
    print(f"wrote {path} ({describe('sglang', path)})")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="SGLang versions, such as 0.5.10.post1")
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading one")
    parser.add_argument("--output-dir", type=Path, default=CATALOG_DIR)
    args = parser.parse_args(argv)
    if args.wheel is not None and len(args.versions) != 1:
        parser.error("--wheel goes with exactly one version")
    try:
        for version in args.versions:
            if args.wheel is not None:
                write_catalog(version, args.wheel, args.output_dir)
                continue
            with tempfile.TemporaryDirectory(prefix="sglang-wheel-") as directory:
                source = fetch_release("sglang", version, Path(directory))
                write_catalog(version, source, args.output_dir)
    except CatalogSourceError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()

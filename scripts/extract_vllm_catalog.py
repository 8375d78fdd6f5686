"""Write generator/catalogs/vllm-<version>.json: the `vllm serve` options and VLLM_* variables.

    python scripts/extract_vllm_catalog.py 0.11.2 [VERSION ...]
    python scripts/extract_vllm_catalog.py 0.11.2 --source path/to/vllm-0.11.2.tar.gz

Downloads the sdist (about 10-50 MB; the wheels are ~400 MB) from the package index pip is
configured with (PyPI by default), checks its sha256, and reads only its `vllm/**.py` files
without importing vLLM or torch (see `generator.extract.vllm`). `--source` takes
an sdist, a wheel or an unpacked source directory instead. The same code as `modalgen catalog
add vllm VERSION`, which writes into a project's own catalogs instead of modalgen's.
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


def write_catalog(version: str, source: Path, output_dir: Path) -> Path:
    path = write_engine_catalog("vllm", version, source, output_dir)
    print(f"wrote {path} ({describe('vllm', path)})")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="vLLM versions, such as 0.11.2")
    parser.add_argument(
        "--source", type=Path, help="an sdist, wheel or source directory to read instead"
    )
    parser.add_argument("--output-dir", type=Path, default=CATALOG_DIR)
    args = parser.parse_args(argv)
    if args.source is not None and len(args.versions) != 1:
        parser.error("--source goes with exactly one version")
    try:
        for version in args.versions:
            if args.source is not None:
                write_catalog(version, args.source, args.output_dir)
                continue
            with tempfile.TemporaryDirectory(prefix="vllm-sdist-") as directory:
                source = fetch_release("vllm", version, Path(directory))
                write_catalog(version, source, args.output_dir)
    except CatalogSourceError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()

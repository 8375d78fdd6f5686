"""Write generator/catalogs/vllm-<version>.json: the `vllm serve` options and VLLM_* variables.

    python scripts/extract_vllm_catalog.py 0.11.2 [VERSION ...]
    python scripts/extract_vllm_catalog.py 0.11.2 --source path/to/vllm-0.11.2.tar.gz

Downloads the sdist (about 10-50 MB; the wheels are ~400 MB) named by PyPI's simple index,
checks its sha256, and reads only its `vllm/**.py` files without importing vLLM or torch (see
`generator.engines.vllm.catalog_extract`). `--source` takes an sdist, a wheel or an unpacked
source directory instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.engines.option_table import write_catalog_manifest  # noqa: E402
from generator.engines.vllm.catalog_extract import SOURCE_PATHS, extract_catalog  # noqa: E402

CATALOG_DIR = ROOT / "generator" / "catalogs"
SIMPLE_INDEX = "https://pypi.org/simple/vllm/"


def download_sdist(version: str, directory: Path) -> Path:
    request = urllib.request.Request(
        SIMPLE_INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    name = f"vllm-{version}.tar.gz"
    entry = next((item for item in files if item["filename"] == name), None)
    if entry is None:
        raise SystemExit(
            f"PyPI has no sdist {name}: download the wheel (`pip download vllm=={version} "
            "--no-deps -d DIR`, about 400 MB) and pass it with --source"
        )
    target = directory / name
    urllib.request.urlretrieve(entry["url"], target)
    expected = entry.get("hashes", {}).get("sha256")
    if expected and hashlib.sha256(target.read_bytes()).hexdigest() != expected:
        raise SystemExit(f"{name}: sha256 does not match PyPI's")
    return target


def source_files(source: Path) -> dict[str, str]:
    """`vllm/...py` path -> text, from an sdist, a wheel or a source directory."""
    if source.is_dir():
        root = source if (source / "vllm").is_dir() else next(source.glob("*/vllm")).parent
        return {
            path.relative_to(root).as_posix(): path.read_text(encoding="utf-8", errors="replace")
            for path in (root / "vllm").rglob("*.py")
        }
    if source.name.endswith(".whl"):
        with zipfile.ZipFile(source) as archive:
            return {
                name: archive.read(name).decode("utf-8", errors="replace")
                for name in archive.namelist()
                if name.startswith("vllm/") and name.endswith(".py")
            }
    files: dict[str, str] = {}
    with tarfile.open(source) as archive:
        for member in archive.getmembers():
            _, _, inside = member.name.partition("/")
            if member.isfile() and inside.startswith("vllm/") and inside.endswith(".py"):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[inside] = extracted.read().decode("utf-8", errors="replace")
    return files


def catalog_text(catalog: dict) -> str:
    return json.dumps(catalog, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_catalog(version: str, source: Path, output_dir: Path) -> Path:
    files = source_files(source)
    read = [path for path in SOURCE_PATHS if path in files]
    catalog = extract_catalog(files, version, {"file": source.name, "paths": read})
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"vllm-{version}.json"
    path.write_text(catalog_text(catalog), encoding="utf-8")
    write_catalog_manifest(output_dir)
    print(
        f"wrote {path} ({len(catalog['serve'])} serve options, "
        f"{len(catalog['env_vars'])} VLLM_* variables, "
        f"{len(catalog['unresolved'])} statement(s) not followed)"
    )
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
    for version in args.versions:
        if args.source is not None:
            write_catalog(version, args.source, args.output_dir)
            continue
        with tempfile.TemporaryDirectory(prefix="vllm-sdist-") as directory:
            write_catalog(version, download_sdist(version, Path(directory)), args.output_dir)


if __name__ == "__main__":
    main()

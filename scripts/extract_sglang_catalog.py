"""Write generator/catalogs/sglang-<version>.json: the options and env variables of one SGLang.

    python scripts/extract_sglang_catalog.py 0.5.10.post1 [VERSION ...]
    python scripts/extract_sglang_catalog.py 0.5.10.post1 --wheel path/to/sglang-...whl

Downloads the wheel from PyPI (`pip download --no-deps`) unless `--wheel` is given, and reads
its source without importing SGLang (see `generator.engines.sglang.catalog_extract`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.engines.option_table import write_catalog_manifest  # noqa: E402
from generator.engines.sglang.catalog_extract import SERVER_ARGS_MODULE, extract_catalog  # noqa: E402

CATALOG_DIR = ROOT / "generator" / "catalogs"


def download_wheel(version: str, directory: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            str(directory),
            f"sglang=={version}",
        ],
        check=True,
    )
    (wheel,) = directory.glob("sglang-*.whl")
    return wheel


def wheel_sources(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            name: archive.read(name).decode("utf-8", errors="replace")
            for name in archive.namelist()
            if name.startswith("sglang/") and name.endswith(".py")
        }


def catalog_text(catalog: dict) -> str:
    return json.dumps(catalog, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_catalog(version: str, wheel: Path, output_dir: Path) -> Path:
    source = {
        "wheel": wheel.name,
        "path": SERVER_ARGS_MODULE.replace(".", "/") + ".py",
    }
    catalog = extract_catalog(wheel_sources(wheel), version, source)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"sglang-{version}.json"
    path.write_text(catalog_text(catalog), encoding="utf-8")
    write_catalog_manifest(output_dir)
    print(
        f"wrote {path} ({len(catalog['launch_server'])} launch_server options, "
        f"{len(catalog['compile_deep_gemm'])} compile_deep_gemm options, "
        f"{len(catalog['env_vars'])} SGLANG_* variables)"
    )
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="SGLang versions, such as 0.5.10.post1")
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading one")
    parser.add_argument("--output-dir", type=Path, default=CATALOG_DIR)
    args = parser.parse_args(argv)
    if args.wheel is not None and len(args.versions) != 1:
        parser.error("--wheel goes with exactly one version")
    for version in args.versions:
        if args.wheel is not None:
            write_catalog(version, args.wheel, args.output_dir)
            continue
        with tempfile.TemporaryDirectory(prefix="sglang-wheel-") as directory:
            write_catalog(version, download_wheel(version, Path(directory)), args.output_dir)


if __name__ == "__main__":
    main()

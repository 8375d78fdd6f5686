"""The corpus of broken specs under tests/cases/: each must fail with its expected messages.

Each case folder holds one spec file (`spec.toml`, `spec.yaml`, ...) and `expected.txt`, one
message fragment a line, each of which must appear in the output of `modalgen validate`. Run
`pytest tests/test_spec_errors.py --show-case-output` to print what each case reports.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli.cli import main

CASES = Path(__file__).parent / "cases"


def case_spec(folder: Path) -> Path:
    (spec,) = [path for path in folder.iterdir() if path.name.startswith("spec.")]
    return spec


@pytest.mark.parametrize("folder", sorted(CASES.iterdir()), ids=lambda path: path.name)
def test_broken_spec_is_reported(folder: Path, request: pytest.FixtureRequest) -> None:
    spec = case_spec(folder)
    result = CliRunner().invoke(main, ["validate", "-C", str(folder), str(spec)])
    if request.config.getoption("--show-case-output"):
        print(f"\n--- {folder.name}\n{result.output}")
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for fragment in (folder / "expected.txt").read_text(encoding="utf-8").splitlines():
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"


def test_corpus_is_large_enough() -> None:
    assert len(list(CASES.iterdir())) >= 30

"""The package, tests, scripts and benchmarks pass ruff's linter and formatter."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT

LINTED = ["generator", "tests", "scripts", "benchmarks"]


def _ruff() -> str:
    from ruff.__main__ import find_ruff_bin

    return find_ruff_bin()


def test_ruff_check() -> None:
    paths = [name for name in LINTED if (ROOT / name).exists()]
    result = subprocess.run([_ruff(), "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    paths = [name for name in LINTED if (ROOT / name).exists()]
    result = subprocess.run(
        [_ruff(), "format", "--check", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr

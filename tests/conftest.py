from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import StandinLog, standin_environment, wait_port_free

ROOT = Path(__file__).resolve().parent.parent
# The committed specs with their base merged in by hand, for tests that edit a spec's text.
FLAT_SPECS = ROOT / "tests" / "fixtures" / "flat_specs"


@pytest.fixture(autouse=True, scope="session")
def modalgen_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """modalgen's cache (the schema's digest) in a temporary directory, not the user's home;
    commands run in subprocesses inherit it."""
    directory = tmp_path_factory.mktemp("modalgen-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODALGEN_CACHE_DIR", str(directory))
        yield directory


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinLog]:
    """The stand-in engine on PATH/PYTHONPATH, recording into a fresh log; cleaned up after."""
    log = StandinLog(tmp_path / "standin.jsonl")
    for key, value in standin_environment(log.path).items():
        monkeypatch.setenv(key, value)
    wait_port_free(8000)
    yield log
    log.kill_servers()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--show-case-output",
        action="store_true",
        help="print what each broken-spec case in tests/cases reports",
    )

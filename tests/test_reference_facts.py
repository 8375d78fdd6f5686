"""The committed reference facts are what the reference programs declare and do today.

The reference programs are not part of this repository: they sit beside CI's checkout in
`../shared/reference/`. Where they are, the facts are recorded again into a temporary folder and
compared with `tests/fixtures/reference_facts/`; elsewhere (a user's clone) this is skipped, and
the equivalence tests use the committed facts.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT

REFERENCE_DIR = ROOT.parent / "shared" / "reference"
FACTS_DIR = ROOT / "tests" / "fixtures" / "reference_facts"


def _recorder() -> ModuleType:
    path = ROOT / "scripts" / "record_reference_facts.py"
    spec = importlib.util.spec_from_file_location("record_reference_facts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_recorded_reference_has_a_fact_file() -> None:
    recorder = _recorder()
    committed = sorted(path.name for path in FACTS_DIR.glob("*.json"))
    assert committed == sorted(map(recorder.fact_file_name, recorder.REFERENCES))


@pytest.mark.skipif(
    not REFERENCE_DIR.is_dir(),
    reason=f"the reference programs are not beside this checkout ({REFERENCE_DIR})",
)
def test_recorded_facts_are_fresh(tmp_path: Path) -> None:
    recorder = _recorder()
    recorder.record(REFERENCE_DIR.resolve(), tmp_path)
    stale = []
    for reference in recorder.SHARED_REFERENCES:  # the upstream copies are not beside CI's
        name = recorder.fact_file_name(reference)
        committed = (FACTS_DIR / name).read_text(encoding="utf-8").splitlines(keepends=True)
        fresh = (tmp_path / name).read_text(encoding="utf-8").splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(committed, fresh, f"committed/{name}", f"fresh/{name}"))
        if diff:
            stale.append(diff)
    assert not stale, (
        "the committed reference facts are stale; run `python scripts/record_reference_facts.py` "
        "and review the diff:\n" + "\n".join(stale)
    )

"""Record what the reference programs declare and do, as JSON facts the tests compare against.

    python scripts/record_reference_facts.py [--reference-dir ../shared/reference] [--output DIR]
    python scripts/record_reference_facts.py --upstream [NAME ...]

The reference programs (the two seeds and Modal's upstream examples) live outside this repository,
in `../shared/reference/`. Further upstream examples are recorded with `--upstream` from local
copies saved in `tests/fixtures/upstream/`, which are not committed (public repositories' code
stays out of this repository's history): that folder's README names each one's repository, path
and commit, to save it from. Each is imported with the real `modal` package and run against the
stand-in engine, exactly as the equivalence tests run the generated apps, and what was observed
is written to `tests/fixtures/reference_facts/<name>.json`. Run it by hand when a reference changes;
`tests/test_reference_facts.py` re-records into a temporary folder where the references exist
and fails when the committed facts are stale.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.engine import StandinLog, standin_environment, wait_port_free  # noqa: E402
from tests.support.facts import facts_text, observe_app  # noqa: E402

DEFAULT_REFERENCE_DIR = ROOT.parent / "shared" / "reference"
DEFAULT_OUTPUT = ROOT / "tests" / "fixtures" / "reference_facts"
# The reference programs, by path under the reference folder; a fact file is named after each.
SHARED_REFERENCES = (
    "sglang_vlm.py",
    "sglang_low_latency.py",
    "upstream/sglang_vlm.py",
    "upstream/vllm_low_latency.py",
    "upstream/vllm_inference.py",
    "upstream/very_large_models.py",
)
# Upstream examples recorded with `--upstream` from local copies in tests/fixtures/upstream/
# (not committed; its README cites each source), by path under tests/fixtures/.
FIXTURES_DIR = ROOT / "tests" / "fixtures"
UPSTREAM_REFERENCES = (
    "upstream/inkling_small.py",
    "upstream/deepseek_v4_flash.py",
    "upstream/sglang_embeddings.py",
    "upstream/sgl_grafana.py",
)
REFERENCES = SHARED_REFERENCES + UPSTREAM_REFERENCES


def fact_file_name(reference: str) -> str:
    return reference.removesuffix(".py").replace("/", "__") + ".json"


def record(
    reference_dir: Path, output: Path, references: tuple[str, ...] = SHARED_REFERENCES
) -> None:
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reference-facts-") as scratch:
        log = StandinLog(Path(scratch) / "standin.jsonl")
        saved = dict(os.environ)
        os.environ.update(standin_environment(log.path))
        try:
            for reference in references:
                wait_port_free(8000)
                with pytest.MonkeyPatch.context() as monkeypatch:
                    facts = observe_app(reference_dir / reference, log, monkeypatch)
                facts["reference"] = reference
                target = output / fact_file_name(reference)
                target.write_text(facts_text(facts), encoding="utf-8")
                print(
                    f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
                )
        finally:
            log.kill_servers()
            os.environ.clear()
            os.environ.update(saved)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--upstream",
        nargs="*",
        metavar="NAME",
        help="record the upstream examples saved in tests/fixtures/upstream/ instead: those "
        "named (`sgl_grafana`), or all",
    )
    args = parser.parse_args(argv)
    if args.upstream is not None:
        known = {Path(name).stem: name for name in UPSTREAM_REFERENCES}
        unknown = [name for name in args.upstream if name not in known]
        if unknown:
            parser.error(f"no upstream example {', '.join(unknown)}; known: {', '.join(known)}")
        chosen = tuple(known[name] for name in args.upstream) or UPSTREAM_REFERENCES
        missing = [name for name in chosen if not (FIXTURES_DIR / name).is_file()]
        if missing:
            parser.error(
                f"save {', '.join(missing)} in tests/fixtures/ first (see its upstream/README.md)"
            )
        record(FIXTURES_DIR, args.output, chosen)
        return
    if not args.reference_dir.is_dir():
        parser.error(f"no reference programs at {args.reference_dir}")
    record(args.reference_dir.resolve(), args.output)


if __name__ == "__main__":
    main()

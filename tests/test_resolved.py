"""`modalgen show`: the resolved spec in each format reads back as the same spec."""

from __future__ import annotations

import json
import tomllib

import pytest
import yaml
from click.testing import CliRunner

from generator.checks.validation import load_spec
from generator.cli.cli import main
from generator.model.models import Spec
from generator.view.resolved import FORMATS, resolve
from tests.conftest import ROOT

SPEC = ROOT / "specs" / "qwen35_low_latency.yaml"
PARSERS = {"json": json.loads, "yaml": yaml.safe_load, "toml": tomllib.loads}


@pytest.mark.parametrize("format_", FORMATS)
def test_show_output_reads_back_as_the_resolved_spec(format_: str) -> None:
    result = CliRunner().invoke(main, ["show", str(SPEC), "--format", format_, "-C", str(ROOT)])
    assert result.exit_code == 0, result.output
    shown = Spec.model_validate(PARSERS[format_](result.output))
    assert shown == resolve(load_spec(SPEC).spec)


def test_resolved_spec_fills_in_derived_defaults() -> None:
    resolved = resolve(load_spec(SPEC).spec)
    assert resolved.engine.tensor_parallel_size == 2  # the GPU count
    assert resolved.engine.cuda_graph_max_bs == 20  # twice target_inputs
    assert resolved.engine.served_model_name == "Qwen/Qwen3.5-35B-A3B-FP8"
    assert resolved.server.timeout == 300  # Modal's default
    assert resolved.deep_gemm.gpu == resolved.server.gpu
    assert resolved.server.volumes == ["huggingface-cache", "deepgemm-cache"]
    # inherited from specs/_base/sglang-h100.toml
    assert resolved.engine.speculative is not None
    assert resolved.engine.mem_fraction_static == 0.8

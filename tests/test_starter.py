"""`modalgen new`: a starter spec that validates and generates."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli.cli import main
from generator.engines.sglang import catalog as sglang_catalog
from generator.engines.vllm import catalog as vllm_catalog
from generator.spec.gpus import GPU_INFO, GpuType

ARGS = ["--model", "Qwen/Qwen3-8B", "--revision", "0123456789abcdef0123456789abcdef01234567"]


def test_new_writes_a_spec_that_generates(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["new", "qwen3_8b", *ARGS, "--gpu", "L40S:1", "-C", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "specs" / "qwen3_8b.toml").read_text()
    assert text.startswith("#:schema ../schemas/spec.schema.json\n")
    assert 'type = "L40S", count = 1' in text
    generated = runner.invoke(main, ["generate", "-C", str(tmp_path)])
    assert generated.exit_code == 0, generated.output
    assert (tmp_path / "generated" / "qwen3_8b.py").is_file()

    again = runner.invoke(main, ["new", "qwen3_8b", *ARGS, "--gpu", "L40S:1", "-C", str(tmp_path)])
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_new_refuses_bad_values_and_writes_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_gpu = runner.invoke(main, ["new", "x", *ARGS, "--gpu", "H900:1", "-C", str(tmp_path)])
    assert bad_gpu.exit_code == 1
    assert "server.gpu.type" in bad_gpu.output
    too_big = runner.invoke(
        main,
        [
            "new",
            "x",
            "--model",
            "Qwen/Qwen3-235B-A22B",
            *ARGS[2:],
            "--gpu",
            "L4:1",
            "-C",
            str(tmp_path),
        ],
    )
    assert too_big.exit_code == 1
    assert "the weights cannot fit" in too_big.output
    bad_name = runner.invoke(
        main, ["new", "Bad-Name", *ARGS, "--gpu", "H100:1", "-C", str(tmp_path)]
    )
    assert bad_name.exit_code == 2
    assert not (tmp_path / "specs").exists() or not list((tmp_path / "specs").iterdir())


# The newest release each engine's catalogs hold, as the catalog files name them.
NEWEST = {
    "sglang": f"lmsysorg/sglang:v{sglang_catalog.available_versions()[-1]}-cu130-runtime",
    "vllm": f"vllm/vllm-openai:v{vllm_catalog.available_versions()[-1]}",
}


@pytest.mark.parametrize("engine", ["sglang", "vllm"])
@pytest.mark.parametrize("gpu", ["L4:1", "A100-80GB:2", "H100:1", "B200:1"])
def test_new_starts_from_the_newest_release_and_validates(
    tmp_path: Path, engine: str, gpu: str
) -> None:
    runner = CliRunner()
    new = ["new", "starter", *ARGS, "--gpu", gpu, "--engine", engine, "-C", str(tmp_path)]
    result = runner.invoke(main, new)
    assert result.exit_code == 0, result.output
    spec = tomllib.loads((tmp_path / "specs" / "starter.toml").read_text())
    assert spec["image"]["registry_tag"] == NEWEST[engine]
    validated = runner.invoke(main, ["validate", "-C", str(tmp_path)])
    assert validated.exit_code == 0, validated.output
    assert "warning" not in validated.output  # the catalog of that very release checks it
    generated = runner.invoke(main, ["generate", "-C", str(tmp_path)])
    assert generated.exit_code == 0, generated.output
    assert (tmp_path / "generated" / "starter.py").is_file()


@pytest.mark.parametrize(
    ("gpu", "deep_gemm"), [("L4:1", False), ("l40s:1", False), ("H100:2", True), ("B300:1", True)]
)
def test_new_builds_deep_gemm_only_for_hopper_and_newer(
    tmp_path: Path, gpu: str, deep_gemm: bool
) -> None:
    result = CliRunner().invoke(main, ["new", "starter", *ARGS, "--gpu", gpu, "-C", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "specs" / "starter.toml").read_text()
    spec = tomllib.loads(text)
    assert spec["deep_gemm"]["enabled"] is deep_gemm
    assert ("SGLANG_ENABLE_JIT_DEEPGEMM" in spec["image"]["env"]) is deep_gemm
    caches = [volume["mount_path"] for volume in spec["volumes"]]
    assert ("/root/.cache/deep_gemm" in caches) is deep_gemm
    if not deep_gemm:
        gpu_type = gpu.split(":")[0].upper()
        assert re.search(rf"not\n# the {gpu_type} \(compute capability 8\.9\)", text), text


def test_deep_gemm_architectures() -> None:
    """SM90 (Hopper) and SM100 (data-centre Blackwell) only: DeepGEMM's README."""
    runs = {gpu_type for gpu_type, info in GPU_INFO.items() if info.runs_deep_gemm}
    assert runs == {
        GpuType.H100,
        GpuType.H100_EXACT,
        GpuType.H200,
        GpuType.B200,
        GpuType.B200_PLUS,
        GpuType.B300,
    }


def test_a_bad_value_is_blamed_on_its_option(tmp_path: Path) -> None:
    """The spec `new` would write does not exist: a problem names the option, not its line."""
    args = ["--model", "Qwen3-8B", "--revision", "95a723d", "--gpu", "L40:1"]
    result = CliRunner().invoke(main, ["new", "x1", *args, "-C", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("error: --model: model.name: expected a Hugging Face repository")
    assert lines[1].startswith("error: --revision: model.revision: '95a723d' looks like an abbrev")
    assert lines[2].startswith("error: --gpu: server.gpu.type: input should be 'T4'")
    assert lines[2].endswith("given 'L40'; did you mean 'L40S'?")
    assert lines[3] == "3 problem(s) in the options of `modalgen new`; nothing was written."
    assert "specs/x1.toml" not in result.output
    assert not (tmp_path / "specs").exists()

"""`modalgen new`: a starter spec that validates and generates."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from generator.cli import main

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

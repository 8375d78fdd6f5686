"""Cross-field checks, and what the spec offers instead of what they refuse."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from generator.checks.checks import run_checks, run_warnings
from generator.checks.validation import validate_document
from generator.model.models import Spec
from generator.project.project import Project
from generator.spec.errors import SpecError
from generator.spec.loader import SourceDocument
from tests.conftest import FLAT_SPECS
from tests.support.introspect import describe_app, import_app_file

MINIMAL: dict = {
    "version": 1,
    "app": {"name": "checks", "class_name": "Server"},
    "image": {"registry_tag": "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"},
    "model": {"name": "Qwen/Qwen3-8B", "revision": "0" * 40},
    "server": {
        "gpu": {"type": "H100", "count": 1},
        "proxy_regions": ["us-east"],
        "unauthenticated": True,
    },
}


def spec_with(**sections: dict) -> Spec:
    data = copy.deepcopy(MINIMAL)
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return Spec.model_validate(data)


def messages(spec: Spec) -> list[str]:
    return [finding.message for finding in run_checks(spec)]


def test_minimal_spec_passes_every_check() -> None:
    assert messages(spec_with()) == []


def test_the_open_endpoint_warning_says_how_to_lock_each_kind() -> None:
    def advice(server: dict | None = None) -> str:
        data = copy.deepcopy(MINIMAL)
        if server is not None:
            data["server"] = server
        spec = Spec.model_validate(data)
        (message,) = [f.message for f in run_warnings(spec) if f.field[0] == "server"]
        return message

    assert advice().endswith(  # http_server: Modal's proxy has no authentication to turn on
        "This kind has no proxy authentication: set `engine.api_key_secret`, or use kind = "
        '"server", whose proxy asks for a Proxy Auth Token'
    )
    current = {
        "kind": "server",
        "gpu": "H100",
        "target_concurrency": 4,
        "startup_timeout": 600,
        "unauthenticated": True,
    }
    assert advice(current).endswith(
        "Drop `unauthenticated` (Modal's proxy then asks for a Proxy Auth Token) or set "
        "`engine.api_key_secret`"
    )


def test_a_branch_revision_is_a_warning_that_says_what_moves_and_how_to_pin() -> None:
    def warning(**model: object) -> str:
        spec = spec_with(model={"revision": "main", **model})
        (found,) = [f for f in run_warnings(spec) if f.field == ("model", "revision")]
        return found.message

    at_start = warning()
    assert at_start.startswith(
        "'main' is a branch or tag, not a commit, and moves with each upload to Qwen/Qwen3-8B: "
    )
    assert "replicas can serve different weights" in at_start
    assert at_start.endswith("run `modalgen pin` to write its current commit instead")
    volumes = [{"name": "hf", "mount_path": "/root/.cache/huggingface"}]
    spec = spec_with(model={"revision": "main", "download": "build"}, volumes=volumes)
    (built,) = [f for f in run_warnings(spec) if f.field == ("model", "revision")]
    assert "a rebuilt image" in built.message
    assert "v1.0" in warning(revision="v1.0")


def test_a_placeholder_revision_is_a_warning() -> None:
    (warning,) = [f for f in run_warnings(spec_with()) if f.field == ("model", "revision")]
    assert "00000000... looks like a placeholder" in warning.message
    real = spec_with(model={"revision": "95a723d08a9490559dae23d0cff1d9466213d989"})
    assert [f for f in run_warnings(real) if f.field == ("model", "revision")] == []
    # An adapter's placeholder too, at its own field.
    adapters = [
        {"name": "a", "repo": "org/a", "revision": "95a723d08a9490559dae23d0cff1d9466213d989"},
        {"name": "b", "repo": "org/b", "revision": "0" * 40},
    ]
    spec = spec_with(
        model={"revision": "95a723d08a9490559dae23d0cff1d9466213d989", "adapters": adapters}
    )
    (adapter,) = [f for f in run_warnings(spec) if "placeholder" in f.message]
    assert adapter.field == ("model", "adapters", 1, "revision")


def test_deep_gemm_on_by_default_is_a_warning_until_written() -> None:
    def warned(spec: Spec) -> list[str]:
        return [f.message for f in run_warnings(spec) if f.field == ("deep_gemm", "enabled")]

    (message,) = warned(spec_with())
    assert message.startswith("on by default for SGLang: the image build compiles DeepGEMM")
    assert "on H100:1" in message
    assert warned(spec_with(deep_gemm={"enabled": True})) == []
    assert warned(spec_with(deep_gemm={"enabled": False})) == []


def test_a_gated_model_downloaded_on_start_without_a_secret_is_a_warning() -> None:
    def warned(spec: Spec) -> list[str]:
        return [f.message for f in run_warnings(spec) if f.field == ("model", "name")]

    gated = {"name": "meta-llama/Llama-3.1-8B-Instruct", "revision": "0" * 40}
    (message,) = warned(spec_with(model=gated))  # `at = "start"`, the default
    assert message.startswith("meta-llama/Llama-3.1-8B-Instruct is gated, and the engine ")
    assert 'add `secrets = ["huggingface"]`' in message
    assert warned(spec_with(model={**gated, "download": "start"})) == warned(spec_with(model=gated))
    assert warned(spec_with(model=gated, secrets=["huggingface"])) == []
    assert warned(spec_with(model={**gated, "gated": False})) == []
    assert warned(spec_with(model={"gated": True})) != []  # Qwen, declared gated
    assert warned(spec_with()) == []
    # At build, the error of the build-time download says it; no second message.
    volume = [{"name": "hf", "mount_path": "/root/.cache/huggingface"}]
    build = spec_with(model={**gated, "download": "build"}, volumes=volume)
    assert warned(build) == []
    assert [f.field for f in run_checks(build)] == [("model", "download")]


def test_secrets_are_named_not_inlined(tmp_path: Path) -> None:
    def document(env: dict[str, str]) -> SourceDocument:
        data = copy.deepcopy(MINIMAL)
        data["image"]["env"] = env
        return SourceDocument(Path("spec.toml"), "spec.toml", data, {})

    with pytest.raises(SpecError, match="HF_TOKEN holds a credential") as refused:
        validate_document(document({"HF_TOKEN": "hf_" + "x" * 30}))
    assert "x" * 30 not in str(refused.value)
    # Names that only contain a secret-looking word are not secrets.
    validate_document(document({"TOKENIZERS_PARALLELISM": "false", "HF_TOKEN_PATH": "/t"}))

    specs = tmp_path / "specs"
    specs.mkdir()
    text = (FLAT_SPECS / "qwen36_vlm.toml").read_text()
    (specs / "with_secret.toml").write_text(
        text.replace("version = 1\n", 'version = 1\nsecrets = ["huggingface"]\n', 1)
    )
    project = Project(tmp_path)
    for output in project.render(project.discover_specs()):
        project.write(output)
    app = describe_app(import_app_file(tmp_path / "generated" / "with_secret.py"))
    (server,) = app.services.values()
    assert server.declared["secrets"] == ["huggingface"]
    source = (tmp_path / "generated" / "with_secret.py").read_text()
    assert source.count('modal.Secret.from_name("huggingface")') == 2  # server and build step


def test_weights_fit_reads_size_and_precision_from_the_name() -> None:
    fits = spec_with(model={"name": "Qwen/Qwen3.5-35B-A3B-FP8", "revision": "0" * 40})
    assert messages(fits) == []
    too_big = spec_with(
        model={"name": "Qwen/Qwen3.5-35B-A3B-FP8", "revision": "0" * 40},
        server={"gpu": {"type": "L4", "count": 1}},
    )
    (message,) = messages(too_big)
    assert "35B parameters x 1 bytes (fp8, from the model name) = 35 GB" in message
    assert "1 x L4 x 24 GB x memory fraction 0.9 = 21.6 GB" in message
    explicit = spec_with(
        model={"name": "org/custom", "revision": "0" * 40, "parameters_billion": 70},
        server={"gpu": {"type": "H100", "count": 1}},
    )
    (message,) = messages(explicit)
    assert "70B parameters x 2 bytes (bf16, assumed: neither the name nor " in message
    assert message.endswith("or set `model.weight_dtype` if the weights are not bf16")
    declared = spec_with(
        model={
            "name": "org/custom",
            "revision": "0" * 40,
            "parameters_billion": 70,
            "weight_dtype": "fp8",
        },
        server={"gpu": {"type": "L4", "count": 1}},
    )
    assert "x 1 bytes (fp8, from `model.weight_dtype`) = " in messages(declared)[0]


def test_ready_timeout_defaults_to_the_start_up_limit() -> None:
    spec = spec_with(server={"startup_timeout": 1200})
    assert spec.lifecycle.ready_timeout is None
    assert spec.server.startup_limit == 1200
    assert spec_with().server.startup_limit == 300

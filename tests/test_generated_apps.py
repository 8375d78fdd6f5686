"""Each committed generated app against the reference program it reproduces.

Both files are imported with the real `modal` package and compared by what they declare; then
their start-up, warm-up, shut-down, DeepGEMM build step and probe run for real against the
stand-in engine, and what the engine saw is compared. A difference fails the test unless it is
one of the fixes listed here, each with its reason.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REFERENCE_DIR, ROOT
from tests.support.engine import StandinLog, pid_alive, wait_port_free
from tests.support.introspect import (
    AppDescription,
    describe_app,
    import_app_file,
    lifecycle_method,
)


@dataclass(frozen=True)
class Pair:
    generated: Path
    reference: Path

    def __str__(self) -> str:
        return self.generated.name


PAIRS = [
    Pair(ROOT / "generated" / "qwen36_vlm.py", REFERENCE_DIR / "sglang_vlm.py"),
    Pair(ROOT / "generated" / "qwen35_low_latency.py", REFERENCE_DIR / "sglang_low_latency.py"),
]

# The references' server argv, corrected. Each is a fix, not a change of behaviour:
ARGV_FIXES = {
    # argparse prefix matching accepts these today and breaks the day SGLang adds another
    # option with the same prefix: write the full option names.
    "--mem-fraction": "--mem-fraction-static",
    "--speculative-algo": "--speculative-algorithm",
    # `--tp` is not an option of any SGLang version: argparse expands it to `--tp-size`.
    "--tp": "--tp-size",
    # The same integer: int("131_072") == 131072, written the way people and SGLang's docs do.
    "131_072": "131072",
}
# Not listed because the stand-in sees them the same way: the VLM reference joins its argv into a
# shell string (shell=True); the generated apps pass the argv list and never start a shell. The
# low-latency reference's build step does not pass check=True; the generated one fails the image
# build when the kernel compile fails (`deep_gemm.fail_build_on_error`, default true).


def fixed(argv: list[str]) -> list[str]:
    return [ARGV_FIXES.get(item, item) for item in argv]


@pytest.fixture(params=PAIRS, ids=str)
def pair(request: pytest.FixtureRequest) -> Pair:
    return request.param


def load(path: Path) -> tuple[ModuleType, AppDescription]:
    module = import_app_file(path)
    return module, describe_app(module)


def only_class(app: AppDescription):
    assert len(app.classes) == 1, app.classes
    return next(iter(app.classes.values()))


def test_declarations_match(pair: Pair) -> None:
    _, generated = load(pair.generated)
    _, reference = load(pair.reference)
    assert generated.name == reference.name
    assert generated.classes.keys() == reference.classes.keys()
    ours, theirs = only_class(generated), only_class(reference)
    for attribute in (
        "gpu",
        "volumes",
        "regions",
        "proxy_regions",
        "timeout",
        "startup_timeout",
        "min_containers",
        "target_inputs",
        "port",
        "exit_grace_period",
        "http_startup_timeout",
        "enable_memory_snapshot",
        "experimental_options",
        "secrets",
        "lifecycle",
    ):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute

    image, reference_image = ours.image, theirs.image
    assert image.base_tag == reference_image.base_tag
    assert image.entrypoint_cleared and reference_image.entrypoint_cleared
    assert image.env == reference_image.env
    assert image.dockerfile_commands == reference_image.dockerfile_commands
    assert [f.name for f in image.build_functions] == ["compile_deep_gemm"]
    assert [f.name for f in reference_image.build_functions] == ["compile_deep_gemm"]
    build, reference_build = image.build_functions[0], reference_image.build_functions[0]
    assert build.gpu == reference_build.gpu
    assert build.volumes == reference_build.volumes

    assert generated.entrypoints.keys() == reference.entrypoints.keys()
    for name, entrypoint in generated.entrypoints.items():
        assert entrypoint.parameters == reference.entrypoints[name].parameters


def test_build_step_runs_the_same_command(pair: Pair, standin: StandinLog) -> None:
    commands = []
    for path in (pair.generated, pair.reference):
        _, app = load(path)
        standin.clear()
        only_class(app).image.build_functions[0].function()
        (event,) = standin.events("compile_deep_gemm")
        commands.append(event["argv"])
    generated, reference = commands
    assert generated == fixed(reference)


def test_build_step_fails_the_build_when_the_compile_fails(
    standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fixed on purpose: the low-latency reference ignores a failed compile (no check=True).
    monkeypatch.setenv("STANDIN_COMPILE_EXIT", "1")
    for pair in PAIRS:
        _, app = load(pair.generated)
        with pytest.raises(subprocess.CalledProcessError):
            only_class(app).image.build_functions[0].function()


def run_lifecycle(path: Path, standin: StandinLog) -> dict[str, Any]:
    """Run the class's enter and exit methods; return what the stand-in saw and the server pid."""
    _, app = load(path)
    described = only_class(app)
    instance = described.user_cls()
    standin.clear()
    for attribute in described.lifecycle["enter_post_snapshot"]:
        lifecycle_method(described.user_cls, attribute)(instance)
    (launch,) = standin.events("launch_server")
    warmups = standin.requests("/v1/chat/completions")
    for attribute in described.lifecycle["exit"]:
        lifecycle_method(described.user_cls, attribute)(instance)
    seen = {"argv": launch["argv"], "pid": launch["pid"], "warmups": warmups}
    standin.kill_servers()
    wait_port_free(8000)
    return seen


def test_server_starts_warms_up_and_stops_like_the_reference(
    pair: Pair, standin: StandinLog
) -> None:
    generated = run_lifecycle(pair.generated, standin)
    reference = run_lifecycle(pair.reference, standin)
    assert generated["argv"] == fixed(reference["argv"])
    assert generated["warmups"], "no warm-up request was sent"
    assert generated["warmups"] == reference["warmups"]


def test_exit_leaves_no_server_behind(pair: Pair, standin: StandinLog) -> None:
    _, app = load(pair.generated)
    described = only_class(app)
    instance = described.user_cls()
    for attribute in described.lifecycle["enter_post_snapshot"]:
        lifecycle_method(described.user_cls, attribute)(instance)
    (launch,) = standin.events("launch_server")
    assert pid_alive(launch["pid"])
    for attribute in described.lifecycle["exit"]:
        lifecycle_method(described.user_cls, attribute)(instance)
    assert not pid_alive(launch["pid"])


class _FlashUrls:
    def __init__(self, url: str) -> None:
        self.url = url

    async def aio(self) -> list[str]:
        return [self.url]


class _DeployedCls:
    """What the entrypoint asks Modal for: the URL of the deployed server, here the stand-in."""

    def __init__(self, url: str) -> None:
        self._experimental_get_flash_urls = _FlashUrls(url)


@pytest.fixture
def running_standin(standin: StandinLog):
    process = subprocess.Popen(
        [sys.executable, "-m", "sglang.launch_server", "--port", "8000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import requests

        for _ in range(200):
            try:
                if requests.get("http://127.0.0.1:8000/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            asyncio.run(asyncio.sleep(0.05))
        yield standin
    finally:
        process.kill()
        process.wait()


def run_probe(path: Path, standin: StandinLog, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    module, app = load(path)
    monkeypatch.setattr(module, only_class(app).name, _DeployedCls("http://127.0.0.1:8000"))
    (entrypoint,) = app.entrypoints.values()
    standin.clear()
    asyncio.run(entrypoint.function())
    return standin.requests("/v1/chat/completions")


def test_probe_sends_the_same_requests(
    pair: Pair, running_standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = run_probe(pair.generated, running_standin, monkeypatch)
    reference = run_probe(pair.reference, running_standin, monkeypatch)
    assert generated, "the probe sent no request"
    assert [(r["headers"], r["body"]) for r in generated] == [
        (r["headers"], r["body"]) for r in reference
    ]

"""`modalgen capacity`: the load test's JSON turned into the spec change, made in place.

One test runs a generated app's load test for real against the stand-in engine and sizes its
spec from the JSON it wrote; the others write small JSON files of the same shape, so that the
levels within the SLO are known exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli.cli import main
from generator.project.project import Project
from tests.support.engine import free_port, kill_processes, standin_environment, wait_listening
from tests.support.introspect import import_app_file

TOML = """\
version = 1

[app]
name = "sized"
class_name = "Server"

[image]
registry_tag = "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"

[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[server]
unauthenticated = true
gpu = { type = "H100", count = 1 }
# Measured on 2026-11-30; resize with `modalgen capacity`.
target_inputs = 4  # requests in flight per replica
proxy_regions = ["us-east"]
region = "us-east"

[bench]
concurrency = [1, 4, 8]
requests_per_level = 8
warmup_requests = 2
output_tokens = 8
input_tokens = 12
output = "results/sized.json"
slo = { ttft_p99_ms = 65, tpot_p99_ms = 20 }
"""
YAML = """\
version: 1
app:
  name: sized-yaml
  class_name: Server
image:
  registry_tag: vllm/vllm-openai:v0.11.2
model:
  name: Qwen/Qwen3-8B
  revision: 0123456789abcdef0123456789abcdef01234567
server:
  kind: server  # a Modal Server: its target is target_concurrency
  startup_timeout: 600
  gpu: {type: H100, count: 1}
  target_concurrency: 2  # a guess, before any load test
engine:
  kind: vllm
bench:
  concurrency: [1, 4, 16]
  slo: {ttft_p99_ms: 500}
"""
SLO = {"ttft_p99_ms": 65.0, "tpot_p99_ms": 20.0}


def _project(tmp_path: Path, **specs: str) -> Path:
    (tmp_path / "generated").mkdir()
    for name, text in specs.items():
        path = tmp_path / "specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _results(path: Path, held: dict[int, bool], slo: dict[str, float] = SLO) -> Path:
    """A load test's JSON: each level, its requests per second (4 per request in flight) and
    whether it was within the SLO."""
    levels = [
        {"concurrency": level, "request_throughput": 4.0 * level, "within_slo": within}
        for level, within in held.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"levels": levels, "slo": slo, "target": 4, "met": True}))
    return path


def _capacity(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["capacity", "-C", str(project), *args])


def test_a_real_run_of_the_load_test_sizes_its_spec(tmp_path: Path) -> None:
    """The generated load test against the stand-in (TTFT 50 ms, within the SLO at every level),
    then its advice, followed: `modalgen capacity ... --peak-rate 50 --write`."""
    project = _project(tmp_path, **{"sized.toml": TOML})
    rendered = Project(project)
    for output in rendered.render(rendered.discover_specs()):
        rendered.write(output)
    module = import_app_file(project / "generated" / "sized.py")
    port = free_port()
    environment = {**standin_environment(tmp_path / "standin.jsonl")}
    environment.update(STANDIN_TTFT="0.05", STANDIN_ITL="0.01")
    server = subprocess.Popen(
        [sys.executable, "-m", "sglang.launch_server", "--port", str(port)],
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cwd = Path.cwd()
    try:
        wait_listening(port)
        os.chdir(project)
        url = f"http://127.0.0.1:{port}"
        code = asyncio.run(
            module.load_test(url, module.client_headers(), module.measure_here, peak_rate=50.0)
        )
    finally:
        os.chdir(cwd)
        kill_processes([server.pid])
    assert code == 0
    results = json.loads((project / "results" / "sized.json").read_text())
    throughput = results["levels"][2]["request_throughput"]
    replicas = -(-50.0 // throughput)

    dry = _capacity(
        project, "specs/sized.toml", "--from", "results/sized.json", "--peak-rate", "50"
    )
    assert dry.exit_code == 0, dry.output
    assert (project / "specs" / "sized.toml").read_text() == TOML
    assert "-target_inputs = 4  # requests in flight per replica\n" in dry.output
    assert "+target_inputs = 8  # requests in flight per replica\n" in dry.output
    assert f"+max_containers = {replicas:.0f}\n" in dry.output
    assert "capacity 8 requests in flight per replica (the sweep's highest level" in dry.output

    written = _capacity(
        project, "specs/sized.toml", "--from", "results/sized.json", "--peak-rate", "50", "--write"
    )
    assert written.exit_code == 0, written.output
    assert (project / "specs" / "sized.toml").read_text() == TOML.replace(
        "target_inputs = 4  #", "target_inputs = 8  #"
    ).replace('region = "us-east"\n', f'region = "us-east"\nmax_containers = {replicas:.0f}\n', 1)
    assert "run `modalgen generate`" in written.output


def test_the_load_test_s_advice_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    module = import_app_file(Path(__file__).parent.parent / "generated/qwen35_low_latency.py")
    module.print_spec_change({"concurrency": 24, "request_throughput": 40.0}, False, 100.0)
    assert capsys.readouterr().out.endswith(
        "Write it into the spec with `modalgen capacity specs/qwen35_low_latency.yaml --from "
        "bench/example-sglang-low-latency.json --peak-rate 100 --write`, then run "
        "`modalgen generate`.\n"
    )


def test_a_yaml_spec_gets_the_kind_s_field_and_keeps_its_comments(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"sized.yaml": YAML})
    results = _results(tmp_path / "bench.json", {1: True, 4: True, 16: False}, {"ttft_p99_ms": 500})
    result = _capacity(project, "specs/sized.yaml", "--from", str(results), "--write")
    assert result.exit_code == 0, result.output
    assert (project / "specs" / "sized.yaml").read_text() == YAML.replace(
        "target_concurrency: 2  #", "target_concurrency: 4  #"
    )
    assert "specs/sized.yaml: server.target_concurrency = 4" in result.output
    assert "may hold more" not in result.output  # 16 was swept and not held


def test_a_target_a_base_sets_is_edited_in_the_base(tmp_path: Path) -> None:
    base = '[server]\ngpu = { type = "H100", count = 1 }\ntarget_inputs = 4  # shared\n'
    own = TOML.replace('gpu = { type = "H100", count = 1 }\n', "").replace(
        "# Measured on 2026-11-30; resize with `modalgen capacity`.\ntarget_inputs = 4  # requests "
        "in flight per replica\n",
        "",
    )
    spec = own.replace("version = 1\n", 'version = 1\nextends = ["_base/server.toml"]\n')
    other = spec.replace('name = "sized"', 'name = "other"')
    project = _project(
        tmp_path, **{"_base/server.toml": base, "sized.toml": spec, "other.toml": other}
    )
    results = _results(tmp_path / "bench.json", {1: True, 4: True, 8: True})
    result = _capacity(project, "specs/sized.toml", "--from", str(results), "--write")
    assert result.exit_code == 0, result.output
    assert (project / "specs" / "_base" / "server.toml").read_text() == base.replace("4", "8")
    assert (project / "specs" / "sized.toml").read_text() == spec
    assert "specs/_base/server.toml: server.target_inputs = 8" in result.output
    assert "read by specs/sized.toml, specs/other.toml" in result.output


def test_no_level_within_the_slo_changes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"sized.toml": TOML})
    results = _results(tmp_path / "bench.json", {1: False, 4: False, 8: False})
    result = _capacity(project, "specs/sized.toml", "--from", str(results), "--write")
    assert result.exit_code == 1
    assert "no level was within the SLO (the lowest swept, 1, already was not)" in result.output
    assert "nothing was written" in result.output
    assert (project / "specs" / "sized.toml").read_text() == TOML


def test_results_measured_against_another_slo_are_refused(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"sized.toml": TOML})
    results = _results(tmp_path / "bench.json", {1: True, 4: True}, {"ttft_p99_ms": 500.0})
    result = _capacity(project, "specs/sized.toml", "--from", str(results), "--write")
    assert result.exit_code == 1
    assert "run the load test again to measure against it" in result.output
    assert (project / "specs" / "sized.toml").read_text() == TOML


def test_a_spec_already_sized_so_is_left_alone(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"sized.toml": TOML})
    results = _results(tmp_path / "bench.json", {1: True, 4: True, 8: False})
    result = _capacity(project, "specs/sized.toml", "--from", str(results), "--write")
    assert result.exit_code == 0, result.output
    assert "is sized so already; nothing to write" in result.output
    assert (project / "specs" / "sized.toml").read_text() == TOML


def test_a_peak_rate_sets_max_containers_for_the_replicas_it_needs(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"sized.toml": TOML})
    # Within the SLO up to 4, at 16 req/s per replica: 100 req/s needs 7 replicas.
    results = _results(tmp_path / "bench.json", {1: True, 4: True, 8: False})
    result = _capacity(
        project, "specs/sized.toml", "--from", str(results), "--peak-rate", "100", "--write"
    )
    assert result.exit_code == 0, result.output
    text = (project / "specs" / "sized.toml").read_text()
    assert 'region = "us-east"\nmax_containers = 7\n' in text
    assert "100 req/s at 16.00 req/s per replica: 7 replica(s)" in result.output


def test_a_spec_changed_on_disk_meanwhile_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user saves the spec after capacity read it and before it writes: it refuses."""
    project = _project(tmp_path, **{"sized.toml": TOML})
    results = _results(tmp_path / "bench.json", {1: True, 4: True, 8: True})
    edited = TOML + "# the user's edit\n"
    discover = Project.discover_specs

    def edit_then_discover(self: Project) -> list[Path]:  # runs after the spec was read
        (project / "specs" / "sized.toml").write_text(edited)
        return discover(self)

    monkeypatch.setattr(Project, "discover_specs", edit_then_discover)
    result = _capacity(project, "specs/sized.toml", "--from", str(results), "--write")
    assert result.exit_code == 1
    assert "specs/sized.toml: changed on disk since it was read" in result.output
    assert (project / "specs" / "sized.toml").read_text() == edited


def test_a_file_that_is_not_a_load_test_s_json_is_a_clear_error(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"sized.toml": TOML})
    (tmp_path / "other.json").write_text('{"levels": [{"concurrency": "four"}]}')
    result = _capacity(project, "specs/sized.toml", "--from", str(tmp_path / "other.json"))
    assert result.exit_code == 1
    assert "not the JSON a generated load test writes" in result.output
    missing = _capacity(project, "specs/sized.toml", "--from", "bench/none.json")
    assert "bench/none.json: no such file; run the load test first" in missing.output

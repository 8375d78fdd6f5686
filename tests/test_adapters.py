"""LoRA adapters from a folder of the project (`[[model.adapters]]` with `path`), tried as an
attacker would: the folder is added to the image and passed to the engine where it lands, and
whatever leads out of the project (`..`, an absolute path, a link), a special file, a missing
`adapter_config.json` or a line break is refused at file:line:col before anything is written;
a folder swapped for a link after `generate` is noticed by `check`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from generator.cli.cli import main
from generator.project.project import Project
from generator.spec.errors import SpecError
from tests.support.engine import StandinLog, standin_environment, wait_port_free
from tests.support.facts import observe_app
from tests.support.introspect import describe_app, import_app_file

SPEC = """\
version = 1

[app]
name = "local-lora"
class_name = "Server"

[image]
registry_tag = "vllm/vllm-openai:v0.11.2"
{layers}
[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"

[[model.adapters]]
name = "sql"
path = {path}
{adapter}
[[volumes]]
name = "huggingface-cache"
mount_path = "/root/.cache/huggingface"

[server]
kind = "server"
unauthenticated = true
gpu = {{ type = "H100", count = 1 }}
target_concurrency = 4
startup_timeout = 600

[engine]
kind = "vllm"

[probe]
adapter = "sql"
"""
PATH_LINE = 16  # `path = ...` in SPEC


def write_project(
    root: Path, path: str = '"adapters/sql"', adapter: str = "", layers: str = ""
) -> Path:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "specs" / "app.toml").write_text(
        SPEC.format(path=path, adapter=adapter, layers=layers), encoding="utf-8"
    )
    return root


def make_adapter(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text('{"r": 8, "peft_type": "LORA"}')
    (folder / "adapter_model.safetensors").write_bytes(b"\0" * 16)
    return folder


def generate(root: Path) -> Path:
    project = Project(root)
    for output in project.render(project.discover_specs()):
        project.write(output)
    return root / "generated" / "app.py"


def refusal(root: Path) -> str:
    with pytest.raises(SpecError) as refused:
        generate(root)
    assert not (root / "generated").exists()
    (problem,) = refused.value.problems
    return str(problem)


def test_a_project_adapter_is_added_to_the_image_where_the_engine_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path)
    make_adapter(root / "adapters" / "sql")
    path = generate(root)
    module = import_app_file(path)
    command = list(module.SERVER_COMMAND)
    index = command.index("--lora-modules")
    assert command[index + 1] == "sql=/lora-adapters/sql"
    (service,) = describe_app(module).services.values()
    assert service.image.facts()["layers"][-1] == {
        "local_dirs": [{"local_name": "sql", "remote_path": "/lora-adapters/sql"}]
    }
    assert "download_adapters" not in path.read_text()  # nothing to download from the Hub
    # Its lifecycle and probe against the stand-in: the probe asks for the adapter by name.
    log = StandinLog(tmp_path / "standin.jsonl")
    for key, value in standin_environment(log.path).items():
        monkeypatch.setenv(key, value)
    wait_port_free(8000)
    try:
        observed = observe_app(path, log, monkeypatch)["observed"]["Server"]
    finally:
        log.kill_servers()
    assert observed["build_steps"] == []
    (request,) = observed["client_requests"]
    assert request["body"]["model"] == "sql"


def test_hub_and_project_adapters_together(tmp_path: Path) -> None:
    hub = (
        '\n[[model.adapters]]\nname = "chess"\nrepo = "org/chess-lora"\n'
        'revision = "2222222222222222222222222222222222222222"\n'
    )
    root = write_project(tmp_path, adapter=hub)
    make_adapter(root / "adapters" / "sql")
    command = list(import_app_file(generate(root)).SERVER_COMMAND)
    index = command.index("--lora-modules")
    assert command[index + 1 : index + 3] == [
        "sql=/lora-adapters/sql",
        f"chess=/root/.cache/huggingface/hub/lora-adapters/org--chess-lora/{'2' * 40}",
    ]


@pytest.mark.parametrize(
    ("make", "path", "expected"),
    [
        ("nothing", '"adapters/sql"', "no folder 'adapters/sql' in the project"),
        ("outside", '"../outside"', "'../outside' lies outside the project"),
        ("outside", '"/etc"', "'/etc' lies outside the project"),
        ("link", '"adapters/sql"', "'adapters/sql' lies outside the project"),
        ("link inside", '"adapters/sql"', "adapters/sql/shadow is a symbolic link to "),
        ("fifo", '"adapters/sql"', "adapters/sql/fifo is a FIFO (named pipe)"),
        ("file", '"adapters/sql"', "is a regular file, not a folder"),
        ("no config", '"adapters/sql"', "adapters/sql/adapter_config.json does not exist"),
        ("config link", '"adapters/sql"', "adapter_config.json is a symbolic link to "),
    ],
)
def test_a_project_adapter_that_is_not_a_safe_folder_is_refused(
    tmp_path_factory: pytest.TempPathFactory, make: str, path: str, expected: str
) -> None:
    root = write_project(tmp_path_factory.mktemp("project"), path=path)
    outside = tmp_path_factory.mktemp("outside")
    (outside / "shadow").write_text("root:secret\n")
    folder = root / "adapters" / "sql"
    if make == "link":
        (root / "adapters").mkdir()
        folder.symlink_to(make_adapter(outside / "adapter"))
    elif make == "file":
        (root / "adapters").mkdir()
        folder.write_text("not a folder")
    elif make in ("link inside", "fifo", "no config", "config link"):
        make_adapter(folder)
        if make == "link inside":
            (folder / "shadow").symlink_to(outside / "shadow")
        elif make == "fifo":
            os.mkfifo(folder / "fifo")
        else:
            (folder / "adapter_config.json").unlink()
            if make == "config link":
                (folder / "adapter_config.json").symlink_to(outside / "shadow")
    problem = refusal(root)
    assert problem.startswith(f"specs/app.toml:{PATH_LINE}:"), problem
    assert "model.adapters[0].path: " in problem
    assert expected in problem, problem


@pytest.mark.parametrize(
    ("path", "adapter", "expected"),
    [
        ('"adapters/sql\\nRUN rm -rf /"', "", "one line"),
        ('"adapters/sql"', 'repo = "org/sql-lora"\nrevision = "main"\n', "give one of them"),
        ('"adapters/sql"', 'revision = "main"\n', "a project folder (`path`) has none"),
        ('""', "", "at least 1 character"),
    ],
)
def test_what_an_adapter_entry_refuses(
    tmp_path: Path, path: str, adapter: str, expected: str
) -> None:
    root = write_project(tmp_path, path=path, adapter=adapter)
    make_adapter(root / "adapters" / "sql")
    problem = refusal(root)
    assert problem.startswith("specs/app.toml:"), problem
    assert "model.adapters[0]" in problem and expected in problem, problem


def test_a_layer_over_the_adapters_folder_is_refused(tmp_path: Path) -> None:
    layer = '\n[[image.layers]]\nadd_local_dir = "other"\nremote_path = "/lora-adapters"\n'
    root = write_project(tmp_path, layers=layer)
    make_adapter(root / "adapters" / "sql")
    (root / "other").mkdir()
    problem = refusal(root)
    assert "image.layers[0].remote_path: /lora-adapters overlaps /lora-adapters" in problem


def test_a_huge_adapter_folder_is_refused(tmp_path: Path) -> None:
    from generator.spec import limits

    root = write_project(tmp_path)
    folder = make_adapter(root / "adapters" / "sql")
    for index in range(limits.MAX_FOLDER_ENTRIES):
        (folder / f"shard-{index}").touch()
    expected = f"holds more than {limits.MAX_FOLDER_ENTRIES} files and folders"
    assert expected in refusal(root)


def run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(main, [*args, "-C", str(root)], catch_exceptions=False)


def test_an_adapter_folder_swapped_for_a_link_after_generate_is_noticed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = write_project(tmp_path_factory.mktemp("project"))
    (root / "generated").mkdir()
    folder = make_adapter(root / "adapters" / "sql")
    assert run(root, "generate").exit_code == 0
    assert run(root, "check").exit_code == 0
    (folder / "shadow").symlink_to("/etc/passwd")
    result = run(root, "check")
    assert result.exit_code == 1, result.output
    assert "adapters/sql/shadow is a symbolic link to /etc/passwd" in result.output


def test_an_adapter_folder_that_loses_its_config_after_generate_is_noticed(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path)
    (root / "generated").mkdir()
    folder = make_adapter(root / "adapters" / "sql")
    assert run(root, "generate").exit_code == 0
    assert run(root, "check").exit_code == 0
    (folder / "adapter_config.json").unlink()
    result = run(root, "check")
    assert result.exit_code == 1, result.output
    assert "adapters/sql/adapter_config.json does not exist" in result.output

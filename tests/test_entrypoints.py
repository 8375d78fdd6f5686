"""The `modal run` options of every committed generated app, parsed by modal's own CLI.

Each app is imported with the real `modal` package; modal 1.6.4 picks the entrypoint
(`modal.cli.import_refs.infer_runnable`) and builds its click command
(`modal.cli.run._get_click_command_for_local_entrypoint`) from the parameters' annotations, as
`modal run` does. The command only parses here (`click.Command.make_context`): nothing runs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
from modal.app import LocalEntrypoint
from modal.cli.import_refs import _get_module_members, infer_runnable, list_cli_commands
from modal.cli.run import _get_click_command_for_local_entrypoint

from tests.conftest import ROOT
from tests.support.introspect import import_app_file

APPS = sorted(
    [*(ROOT / "generated").glob("*.py"), *(ROOT / "examples/modal-examples/generated").glob("*.py")]
)

# Every option a generated entrypoint may have: the arguments given on the command line, the
# value the entrypoint receives, and the type of its default. A new option fails
# `test_every_option_is_known` until it is listed here.
OPTIONS: dict[str, tuple[list[list[str]], type]] = {
    "test_timeout": ([["--test-timeout", "30"]], int),
    "prompt": ([["--prompt", "Explain RAID 5."]], str),
    "twice": ([["--twice"], ["--no-twice"]], bool),
    "bench": ([["--bench"], ["--no-bench"]], bool),
    "reasoning_effort": ([["--reasoning-effort", "high"]], str),
    # The worker-process load test's, with --bench.
    "workers": ([["--workers", "3"]], int),
    "compare": ([["--compare", "bench/old.json"]], str),
    "tolerance": ([["--tolerance", "5"]], float),
    "peak_rate": ([["--peak-rate", "120.5"]], float),
}
PARSED = {
    ("--test-timeout", "30"): 30,
    ("--prompt", "Explain RAID 5."): "Explain RAID 5.",
    ("--twice",): True,
    ("--no-twice",): False,
    ("--bench",): True,
    ("--no-bench",): False,
    ("--reasoning-effort", "high"): "high",
    ("--workers", "3"): 3,
    ("--compare", "bench/old.json"): "bench/old.json",
    ("--tolerance", "5"): 5.0,
    ("--peak-rate", "120.5"): 120.5,
}


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def entrypoint_commands(path: Path) -> dict[str, click.Command]:
    """The click command of each local entrypoint of the app at `path`, by entrypoint name."""
    module = import_app_file(path)
    members, _ = _get_module_members(module)
    return {
        command.names[0]: _get_click_command_for_local_entrypoint(module.app, command.runnable)
        for command in list_cli_commands(members)
        if isinstance(command.runnable, LocalEntrypoint)
    }


def default_command(path: Path) -> click.Command:
    """The command `modal run <path>` runs: the entrypoint modal infers from the file."""
    module = import_app_file(path)
    members, _ = _get_module_members(module)
    runnable = infer_runnable(list_cli_commands(members), "", True, False)
    assert runnable is not None, f"`modal run {_relative(path)}` finds no entrypoint to run"
    return _get_click_command_for_local_entrypoint(module.app, runnable)


def parse(command: click.Command, args: list[str]) -> dict[str, Any]:
    return command.make_context(command.name or "entrypoint", list(args)).params


@pytest.fixture(scope="module")
def commands() -> dict[str, dict[str, click.Command]]:
    return {_relative(path): entrypoint_commands(path) for path in APPS}


def test_the_apps_are_found() -> None:
    assert len(APPS) >= 6
    assert any("modal-examples" in str(path) for path in APPS)


def test_every_option_is_known(commands: dict[str, dict[str, click.Command]]) -> None:
    seen = set()
    for app, entrypoints in commands.items():
        for name, command in entrypoints.items():
            options = {param.name for param in command.params}
            assert options <= OPTIONS.keys(), f"{app}::{name}: {sorted(options - OPTIONS.keys())}"
            seen |= options
    # Every option is tested on at least one committed app.
    assert seen == OPTIONS.keys()


@pytest.mark.parametrize("path", APPS, ids=_relative)
def test_every_option_parses_to_its_type(
    path: Path, commands: dict[str, dict[str, click.Command]]
) -> None:
    for name, command in commands[_relative(path)].items():
        where = f"{_relative(path)}::{name}"
        defaults = parse(command, [])
        for option in command.params:
            argument_lists, option_type = OPTIONS[option.name]
            default = defaults[option.name]
            assert default is None or type(default) is option_type, (
                f"{where}: the default of --{option.name} is {default!r}"
            )
            for arguments in argument_lists:
                value = parse(command, arguments)[option.name]
                expected = PARSED[tuple(arguments)]
                assert type(value) is type(expected) and value == expected, (
                    f"{where} {shlex.join(arguments)}: {option.name} is {value!r}, "
                    f"expected {expected!r}"
                )
            # The options are independent: one given leaves the others at their defaults.
            others = parse(command, argument_lists[0])
            assert {key: others[key] for key in others if key != option.name} == {
                key: defaults[key] for key in defaults if key != option.name
            }


@pytest.mark.parametrize("path", APPS, ids=_relative)
def test_a_string_is_not_taken_for_a_flag(
    path: Path, commands: dict[str, dict[str, click.Command]]
) -> None:
    """`--twice False` was the non-empty string "False", so true; a bool option takes no
    value, and an int option refuses text."""
    for command in commands[_relative(path)].values():
        names = {param.name for param in command.params}
        if "twice" in names:
            with pytest.raises(click.UsageError):
                parse(command, ["--twice", "False"])
        if "test_timeout" in names:
            with pytest.raises(click.BadParameter):
                parse(command, ["--test-timeout", "soon"])


def readme_commands() -> list[list[str]]:
    """The `modal run` command lines of the README, as shell words (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"^modal run .*$", text, flags=re.MULTILINE)
    return [shlex.split(line, comments=True) for line in lines]


def test_the_readme_has_modal_run_commands_with_options() -> None:
    words = readme_commands()
    assert any(len(command) > 3 for command in words)


@pytest.mark.parametrize("words", readme_commands(), ids=shlex.join)
def test_readme_modal_run_commands_parse_as_written(words: list[str]) -> None:
    assert words[:2] == ["modal", "run"]
    reference, *arguments = words[2:]
    path = ROOT / reference
    assert path.is_file(), f"{shlex.join(words)}: no file {reference}"
    params = parse(default_command(path), arguments)
    # Each option given arrives as written, with its type.
    for given, expected in PARSED.items():
        if any(tuple(arguments[i : i + len(given)]) == given for i in range(len(arguments))):
            option = given[0].removeprefix("--no-").removeprefix("--").replace("-", "_")
            value = params[option]
            assert type(value) is type(expected) and value == expected, shlex.join(words)

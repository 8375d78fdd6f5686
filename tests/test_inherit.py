"""Layered specs: bases merge deeply, the spec wins, errors point at the file that set a value."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from generator.checks.validation import load_spec
from generator.project.project import Project
from generator.spec.errors import SpecError
from tests.conftest import FLAT_SPECS, ROOT


def test_layered_specs_generate_the_same_files_as_flat_ones(tmp_path: Path) -> None:
    shutil.copytree(FLAT_SPECS, tmp_path / "specs")
    flat = Project(tmp_path).render(Project(tmp_path).discover_specs())
    layered = Project(ROOT).render(Project(ROOT).discover_specs())
    # Their raw inputs differ (other bytes), so only the fast path's header lines may differ.
    assert [output.content for output in flat] == [output.content for output in layered]
    for output in layered:
        assert output.content == (ROOT / output.path).read_text()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


BASE = """\
version = 1
[server]
unauthenticated = true
gpu = { type = "H100", count = 1 }
proxy_regions = ["us-east", "us-west"]
[image.env]
A = "1"
"""
CHILD = """\
version = 1
extends = ["_base/base.toml"]
[app]
name = "child"
class_name = "Server"
[image]
registry_tag = "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"
[image.env]
B = "2"
[model]
name = "Qwen/Qwen3-8B"
revision = "0123456789abcdef0123456789abcdef01234567"
[server]
proxy_regions = ["eu"]
"""


def test_mappings_merge_and_lists_replace(tmp_path: Path) -> None:
    write(tmp_path / "specs" / "_base" / "base.toml", BASE)
    spec = load_spec(write(tmp_path / "specs" / "child.toml", CHILD)).spec
    assert spec.image.env == {"A": "1", "B": "2"}
    assert spec.server.proxy_regions == ["eu"]
    assert spec.server.gpu.type.value == "H100"


def test_errors_point_at_the_file_and_line_that_set_the_value(tmp_path: Path) -> None:
    write(tmp_path / "specs" / "_base" / "base.toml", BASE.replace("count = 1", "count = 0"))
    child = write(tmp_path / "specs" / "child.toml", CHILD.replace('B = "2"', "B = 2"))
    with pytest.raises(SpecError) as caught:
        Project(tmp_path).load_all([child])
    messages = [str(problem) for problem in caught.value.problems]
    assert any(m.startswith("specs/_base/base.toml:4:24: server.gpu.count:") for m in messages)
    assert any(m.startswith("specs/child.toml:9:1: image.env.B:") for m in messages)


def test_bases_may_extend_bases_and_be_yaml(tmp_path: Path) -> None:
    write(tmp_path / "specs" / "_base" / "root.yaml", "image:\n  env:\n    ROOT: '0'\n")
    write(
        tmp_path / "specs" / "_base" / "base.toml",
        'extends = ["root.yaml"]\n' + BASE,
    )
    spec = load_spec(write(tmp_path / "specs" / "child.toml", CHILD)).spec
    assert spec.image.env == {"ROOT": "0", "A": "1", "B": "2"}


def test_missing_base_is_reported_at_the_extends_entry(tmp_path: Path) -> None:
    child = write(tmp_path / "specs" / "child.toml", CHILD.replace("base.toml", "nope.toml"))
    with pytest.raises(SpecError) as caught:
        Project(tmp_path).load_all([child])
    (problem,) = caught.value.problems
    assert str(problem) == (
        "specs/child.toml:2:1: extends[0]: base spec '_base/nope.toml' does not exist"
    )


def test_cycles_are_reported(tmp_path: Path) -> None:
    write(tmp_path / "specs" / "_base" / "base.toml", 'extends = ["../child.toml"]\n' + BASE)
    child = write(tmp_path / "specs" / "child.toml", CHILD)
    with pytest.raises(SpecError, match=r"extend each other in a cycle: child\.toml -> base\.toml"):
        Project(tmp_path).load_all([child])


def test_extends_must_be_a_list_of_paths(tmp_path: Path) -> None:
    child = write(tmp_path / "specs" / "child.toml", CHILD.replace('["_base/base.toml"]', "3"))
    with pytest.raises(SpecError, match="extends: expected a list of base spec paths"):
        Project(tmp_path).load_all([child])


@pytest.mark.parametrize(
    ("entry", "make", "expected"),
    [
        ("../../outside/base.toml", None, "lies outside the project ("),
        ("/etc/passwd", None, "lies outside the project ("),
        ("_base/link.toml", "link out", "lies outside the project ("),
        ("_base/zero.toml", "device", "lies outside the project ("),
        ("_base/fifo.toml", "fifo", "is a FIFO (named pipe), not a regular file"),
        ("_base", None, "is a folder, not a regular file"),
    ],
)
def test_bases_stay_inside_the_project(
    tmp_path_factory: pytest.TempPathFactory, entry: str, make: str | None, expected: str
) -> None:
    root = tmp_path_factory.mktemp("project")
    outside = tmp_path_factory.mktemp("outside") / "base.toml"
    outside.write_text(BASE)
    write(root / "specs" / "_base" / "base.toml", BASE)
    if make == "link out":
        (root / "specs" / "_base" / "link.toml").symlink_to(outside)
    elif make == "device":
        (root / "specs" / "_base" / "zero.toml").symlink_to("/dev/zero")
    elif make == "fifo":
        os.mkfifo(root / "specs" / "_base" / "fifo.toml")
    child = write(root / "specs" / "child.toml", CHILD.replace("_base/base.toml", entry))
    with pytest.raises(SpecError) as caught:
        Project(root).load_all([child])
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"specs/child.toml:2:1: extends[0]: base spec {entry!r} ")
    assert expected in str(problem)

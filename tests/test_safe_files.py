"""The one way modalgen reads a project file or walks a project folder: nothing outside the
project through any path, nothing but regular files, nothing over the limit, nothing that
blocks. Links and special files cannot live in the corpus: they are made here, in tmp_path."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.spec import safe_files
from generator.spec.safe_files import (
    Missing,
    NotRegularFile,
    OutsideProject,
    TooLarge,
    Unreadable,
    folder_problems,
    inspect,
    read_bytes,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "a.toml").write_text("version = 1\n")
    (tmp_path / "outside.toml").write_text("version = 1\n# outside\n")
    return root


def finishes(call: Callable[[], object], seconds: float = 10) -> object:
    """The result (or the exception) of `call`, which must return within `seconds`: a read that
    blocks fails the test instead of hanging it."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as error:  # the caller looks at it
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return outcome[0]


def test_a_regular_file_inside_is_read(project: Path) -> None:
    assert read_bytes(project, project / "specs" / "a.toml", 100) == b"version = 1\n"
    # A link that stays inside the project is fine, and so is reaching the root by a link.
    (project / "specs" / "b.toml").symlink_to("a.toml")
    assert read_bytes(project, project / "specs" / "b.toml", 100) == b"version = 1\n"
    (project.parent / "link-to-project").symlink_to(project)
    assert read_bytes(project.parent / "link-to-project", project / "specs" / "a.toml", 100)


@pytest.mark.parametrize(
    "where",
    [
        "specs/../../outside.toml",  # `..`
        "{outside}",  # an absolute path
        "specs/link.toml",  # a link out of the project
        "specs/sub/inner.toml",  # a file in a folder that is a link out
    ],
)
def test_nothing_outside_the_project_is_read(project: Path, where: str) -> None:
    outside = project.parent / "outside.toml"
    (project / "specs" / "link.toml").symlink_to(outside)
    (project.parent / "elsewhere").mkdir()
    (project.parent / "elsewhere" / "inner.toml").write_text("version = 1\n")
    (project / "specs" / "sub").symlink_to(project.parent / "elsewhere")
    path = Path(where.format(outside=outside))
    path = path if path.is_absolute() else project / path
    with pytest.raises(OutsideProject, match=r"^lies outside the project \(") as refused:
        read_bytes(project, path, 1000)
    assert "copy it into the project" in refused.value.reason
    with pytest.raises(OutsideProject):
        inspect(project, path)


def test_a_link_out_to_nothing_is_outside_not_missing(project: Path) -> None:
    (project / "specs" / "gone.toml").symlink_to(project.parent / "gone.toml")
    with pytest.raises(OutsideProject):
        read_bytes(project, project / "specs" / "gone.toml", 100)


def test_a_fifo_is_refused_without_blocking(project: Path) -> None:
    fifo = project / "specs" / "_fifo.toml"
    os.mkfifo(fifo)
    for call in (lambda: read_bytes(project, fifo, 100), lambda: inspect(project, fifo)):
        refused = finishes(call)
        assert isinstance(refused, NotRegularFile)
        assert refused.reason.startswith("is a FIFO (named pipe), not a regular file")


def test_a_device_is_refused_before_it_is_opened() -> None:
    refused = finishes(lambda: read_bytes(Path("/"), Path("/dev/zero"), 100))
    assert isinstance(refused, NotRegularFile)
    assert refused.reason.startswith("is a character device, not a regular file")


def test_a_link_to_a_device_is_outside_the_project(project: Path) -> None:
    (project / "specs" / "_zero.toml").symlink_to("/dev/zero")
    refused = finishes(lambda: read_bytes(project, project / "specs" / "_zero.toml", 100))
    assert isinstance(refused, OutsideProject)
    assert "(it resolves to /dev/zero)" in refused.reason


def test_a_socket_and_a_folder_are_not_files(project: Path) -> None:
    with pytest.raises(NotRegularFile, match=r"^is a folder, not a regular file"):
        read_bytes(project, project / "specs", 100)
    path = project / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(NotRegularFile, match=r"^is a socket, not a regular file"):
            read_bytes(project, path, 100)
    finally:
        server.close()


def test_the_size_limit_holds_before_reading(project: Path) -> None:
    path = project / "specs" / "big.toml"
    path.write_bytes(b"x" * 101)
    with pytest.raises(TooLarge, match=r"^is larger than 100 bytes"):
        read_bytes(project, path, 100)
    path.write_bytes(b"x" * 100)
    assert read_bytes(project, path, 100) == b"x" * 100


def test_missing_and_unreadable_paths_say_why(project: Path) -> None:
    with pytest.raises(Missing, match=r"^does not exist$"):
        read_bytes(project, project / "specs" / "nope.toml", 100)
    (project / "specs" / "dangling.toml").symlink_to("nowhere.toml")
    with pytest.raises(Missing, match=r"^is a symbolic link to nothing$"):
        read_bytes(project, project / "specs" / "dangling.toml", 100)
    with pytest.raises(Unreadable, match=r"^cannot be read: File name too long$"):
        read_bytes(project, project / "specs" / ("a" * 5000 + ".toml"), 100)
    with pytest.raises(Unreadable, match=r"^cannot be read: embedded null byte$"):
        read_bytes(project, project / "specs" / "a\x00.toml", 100)
    (project / "specs" / "loop.toml").symlink_to("loop.toml")
    with pytest.raises(Unreadable, match=r"^cannot be read: Too many levels of symbolic links$"):
        read_bytes(project, project / "specs" / "loop.toml", 100)


def test_the_project_root_of_a_spec() -> None:
    assert safe_files.project_root(Path("/p/specs/x.toml")) == Path("/p")
    assert safe_files.project_root(Path("/p/specs/_base/x.toml")) == Path("/p")
    assert safe_files.project_root(Path("/p/q/x.toml")) == Path("/p")


# --- folders ---------------------------------------------------------------------------------


@pytest.fixture
def patches(project: Path) -> Path:
    folder = project / "patches"
    (folder / "sub").mkdir(parents=True)
    (folder / "fix.py").write_text("print('fix')\n")
    (folder / "sub" / "more.py").write_text("print('more')\n")
    return folder


def test_a_folder_of_files_has_no_problems(project: Path, patches: Path) -> None:
    (patches / "same.py").symlink_to("fix.py")  # links inside the project are fine
    (patches / "specs").symlink_to(project / "specs")
    (patches / "loop").symlink_to(patches)  # walked once
    assert folder_problems(project, patches, shown="patches") == []


def test_a_link_out_of_the_project_inside_a_folder_is_refused(project: Path, patches: Path) -> None:
    (patches / "sub" / "shadow").symlink_to("/etc/shadow")
    assert folder_problems(project, patches, shown="patches") == [
        "patches/sub/shadow is a symbolic link to /etc/shadow, outside the project, which would "
        "be copied into the image: remove the link, or copy what it points at into the project"
    ]


def test_a_link_to_a_folder_is_followed_and_checked_too(project: Path, patches: Path) -> None:
    other = project / "other"
    other.mkdir()
    (other / "key").symlink_to(project.parent / "outside.toml")
    (patches / "other").symlink_to(other)
    (problem,) = folder_problems(project, patches, shown="patches")
    assert problem.startswith("patches/other/key is a symbolic link to ")


def test_special_files_and_dangling_links_in_a_folder_are_refused(
    project: Path, patches: Path
) -> None:
    os.mkfifo(patches / "fifo")
    (patches / "gone").symlink_to("nowhere")
    problems = finishes(lambda: folder_problems(project, patches, shown="patches"))
    assert problems == [
        "patches/fifo is a FIFO (named pipe), which cannot be copied into an image: remove it "
        "from the folder",
        f"patches/gone is a symbolic link to nothing ({patches / 'nowhere'}): remove it",
    ]


def test_the_folder_itself_must_be_a_folder_of_the_project(project: Path, patches: Path) -> None:
    (project / "out").symlink_to(project.parent)
    (problem,) = folder_problems(project, project / "out", shown="out")
    assert problem.startswith("out lies outside the project")
    (problem,) = folder_problems(project, patches / "fix.py", shown="patches/fix.py")
    assert problem.startswith("patches/fix.py is a regular file, not a folder")
    assert folder_problems(project, project / "nope", shown="nope") == ["nope does not exist"]


def test_a_folder_swapped_for_a_link_is_found_on_the_next_call(
    project: Path, patches: Path
) -> None:
    assert folder_problems(project, patches) == []
    (patches / "fix.py").unlink()
    (patches / "fix.py").symlink_to(project.parent / "outside.toml")
    assert len(folder_problems(project, patches)) == 1


def test_a_folder_may_hold_at_most_so_many_entries(project: Path, patches: Path) -> None:
    for index in range(5):
        (patches / f"f{index}").write_text("")
    assert folder_problems(project, patches, shown="patches", max_entries=8) == []
    assert folder_problems(project, patches, shown="patches", max_entries=7) == [
        "patches holds more than 7 files and folders, the limit for a folder copied into an "
        "image: copy a smaller folder"
    ]

"""The one way modalgen looks at a file or folder of a project: inside the project (symbolic
links and `..` resolved), a regular file (never a FIFO, a device, a socket or a folder), and,
when it is read, within a size limit checked before a byte is read.

Every refusal is a `FileRefused`, whose `reason` completes `file: reason`. Nothing here blocks:
a path is looked at with `stat` before it is opened, and opened with `O_NONBLOCK`, so a FIFO
never waits for a writer; a device is never opened.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from generator.spec import limits


class FileRefused(Exception):
    """A file or folder modalgen will not look at or read. `reason` says why, and what to do,
    as a predicate that completes a subject: `base spec 'x.toml' {reason}`, such as "does not
    exist" or "lies outside the project (/p): ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Missing(FileRefused):
    """Nothing is there (or a symbolic link points at nothing)."""


class OutsideProject(FileRefused):
    """The path resolves outside the project, through `..`, an absolute path or a link."""


class NotRegularFile(FileRefused):
    """A folder, a FIFO, a device or a socket where a file is expected (or the reverse)."""


class TooLarge(FileRefused):
    """The file is larger than the limit it is read with."""


class Unreadable(FileRefused):
    """The operating system refused: a name too long, no permission, a loop of links, ..."""


@dataclass(frozen=True)
class Inside:
    """A path of the project, resolved: `real` has no symbolic link and lies under `root`."""

    root: Path  # the project folder, resolved
    real: Path
    status: os.stat_result


def project_root(spec_path: Path) -> Path:
    """The project a spec belongs to when no project was named: the folder that holds its
    `specs/` folder, else the folder above the spec's own."""
    for parent in Path(os.path.realpath(spec_path)).parents:
        if parent.name == "specs":
            return parent.parent
    return Path(os.path.realpath(spec_path)).parent.parent


def resolve_root(root: Path) -> Path:
    """The project folder with its symbolic links resolved (a project may be reached by one)."""
    return Path(os.path.realpath(root))


def inspect(root: Path, path: Path, *, folder: bool = False) -> Inside:
    """`path` (absolute, or relative to the working directory) resolved inside `root`, and what
    it is, without opening it: a regular file, or a folder when `folder`. Raises FileRefused."""
    real_root = resolve_root(root)
    try:
        real = Path(os.path.realpath(path))
        status = os.stat(real)
    except FileNotFoundError:
        _refuse_outside(real_root, Path(os.path.realpath(path)), path)
        raise Missing(_missing(path)) from None
    except ValueError as error:  # a NUL byte in the path
        raise Unreadable(f"cannot be read: {error}") from None
    except OSError as error:
        raise Unreadable(_os_reason(error)) from None
    _refuse_outside(real_root, real, path)
    wanted = stat.S_ISDIR if folder else stat.S_ISREG
    if not wanted(status.st_mode):
        expected = "a folder" if folder else "a regular file"
        raise NotRegularFile(
            f"is {kind_of(status.st_mode)}, not {expected}: "
            f"modalgen reads only {'folders' if folder else 'regular files'} of the project"
        )
    return Inside(real_root, real, status)


def read_bytes(root: Path, path: Path, limit: int) -> bytes:
    """The bytes of the project file at `path`, refusing (FileRefused) anything `inspect`
    refuses and a file larger than `limit` bytes, before reading it (from its size) and while
    reading it (at most `limit + 1` bytes are read: a file may grow)."""
    inside = inspect(root, path)
    if inside.status.st_size > limit:
        raise TooLarge(_too_large(limit))
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(inside.real, flags)
    except OSError as error:  # ELOOP: the last part became a link since `inspect`
        raise Unreadable(_os_reason(error)) from None
    try:
        status = os.fstat(descriptor)
        same = (status.st_dev, status.st_ino) == (inside.status.st_dev, inside.status.st_ino)
        if not (stat.S_ISREG(status.st_mode) and same):
            raise NotRegularFile("changed while it was opened, so nothing was read: run again")
        if status.st_size > limit:
            raise TooLarge(_too_large(limit))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise Unreadable(_os_reason(error)) from None
    finally:
        os.close(descriptor)
    if size > limit:
        raise TooLarge(_too_large(limit))
    return b"".join(chunks)


def folder_problems(
    root: Path,
    folder: Path,
    *,
    shown: str | None = None,
    max_entries: int = limits.MAX_FOLDER_ENTRIES,
) -> list[str]:
    """What makes the project folder `folder` unsafe to copy into an image, one message each
    (empty when nothing does): the folder itself outside the project or not a folder; inside
    it, a symbolic link that leads outside the project or to nothing, a FIFO, a device or a
    socket; more than `max_entries` entries. Links to folders inside the project are followed
    (each folder once). Walks without recursion and opens no file, so it can be called at any
    time (validate, and again before each generate or check)."""
    shown = folder.as_posix() if shown is None else shown
    try:
        start = inspect(root, folder, folder=True)
    except FileRefused as refused:
        return [f"{shown} {refused.reason}"]
    problems: list[str] = []
    seen = {(start.status.st_dev, start.status.st_ino)}
    pending = [(start.real, shown.rstrip("/"))]
    entries = 0
    while pending:
        real, where = pending.pop()
        try:
            listing = sorted(os.scandir(real), key=lambda entry: entry.name)
        except OSError as error:
            problems.append(f"{where}/ {_os_reason(error)}")
            continue
        for entry in listing:
            entries += 1
            if entries > max_entries:
                return [
                    *problems,
                    f"{shown} holds more than {max_entries} files and folders, the "
                    "limit for a folder copied into an image: copy a smaller folder",
                ]
            name = f"{where}/{entry.name}"
            try:
                problem, descend = _entry_problem(start.root, entry, name, seen)
            except OSError as error:
                problem, descend = f"{name} {_os_reason(error)}", None
            if problem is not None:
                problems.append(problem)
            if descend is not None:
                pending.append((descend, name))
    return problems


def _entry_problem(
    real_root: Path, entry: os.DirEntry[str], name: str, seen: set[tuple[int, int]]
) -> tuple[str | None, Path | None]:
    """The problem with one entry of a folder being walked, and the folder to walk next."""
    if entry.is_symlink():
        target = Path(os.path.realpath(entry.path))
        if not target.is_relative_to(real_root):
            return (
                f"{name} is a symbolic link to {target}, outside the project, which would be "
                "copied into the image: remove the link, or copy what it points at into the "
                "project",
                None,
            )
        try:
            status = os.stat(target)
        except FileNotFoundError:
            return f"{name} is a symbolic link to nothing ({target}): remove it", None
    else:
        status = entry.stat(follow_symlinks=False)
    if stat.S_ISDIR(status.st_mode):
        key = (status.st_dev, status.st_ino)
        if key in seen:
            return None, None
        seen.add(key)
        return None, Path(os.path.realpath(entry.path))
    if stat.S_ISREG(status.st_mode):
        return None, None
    return (
        f"{name} is {kind_of(status.st_mode)}, which cannot be copied into an image: remove it "
        "from the folder",
        None,
    )


def kind_of(mode: int) -> str:
    """What a file is, for messages: `a folder`, `a FIFO (named pipe)`, ..."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _refuse_outside(real_root: Path, real: Path, path: Path) -> None:
    if not real.is_relative_to(real_root):
        through = "" if Path(os.path.abspath(path)) == real else f" (it resolves to {real})"
        raise OutsideProject(
            f"lies outside the project ({real_root}){through}: modalgen reads only what is "
            "inside the project folder; copy it into the project"
        )


def _missing(path: Path) -> str:
    return "is a symbolic link to nothing" if os.path.islink(path) else "does not exist"


def _too_large(limit: int) -> str:
    return f"is larger than {limits.describe_bytes(limit)}, the limit for it"


def _os_reason(error: OSError) -> str:
    return f"cannot be read: {error.strerror or error}"

"""Reading a project's files safely: only regular files, inside the project, within a size
limit, checked before a byte is read (a FIFO would never end, `/dev/zero` never stop)."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnsafeFile(Exception):
    """A file modalgen was asked to read is not one it may read; the message says why."""


def read_project_file(path: Path, root: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, which must resolve (links followed) inside
    `root` and hold at most `limit` bytes; UnsafeFile otherwise."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError) as error:
        raise UnsafeFile(f"cannot be read: {_reason(error)}") from None
    if not resolved.is_relative_to(root.resolve()):
        raise UnsafeFile("lies outside the project (through `..` or a symbolic link)")
    try:
        descriptor = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as error:
        raise UnsafeFile(f"cannot be read: {_reason(error)}") from None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile("is not a regular file")
        if info.st_size > limit:
            raise UnsafeFile(f"is larger than {limit} bytes, the limit")
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFile(f"is larger than {limit} bytes, the limit")
    return data


def _reason(error: BaseException) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


# A folder an image adds is walked to its end: bound the walk.
MAX_FOLDER_ENTRIES = 100_000


def local_path_problems(root: Path, relative: Path) -> list[str]:
    """What makes the project path `relative` unsafe to add to an image: it, or (for a folder)
    anything below it, resolves outside the project through `..` or a symbolic link, or is a
    special file (a FIFO, a device, a socket). Empty when it is safe."""
    root = root.resolve()
    target = root / relative
    try:
        if relative.is_absolute() or not target.resolve().is_relative_to(root):
            return [f"{relative.as_posix()!r} lies outside the project"]
        if not target.is_dir():
            return [] if target.is_file() else [f"{relative.as_posix()!r} is no regular file"]
    except (OSError, RuntimeError, ValueError) as error:
        return [f"{relative.as_posix()!r} cannot be read: {_reason(error)}"]
    problems: list[str] = []
    seen = 0
    for folder, folders, files in os.walk(target, followlinks=False):
        for name in (*folders, *files):
            seen += 1
            if seen > MAX_FOLDER_ENTRIES:
                return [f"{relative.as_posix()!r} holds more than {MAX_FOLDER_ENTRIES} entries"]
            entry = Path(folder) / name
            shown = entry.relative_to(root).as_posix()
            try:
                mode = entry.lstat().st_mode
                if stat.S_ISLNK(mode):
                    if not entry.resolve().is_relative_to(root):
                        problems.append(f"{shown!r} is a symbolic link out of the project")
                    continue
            except (OSError, RuntimeError) as error:
                problems.append(f"{shown!r} cannot be read: {_reason(error)}")
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                problems.append(f"{shown!r} is a special file (a FIFO, device or socket)")
    return problems

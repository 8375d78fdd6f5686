"""Edit spec files in place, keeping their comments, key order and layout.

TOML is edited with `tomlkit`, YAML with `ruamel.yaml` in round-trip mode. Only the lines an
edit touches change: the edited document is dumped, and its differences from an unedited dump of
the same document are carried onto the file's own text, so that anything the library would write
differently (ruamel re-indents some sequences, for one) stays as the user wrote it. Each edit is
checked by reading the result back with modalgen's own loader: the data must be exactly the old
data with that one change.

A field of a layered spec lives in the file that sets it (`SourceDocument.origins`):
`SpecEditor` edits that file, a base for a field a base sets, and `specs_reading` says which
specs such an edit changes. Writes are atomic (a temporary file renamed over the spec), and a
file whose bytes on disk are no longer the bytes read is refused, never overwritten: the user
edited it in the meantime.

    editor = SpecEditor()
    edited = editor.set(document, ("model", "revision"), "0123...")   # -> the SpecFile edited
    print(editor.diff())
    editor.write()
"""

from __future__ import annotations

import copy
import difflib
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.project.drift import unified_diff
from generator.spec.errors import FieldPath, SpecError, format_field_path
from generator.spec.loader import SourceDocument, parse_document

Key = str | int


class EditError(Exception):
    """An edit that cannot be made; nothing was written. The message says why."""


class FileChanged(EditError):
    """The file on disk is no longer what was read: the user edited it; it was not written."""


@dataclass(frozen=True)
class FileEdit:
    """One file's text before and after its edits."""

    path: Path
    display_path: str
    before: str
    after: str

    def diff(self) -> str:
        """A unified diff of the edit, `a/` and `b/` the file's display path."""
        return unified_diff(Path(self.display_path), self.before, self.after)


class SpecFile:
    """One spec file, read once and edited in memory until `write`."""

    def __init__(self, path: Path, display_path: str, raw: bytes) -> None:
        self.path = path
        self.display_path = display_path
        self._raw = raw
        try:
            self.original = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EditError(f"{display_path}: the file is not UTF-8 text") from None
        self._format = _format_for(path, display_path)
        self._document = self._format.parse(self.original, display_path)
        self._noop = self._format.dump(self._document)
        self._data = _load_data(self.original, path, display_path)
        self.text = self.original

    @classmethod
    def read(cls, path: Path, display_path: str | None = None) -> SpecFile:
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise EditError(f"{display_path or path}: cannot read the file: {error}") from None
        return cls(path, display_path or path.as_posix(), raw)

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def data(self) -> dict[str, Any]:
        """The file's data as modalgen reads it, edits included (a copy)."""
        return copy.deepcopy(self._data)

    def has(self, field: FieldPath) -> bool:
        return _lookup(self._data, field) is not _MISSING

    def get(self, field: FieldPath) -> Any:
        value = _lookup(self._data, field)
        if value is _MISSING:
            raise EditError(f"{self.display_path}: {format_field_path(field)}: not set")
        return copy.deepcopy(value)

    def set(self, field: FieldPath, value: Any) -> None:
        """Set `field` to `value`, adding it (and the tables above it) where it is missing."""
        if not field:
            raise EditError("set needs a field path")
        expected = self.data()
        _plain_set(expected, field, value, self.display_path)
        self._apply(field, expected, lambda: self._format.set(self._document, field, value))

    def rename(self, field: FieldPath, new_key: str) -> None:
        """Give the key of `field` the name `new_key`, where it stands, keeping its value."""
        if not field or not isinstance(field[-1], str):
            raise EditError(f"{format_field_path(field)}: only a key can be renamed")
        expected = self.data()
        parent = _lookup(expected, field[:-1])
        if not isinstance(parent, dict) or field[-1] not in parent:
            raise EditError(f"{self.display_path}: {format_field_path(field)}: not set")
        if new_key in parent and new_key != field[-1]:
            raise EditError(
                f"{self.display_path}: {format_field_path((*field[:-1], new_key))}: already set"
            )
        renamed = {(new_key if key == field[-1] else key): item for key, item in parent.items()}
        parent.clear()
        parent.update(renamed)
        self._apply(field, expected, lambda: self._format.rename(self._document, field, new_key))

    def remove(self, field: FieldPath) -> None:
        """Remove `field` (a key and its value, or an item of a list)."""
        expected = self.data()
        parent = _lookup(expected, field[:-1]) if field else _MISSING
        key = field[-1] if field else None
        if field and _has(parent, key):
            del parent[key]
        else:
            raise EditError(f"{self.display_path}: {format_field_path(field)}: not set")
        self._apply(field, expected, lambda: self._format.remove(self._document, field))

    def _apply(self, field: FieldPath, expected: dict[str, Any], change: Any) -> None:
        where = f"{self.display_path}: {format_field_path(field)}"
        try:
            change()
        except EditError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise EditError(f"{where}: cannot be edited here: {error}") from None
        edited = self._format.dump(self._document)
        text = _carry(self.text, self._noop, edited)
        try:
            data = _load_data(text, self.path, self.display_path)
        except EditError:
            data = None
        if data != expected:
            raise EditError(f"{where}: the edit would change more than this field; not made")
        self.text, self._noop, self._data = text, edited, data

    def edit(self) -> FileEdit:
        return FileEdit(self.path, self.display_path, self.original, self.text)

    def unchanged_on_disk(self) -> bool:
        try:
            return self.path.read_bytes() == self._raw
        except OSError:
            return False

    def write(self) -> bool:
        """Write the edited text over the file, atomically; False when there was no edit.
        Refuses (FileChanged) when the file no longer holds the bytes it was read with."""
        if not self.changed:
            return False
        self._refuse_if_changed()
        directory = self.path.parent
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(self.text.encode("utf-8"))
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, self.path.stat().st_mode & 0o7777)
            self._refuse_if_changed()  # again, just before the rename
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._raw = self.text.encode("utf-8")
        self.original = self.text
        return True

    def _refuse_if_changed(self) -> None:
        if not self.unchanged_on_disk():
            raise FileChanged(
                f"{self.display_path}: changed on disk since it was read (edited in the "
                "meantime?): not written; run the command again"
            )


class SpecEditor:
    """Edits of fields of (possibly layered) specs, each made in the file that sets the field.

    Every file is read once, on its first edit; `write` writes every edited file, after checking
    that none of them changed on disk since."""

    def __init__(self) -> None:
        self._files: dict[Path, SpecFile] = {}

    def file(self, path: Path, display_path: str | None = None) -> SpecFile:
        key = path.resolve()
        if key not in self._files:
            self._files[key] = SpecFile.read(path, display_path)
        return self._files[key]

    def owner(self, document: SourceDocument, field: FieldPath) -> SpecFile:
        """The file to edit for `field` of the merged `document`: the base that set it, else
        the spec itself (a field no file sets is added to the spec, not to a base)."""
        display = document.origins.get(field, document.display_path)
        path = document.sources.get(display, document.path)
        return self.file(path, display)

    def set(self, document: SourceDocument, field: FieldPath, value: Any) -> SpecFile:
        target = self.owner(document, field)
        target.set(field, value)
        return target

    def rename(self, document: SourceDocument, field: FieldPath, new_key: str) -> SpecFile:
        target = self.owner(document, field)
        target.rename(field, new_key)
        return target

    def remove(self, document: SourceDocument, field: FieldPath) -> SpecFile:
        target = self.owner(document, field)
        target.remove(field)
        return target

    def edits(self) -> list[FileEdit]:
        return [file.edit() for file in self._files.values() if file.changed]

    def diff(self) -> str:
        return "".join(edit.diff() for edit in self.edits())

    def texts(self) -> dict[Path, str]:
        """The edited text of each edited file, by resolved path, as `load_layered` reads it."""
        return {key: file.text for key, file in self._files.items() if file.changed}

    def write(self) -> list[SpecFile]:
        """Write every edited file; refuse them all (FileChanged) if any changed on disk."""
        edited = [file for file in self._files.values() if file.changed]
        for file in edited:
            file._refuse_if_changed()
        return [file for file in edited if file.write()]


def specs_reading(
    field: FieldPath,
    file: SpecFile,
    documents: Iterable[SourceDocument],
    resolve: Callable[[Path], Path] = Path.resolve,
) -> list[SourceDocument]:
    """The specs among `documents` whose value of `field` comes from `file`: what editing that
    field of that file changes. `resolve` resolves a path (a caller asking for many fields of
    many specs passes one that remembers)."""
    wanted = resolve(file.path)
    found = []
    for document in documents:
        if _lookup(document.data, field) is _MISSING:
            continue
        display = document.origins.get(field, document.display_path)
        path = document.sources.get(display, document.path)
        if resolve(path) == wanted:
            found.append(document)
    return found


# --- plain data -------------------------------------------------------------------------------

_MISSING: Any = object()


def _lookup(data: Any, field: FieldPath) -> Any:
    for part in field:
        if not _has(data, part):
            return _MISSING
        data = data[part]
    return data


def _plain_set(data: dict[str, Any], field: FieldPath, value: Any, display: str) -> None:
    node: Any = data
    for depth, part in enumerate(field[:-1]):
        child = _lookup(node, (part,))
        if child is _MISSING:
            if not (isinstance(node, dict) and isinstance(part, str)):
                raise EditError(f"{display}: {format_field_path(field[: depth + 1])}: not set")
            child = node[part] = {}
        if not isinstance(child, dict | list):
            where = format_field_path(field[: depth + 1])
            raise EditError(f"{display}: {where}: holds a value, not a table")
        node = child
    last = field[-1]
    if isinstance(node, list):
        if not (isinstance(last, int) and 0 <= last < len(node)):
            raise EditError(f"{display}: {format_field_path(field)}: no such item")
    elif not isinstance(last, str):
        raise EditError(f"{display}: {format_field_path(field)}: a table has no items by number")
    node[last] = copy.deepcopy(value)


def _load_data(text: str, path: Path, display_path: str) -> dict[str, Any]:
    try:
        return parse_document(text, path, display_path).data
    except SpecError as error:
        raise EditError(str(error)) from None


def _carry(original: str, noop: str, edited: str) -> str:
    """The lines where `edited` differs from `noop` (both dumps of one document), applied to
    `original`, the file's own text, which may differ from `noop` in layout only. Where a changed
    line has no counterpart in the original (the dump reformatted it), the whole dump is used."""
    if noop == original:
        return edited
    old, base, new = (text.splitlines(keepends=True) for text in (original, noop, edited))
    counterpart: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, base, old, autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            counterpart[block.a + offset] = block.b + offset
    result: list[str] = []
    done = 0
    opcodes = difflib.SequenceMatcher(None, base, new, autojunk=False).get_opcodes()
    for tag, first, end, new_first, new_end in opcodes:
        if tag == "equal":
            continue
        if first == end:  # an insertion after line first - 1
            if first == 0:
                start = stop = 0
            elif first - 1 in counterpart:
                start = stop = counterpart[first - 1] + 1
            else:
                return edited
        else:
            lines = [counterpart.get(index) for index in range(first, end)]
            if None in lines or lines != list(range(lines[0], lines[0] + len(lines))):
                return edited
            start, stop = lines[0], lines[-1] + 1
        if start < done:
            return edited
        result += old[done:start] + new[new_first:new_end]
        done = stop
    return "".join(result + old[done:])


# --- formats ----------------------------------------------------------------------------------


class _Format:
    def parse(self, text: str, display_path: str) -> Any:
        raise NotImplementedError

    def dump(self, document: Any) -> str:
        raise NotImplementedError

    def container(self, document: Any, field: FieldPath, create: bool) -> Any:
        raise NotImplementedError

    def set(self, document: Any, field: FieldPath, value: Any) -> None:
        raise NotImplementedError

    def rename(self, document: Any, field: FieldPath, new_key: str) -> None:
        raise NotImplementedError

    def remove(self, document: Any, field: FieldPath) -> None:
        parent = self.container(document, field[:-1], create=False)
        del parent[field[-1]]


class _Toml(_Format):
    def parse(self, text: str, display_path: str) -> Any:
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            return tomlkit.parse(text)
        except ParseError as error:
            raise EditError(f"{display_path}: invalid TOML: {error}") from None

    def dump(self, document: Any) -> str:
        import tomlkit

        return tomlkit.dumps(document)

    def container(self, document: Any, field: FieldPath, create: bool) -> Any:
        import tomlkit

        node = document
        for part in field:
            if isinstance(part, str) and part not in node:
                if not create:
                    raise KeyError(part)
                node[part] = tomlkit.table()
            node = node[part]
        return node

    def set(self, document: Any, field: FieldPath, value: Any) -> None:
        import tomlkit

        new_table = None
        try:
            parent = self.container(document, field[:-1], create=False)
        except KeyError:
            parent = new_table = self.container(document, field[:-1], create=True)
        parent[field[-1]] = value
        if new_table is not None:
            new_table.add(tomlkit.nl())  # a blank line before the next table, as above it

    def rename(self, document: Any, field: FieldPath, new_key: str) -> None:
        from tomlkit.container import Container
        from tomlkit.items import SingleKey

        parent = self.container(document, field[:-1], create=False)
        body = parent if isinstance(parent, Container) else parent.value
        item = body.item(field[-1])
        old = next(key for key, _ in body.body if key is not None and key.key == field[-1])
        # A quoted key stays quoted, a bare one bare, with the spacing before its `=`.
        written = old.as_string()
        quote = old.t.value
        gap = written[len(written.rstrip()) :]
        new = SingleKey(new_key, t=old.t, sep=old.sep, original=f"{quote}{new_key}{quote}{gap}")
        body._replace(field[-1], new, item)  # keeps its place, value and comment


class _Yaml(_Format):
    def _yaml(self) -> Any:
        from ruamel.yaml import YAML

        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 1 << 16  # never wrap a long line
        return yaml

    def parse(self, text: str, display_path: str) -> Any:
        from ruamel.yaml.error import YAMLError
        from ruamel.yaml.util import load_yaml_guess_indent

        try:
            _, indent, block_indent = load_yaml_guess_indent(text)
            document = self._yaml().load(text)  # again: keeping quotes
        except YAMLError as error:
            raise EditError(f"{display_path}: invalid YAML: {error}") from None
        self._indent = (indent or 2, block_indent or 0)
        return document

    def dump(self, document: Any) -> str:
        yaml = self._yaml()
        mapping, offset = self._indent
        yaml.indent(mapping=mapping, sequence=mapping + offset, offset=offset)
        stream = io.StringIO()
        yaml.dump(document, stream)
        return stream.getvalue()

    def _width(self, value: Any) -> int:
        """How many characters `value` takes, written as a one-line mapping value."""
        if isinstance(value, Mapping | list):
            return 0
        stream = io.StringIO()
        self._yaml().dump({"k": value}, stream)
        return len(stream.getvalue().splitlines()[0]) - len("k: ")

    def container(self, document: Any, field: FieldPath, create: bool) -> Any:
        from ruamel.yaml.comments import CommentedMap

        node = document
        created: list[tuple[Any, Key]] = []
        for part in field:
            if isinstance(node, Mapping) and part not in node:
                if not create:
                    raise KeyError(part)
                _add_yaml_key(node, part, CommentedMap())
                created.append((node, part))
            node = node[part]
        self._created = created
        return node

    def set(self, document: Any, field: FieldPath, value: Any) -> None:
        parent = self.container(document, field[:-1], create=True)
        if _has(parent, field[-1]):
            old = parent[field[-1]]
            parent[field[-1]] = _yaml_like(old, value)
            grown = self._width(parent[field[-1]]) - self._width(old)
            _keep_comment_gap(parent, field[-1], grown)
            return
        _add_yaml_key(parent, field[-1], value)
        for mapping, key in self._created:  # blank lines move down to the innermost new key
            comment = mapping.ca.items.pop(key, None)
            if comment is not None:
                mapping[key].ca.items[next(iter(mapping[key]))] = comment

    def rename(self, document: Any, field: FieldPath, new_key: str) -> None:
        parent = self.container(document, field[:-1], create=False)
        position = list(parent).index(field[-1])
        comment = parent.ca.items.pop(field[-1], None)
        value = parent.pop(field[-1])
        parent.insert(position, new_key, value)
        if comment is not None:
            parent.ca.items[new_key] = comment
            _keep_comment_gap(parent, new_key, len(str(new_key)) - len(str(field[-1])))


def _add_yaml_key(mapping: Any, key: Key, value: Any) -> None:
    """Add `key` at the end of `mapping`; blank lines that followed the last key follow it."""
    keys = list(mapping)
    mapping[key] = value
    comment = mapping.ca.items.get(keys[-1]) if keys else None
    after = comment[2] if comment is not None and len(comment) > 2 else None
    if after is not None and not after.value.strip():
        mapping.ca.items[key] = [None, None, comment[2], None]
        comment[2] = None


def _keep_comment_gap(parent: Any, key: Key, grown: int) -> None:
    """A comment after a value that grew moves right with it (ruamel keeps its column, so the
    gap would shrink to one space); after a value that shrank it stays in its column."""
    items = getattr(parent, "ca", None)
    entry = items.items.get(key) if items is not None else None
    index = 2 if isinstance(parent, Mapping) else 0
    token = entry[index] if entry is not None and len(entry) > index else None
    mark = getattr(token, "start_mark", None)
    if grown > 0 and mark is not None and token.value.lstrip(" ").startswith("#"):
        mark.column += grown


def _has(container: Any, key: Any) -> bool:
    """`container` (a mapping or a list, plain or a library's) holds `key`."""
    if isinstance(container, Mapping):
        return isinstance(key, str) and key in container
    if isinstance(container, list):
        return isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(container)
    return False


def _yaml_like(old: Any, value: Any) -> Any:
    """`value`, quoted as the value it replaces was (ruamel keeps quotes as string types)."""
    if isinstance(value, str) and isinstance(old, str) and type(old) is not str:
        return type(old)(value)
    return value


def _format_for(path: Path, display_path: str) -> _Format:
    if path.suffix == ".toml":
        return _Toml()
    if path.suffix in (".yaml", ".yml"):
        return _Yaml()
    raise EditError(f"{display_path}: not a TOML or YAML spec")

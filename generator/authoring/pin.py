"""`modalgen pin`: replace each branch or tag a spec serves with the commit it names today.

A revision is resolved through the Hugging Face Hub's API, `GET {endpoint}/api/models/{repo}/
revision/{revision}`, whose JSON answer carries the commit as `sha` (the call huggingface_hub's
`HfApi.model_info(repo, revision=...)` makes). The endpoint is `HF_ENDPOINT`, else
https://huggingface.co; a token in `HF_TOKEN` is sent as a Bearer header (gated and private
repositories need it) and never printed. Every revision is resolved before any file is written:
one that cannot be resolved is an error, and no file changes.

What is pinned: every table of a spec that names a Hub repository and a `revision` that is not
a commit: `[model]` (`name = "org/model"`) and each of `[[model.adapters]]` (`repo =
"org/adapter"`; its `name` is what requests ask for).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from generator.authoring.spec_edit import SpecEditor, specs_reading
from generator.spec.errors import FieldPath, Problem, format_field_path
from generator.spec.fields import (
    HF_REPO_ID,
    MODEL_REVISION,
    PATTERN_EXPECTATIONS,
    is_commit,
    validate_revision,
)
from generator.spec.loader import SourceDocument

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_SECONDS = 30
_SHA = re.compile(r"[0-9a-f]{40}")


class HubError(Exception):
    """A revision the Hub did not resolve; the message says why and what to do."""


@dataclass(frozen=True)
class HubClient:
    """The Hub's revision API at `endpoint`, with an optional token."""

    endpoint: str = DEFAULT_ENDPOINT
    token: str | None = None

    @classmethod
    def from_environment(cls, environ: os._Environ[str] | dict[str, str] = os.environ) -> HubClient:
        endpoint = (environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        return cls(endpoint, environ.get("HF_TOKEN") or None)

    def resolve(self, repo_id: str, revision: str) -> str:
        """The commit `revision` (a branch or tag) of the model `repo_id` names now."""
        url = (
            f"{self.endpoint}/api/models/{urllib.parse.quote(repo_id, safe='/')}/revision/"
            f"{urllib.parse.quote(revision, safe='')}"
        )
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        what = f"{repo_id} at {revision!r}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                body = response.read(1 << 20)
        except urllib.error.HTTPError as error:
            raise HubError(self._refusal(error.code, repo_id, revision)) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise HubError(
                f"cannot reach the Hub at {self.endpoint} to resolve {what} ({reason}); check the "
                "network, or HF_ENDPOINT for a mirror"
            ) from None
        try:
            sha = json.loads(body)["sha"]
        except (ValueError, KeyError, TypeError):
            sha = None
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise HubError(f"the Hub at {self.endpoint} answered for {what} without a commit hash")
        return sha

    def _refusal(self, status: int, repo_id: str, revision: str) -> str:
        if status in (401, 403) and not self.token:
            return (
                f"the Hub refused {repo_id} without a token (HTTP {status}): a gated or private "
                "repository; accept its terms on the Hub and set HF_TOKEN"
            )
        if status in (401, 403):
            return (
                f"the Hub refused {repo_id} with the token in HF_TOKEN (HTTP {status}): accept the "
                "repository's terms on the Hub, or use a token that may read it"
            )
        if status == 404:
            return (
                f"the Hub has no revision {revision!r} of {repo_id} (HTTP 404): check the "
                "repository id and the branch or tag name (a private repository needs HF_TOKEN)"
            )
        return f"the Hub answered HTTP {status} for {repo_id} at {revision!r}; try again later"


@dataclass(frozen=True)
class Pin:
    """One revision replaced by its commit, in the file that sets it."""

    field: FieldPath
    repo_id: str
    revision: str
    commit: str
    file: str  # the display path of the file edited
    specs: tuple[str, ...]  # the specs whose revision this changes


def unpinned(document: SourceDocument) -> Iterator[tuple[FieldPath, str, str]]:
    """(field, repository, revision) of each table that names a repository at a branch or tag."""
    yield from _unpinned(document.data, ())


def _unpinned(data: Any, prefix: FieldPath) -> Iterator[tuple[FieldPath, str, str]]:
    if isinstance(data, dict):
        # An adapter's repository is its `repo`, the model's its `name`.
        name, revision = data.get("repo", data.get("name")), data.get("revision")
        if (
            isinstance(name, str)
            and re.fullmatch(HF_REPO_ID, name)
            and isinstance(revision, str)
            and not is_commit(revision)
        ):
            yield (*prefix, "revision"), name, revision
        for key, value in data.items():
            yield from _unpinned(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _unpinned(value, (*prefix, index))


def plan(
    documents: Iterable[SourceDocument], hub: HubClient, editor: SpecEditor
) -> tuple[list[Pin], list[Problem]]:
    """Resolve every unpinned revision of `documents` and make the edits in `editor` (nothing
    is written); the problems are the revisions that could not be resolved."""
    documents = list(documents)
    resolved: dict[tuple[str, str], str | HubError] = {}
    pins: list[Pin] = []
    problems: list[Problem] = []
    edited: set[tuple[str, FieldPath]] = set()
    for document in documents:
        for field, repo_id, revision in unpinned(document):
            problem = _revision_problem(revision)
            if problem is not None:
                problems.append(document.problem(problem, field))
                continue
            key = (repo_id, revision)
            if key not in resolved:
                try:
                    resolved[key] = hub.resolve(repo_id, revision)
                except HubError as error:
                    resolved[key] = error
            outcome = resolved[key]
            if isinstance(outcome, HubError):
                problems.append(document.problem(str(outcome), field))
                continue
            target = editor.owner(document, field)
            if (target.display_path, field) in edited:
                continue  # a base that another spec pinned already
            edited.add((target.display_path, field))
            target.set(field, outcome)
            readers = specs_reading(field, target, documents)
            pins.append(
                Pin(
                    field,
                    repo_id,
                    revision,
                    outcome,
                    target.display_path,
                    tuple(reader.display_path for reader in readers),
                )
            )
    return pins, problems


def _revision_problem(revision: str) -> str | None:
    if not re.fullmatch(MODEL_REVISION, revision):
        return f"expected {PATTERN_EXPECTATIONS[MODEL_REVISION]}; given {revision!r}"
    try:
        validate_revision(revision)
    except ValueError as error:
        return str(error)
    return None


def describe(pin: Pin) -> str:
    """`specs/x.toml: model.revision 'main' -> 0123... (org/model)`, and the specs it reaches."""
    text = (
        f"{pin.file}: {format_field_path(pin.field)} {pin.revision!r} -> {pin.commit} "
        f"({pin.repo_id})"
    )
    others = [spec for spec in pin.specs if spec != pin.file]
    if others:
        text += f"; read by {', '.join(others)}"
    return text

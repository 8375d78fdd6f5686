"""What sidecars (`generator/model/sidecars.py`) need of the rest of the spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.model.models import Spec


def findings(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """What sidecars need of the rest of the spec."""
    sidecars = spec.sidecars
    if not sidecars:
        return
    names = [sidecar.name for sidecar in sidecars]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield ("sidecars", index, "name"), f"a second sidecar named {name!r}: name each once"
    from generator.exposure import in_a_class  # the server kind decides

    if not in_a_class(spec):
        yield (
            ("sidecars",),
            "sidecars are stopped in `modal.exit`, which a `web_server` function has not: set "
            "`server.on_class = true`",
        )
    if spec.lifecycle.memory_snapshot:
        yield (
            ("sidecars",),
            "sidecars with memory snapshots are not supported yet: a snapshot would hold their "
            "processes and connections; turn `lifecycle.memory_snapshot` off",
        )
    if spec.server.nodes > 1:
        yield (
            ("sidecars",),
            "sidecars on a cluster are not supported yet: use one node (`server.nodes = 1`)",
        )
    targets = [file.remote_path for sidecar in sidecars for file in sidecar.files]
    for index, sidecar in enumerate(sidecars):
        for number, file in enumerate(sidecar.files):
            if targets.count(file.remote_path) > 1:
                yield (
                    ("sidecars", index, "files", number, "remote_path"),
                    f"two files go to {file.remote_path}: give each its own path",
                )

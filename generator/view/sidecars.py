"""The sidecars' part of the view: their commands and the project files added to the image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.code.pycode import PyCode, literal

if TYPE_CHECKING:
    from generator.model.models import Spec


@dataclass(frozen=True)
class SidecarsView:
    commands: PyCode  # name: argv
    files: tuple[tuple[PyCode, PyCode], ...]  # (project path, path in the image)


def sidecars_view(spec: Spec) -> SidecarsView | None:
    if not spec.sidecars:
        return None
    return SidecarsView(
        commands=literal({sidecar.name: list(sidecar.command) for sidecar in spec.sidecars}),
        files=tuple(
            (literal(file.add_local_file), literal(file.remote_path))
            for sidecar in spec.sidecars
            for file in sidecar.files
        ),
    )

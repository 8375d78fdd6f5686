"""Sidecars: processes a replica runs beside the engine, such as a metrics shipper.

Modal's sgl_grafana.py starts Grafana Alloy once SGLang is healthy, to ship its `/metrics`. A
spec declares each such process as an argv list (never a shell string), the project files it
reads (added to the image as `add_local_file` layers) and the Modal Secrets that hold its
credentials (this module: the `sidecars` section; what they need of the rest of the spec is
checked in `generator/checks/sidecars.py`, and `generator/view/sidecars.py` makes their part of
the view). The generated app starts them after the engine is healthy, stops them in
`modal.exit` before the engine, as it stops the engine, and ends the container when one exits
unasked, with its last lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from generator.model.image import AddLocalFile
from generator.spec.fields import ModalObjectName, NonEmptyLine, SpecModel

SIDECAR_NAME = r"^[a-z][a-z0-9-]{0,31}$"
# Programs that would read the next argument as a shell script: a sidecar is an argv list, so
# that no value is ever interpreted by a shell.
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "fish", "busybox"})


def _an_argv_list(value: object) -> object:
    if isinstance(value, str):
        raise PydanticCustomError(
            "argv_list",
            "expected the program and its arguments as a list, such as "
            '["alloy", "run", "/etc/alloy/config.alloy"]: a command line in one string would '
            "need a shell to split it",
        )
    return value


class Sidecar(SpecModel):
    name: Annotated[str, StringConstraints(pattern=SIDECAR_NAME)] = Field(
        description="The sidecar's name, for the log and messages: lower-case letters, digits "
        "and dashes, such as `alloy`."
    )
    command: Annotated[list[NonEmptyLine], Field(min_length=1), BeforeValidator(_an_argv_list)] = (
        Field(
            description="The program and its arguments, as an argv list: started as is, with no "
            'shell (`["alloy", "run", "/etc/alloy/config.alloy"]`).'
        )
    )
    files: list[AddLocalFile] = Field(
        default_factory=list,
        description="Project files the sidecar reads, added to the image "
        '(`{ add_local_file = "observability/config.alloy", remote_path = '
        '"/etc/alloy/config.alloy" }`), as image layers are; credentials are never written '
        "in them: the program reads them from the Secrets' variables.",
    )
    secrets: list[ModalObjectName] = Field(
        default_factory=list,
        description="Modal Secrets whose variables hold the sidecar's credentials; attached to "
        "the serving containers, whose environment the sidecar inherits.",
    )

    @field_validator("command")
    @classmethod
    def _not_a_shell(cls, command: list[str]) -> list[str]:
        program = PurePosixPath(command[0]).name
        if program in SHELLS:
            raise ValueError(
                f"`{command[0]}` runs its arguments as a shell script: write the program and "
                "its arguments themselves, so that no value is interpreted by a shell"
            )
        return command


def secrets(sidecars: Sequence[Sidecar]) -> list[str]:
    """The Secrets the sidecars' credentials come from, in the order the spec names them."""
    return list(dict.fromkeys(name for sidecar in sidecars for name in sidecar.secrets))

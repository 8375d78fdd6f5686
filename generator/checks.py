"""Checks across fields of a validated spec: what pydantic's per-field rules cannot see.

Each check returns problems as `(field path, message)`; `validation` adds the file and position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from generator.errors import FieldPath
from generator.models import Spec

Finding = tuple[FieldPath, str]
Check = Callable[[Spec], Iterator[Finding]]


def volume_references(spec: Spec) -> Iterator[Finding]:
    names = [volume.name for volume in spec.volumes]
    mounts: dict[str, int] = {}
    seen: dict[str, int] = {}
    for index, volume in enumerate(spec.volumes):
        if volume.name in seen:
            yield (
                ("volumes", index, "name"),
                (f"volume {volume.name!r} is already declared at volumes[{seen[volume.name]}]"),
            )
        seen.setdefault(volume.name, index)
        if volume.mount_path in mounts:
            yield (
                ("volumes", index, "mount_path"),
                (
                    f"mount path {volume.mount_path!r} is already used by "
                    f"volumes[{mounts[volume.mount_path]}]"
                ),
            )
        mounts.setdefault(volume.mount_path, index)
    for section, chosen in (("server", spec.server.volumes), ("deep_gemm", spec.deep_gemm.volumes)):
        for index, name in enumerate(chosen or ()):
            if name not in names:
                yield (
                    (section, "volumes", index),
                    (f"no volume named {name!r}; declared volumes: {', '.join(names) or 'none'}"),
                )


def deep_gemm_needs_gpu(spec: Spec) -> Iterator[Finding]:
    if spec.deep_gemm.enabled and spec.image.env.get("SGLANG_ENABLE_JIT_DEEPGEMM") == "0":
        yield (
            ("deep_gemm", "enabled"),
            (
                "DeepGEMM pre-compilation is on but image.env sets SGLANG_ENABLE_JIT_DEEPGEMM=0, "
                "which turns the kernels off; set `deep_gemm.enabled = false` or drop the variable"
            ),
        )


CHECKS: tuple[Check, ...] = (volume_references, deep_gemm_needs_gpu)


def run_checks(spec: Spec) -> list[Finding]:
    return [finding for check in CHECKS for finding in check(spec)]

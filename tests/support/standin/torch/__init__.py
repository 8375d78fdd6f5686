"""Stand-in for the `torch` an app imports in its container to count the GPUs
(`torch.cuda.device_count()`, as Modal's sgl_grafana.py sizes tensor parallelism): the count is
STANDIN_GPU_COUNT, which the observation sets from the GPUs the service declares."""

from __future__ import annotations

import os
from types import SimpleNamespace


def _device_count() -> int:
    return int(os.environ.get("STANDIN_GPU_COUNT", "0"))


def _is_available() -> bool:
    return _device_count() > 0


cuda = SimpleNamespace(device_count=_device_count, is_available=_is_available)

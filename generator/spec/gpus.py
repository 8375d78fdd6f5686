"""The GPUs Modal offers, in one place.

Source: Modal's GPU guide (https://modal.com/docs/guide/gpu, "Specifying GPU type" and
"Specifying GPU count"). `H100!` is an H100 that Modal never upgrades to an H200; `B200+` is a
B200 that Modal may upgrade to a B300. Memory is per GPU, in GB (10^9 bytes), as NVIDIA and Modal
quote it; the upgradable `B200+` counts as the smaller of the two. `B300` is not in the guide's
list yet but is a type Modal serves: Modal's own example `inkling_small.py` (modal-labs/
modal-examples, 06_gpu_and_ml/llm-serving) runs on `gpu="B300"`, 288 GB each. `A10G` is the
older name of `A10`, which older examples still write.

Compute capabilities are NVIDIA's (https://developer.nvidia.com/cuda-gpus): 9.x is Hopper, 10.x
data-centre Blackwell; the RTX PRO 6000 is a workstation Blackwell, 12.0. DeepGEMM's kernels
target SM90 and SM100 only (deepseek-ai/DeepGEMM, README, "Requirements").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class GpuType(StrEnum):
    """A GPU type as Modal spells it in `gpu="TYPE:COUNT"`."""

    T4 = "T4"
    L4 = "L4"
    A10 = "A10"
    A10G = "A10G"
    L40S = "L40S"
    A100 = "A100"
    A100_40GB = "A100-40GB"
    A100_80GB = "A100-80GB"
    RTX_PRO_6000 = "RTX-PRO-6000"
    H100 = "H100"
    H100_EXACT = "H100!"
    H200 = "H200"
    B200 = "B200"
    B200_PLUS = "B200+"
    B300 = "B300"


@dataclass(frozen=True)
class GpuInfo:
    memory_gb: int
    max_count: int
    compute_capability: tuple[int, int]

    @property
    def runs_deep_gemm(self) -> bool:
        """DeepGEMM has kernels for this architecture: Hopper (SM90) or data-centre Blackwell
        (SM100)."""
        return self.compute_capability[0] in (9, 10)


GPU_INFO: dict[GpuType, GpuInfo] = {
    GpuType.T4: GpuInfo(memory_gb=16, max_count=8, compute_capability=(7, 5)),
    GpuType.L4: GpuInfo(memory_gb=24, max_count=8, compute_capability=(8, 9)),
    GpuType.A10: GpuInfo(memory_gb=24, max_count=4, compute_capability=(8, 6)),
    GpuType.A10G: GpuInfo(memory_gb=24, max_count=4, compute_capability=(8, 6)),
    GpuType.L40S: GpuInfo(memory_gb=48, max_count=8, compute_capability=(8, 9)),
    GpuType.A100: GpuInfo(memory_gb=40, max_count=8, compute_capability=(8, 0)),
    GpuType.A100_40GB: GpuInfo(memory_gb=40, max_count=8, compute_capability=(8, 0)),
    GpuType.A100_80GB: GpuInfo(memory_gb=80, max_count=8, compute_capability=(8, 0)),
    GpuType.RTX_PRO_6000: GpuInfo(memory_gb=96, max_count=8, compute_capability=(12, 0)),
    GpuType.H100: GpuInfo(memory_gb=80, max_count=8, compute_capability=(9, 0)),
    GpuType.H100_EXACT: GpuInfo(memory_gb=80, max_count=8, compute_capability=(9, 0)),
    GpuType.H200: GpuInfo(memory_gb=141, max_count=8, compute_capability=(9, 0)),
    GpuType.B200: GpuInfo(memory_gb=192, max_count=8, compute_capability=(10, 0)),
    GpuType.B200_PLUS: GpuInfo(memory_gb=192, max_count=8, compute_capability=(10, 0)),
    GpuType.B300: GpuInfo(memory_gb=288, max_count=8, compute_capability=(10, 3)),
}

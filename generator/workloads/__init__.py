"""What a generated app serves: one module per workload, chosen here only.

`chat` (the default), `completion`, `embedding` and `rerank`. Each module says what its requests
look like: the endpoint, the warm-up, probe and load-test bodies, the template partials that hold
the probe's request and the load test, and what the workload refuses in a spec. Each engine module
maps `workload.kind` to its own flags (`Engine.workload_arguments`).

`section` (the `workload` section) is read with the spec: it may import `spec` only, and the
model and the engines import it. The workloads themselves may import the model, the engines and
the stages below them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.workloads import chat, completion, embedding, rerank
from generator.workloads.base import Workload, WorkloadView

if TYPE_CHECKING:
    from generator.model.models import Spec

WORKLOADS: dict[str, Workload] = {
    module.WORKLOAD.kind.value: module.WORKLOAD for module in (chat, completion, embedding, rerank)
}

__all__ = ["WORKLOADS", "Workload", "WorkloadView", "workload_for"]


def workload_for(spec: Spec) -> Workload:
    return WORKLOADS[spec.workload.kind.value]

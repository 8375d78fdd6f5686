"""The `workload` section of a spec: what the app serves, and the inputs its probe checks with.

`workload.kind` is the third axis of an app, next to `server.kind` and `engine.kind`: it decides
the engine's task flags, the API the replica answers, and what the warm-up, the probe, the
deployed client and the load test send. A string is the kind alone (`workload = "embedding"`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from generator.spec.fields import SpecModel

Text = Annotated[str, Field(min_length=1)]


class WorkloadKind(StrEnum):
    CHAT = "chat"
    COMPLETION = "completion"
    EMBEDDING = "embedding"

    @property
    def generates(self) -> bool:
        """The model generates tokens (chat, completion), rather than pooling its input."""
        return self in (WorkloadKind.CHAT, WorkloadKind.COMPLETION)


# The pairs Modal's sglang_embeddings.py checks Qwen3-Embedding with: each query should be
# nearer its own document than the other one.
DEFAULT_QUERIES = [
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\n"
    "Query: What is the capital of China?",
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\n"
    "Query: Explain gravity",
]
DEFAULT_DOCUMENTS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
]


class WorkloadSection(SpecModel):
    kind: WorkloadKind = Field(
        default=WorkloadKind.CHAT,
        description="What the app serves: `chat` (`/v1/chat/completions`, the default), "
        "`completion` (`/v1/completions`, a prompt without a chat template) or `embedding` "
        "(`/v1/embeddings`: SGLang `--is-embedding`, vLLM's pooling runner).",
    )
    queries: list[Text] | None = Field(
        default=None,
        min_length=2,
        description="Embedding: queries of the probe's similarity check, each to be nearer "
        "`documents` at the same place than any other document; defaults to the two of Modal's "
        "sglang_embeddings.py.",
    )
    documents: list[Text] | None = Field(
        default=None,
        min_length=2,
        description="Embedding: documents of the probe's similarity check, one per query.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _pairs(self) -> WorkloadSection:
        given = [key for key in ("queries", "documents") if getattr(self, key) is not None]
        if given and self.kind is not WorkloadKind.EMBEDDING:
            raise ValueError(
                f"{', '.join(f'`{key}`' for key in given)}: inputs of the embedding probe; "
                f'the workload is `{self.kind}`: set `kind = "embedding"` or leave them out'
            )
        if len(self.similarity_queries) != len(self.similarity_documents):
            raise ValueError(
                f"`queries` ({len(self.similarity_queries)}) and `documents` "
                f"({len(self.similarity_documents)}) pair up: give as many of each"
            )
        return self

    @property
    def similarity_queries(self) -> list[str]:
        return list(self.queries) if self.queries is not None else list(DEFAULT_QUERIES)

    @property
    def similarity_documents(self) -> list[str]:
        return list(self.documents) if self.documents is not None else list(DEFAULT_DOCUMENTS)

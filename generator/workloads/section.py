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
    RERANK = "rerank"

    @property
    def generates(self) -> bool:
        """The model generates tokens (chat, completion), rather than pooling its input
        (embedding, rerank)."""
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
# The query and documents of SGLang's rerank example (docs/supported_models/rerank_models.md,
# BAAI/bge-reranker-v2-m3): the first document answers the query, the other does not.
DEFAULT_RERANK_QUERY = "what is panda?"
DEFAULT_RERANK_DOCUMENTS = [
    "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, "
    "is a bear species endemic to China.",
    "hi",
]
# Which inputs of the probe's check each workload reads.
CHECK_INPUTS = {
    "queries": ("embedding",),
    "query": ("rerank",),
    "documents": ("embedding", "rerank"),
}


class WorkloadSection(SpecModel):
    kind: WorkloadKind = Field(
        default=WorkloadKind.CHAT,
        description="What the app serves: `chat` (`/v1/chat/completions`, the default), "
        "`completion` (`/v1/completions`, a prompt without a chat template), `embedding` "
        "(`/v1/embeddings`: SGLang `--is-embedding`, vLLM's pooling runner) or `rerank` "
        "(`/v1/rerank`, a cross-encoder scoring documents against a query: SGLang "
        "`--is-embedding`, vLLM's pooling runner or `--task score`).",
    )
    queries: list[Text] | None = Field(
        default=None,
        min_length=2,
        description="Embedding: queries of the probe's similarity check, each to be nearer "
        "`documents` at the same place than any other document; defaults to the two of Modal's "
        "sglang_embeddings.py.",
    )
    query: Text | None = Field(
        default=None,
        max_length=10_000,
        description="Rerank: the query of the probe's check, for which the first of "
        "`documents` must rank first; defaults to SGLang's rerank example, `what is panda?`.",
    )
    documents: list[Annotated[Text, Field(max_length=10_000)]] | None = Field(
        default=None,
        min_length=2,
        max_length=100,
        description="Embedding: documents of the probe's similarity check, one per query. "
        "Rerank: documents the probe scores against `query`, the relevant one first (the "
        "probe sends them in reverse order, so that an engine that keeps their order fails).",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _pairs(self) -> WorkloadSection:
        for key, kinds in CHECK_INPUTS.items():
            if getattr(self, key) is not None and self.kind.value not in kinds:
                readers = " or ".join(f'`kind = "{kind}"`' for kind in kinds)
                raise ValueError(
                    f"`{key}`: an input of the {' and '.join(kinds)} probe; the workload is "
                    f"`{self.kind}`: set {readers} or leave it out"
                )
        if self.kind is WorkloadKind.RERANK:
            return self
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

    @property
    def rerank_query(self) -> str:
        return self.query if self.query is not None else DEFAULT_RERANK_QUERY

    @property
    def rerank_documents(self) -> list[str]:
        documents = self.documents
        return list(documents) if documents is not None else list(DEFAULT_RERANK_DOCUMENTS)

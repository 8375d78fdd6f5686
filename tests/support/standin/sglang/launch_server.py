"""Stand-in for `python -m sglang.launch_server` (and `sglang serve`, by `bin/sglang`):
the shared stand-in server with SGLang's routes.

Besides /health, /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings and
/v1/rerank (see `_standin`; embeddings and rerank with --is-embedding only, as SGLang's 400 says
otherwise; rerank answers SGLang's list of `{score, document, index, meta_info}`), it answers
/release_memory_occupation and /resume_memory_occupation (status set by STANDIN_RELEASE_STATUS
and STANDIN_RESUME_STATUS); while memory is released, /health and chat completions answer 503.
From its command line it reads --port (default 30000), --api-key (then /v1/* routes want
`Authorization: Bearer KEY`), the served model name, and --nnodes, --node-rank and
--dist-init-addr (one rank of a multi-node engine: see `_standin.cluster`). It always binds
127.0.0.1, whatever --host says.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from _standin.cluster import ClusterRole
from _standin.server import Handler, Launch, Request, Route, run


class SGLangHandler(Handler):
    healthy_while_asleep = False
    asleep_error = "memory released"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            **super().routes(),
            ("POST", "/release_memory_occupation"): self.release,
            ("POST", "/resume_memory_occupation"): self.resume,
        }

    def unknown_model(self, body: dict[str, Any]) -> tuple[int, object] | None:
        """SGLang serves a request for any `model` with its model, and picks an adapter by
        `lora_path`: one it has not loaded is a 400."""
        adapter = body.get("lora_path")
        if adapter is None or adapter in self.standin.launch.adapters:
            return None
        loaded = ", ".join(self.standin.launch.adapters) or "none"
        message = f"LoRA adapter {adapter!r} is not loaded; loaded adapters: {loaded}"
        return 400, {"object": "error", "message": message, "type": "BadRequest", "code": 400}

    def wrong_api(self, embedding: bool) -> tuple[int, object] | None:
        if embedding and not self.standin.launch.embedding:
            message = (
                "This model does not appear to be an embedding model by default. Please add "
                "`--is-embedding` when launching the server or try another model."
            )
            return 400, {"object": "error", "message": message, "type": "BadRequest", "code": 400}
        return super().wrong_api(embedding)

    def rerank_answer(
        self, body: dict[str, Any], documents: list[str], ranked: list[tuple[int, float]]
    ) -> object:
        # sglang/srt/entrypoints/openai/serving_rerank.py: a bare list, highest score first.
        return [
            {
                "score": score,
                "document": documents[index],
                "index": index,
                "meta_info": {"prompt_tokens": len(documents[index].split())},
            }
            for index, score in ranked
        ]

    def release(self, request: Request) -> None:
        self._memory("release", self.standin.settings.release_status, asleep=True)

    def resume(self, request: Request) -> None:
        self._memory("resume", self.standin.settings.resume_status, asleep=False)

    def _memory(self, action: str, status: int, asleep: bool) -> None:
        if status != 200:
            self.send_json(status, {"error": f"stand-in configured to fail the {action}"})
            return
        self.set_asleep(asleep)
        self.send_json(200, {"success": True})


def parse(argv: list[str]) -> Launch:
    parser = argparse.ArgumentParser(prog="sglang.launch_server", allow_abbrev=False)
    parser.add_argument("--port", type=int, default=30000)
    parser.add_argument("--api-key")
    parser.add_argument("--model-path", "--model")
    parser.add_argument("--served-model-name")
    parser.add_argument("--is-embedding", action="store_true")
    parser.add_argument("--lora-paths", nargs="*", default=[])
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("--node-rank", type=int, default=0)
    parser.add_argument("--dist-init-addr")
    known, _ = parser.parse_known_args(argv)
    model = known.served_model_name or known.model_path or "standin"
    adapters = tuple(path.split("=", 1)[0] for path in known.lora_paths)
    cluster = None
    if known.nnodes > 1:
        if not known.dist_init_addr:
            sys.exit("sglang.launch_server: --nnodes above 1 needs --dist-init-addr")
        head, port = known.dist_init_addr.rsplit(":", 1)
        cluster = ClusterRole(known.nnodes, known.node_rank, head, int(port))
    return Launch(
        engine="sglang",
        port=known.port,
        model=model,
        api_key=known.api_key,
        command="python -m sglang.launch_server",
        embedding=known.is_embedding,
        rerank=known.is_embedding,
        adapters=adapters,
        cluster=cluster,
    )


def main() -> None:
    run(parse(sys.argv[1:]), SGLangHandler)


if __name__ == "__main__":
    main()

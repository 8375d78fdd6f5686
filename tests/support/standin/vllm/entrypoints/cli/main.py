"""Stand-in for the `vllm` command (`vllm serve MODEL [options]`): the shared stand-in server.

Besides /health, /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings and
/v1/rerank (see `_standin`; embeddings with `--runner pooling` or `--task embed` only, rerank
with `--runner pooling` or `--task score`, answered in vLLM's Jina/Cohere shape, `{id, model,
usage, results: [{index, document: {text}, relevance_score}]}`), it answers what vLLM's sleep
mode adds, as vLLM does:

  POST /sleep?level=N, POST /wake_up, GET /is_sleeping ({"is_sleeping": bool})
      routes only when VLLM_SERVER_DEV_MODE=1 (else 404). Without --enable-sleep-mode, /sleep
      and /wake_up answer 500, as vLLM's engine refuses them. While asleep /health still answers
      200, but chat completions answer 503.

From its command line it reads the model (positional, or --model), --served-model-name, --port
(default 8000), --api-key (or VLLM_API_KEY; then /v1/* routes want `Authorization: Bearer
KEY`), --enable-sleep-mode, and --nnodes, --node-rank, --master-addr, --master-port and
--headless (one rank of a multi-node engine: see `_standin.cluster`); other options are
accepted and ignored. It always binds
127.0.0.1, whatever --host says.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, ClassVar

from _standin.cluster import ClusterRole
from _standin.record import record
from _standin.server import Handler, Launch, Request, Route, run
from _standin.workload import BadRequest


class VLLMHandler(Handler):
    healthy_while_asleep = True
    healthy_body = None  # vLLM's /health answers 200 with an empty body
    asleep_error = "The engine is sleeping; wake it up with POST /wake_up"
    # Set by `main` before serving: VLLM_SERVER_DEV_MODE=1, and --enable-sleep-mode.
    dev_mode: ClassVar[bool] = False
    sleep_mode: ClassVar[bool] = False

    def routes(self) -> dict[tuple[str, str], Route]:
        routes = super().routes()
        if self.dev_mode:
            routes[("POST", "/sleep")] = self.sleep
            routes[("POST", "/wake_up")] = self.wake_up
            routes[("GET", "/is_sleeping")] = self.is_sleeping
        return routes

    def not_found(self, path: str) -> None:
        self.send_json(404, {"detail": "Not Found"})

    def unknown_model(self, body: dict[str, Any]) -> tuple[int, object] | None:
        """vLLM answers only for the models it serves: its model and each `--lora-modules`
        adapter, by name; any other is a 404 with vLLM's error body."""
        if super().unknown_model(body) is None:
            return None
        error = {
            "message": f"The model `{body['model']}` does not exist.",
            "type": "NotFoundError",
            "param": "model",
            "code": 404,
        }
        return 404, {"error": error}

    def rerank_answer(
        self, body: dict[str, Any], documents: list[str], ranked: list[tuple[int, float]]
    ) -> object:
        tokens = sum(len(document.split()) for document in documents)
        return {
            "id": f"rerank-{time.time_ns()}",
            "model": body.get("model") or self.standin.launch.model,
            "usage": {"total_tokens": tokens},
            "results": [
                {"index": index, "document": {"text": documents[index]}, "relevance_score": score}
                for index, score in ranked
            ],
        }

    def sleep(self, request: Request) -> None:
        level_text = request.query.get("level", ["1"])[0]
        try:
            level = int(level_text)
        except ValueError as error:
            raise BadRequest(f"level must be an integer, not {level_text!r}") from error
        if not self._sleep_mode_enabled():
            return
        self.set_asleep(True)
        record("sleep", level=level, at=time.time())
        self.send_json(200, None)

    def wake_up(self, request: Request) -> None:
        if not self._sleep_mode_enabled():
            return
        status = int(os.environ.get("STANDIN_RESUME_STATUS", "200"))
        if status != 200:
            self.send_json(status, {"error": "stand-in configured to fail the resume"})
            return
        self.set_asleep(False)
        record("wake_up", tags=request.query.get("tags"), at=time.time())
        self.send_json(200, None)

    def is_sleeping(self, request: Request) -> None:
        with self.standin.state.lock:
            asleep = self.standin.state.asleep
        self.send_json(200, {"is_sleeping": asleep})

    def _sleep_mode_enabled(self) -> bool:
        """True when --enable-sleep-mode was given, else answer 500 as vLLM's engine fails."""
        if not self.sleep_mode:
            self.send_json(500, {"error": "Sleep mode is not enabled in the model config"})
        return self.sleep_mode


def parse(argv: list[str]) -> tuple[Launch, bool]:
    """The launch `vllm serve ...` asks for, and whether it enables sleep mode."""
    if not argv or argv[0] != "serve":
        sys.exit(f"usage: vllm serve MODEL [options] (the stand-in knows only serve), not {argv}")
    rest = argv[1:]
    model_tag = rest.pop(0) if rest and not rest[0].startswith("-") else None
    parser = argparse.ArgumentParser(prog="vllm serve", allow_abbrev=False)
    parser.add_argument("--model")
    parser.add_argument("--served-model-name", nargs="+")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key")
    parser.add_argument("--enable-sleep-mode", action=argparse.BooleanOptionalAction)
    parser.add_argument("--runner")
    parser.add_argument("--task")
    parser.add_argument("--lora-modules", nargs="+", default=[])
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("--node-rank", type=int, default=0)
    parser.add_argument("--master-addr", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=29501)
    parser.add_argument("--headless", action="store_true")
    known, _ = parser.parse_known_args(rest)
    model = model_tag or known.model or "standin"
    served = known.served_model_name[0] if known.served_model_name else model
    api_key = known.api_key or os.environ.get("VLLM_API_KEY") or None
    cluster = None
    if known.nnodes > 1:
        # As vLLM: the ranks other than 0 run without an API server, and must say so.
        if (known.node_rank != 0) != known.headless:
            sys.exit("vllm serve: --headless is for the ranks other than 0, and they need it")
        cluster = ClusterRole(known.nnodes, known.node_rank, known.master_addr, known.master_port)
    launch = Launch(
        engine="vllm",
        port=known.port,
        model=served,
        api_key=api_key,
        embedding=known.runner == "pooling" or known.task in ("embed", "embedding"),
        rerank=known.runner == "pooling" or known.task == "score",
        adapters=tuple(module.split("=", 1)[0] for module in known.lora_modules),
        aliases=tuple(known.served_model_name or ())[1:],
        command="vllm serve",
        cluster=cluster,
    )
    return launch, bool(known.enable_sleep_mode)


def main() -> None:
    launch, sleep_mode = parse(sys.argv[1:])
    VLLMHandler.sleep_mode = sleep_mode
    VLLMHandler.dev_mode = bool(int(os.environ.get("VLLM_SERVER_DEV_MODE") or "0"))
    run(launch, VLLMHandler)


if __name__ == "__main__":
    main()

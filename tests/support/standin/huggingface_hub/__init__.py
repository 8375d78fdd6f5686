"""Stand-in for `huggingface_hub.snapshot_download`: no network, a fake snapshot on disk.

It records each call (repository, revision, patterns, the cache directory and the
`HF_HUB_OFFLINE`/`HF_TOKEN` it saw, the token as present or not) and writes what a real
download leaves in the cache: `models--ORG--NAME/snapshots/REVISION/` with a config and a
weights file, and `refs/main`. The cache is `cache_dir`, else `HF_HUB_CACHE`, else
`HF_HOME/hub`, as in huggingface_hub. With `local_dir` (an absolute path in the container),
the files go to that path under `local-dirs/` in the cache instead: never outside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from _standin.record import record

FILES = ("config.json", "model-00001-of-00001.safetensors", "tokenizer.json")


def _cache(cache_dir: str | None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home) / "hub"


def snapshot_download(
    repo_id: str,
    revision: str | None = None,
    *,
    cache_dir: str | None = None,
    allow_patterns: list[str] | str | None = None,
    ignore_patterns: list[str] | str | None = None,
    token: str | None = None,
    max_workers: int = 8,
    local_dir: str | None = None,
    **others: object,
) -> str:
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise OSError("stand-in: HF_HUB_OFFLINE=1, and the snapshot is not in the cache")
    cache = _cache(cache_dir)
    revision_dir = revision or "0" * 40
    if local_dir is not None:
        snapshot = cache / "local-dirs" / local_dir.lstrip("/")
        snapshot.mkdir(parents=True, exist_ok=True)
    else:
        snapshot = cache / f"models--{repo_id.replace('/', '--')}" / "snapshots" / revision_dir
        snapshot.mkdir(parents=True, exist_ok=True)
        refs = snapshot.parent.parent / "refs"
        refs.mkdir(exist_ok=True)
        (refs / "main").write_text(revision_dir)
    for name in FILES:
        (snapshot / name).write_text(json.dumps({"repo_id": repo_id, "revision": revision}))
    record(
        "snapshot_download",
        repo_id=repo_id,
        revision=revision,
        allow_patterns=allow_patterns,
        ignore_patterns=ignore_patterns,
        max_workers=max_workers,
        others=sorted(others),
        hf_token=bool(token or os.environ.get("HF_TOKEN")),
        **({"local_dir": local_dir} if local_dir is not None else {}),
    )
    return str(snapshot)

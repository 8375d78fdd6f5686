"""`python -m vllm serve MODEL ...`: the same as the `vllm` command."""

from __future__ import annotations

from vllm.entrypoints.cli.main import main

main()

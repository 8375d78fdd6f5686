"""A stand-in for the `vllm` package, for tests: `vllm serve` runs `entrypoints.cli.main`."""

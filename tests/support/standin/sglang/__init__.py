"""A stand-in for the `sglang` package, for tests: see `launch_server` and `compile_deep_gemm`."""

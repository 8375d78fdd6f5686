"""Stand-in for `python -m sglang.compile_deep_gemm`: records its argv and exits."""

from __future__ import annotations

import os
import sys

from _standin.record import record

if __name__ == "__main__":
    record("compile_deep_gemm", argv=sys.argv[1:])
    sys.exit(int(os.environ.get("STANDIN_COMPILE_EXIT", "0")))

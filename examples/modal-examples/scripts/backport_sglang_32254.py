"""Backport sgl-project/sglang#32254 into the image's SGLang: the draft-extend CUDA graph row
width must include `draft_extend_num_front_tokens`, which the pinned Inkling image lacks.

Run once while the image builds (a `run_script` layer of specs/inkling_small.toml), as Modal's
inkling_small.py example does with a heredoc.
"""

from pathlib import Path

path = Path("/sgl-workspace/sglang/python/sglang/srt/speculative/multi_layer_eagle_worker_v2.py")
source = path.read_text()
old = "num_tokens_per_req=self.speculative_num_steps + 1,"
new = "num_tokens_per_req=self.speculative_num_steps + 1 + self.draft_extend_num_front_tokens,"
if source.count(old) != 1:
    raise RuntimeError("Unexpected SGLang source while backporting sglang#32254")
path.write_text(source.replace(old, new))

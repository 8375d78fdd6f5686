"""vLLM's renamed `vllm serve` options, curated: what `modalgen upgrade` and `flags --diff` follow
where the catalogs cannot.

vLLM marks an option it renames only with argparse's `deprecated=True` and a sentence of help
text ("Please use --cudagraph-capture-sizes instead"), or with nothing at all; unlike SGLang's
`DeprecatedAction(new_flag=...)`, nothing in its source names the new flag in a form the catalog
extraction could read. So the renames are listed here, each with the release from which the new
name is the one to write and where vLLM says so. An entry takes effect only where the catalogs
agree: the old name deprecated or gone, the new one an option of that release (a test holds every
entry to that). Options vLLM removed for a setting of another kind (`--task` for `--runner` and
`--convert`, `--guided-decoding-backend` for a key of `--structured-outputs-config`,
`--rope-scaling` for `--hf-overrides`) are not renames: `upgrade` lists them for the user, with
the advice below where vLLM gives one.
"""

from __future__ import annotations

from generator.engines.base import OptionRename, RemovalAdvice

RENAMES: tuple[OptionRename, ...] = (
    # "rename this argument to `--mm-encoder-tp-mode`"; the data-parallel mode is its `data`.
    OptionRename(
        "--enable-multimodal-encoder-data-parallel",
        "--mm-encoder-tp-mode",
        "0.10.2",
        "https://github.com/vllm-project/vllm/pull/23190",
        value="data",
    ),
    # The processor cache is off at size 0; the flag was deprecated for the size in 0.10.1 and
    # removed in 0.13.0 (verl converts it so for vLLM 0.13 and later).
    OptionRename(
        "--disable-mm-preprocessor-cache",
        "--mm-processor-cache-gb",
        "0.10.1",
        "https://github.com/verl-project/verl/pull/5961",
        value=0,
    ),
    # "You can pass json to `--pooler-config` and the same thing will happen as if you used
    # `--override-pooler-config`"; removed in 0.12.0 (vllm-project/vllm#29402).
    OptionRename(
        "--override-pooler-config",
        "--pooler-config",
        "0.11.0",
        "https://github.com/vllm-project/vllm/pull/25181",
    ),
    # "CLI `--cuda-graph-sizes` is deprecated ... and is equivalent to `--cudagraph-capture-sizes`
    # now"; removed in 0.13.0. Before 0.11.1 one size N meant every size up to N (its help).
    OptionRename(
        "--cuda-graph-sizes",
        "--cudagraph-capture-sizes",
        "0.11.1",
        "https://github.com/vllm-project/vllm/pull/26016",
        note="from 0.11.1 on the sizes are captured as given: where one size N meant every "
        "size up to N, write `--max-cudagraph-capture-size` N instead",
    ),
)

ADVICE: tuple[RemovalAdvice, ...] = (
    RemovalAdvice(
        "--disable-log-requests",
        "requests are not logged by default from 0.10.1 on (`--enable-log-requests` turns "
        "logging on): drop it",
        "https://github.com/vllm-project/vllm/pull/21739",
    ),
    RemovalAdvice(
        "--task",
        "`--runner` and `--convert` replace it; for an embedding model, `workload.kind = "
        '"embedding"` passes `--runner pooling`',
        "https://github.com/vllm-project/vllm/pull/21470",
    ),
    RemovalAdvice(
        "--guided-decoding-backend",
        "the backend is a key of `--structured-outputs-config` now (`'{\"backend\": ...}'`)",
        "https://github.com/vllm-project/vllm/pull/22772",
    ),
)

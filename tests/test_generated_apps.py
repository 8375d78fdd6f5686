"""Each committed generated app against the recorded facts of the program it reproduces.

The reference programs live outside this repository; what they declare and do is recorded in
`tests/fixtures/reference_facts/` (see `scripts/record_reference_facts.py`). Each generated app
is observed here the same way: imported with the real `modal` package and compared by what it
declares, then its build steps, start-up, warm-up, test client and shut-down run for real against
the stand-in engine, and what the engine saw is compared. A difference fails the test unless it
is one of the fixes listed here, each with its reason.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from generator.engines.option_table import OptionTable
from generator.engines.sglang import catalog as sglang_catalog
from generator.engines.vllm import catalog as vllm_catalog
from tests.conftest import ROOT
from tests.support.engine import StandinLog, pid_alive, standin_environment, wait_port_free
from tests.support.facts import SECRET_VARIABLES, differences, observe_app
from tests.support.introspect import describe_app, import_app_file, lifecycle_method

FACTS_DIR = ROOT / "tests" / "fixtures" / "reference_facts"

# The references' SGLang argv, corrected. Each is a fix, not a change of behaviour:
SGLANG_ARGV_FIXES = {
    # argparse prefix matching accepts these today and breaks the day SGLang adds another
    # option with the same prefix: write the full option names.
    "--mem-fraction": "--mem-fraction-static",
    "--speculative-algo": "--speculative-algorithm",
    # `--tp` is not an option of any SGLang version: argparse expands it to `--tp-size`.
    "--tp": "--tp-size",
    # The same integer: int("131_072") == 131072, written the way people and SGLang's docs do.
    "131_072": "131072",
}
# Not visible in the facts, and fixed on purpose: the references join their argv into a shell
# string (shell=True); the generated apps pass the argv list and never start a shell. The
# low-latency reference's build step does not pass check=True; the generated one fails the image
# build when the kernel compile fails (`deep_gemm.fail_build_on_error`, default true).


def fix_sglang_argv(facts: dict[str, Any]) -> None:
    for observed in facts["observed"].values():
        for launch in observed["launches"]:
            launch["argv"] = [SGLANG_ARGV_FIXES.get(item, item) for item in launch["argv"]]
        for step in observed["build_steps"]:
            for event in step["events"]:
                if "argv" in event:
                    event["argv"] = [SGLANG_ARGV_FIXES.get(item, item) for item in event["argv"]]


def merge_env_layers(facts: dict[str, Any]) -> None:
    """The generated apps set the image's environment in one `.env()` call where a reference
    makes several in a row: the same environment, in one image layer instead of several."""
    for service in facts["services"].values():
        merged: list[dict[str, Any]] = []
        for layer in service["image"]["layers"]:
            commands = layer.get("dockerfile", [])
            only_env = bool(commands) and all(c.startswith("ENV ") for c in commands)
            previous = merged[-1].get("dockerfile", []) if merged else []
            if only_env and previous and all(c.startswith("ENV ") for c in previous):
                merged[-1] = {"dockerfile": previous + commands}
            else:
                merged.append(layer)
        service["image"]["layers"] = merged


def add_bench_option(facts: dict[str, Any]) -> None:
    """A probe entrypoint with command-line options also takes `--bench`, which runs the
    generated load test after the probe, and the load test's own options (`--workers`,
    `--compare`, `--tolerance`, `--peak-rate`); its other parameters are the reference's,
    unchanged."""
    for entrypoint in facts["entrypoints"].values():
        entrypoint["parameters"].update(
            bench=False, workers=None, compare=None, tolerance=10.0, peak_rate=None
        )


# The test client's Proxy Auth Token, as a user exports it; the stand-in accepts any.
PROXY_TOKEN = {"MODAL_PROXY_TOKEN_ID": "wk-standin", "MODAL_PROXY_TOKEN_SECRET": "ws-standin"}


def send_proxy_token(facts: dict[str, Any]) -> None:
    """`@app.server` asks callers for a Proxy Auth Token unless the app is declared
    `unauthenticated`, and the upstream client sends none, so it cannot reach the app it tests.
    The generated client sends the token from the environment (and fails at once without it)."""
    for observed in facts["observed"].values():
        for request in observed["client_requests"]:
            request["headers"]["Modal-Key"] = PROXY_TOKEN["MODAL_PROXY_TOKEN_ID"]
            request["headers"]["Modal-Secret"] = PROXY_TOKEN["MODAL_PROXY_TOKEN_SECRET"]


def gpu_count_written_out(facts: dict[str, Any]) -> None:
    """`gpu="H100"` is one H100 to Modal; the generated apps write the count: `"H100:1"`."""
    for service in facts["services"].values():
        for settings in (service["declared"], *service["build_steps"]):
            if settings["gpu"] and ":" not in settings["gpu"]:
                settings["gpu"] += ":1"


def no_disable_log_requests(facts: dict[str, Any]) -> None:
    """vLLM 0.10.1 and later do not log requests by default, and deprecate
    `--disable-log-requests` (true by default there): the generated apps pass it only to a vLLM
    that logs requests by default. A fix, not a change of behaviour."""
    for observed in facts["observed"].values():
        for launch in observed["launches"]:
            if launch["engine"] == "vllm":
                launch["argv"] = [
                    item for item in launch["argv"] if item != "--disable-log-requests"
                ]


def restore_method_named_wake_up(facts: dict[str, Any]) -> None:
    """The method that runs in each container restored from a snapshot is `wake_up` in every
    generated app, where an example may call it `restore`."""
    for service in facts["services"].values():
        phase = service["lifecycle"]["enter_post_snapshot"]
        service["lifecycle"]["enter_post_snapshot"] = [
            "wake_up" if name == "restore" else name for name in phase
        ]


def prompt_option_named_prompt(facts: dict[str, Any]) -> None:
    """The `modal run` option for the user message is `--prompt` in every generated app, where
    an example may call it `--content`."""
    for entrypoint in facts["entrypoints"].values():
        parameters = entrypoint["parameters"]
        if "content" in parameters:
            entrypoint["parameters"] = {
                ("prompt" if key == "content" else key): value for key, value in parameters.items()
            }


def vllm_options_in_any_order(version: str) -> Callable[[dict[str, Any]], None]:
    """vLLM's argparse reads `vllm serve`'s options in any order, and `--option=value` as
    `--option value`: compare the model and each option with its values, as vLLM `version`
    parses them (the number of values each option takes is in its catalog)."""
    table = vllm_catalog.load_catalog(version).serve

    def normalize(facts: dict[str, Any]) -> None:
        for observed in facts["observed"].values():
            for launch in observed["launches"]:
                if launch["engine"] == "vllm":
                    launch["argv"] = _parsed_argv(table, launch["argv"])

    return normalize


def _parsed_argv(table: OptionTable, argv: list[str]) -> dict[str, Any]:
    tokens: list[str] = []
    for token in argv:
        tokens += token.split("=", 1) if token.startswith("--") and "=" in token else [token]
    positionals, options = [], []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("--"):
            positionals.append(token)
            continue
        option = table.resolve(token).option
        if option.nargs == 0:
            count = 0
        elif option.nargs in ("+", "*"):
            count = next(
                (i for i, t in enumerate(tokens[index:]) if t.startswith("--")),
                len(tokens) - index,
            )
        else:
            count = 1
        options.append([token, tokens[index : index + count]])
        index += count
    return {"positionals": positionals, "options": sorted(options)}


def options_in_any_order(engine: str, table: OptionTable) -> Callable[[dict[str, Any]], None]:
    """An engine's argparse reads its options in any order, and `--option=value` as
    `--option value`: compare the positionals and each option with its values, as the engine
    version parses them (the number of values each option takes is in its catalog). The file
    `--config` names is compared by what it holds (`config`), not by where it lies."""

    def normalize(facts: dict[str, Any]) -> None:
        for observed in facts["observed"].values():
            for launch in observed["launches"]:
                if launch["engine"] == engine:
                    parsed = _parsed_argv(table, launch["argv"])
                    parsed["options"] = [
                        [flag, ["<the config file>"] if flag == "--config" else values]
                        for flag, values in parsed["options"]
                    ]
                    launch["argv"] = parsed

    return normalize


def sglang_options_in_any_order(version: str) -> Callable[[dict[str, Any]], None]:
    return options_in_any_order("sglang", sglang_catalog.load_catalog(version).launch_server)


def no_null_body_fields(facts: dict[str, Any]) -> None:
    """A JSON `null` field in a request body is the same as no field to the engine."""
    for observed in facts["observed"].values():
        for request in observed["client_requests"] + observed["startup_requests"]:
            if isinstance(request["body"], dict):
                request["body"] = {k: v for k, v in request["body"].items() if v is not None}


def weights_downloaded_by_name_at_main(facts: dict[str, Any]) -> None:
    """The weights step is `download_weights`, which reads the model from the module's constants
    and names the spec's revision, `main`, where the example's `download_model(REPO_ID)` names
    none (which the Hub reads as `main`); the server then names that revision and the served
    model (SGLang's default) too."""
    revision = "main"  # the spec's revision: the branch the example downloads
    for service in facts["services"].values():
        for step in service["build_steps"]:
            if step["name"] == "download_model":
                step.update(name="download_weights", args=[])
        for layer in service["image"]["layers"]:
            if layer.get("build_step") == "download_model":
                layer["build_step"] = "download_weights"
    for observed in facts["observed"].values():
        for step in observed["build_steps"]:
            if step["name"] == "download_model":
                step["name"] = "download_weights"
                for event in step["events"]:
                    event["revision"] = revision
        for launch in observed["launches"]:
            model = launch["argv"][launch["argv"].index("--model-path") + 1]
            launch["argv"] += ["--revision", revision, "--served-model-name", model]


def engine_config_in_the_spec(facts: dict[str, Any]) -> None:
    """The engine's config file is a table in the spec, which the app writes when it starts,
    instead of a local file added to the image: one file fewer to keep in step. Options the file
    sets (`host`) are not passed again on the command line."""
    for service in facts["services"].values():
        image = service["image"]
        image["layers"] = [layer for layer in image["layers"] if "local_files" not in layer]
    for observed in facts["observed"].values():
        for launch in observed["launches"]:
            config, argv = launch["config"] or {}, launch["argv"]
            for key in config:
                if f"--{key}" in argv:
                    index = argv.index(f"--{key}")
                    del argv[index : index + 2]


def start_method_named_startup(facts: dict[str, Any]) -> None:
    """The method that starts the engine is `startup` in every generated app."""
    for service in facts["services"].values():
        lifecycle = service["lifecycle"]
        for phase, names in lifecycle.items():
            lifecycle[phase] = ["startup" if name == "start" else name for name in names]


def weights_pinned(revision: str) -> Callable[[dict[str, Any]], None]:
    """The weights step downloads the spec's pinned revision (`revision`, a placeholder where
    the spec says so), where the example's `download_model(REPO_ID)` takes whatever the main
    branch holds; it is `download_weights`, which reads the model from the module's constants;
    the server then names that revision too."""

    def fix(facts: dict[str, Any]) -> None:
        for service in facts["services"].values():
            for step in service["build_steps"]:
                if step["name"] == "download_model":
                    step.update(name="download_weights", args=[])
            for layer in service["image"]["layers"]:
                if layer.get("build_step") == "download_model":
                    layer["build_step"] = "download_weights"
        for observed in facts["observed"].values():
            for step in observed["build_steps"]:
                if step["name"] == "download_model":
                    step["name"] = "download_weights"
                    for event in step["events"]:
                        event["revision"] = revision
            for launch in observed["launches"]:
                if "--revision" not in launch["argv"]:
                    launch["argv"] += ["--revision", revision]

    return fix


def offline_after_the_build_download(facts: dict[str, Any]) -> None:
    """With the weights in the Volume from the build, the server starts with HF_HUB_OFFLINE=1:
    it never reaches the Hub, where the example's server may."""
    for observed in facts["observed"].values():
        for launch in observed["launches"]:
            launch["hf_hub_offline"] = "1"


def the_probe_streams(facts: dict[str, Any]) -> None:
    """The generated test client streams its answer (`stream: true`, as Server-Sent Events),
    printing tokens as they arrive and the time to the first one, where the example waits for
    the whole answer; the rest of the request is the example's."""
    for observed in facts["observed"].values():
        for request in observed["client_requests"]:
            if request["path"] in ("/v1/chat/completions", "/v1/completions"):
                request["body"]["stream"] = True
                request["headers"]["Accept"] = "text/event-stream"


def cuda_graphs_sized_to_the_target(facts: dict[str, Any]) -> None:
    """SGLang captures CUDA graphs for batches up to twice the server's concurrency target
    (`engine.cuda_graph_max_bs`'s default), where the example leaves SGLang's own default,
    sized for far larger batches than one replica gets: less memory and start-up time on graphs
    no request uses."""
    for service, observed in zip(
        facts["services"].values(), facts["observed"].values(), strict=True
    ):
        target = service["declared"]["autoscaler_settings"].get("target_concurrency_float")
        for launch in observed["launches"]:
            if not any(item.startswith("--cuda-graph-max-bs") for item in launch["argv"]):
                launch["argv"] += ["--cuda-graph-max-bs", str(2 * int(target))]


def heredoc_as_a_project_script(script: str, remote_path: str) -> Callable[[dict], None]:
    """The example's heredoc build command (`python3 - <<'PY' ...`) is a file of the project,
    `script`, added to the image at `remote_path` and run as one command: the same program,
    reviewed and linted as a file rather than as a string inside a string."""

    def fix(facts: dict[str, Any]) -> None:
        for service in facts["services"].values():
            layers = service["image"]["layers"]
            for index, layer in enumerate(layers):
                commands = layer.get("dockerfile", [])
                if len(commands) == 1 and "<<" in commands[0]:
                    layers[index : index + 1] = [
                        {
                            "local_files": [{"remote_path": remote_path, "local_name": script}],
                            "copied": True,
                        },
                        {"dockerfile": [f"RUN python3 {remote_path}"]},
                    ]

    return fix


def argv_as_options(facts: dict[str, Any]) -> None:
    """SGLang's argparse reads its options in any order: compare the command and each option
    with its values (the values of an option are the words up to the next `--option`), and
    numbers by value (`0.70` is `0.7`)."""
    for observed in facts["observed"].values():
        for launch in observed["launches"]:
            if launch["engine"] != "sglang":
                continue
            options: list[list[Any]] = []
            for item in launch["argv"]:
                if item.startswith("--"):
                    options.append([item, []])
                else:
                    options[-1][1].append(_number_or_text(item))
            launch["argv"] = sorted(options, key=lambda option: (option[0], str(option[1])))


def _number_or_text(item: str) -> Any:
    try:
        return float(item)
    except ValueError:
        return item


def accept_anything_is_no_accept(facts: dict[str, Any]) -> None:
    """`Accept: */*` (what `requests` sends by default) asks for what no `Accept` header asks
    for: any answer."""
    for observed in facts["observed"].values():
        for request in observed["startup_requests"] + observed["client_requests"]:
            if request["headers"].get("Accept") == "*/*":
                del request["headers"]["Accept"]


def entrypoint_cleared_after_the_base(facts: dict[str, Any]) -> None:
    """The generated image clears the registry image's entrypoint in the layer after its base,
    where an example may clear it in a later layer: `ENTRYPOINT` changes no `RUN` before or
    after it, so the image runs the same; only which layers a change rebuilds differs."""
    for service in facts["services"].values():
        layers = []
        for layer in service["image"]["layers"]:
            commands = layer.get("dockerfile")
            if commands and "ENTRYPOINT []" in commands and len(commands) > 1:
                layer = {"dockerfile": [c for c in commands if c != "ENTRYPOINT []"]}
            layers.append(layer)
        if layers != service["image"]["layers"]:
            layers.insert(1, {"dockerfile": ["ENTRYPOINT []"]})
        service["image"]["layers"] = layers


def enter_and_exit_named_startup_and_stop(facts: dict[str, Any]) -> None:
    """The class's `modal.enter` method is `startup` and its `modal.exit` method `stop` in every
    generated app, where an example may call them `enter` and `exit`."""
    names = {"enter": "startup", "exit": "stop"}
    for service in facts["services"].values():
        lifecycle = service["lifecycle"]
        for phase, methods in lifecycle.items():
            lifecycle[phase] = [names.get(name, name) for name in methods]


def revision_and_model_name_written_out(revision: str) -> Callable[[dict[str, Any]], None]:
    """The generated command names the spec's revision, `revision` (the example names none,
    which the Hub reads as main), and the served model name (SGLang's default: the model)."""

    def fix(facts: dict[str, Any]) -> None:
        for observed in facts["observed"].values():
            for launch in observed["launches"]:
                argv = launch["argv"]
                model = argv[argv.index("--model-path") + 1]
                argv += ["--revision", revision, "--served-model-name", model]

    return fix


def endpoint_waits_as_the_container(facts: dict[str, Any]) -> None:
    """A class's web endpoint waits for the engine's port as long as the container may take to
    start (`startup_timeout`), where an example may leave Modal's 5 s default: `modal.enter`
    returns only once the engine answers, so the port is open by then either way; the longer
    wait never cuts a start short."""
    for service in facts["services"].values():
        limit = float(service["declared"]["startup_timeout"])
        for endpoint in service.get("endpoints", {}).values():
            if endpoint.get("type") == "WEBHOOK_TYPE_WEB_SERVER":
                endpoint["web_server_startup_timeout"] = limit


def one_completion(prompt: str) -> Callable[[dict[str, Any]], None]:
    """The generated `modal run` client sends one completion request, `prompt`, where the
    example sends 100 at once, of 20 prompts, in no fixed order (the generated load test,
    `python generated/x.py bench`, is for that); the request is one of the example's."""

    def fix(facts: dict[str, Any]) -> None:
        for observed in facts["observed"].values():
            requests = observed["client_requests"]
            chosen = next(r for r in requests if r["body"].get("prompt") == prompt)
            observed["client_requests"] = [chosen]

    return fix


def sidecar_config_from_the_project(
    local_name: str, credentials: dict[str, str]
) -> Callable[[dict[str, Any]], None]:
    """The sidecar's config file is a file of the project (`local_name`), added to the image
    after every other layer, where the example writes it in `modal.enter` from a template with
    the credentials substituted: the file reads them from the environment where it runs
    (Alloy's `sys.env("NAME")`, `credentials` maps each substituted value to that), which the
    Secret fills, so no credential is ever written to a file. The rest of the file is the
    example's."""

    def fix(facts: dict[str, Any]) -> None:
        for service, observed in zip(
            facts["services"].values(), facts["observed"].values(), strict=True
        ):
            for sidecar in observed.get("sidecars", []):
                for path, text in sidecar["files"].items():
                    for value, expression in credentials.items():
                        text = text.replace(f'"{value}"', expression)
                    sidecar["files"][path] = text
                    service["image"]["layers"].append(
                        {"local_files": [{"local_name": local_name, "remote_path": path}]}
                    )

    return fix


def config_without_comments(facts: dict[str, Any]) -> None:
    """A sidecar's config file is compared without its `//` comments and blank lines."""
    for observed in facts["observed"].values():
        for sidecar in observed.get("sidecars", []):
            sidecar["files"] = {
                path: [
                    line
                    for line in (
                        re.sub(r"(^|\s)//.*$", "", raw).rstrip() for raw in text.split("\n")
                    )
                    if line
                ]
                for path, text in sidecar["files"].items()
            }


@dataclass(frozen=True)
class Reproduction:
    """A generated app, the facts of the program it reproduces, and the fixes it makes.

    `fixes` change the reference's facts where the generated app deliberately differs;
    `same_meaning` rewrites both sides where two spellings mean the same to Modal or the engine.
    """

    generated: Path
    facts: str
    fixes: tuple[Callable[[dict[str, Any]], None], ...]
    same_meaning: tuple[Callable[[dict[str, Any]], None], ...] = ()
    has_exit: bool = True

    def observed(self, facts: dict[str, Any]) -> dict[str, Any]:
        normalized = copy.deepcopy(facts)
        for rewrite in self.same_meaning:
            rewrite(normalized)
        return normalized

    def __str__(self) -> str:
        return self.generated.relative_to(ROOT).as_posix()

    def expected(self) -> dict[str, Any]:
        facts = json.loads((FACTS_DIR / self.facts).read_text(encoding="utf-8"))
        facts.pop("reference")
        fixed = copy.deepcopy(facts)
        for fix in (*self.fixes, *self.same_meaning):
            fix(fixed)
        return fixed


REPRODUCTIONS = [
    Reproduction(ROOT / "generated" / "qwen36_vlm.py", "sglang_vlm.json", (fix_sglang_argv,)),
    Reproduction(
        ROOT / "generated" / "qwen35_low_latency.py",
        "sglang_low_latency.json",
        (fix_sglang_argv, merge_env_layers, add_bench_option),
    ),
    Reproduction(
        ROOT / "examples" / "modal-examples" / "generated" / "sglang_vlm.py",
        "upstream__sglang_vlm.json",
        (fix_sglang_argv, send_proxy_token),
    ),
    Reproduction(
        ROOT / "examples" / "modal-examples" / "generated" / "vllm_low_latency.py",
        "upstream__vllm_low_latency.json",
        (
            gpu_count_written_out,
            restore_method_named_wake_up,
            send_proxy_token,
            add_bench_option,
            no_disable_log_requests,
        ),
        (vllm_options_in_any_order("0.11.2"),),
    ),
    Reproduction(
        ROOT / "examples" / "modal-examples" / "generated" / "vllm_inference.py",
        "upstream__vllm_inference.json",
        (prompt_option_named_prompt, add_bench_option),
        (vllm_options_in_any_order("0.9.1"),),
        has_exit=False,
    ),
    Reproduction(
        ROOT / "examples" / "modal-examples" / "generated" / "very_large_models.py",
        "upstream__very_large_models.json",
        (
            weights_downloaded_by_name_at_main,
            engine_config_in_the_spec,
            start_method_named_startup,
            prompt_option_named_prompt,
            add_bench_option,
            send_proxy_token,
        ),
        (sglang_options_in_any_order("0.5.7"), no_null_body_fields),
    ),
    Reproduction(
        ROOT / "examples" / "modal-examples" / "generated" / "inkling_small.py",
        "upstream__inkling_small.json",
        (
            fix_sglang_argv,
            weights_pinned("main"),
            offline_after_the_build_download,
            heredoc_as_a_project_script(
                "backport_sglang_32254.py", "/root/build-scripts/backport_sglang_32254.py"
            ),
            cuda_graphs_sized_to_the_target,
            start_method_named_startup,
            the_probe_streams,
        ),
        (argv_as_options,),
    ),
    Reproduction(
        ROOT / "examples" / "modal-examples" / "generated" / "deepseek_v4_flash.py",
        "upstream__deepseek_v4_flash.json",
        (
            fix_sglang_argv,
            weights_pinned("9e165c30e2704aec5d9d593cce3eebd58bbef1cb"),
            offline_after_the_build_download,
            the_probe_streams,
        ),
        (argv_as_options, accept_anything_is_no_accept),
    ),
    Reproduction(
        ROOT / "examples" / "modal-examples" / "generated" / "sgl_grafana.py",
        "upstream__sgl_grafana.json",
        (
            fix_sglang_argv,
            revision_and_model_name_written_out("main"),
            gpu_count_written_out,
            entrypoint_cleared_after_the_base,
            enter_and_exit_named_startup_and_stop,
            endpoint_waits_as_the_container,
            sidecar_config_from_the_project(
                "config.alloy",
                {
                    SECRET_VARIABLES["grafana-secret"]["GRAFANA_USERNAME"]: (
                        'sys.env("GRAFANA_USERNAME")'
                    ),
                    SECRET_VARIABLES["grafana-secret"]["GRAFANA_API_KEY"]: (
                        'sys.env("GRAFANA_API_KEY")'
                    ),
                    "unknown": 'coalesce(sys.env("MODAL_TASK_ID"), "unknown")',
                },
            ),
            one_completion("0. Explain quantum computing"),
            the_probe_streams,
        ),
        (argv_as_options, accept_anything_is_no_accept, config_without_comments),
    ),
]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The facts of every generated app, observed once against the stand-in engine."""
    log = StandinLog(tmp_path_factory.mktemp("observed") / "standin.jsonl")
    facts = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in {**standin_environment(log.path), **PROXY_TOKEN}.items():
            monkeypatch.setenv(key, value)
        try:
            for reproduction in REPRODUCTIONS:
                wait_port_free(8000)
                observed = observe_app(reproduction.generated, log, monkeypatch)
                facts[str(reproduction)] = reproduction.observed(observed)
        finally:
            log.kill_servers()
    return facts


@pytest.fixture(params=REPRODUCTIONS, ids=str)
def reproduction(request: pytest.FixtureRequest) -> Reproduction:
    return request.param


def assert_same(expected: Any, actual: Any, what: str) -> None:
    found = differences(expected, actual)
    assert not found, f"{what} differ from the reference's facts:\n  " + "\n  ".join(found)


def test_declarations_match(reproduction: Reproduction, observed: dict) -> None:
    expected, actual = reproduction.expected(), observed[str(reproduction)]
    for key in ("app_name", "entrypoints", "services"):
        assert_same({key: expected[key]}, {key: actual[key]}, "declarations")


def test_build_steps_run_the_same_commands(reproduction: Reproduction, observed: dict) -> None:
    expected, actual = reproduction.expected(), observed[str(reproduction)]
    for name, service in expected["observed"].items():
        assert_same(
            {name: service["build_steps"]},
            {name: actual["observed"][name]["build_steps"]},
            "build steps",
        )


def test_server_starts_and_warms_up_like_the_reference(
    reproduction: Reproduction, observed: dict
) -> None:
    expected, actual = reproduction.expected(), observed[str(reproduction)]
    for name, service in expected["observed"].items():
        ours = actual["observed"][name]
        assert ours["launches"], "no server was started"
        assert ours["startup_requests"] or not service["startup_requests"], "no warm-up"
        assert_same(
            {name: {key: service[key] for key in ("launches", "startup_requests")}},
            {name: {key: ours[key] for key in ("launches", "startup_requests")}},
            "server start-ups",
        )


def test_sidecars_start_and_stop_like_the_reference(
    reproduction: Reproduction, observed: dict
) -> None:
    """The same programs with the same arguments and files, started in their own process group
    once the engine is healthy and warm, and stopped with the same signal (no sidecars where the
    reference has none)."""
    expected, actual = reproduction.expected(), observed[str(reproduction)]
    for name, service in expected["observed"].items():
        assert_same(
            {name: service.get("sidecars")},
            {name: actual["observed"][name].get("sidecars")},
            "sidecars",
        )


def test_client_sends_the_same_requests(reproduction: Reproduction, observed: dict) -> None:
    expected, actual = reproduction.expected(), observed[str(reproduction)]
    for name, service in expected["observed"].items():
        ours = actual["observed"][name]["client_requests"]
        assert ours, "the test client sent no request"
        assert_same({name: service["client_requests"]}, {name: ours}, "test client requests")


def with_dummy_weights(facts: dict[str, Any]) -> None:
    """What very_large_models.py does when deployed with APP_USE_DUMMY_WEIGHTS=1: the variable
    is `1` in the image, the weights download is skipped, and SGLang starts with
    `--load-format dummy` and HF_HUB_OFFLINE=0 (it fetches the model's config from the Hub)."""
    for service in facts["services"].values():
        image = service["image"]
        image["env"]["APP_USE_DUMMY_WEIGHTS"] = "1"
        layers = [layer for layer in image["layers"] if "build_step" not in layer]
        for layer in layers:
            if "dockerfile" in layer:
                layer["dockerfile"] = [
                    "ENV APP_USE_DUMMY_WEIGHTS=1" if c == "ENV APP_USE_DUMMY_WEIGHTS=0" else c
                    for c in layer["dockerfile"]
                ]
        image["layers"] = layers
        service["build_steps"] = []
    for observed in facts["observed"].values():
        observed["build_steps"] = []
        for launch in observed["launches"]:
            launch["argv"] += ["--load-format", "dummy"]
            launch["hf_hub_offline"] = "0"


def test_dummy_weights_switch_as_the_reference(
    standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated very_large_models.py, deployed with APP_USE_DUMMY_WEIGHTS=1, declares and
    launches what the example does with it (the example's facts are recorded with it unset)."""
    (reproduction,) = [r for r in REPRODUCTIONS if r.facts == "upstream__very_large_models.json"]
    expected = json.loads((FACTS_DIR / reproduction.facts).read_text(encoding="utf-8"))
    for fix in (*reproduction.fixes, with_dummy_weights, *reproduction.same_meaning):
        fix(expected)
    for key, value in PROXY_TOKEN.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("APP_USE_DUMMY_WEIGHTS", "1")
    actual = reproduction.observed(observe_app(reproduction.generated, standin, monkeypatch))
    assert_same({"services": expected["services"]}, {"services": actual["services"]}, "declared")
    for name, service in expected["observed"].items():
        ours = actual["observed"][name]
        for key in ("build_steps", "launches"):
            assert_same({key: service[key]}, {key: ours[key]}, "with dummy weights")


def test_a_changed_fact_is_named(observed: dict) -> None:
    reproduction = REPRODUCTIONS[0]
    expected = reproduction.expected()
    (service,) = expected["observed"].values()
    service["startup_requests"][0]["body"]["max_tokens"] += 1
    found = differences(expected["observed"], observed[str(reproduction)]["observed"])
    assert found == ["VlmServer.startup_requests[0].body.max_tokens: expected 17, got 16"]


def test_build_step_fails_the_build_when_the_compile_fails(
    standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fixed on purpose: the low-latency reference ignores a failed compile (no check=True).
    monkeypatch.setenv("STANDIN_COMPILE_EXIT", "1")
    for reproduction in REPRODUCTIONS:
        (service,) = describe_app(import_app_file(reproduction.generated)).services.values()
        steps = [step for step in service.image.build_steps if step.name == "compile_deep_gemm"]
        if not steps:
            continue
        (step,) = steps
        with pytest.raises(subprocess.CalledProcessError):
            step.function()


# A web-server function has no exit method (the container's end stops its server).
WITH_EXIT = [reproduction for reproduction in REPRODUCTIONS if reproduction.has_exit]


@pytest.mark.parametrize("reproduction", WITH_EXIT, ids=str)
def test_exit_leaves_no_server_behind(
    reproduction: Reproduction, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    (service,) = describe_app(import_app_file(reproduction.generated)).services.values()
    assert service.user_cls is not None
    for key, value in service.image.env.items():  # as in the container
        monkeypatch.setenv(key, value)
    instance = service.user_cls()
    for phase in ("enter_pre_snapshot", "enter_post_snapshot"):
        for attribute in service.lifecycle[phase]:
            lifecycle_method(service.user_cls, attribute)(instance)
    (launch,) = standin.events("launch_server")
    assert pid_alive(launch["pid"])
    for attribute in service.lifecycle["exit"]:
        lifecycle_method(service.user_cls, attribute)(instance)
    assert not pid_alive(launch["pid"])

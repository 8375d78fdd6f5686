"""The serving spec: one Modal app serving one model with an inference engine.

Every field has a description (it becomes the JSON Schema that editors read) and every model
forbids unknown keys, so a typo is an error rather than a silently ignored setting. Defaults are
taken from the two reference apps the project started from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from generator.engines.sections import AnyEngineSection
from generator.engines.sglang.section import SglangEngineSection
from generator.exposure import AnyServerSection
from generator.model.bench import BenchSection
from generator.model.image import ImageSection, LayerSecrets
from generator.model.sidecars import Sidecar
from generator.model.sidecars import secrets as sidecar_secrets
from generator.spec.fields import (
    ABSOLUTE_PATH,
    DOTTED_FIELD,
    HF_REPO_ID,
    MODAL_DEFAULT_TIMEOUT,
    MODEL_REVISION,
    PATTERN_EXPECTATIONS,
    AbsolutePosixPath,
    EnvVarName,
    GeneratedName,
    Gpu,
    HeaderValue,
    ModalObjectName,
    NonEmptyLine,
    Seconds,
    SpecModel,
    validate_revision,
)
from generator.workloads.section import WorkloadSection

__all__ = [
    "ABSOLUTE_PATH",
    "MODAL_DEFAULT_TIMEOUT",
    "PATTERN_EXPECTATIONS",
    "Gpu",
    "SpecModel",
]

SPEC_VERSION = 1


class AppSection(SpecModel):
    name: ModalObjectName = Field(
        description="Name of the Modal App, as shown in the dashboard and used by `modal deploy`."
    )
    class_name: GeneratedName = Field(
        description="Name of the generated class that runs the server (for `server.kind = "
        '"web_server"`, of the generated function).'
    )


class WeightDtype(StrEnum):
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"
    FP4 = "fp4"

    @property
    def bytes_per_parameter(self) -> float:
        return {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "int4": 0.5, "fp4": 0.5}[
            self.value
        ]


class DownloadSection(SpecModel):
    """Weights fetched while the image builds, into the cache Volume, so that no container
    downloads them and every container starts offline."""

    at: Literal["build", "start"] = Field(
        default="start",
        description="`build`: a build step downloads the pinned revision into the weights "
        "Volume and the server starts with `HF_HUB_OFFLINE=1`; `start` (the default without a "
        "`download` table): the engine downloads the weights on its first start. A table "
        "without `at` means `build`.",
    )
    allow_patterns: list[NonEmptyLine] | None = Field(
        default=None, description="Only files matching these patterns (`*.safetensors`)."
    )
    ignore_patterns: list[NonEmptyLine] | None = Field(
        default=None, description="Files matching these patterns are skipped (`*.pth`)."
    )
    max_workers: int | None = Field(
        default=None,
        ge=1,
        description="Files downloaded at once (`snapshot_download`'s `max_workers`, 8 by default).",
    )
    timeout: Seconds = Field(default=3600, description="Seconds the download may take.")
    cpu: float | None = Field(default=None, gt=0, description="CPU cores for the download.")
    memory: int | None = Field(default=None, gt=0, description="Memory in MiB for the download.")
    secrets: list[ModalObjectName] | None = Field(
        default=None,
        description="Modal Secrets the download gets (a gated model needs an HF_TOKEN); "
        "defaults to the spec's `secrets`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # `download = "build"` is `download = { at = "build" }`; a table of download settings
        # without `at` asks for the download those settings are for.
        if isinstance(value, str):
            return {"at": value}
        if isinstance(value, dict) and value and "at" not in value:
            return {"at": "build", **value}
        return value

    @model_validator(mode="after")
    def _settings_need_a_build_step(self) -> DownloadSection:
        if self.at == "start":
            given = [
                key
                for key in (
                    "allow_patterns",
                    "ignore_patterns",
                    "max_workers",
                    "cpu",
                    "memory",
                    "secrets",
                )
                if getattr(self, key) is not None
            ]
            if self.timeout != DownloadSection.model_fields["timeout"].default:
                given.append("timeout")
            if given:
                raise ValueError(
                    f"{', '.join(f'`{key}`' for key in given)}: settings of the build-time "
                    'download, which `at = "start"` does not run; write `at = "build"` or '
                    "leave them out (the engine then downloads what it needs on first start)"
                )
        return self


# What an adapter name may be: it is a `name=path` argument of the engine and the `model` (or
# `lora_path`) of requests, so no `=`, `:` or spaces.
ADAPTER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# Where the adapters of `path` go in the image, each in the folder of its name.
LOCAL_ADAPTERS_DIR = "/lora-adapters"


class LoraAdapter(SpecModel):
    """A LoRA adapter served on top of the base model: a Hub repository downloaded while the
    image builds, or a folder of the project added to the image."""

    name: Annotated[str, StringConstraints(pattern=ADAPTER_NAME, max_length=64)] = Field(
        description="Name requests use to ask for the adapter (`lora-name` in the engine's "
        "`name=path` argument)."
    )
    repo: Annotated[str, StringConstraints(pattern=HF_REPO_ID)] | None = Field(
        default=None,
        description="Hugging Face repository id of the adapter, `org/name`, downloaded while "
        "the image builds; or give `path`.",
    )
    revision: (
        Annotated[
            str,
            StringConstraints(pattern=MODEL_REVISION, max_length=255),
            AfterValidator(validate_revision),
        ]
        | None
    ) = Field(
        default=None,
        description="With `repo`: the adapter revision, a full 40-character commit hash, or a "
        'branch or tag such as `"main"` with a warning (`modalgen pin` replaces it with its '
        "commit), as the model's.",
    )
    path: NonEmptyLine | None = Field(
        default=None,
        description="A folder of this project holding the adapter (`adapter_config.json` and "
        "its weights), as a path relative to the project (the folder that holds specs/): added "
        f"to the image at `{LOCAL_ADAPTERS_DIR}/<name>` and passed to the engine there; or "
        "give `repo`.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> LoraAdapter:
        if (self.repo is None) == (self.path is None):
            raise ValueError(
                "an adapter comes from a Hub repository (`repo` and `revision`) or from a "
                "folder of the project (`path`): give one of them"
            )
        if self.repo is not None and self.revision is None:
            raise ValueError(
                f"`revision` of {self.repo} is missing: write the commit you tested (or a "
                'branch such as `"main"`, with a warning, and run `modalgen pin`)'
            )
        if self.path is not None and self.revision is not None:
            raise ValueError(
                "`revision` is the Hub revision of `repo`; a project folder (`path`) has none: "
                "leave it out"
            )
        return self


class ModelSection(SpecModel):
    name: Annotated[str, StringConstraints(pattern=HF_REPO_ID)] = Field(
        description="Hugging Face repository id of the model, `org/name`."
    )
    revision: Annotated[
        str,
        StringConstraints(pattern=MODEL_REVISION, max_length=255),
        AfterValidator(validate_revision),
    ] = Field(
        description="The model revision to serve: a full 40-character commit hash, so that a "
        'new upload cannot change what is deployed, or a branch or tag such as `"main"` (what '
        "the Hub serves when no revision is named), with a warning; `modalgen pin` replaces a "
        "branch or tag with its current commit."
    )
    parameters_billion: float | None = Field(
        default=None,
        gt=0,
        description="Total parameters, in billions, to check that the weights fit the GPUs; "
        "read from the name (`35B`) when not given.",
    )
    weight_dtype: WeightDtype | None = Field(
        default=None,
        description="Precision of the weights, to check that they fit the GPUs; read from the "
        "name (`FP8`, `AWQ`, ...) when not given, else assumed `bf16`.",
    )
    gated: StrictBool | None = Field(
        default=None,
        description="The model needs a Hugging Face token to download (a gated repository); "
        "read from the organisation (`meta-llama`) when not given.",
    )
    download: DownloadSection = Field(
        default_factory=DownloadSection,
        description='When the weights are downloaded: `"build"`, or a table of the build-time '
        "download's settings.",
    )
    dummy_weights_variable: EnvVarName | None = Field(
        default=None,
        description="A switch for development: when this environment variable is `1` or "
        "`true` where the app is deployed (`APP_USE_DUMMY_WEIGHTS=1 modal deploy ...`), the "
        "build-time download is skipped and the engine starts with random weights of the "
        "model's shape (`--load-format dummy`); unset, it is off. Off when not given.",
    )
    adapters: list[LoraAdapter] = Field(
        default_factory=list,
        description="LoRA adapters served with the model (`[[model.adapters]]`): each is "
        "downloaded into the weights Volume while the image builds and passed to the engine "
        "(SGLang `--enable-lora --lora-paths`, vLLM `--enable-lora --lora-modules`).",
    )
    max_lora_rank: int | None = Field(
        default=None,
        ge=1,
        description="Highest rank among the adapters (`--max-lora-rank`); the engine's default "
        "when unset.",
    )
    max_adapters_per_batch: int | None = Field(
        default=None,
        ge=1,
        description="Adapters one batch may use at once (SGLang `--max-loras-per-batch`, vLLM "
        "`--max-loras`); the engine's default when unset.",
    )

    @field_validator("adapters")
    @classmethod
    def _adapter_names_differ(cls, adapters: list[LoraAdapter]) -> list[LoraAdapter]:
        names = [adapter.name for adapter in adapters]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"{', '.join(f'`{name}`' for name in repeated)}: each adapter needs a name of "
                "its own"
            )
        return adapters

    @model_validator(mode="after")
    def _lora_settings_need_adapters(self) -> ModelSection:
        if not self.adapters:
            given = [
                key
                for key in ("max_lora_rank", "max_adapters_per_batch")
                if getattr(self, key) is not None
            ]
            if given:
                raise ValueError(
                    f"{', '.join(f'`{key}`' for key in given)}: LoRA settings without "
                    "`[[model.adapters]]`; add adapters or leave them out"
                )
        return self


class Volume(SpecModel):
    name: ModalObjectName = Field(description="Name of the Modal Volume.")
    mount_path: AbsolutePosixPath = Field(description="Where the Volume is mounted in containers.")
    create_if_missing: StrictBool = Field(
        default=True, description="Create the Volume on first deploy if it does not exist."
    )


class DeepGemmSection(SpecModel):
    enabled: StrictBool | None = Field(
        default=None,
        description="Pre-compile DeepGEMM kernels into a cache Volume while the image builds, so "
        "containers do not JIT-compile them on first request. SGLang only, where it is on by "
        "default.",
    )
    gpu: Gpu | None = Field(
        default=None, description="GPU for the build step; defaults to the server's GPU."
    )
    volumes: list[ModalObjectName] | None = Field(
        default=None,
        description="Names of the Volumes (from `volumes`) mounted during the build; "
        "defaults to all.",
    )
    fail_build_on_error: StrictBool = Field(
        default=True,
        description="Fail the image build when kernel compilation fails. When false, a failed "
        "compile is ignored and kernels are JIT-compiled at first use instead.",
    )


class LifecycleSection(SpecModel):
    ready_timeout: Seconds | None = Field(
        default=None,
        description="Seconds to wait for the server's `/health` before the container fails; "
        "defaults to the container's start-up limit (`server.startup_timeout`, else "
        "`server.timeout`, else Modal's 300).",
    )
    stop_timeout: Seconds = Field(
        default=10,
        description="Seconds the server gets to exit after SIGTERM before it is killed.",
    )
    memory_snapshot: StrictBool = Field(
        default=False,
        description="Start new replicas from a CPU + GPU memory snapshot (Modal's GPU memory "
        "snapshots, alpha; deployed apps only). The server starts, warms up and releases its GPU "
        "memory (`/release_memory_occupation`) before the snapshot, and takes it back "
        "(`/resume_memory_occupation`) after each restore; `--enable-memory-saver` and "
        "`--enable-weights-cpu-backup` are added to the server's options.",
    )


class ContentFormat(StrEnum):
    TEXT = "text"
    PARTS = "parts"


class ChatMessage(SpecModel):
    text: str = Field(description="Text of the user message.")
    image_url: str | None = Field(
        default=None, min_length=1, description="URL of an image sent before the text."
    )
    format: ContentFormat = Field(
        default=ContentFormat.TEXT,
        description="`text` sends the content as a plain string; `parts` as a list of typed "
        "parts. A message with an image is always sent as parts.",
    )

    @model_validator(mode="after")
    def _image_needs_parts(self) -> ChatMessage:
        if self.image_url is not None and self.format is ContentFormat.TEXT:
            raise ValueError('a message with `image_url` must use `format = "parts"`')
        return self


# Fields of the chat request the test client and the load test set themselves.
RESERVED_REQUEST_FIELDS = frozenset({"messages", "stream", "stream_options"})


def _leave_the_client_fields(extras: dict[str, Any], reserved: frozenset[str], who: str) -> None:
    taken = sorted(reserved & extras.keys())
    if taken:
        them = "it" if len(taken) == 1 else "them"
        raise ValueError(
            f"{', '.join(f'`{key}`' for key in taken)}: {who} sets {them} itself; leave {them} out"
        )


class WarmupSection(SpecModel):
    requests: int = Field(
        default=2,
        ge=0,
        description="Chat requests sent before the replica takes traffic; 0 sends none.",
    )
    timeout: Seconds = Field(default=120, description="Seconds allowed for each warm-up request.")
    max_tokens: int = Field(default=16, ge=1, description="`max_tokens` of each warm-up request.")
    message: ChatMessage = Field(
        default_factory=lambda: ChatMessage(text="Hello, how are you?"),
        description="The user message each warm-up request sends.",
    )
    request_extras: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Further fields of each warm-up request's body, such as `temperature = 0`.",
    )

    @field_validator("request_extras")
    @classmethod
    def _extras_leave_the_request_alone(cls, extras: dict[str, Any]) -> dict[str, Any]:
        _leave_the_client_fields(
            extras, RESERVED_REQUEST_FIELDS | {"max_tokens"}, "the warm-up (`max_tokens` above)"
        )
        return extras


# `modal run` options the probe entrypoint has of its own, which a request option cannot be.
PROBE_OPTION_NAMES = frozenset({"test_timeout", "prompt", "twice", "bench"})
RequestOptionValue = StrictBool | StrictInt | StrictFloat | StrictStr


class RequestOption(SpecModel):
    """A further `modal run` option of the probe, whose value goes into the request body."""

    default: RequestOptionValue = Field(
        description="The option's default, which also gives its type: a string, an integer, a "
        "number or a boolean (`--x/--no-x`)."
    )
    field: Annotated[str, StringConstraints(pattern=DOTTED_FIELD)] | None = Field(
        default=None,
        description="Where the value goes in the request body, as a dotted path "
        "(`chat_template_kwargs.reasoning_effort`); defaults to the option's name.",
    )


class ProbeSection(SpecModel):
    entrypoint: GeneratedName = Field(
        default="main", description="Name of the `modal run` local entrypoint."
    )
    cli_options: StrictBool | list[Literal["test_timeout", "prompt"]] = Field(
        default=False,
        description="`true` exposes `--test-timeout` and `--prompt` (no default: the message's "
        "text) as `modal run` options; a list exposes those named, `--prompt` with the "
        'message\'s text as its default (`prompt: str = "..."`). `--twice/--no-twice` is there '
        "whenever a second run is set.",
    )
    request_options: dict[GeneratedName, RequestOption] = Field(
        default_factory=dict,
        description="Further typed `modal run` options, by name, each put into the request "
        'body (`reasoning_effort = { default = "medium", field = '
        '"chat_template_kwargs.reasoning_effort" }`).',
    )
    timeout: Seconds = Field(
        default=600, description="Seconds to keep retrying until the server answers."
    )
    second_timeout: Seconds | None = Field(
        default=None,
        description="Seconds the second run may take (`second_prompt` or "
        "`second_system_prompt`); defaults to `timeout`.",
    )
    wait_for_health: StrictBool = Field(
        default=False,
        description="Before the first chat request, poll the server's `/health` until it "
        "answers 200 (within `timeout`), as clients of `@app.server` apps do.",
    )
    message: ChatMessage | None = Field(
        default=None,
        description="The user message to send; defaults to the warm-up message.",
    )
    system_prompt: str | None = Field(
        default=None, description="System prompt sent before the user message."
    )
    second_system_prompt: str | None = Field(
        default=None,
        description="When set, the probe runs a second time with this system prompt.",
    )
    second_prompt: str | None = Field(
        default=None,
        description="When set, the probe runs a second time with this user message instead.",
    )
    session_header: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]*$")] = Field(
        default="Modal-Session-Id",
        description="Header that pins requests of one conversation to one replica; an empty "
        "string sends none.",
    )
    session_id: HeaderValue = Field(
        default="test-session", description="Value of the session header."
    )
    adapter: str | None = Field(
        default=None,
        min_length=1,
        description="Name of the LoRA adapter (`model.adapters`) the probe asks for; the base "
        "model when unset.",
    )
    request_extras: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Further fields of the request body, such as sampling options (`top_k`) or "
        "a table (`chat_template_kwargs = { enable_thinking = false }`).",
    )

    @field_validator("request_extras")
    @classmethod
    def _extras_leave_the_stream_alone(cls, extras: dict[str, Any]) -> dict[str, Any]:
        _leave_the_client_fields(extras, RESERVED_REQUEST_FIELDS, "the test client")
        return extras

    @property
    def option_names(self) -> list[str]:
        """The `--test-timeout` and `--prompt` options the entrypoint has."""
        if self.cli_options is True:
            return ["test_timeout", "prompt"]
        return [name for name in ("test_timeout", "prompt") if name in (self.cli_options or [])]

    @property
    def prompt_has_default(self) -> bool:
        """`--prompt` defaults to the message's text (a list of options), not to None."""
        return isinstance(self.cli_options, list) and "prompt" in self.cli_options

    @field_validator("request_options")
    @classmethod
    def _options_of_their_own(cls, options: dict[str, RequestOption]) -> dict[str, RequestOption]:
        taken = sorted(PROBE_OPTION_NAMES & options.keys())
        if taken:
            raise ValueError(
                f"{', '.join(f'`{key}`' for key in taken)}: an option of the probe entrypoint "
                "already; give the request option another name"
            )
        for key, option in options.items():
            top = (option.field or key).split(".")[0]
            if top in RESERVED_REQUEST_FIELDS:
                raise ValueError(
                    f"`{key}`: the test client sets `{top}` itself; put the value elsewhere"
                )
        return options

    @model_validator(mode="after")
    def _second_run_needs_system_prompt(self) -> ProbeSection:
        if self.second_system_prompt is not None and self.system_prompt is None:
            raise ValueError("`second_system_prompt` replaces `system_prompt`: set both")
        if self.second_system_prompt is not None and self.second_prompt is not None:
            raise ValueError(
                "a second run changes one message: `second_system_prompt` or "
                "`second_prompt`, not both"
            )
        if (
            self.second_timeout is not None
            and self.second_system_prompt is None
            and self.second_prompt is None
        ):
            raise ValueError(
                "`second_timeout` is the second run's: set `second_prompt` or "
                "`second_system_prompt` too, or leave it out"
            )
        fields: dict[str, str] = {}
        for key, option in self.request_options.items():
            path = option.field or key
            clash = next(
                (
                    other
                    for other, taken in fields.items()
                    if path == taken or path.startswith(taken + ".") or taken.startswith(path + ".")
                ),
                None,
            )
            if clash is not None:
                raise ValueError(
                    f"request options `{clash}` and `{key}` write the same request field: "
                    "give each its own"
                )
            fields[key] = path
            node: object = self.request_extras
            for part in path.split(".")[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
                if node is not None and not isinstance(node, dict):
                    raise ValueError(
                        f"request option `{key}` goes into `{path}`, but request_extras sets "
                        f"`{part}` to a value that is not a table"
                    )
        return self


class Spec(SpecModel):
    version: Literal[1] = Field(description="Version of the spec format; only `1` exists.")
    extends: list[str] = Field(
        default_factory=list,
        exclude=True,
        description="Base specs to merge under this one, in order, as paths relative to this "
        "file. Mappings merge key by key; lists and other values replace the base's.",
    )
    app: AppSection = Field(description="The Modal App and the class that serves the model.")
    image: ImageSection = Field(description="The container image the server runs in.")
    model: ModelSection = Field(description="The model to serve.")
    workload: WorkloadSection = Field(
        default_factory=WorkloadSection,
        description="What the app serves (`kind`: chat, completion or embedding), which decides "
        "the engine's task flags and what the warm-up, probe, client and load test send.",
    )
    volumes: list[Volume] = Field(
        default_factory=list, description="Modal Volumes that cache weights and compiled kernels."
    )
    secrets: list[ModalObjectName] = Field(
        default_factory=list,
        description="Names of Modal Secrets whose variables the build step and the server get, "
        "such as a Hugging Face token (`modal secret create huggingface HF_TOKEN=...`). Never "
        "put secrets in `image.env`: they would be baked into the image and the generated file.",
    )
    secret_keys: dict[ModalObjectName, Annotated[list[EnvVarName], Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Variables a Modal Secret must hold, by Secret name (`huggingface = "
        '["HF_TOKEN"]`): wherever the app attaches that Secret, Modal then refuses to start '
        "without them (`required_keys`), rather than failing later inside the engine.",
    )
    deep_gemm: DeepGemmSection = Field(
        default_factory=DeepGemmSection, description="DeepGEMM kernel pre-compilation."
    )
    server: AnyServerSection = Field(
        description="How the app is exposed (`kind`), its containers, scaling and routing."
    )
    engine: AnyEngineSection = Field(
        default_factory=lambda: SglangEngineSection(),
        description="The inference engine (`kind`, SGLang by default) and its server options.",
    )
    lifecycle: LifecycleSection = Field(
        default_factory=LifecycleSection, description="Start-up and shut-down of the server."
    )
    warmup: WarmupSection = Field(
        default_factory=WarmupSection, description="Requests that warm a new replica up."
    )
    probe: ProbeSection = Field(
        default_factory=ProbeSection, description="The `modal run` test client."
    )
    sidecars: list[Sidecar] = Field(
        default_factory=list,
        description="Processes each replica runs beside the engine (`[[sidecars]]`), such as a "
        "metrics shipper: started once the engine is healthy, stopped in `modal.exit` before "
        "it; one that exits unasked ends the container.",
    )
    bench: BenchSection = Field(
        default_factory=BenchSection,
        description="The load test generated with the app: a concurrency sweep that reports "
        "latency and throughput per level and the highest level within the SLO.",
    )

    # Defaults that depend on other fields, in one place for the view, the checks and `show`.

    @property
    def tensor_parallel_size(self) -> int:
        gpus, nodes = self.server.gpu.count, self.server.nodes
        return self.engine.tensor_parallel_size or self.engine.default_tensor_parallel(gpus, nodes)

    @property
    def image_env(self) -> dict[str, str]:
        """Every variable the image sets, as the spec writes them."""
        return self.image.all_env

    @property
    def secrets_for_server(self) -> list[str]:
        """The Secrets of the serving containers: the spec's, the engine's API key, the
        sidecars'."""
        extra = [self.engine.api_key_secret] if self.engine.api_key_secret else []
        extra += sidecar_secrets(self.sidecars)
        return list(dict.fromkeys([*self.secrets, *extra]))

    @property
    def secrets_used(self) -> list[str]:
        """Every Secret the app attaches anywhere: server, download, image layers, registry."""
        names = [*self.secrets_for_server, *self.download_secrets]
        names += [
            name
            for layer in self.image.layers
            if isinstance(layer, LayerSecrets)
            for name in layer.secrets
        ]
        if self.image.registry_secret is not None:
            names.append(self.image.registry_secret)
        return list(dict.fromkeys(names))

    @property
    def weights_cache(self) -> str:
        """Where huggingface_hub keeps downloaded weights in the containers: `HF_HUB_CACHE`,
        else `HF_HOME/hub`, else its default under /root."""
        env = self.image_env
        if env.get("HF_HUB_CACHE"):
            return env["HF_HUB_CACHE"].rstrip("/")
        return f"{env.get('HF_HOME', '/root/.cache/huggingface').rstrip('/')}/hub"

    @property
    def weights_volume(self) -> Volume | None:
        """The Volume the weights cache lies in, if one is mounted over it."""
        cache = self.weights_cache + "/"
        covering = [v for v in self.volumes if cache.startswith(v.mount_path.rstrip("/") + "/")]
        return max(covering, key=lambda v: len(v.mount_path), default=None)

    @property
    def download_secrets(self) -> list[str]:
        """The Secrets the weights download gets: its own, else the spec's."""
        secrets = self.model.download.secrets
        return list(secrets) if secrets is not None else list(self.secrets)

    def adapter_path(self, adapter: LoraAdapter) -> str:
        """Where the engine finds an adapter in the container: a project folder's place in the
        image, or the folder the build step downloads a Hub adapter's revision into, in the
        weights cache's Volume (`lora-adapters/org--name/<revision>`: a branch's folder keeps
        its name whatever commit it holds, which huggingface_hub's own `snapshots/<commit>`
        would not)."""
        if adapter.repo is None:
            return f"{LOCAL_ADAPTERS_DIR}/{adapter.name}"
        assert adapter.revision is not None  # LoraAdapter._one_source
        folder = adapter.repo.replace("/", "--")
        return f"{self.weights_cache}/lora-adapters/{folder}/{adapter.revision}"

    @property
    def downloads_at_build(self) -> bool:
        return self.model.download.at == "build"

    @property
    def ready_timeout(self) -> int:
        return self.lifecycle.ready_timeout or self.server.startup_limit

    @property
    def deep_gemm_enabled(self) -> bool:
        """Whether the image build pre-compiles DeepGEMM kernels: as set, else the engine's
        default (SGLang compiles them, vLLM has no such step)."""
        if self.deep_gemm.enabled is not None:
            return self.deep_gemm.enabled
        return self.engine.builds_deep_gemm

    @property
    def deep_gemm_gpu(self) -> Gpu:
        return self.deep_gemm.gpu or self.server.gpu

    @property
    def probe_message(self) -> ChatMessage:
        return self.probe.message or self.warmup.message

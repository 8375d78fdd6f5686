"""The interface every engine implements, and the option checking they share.

The view and the checks ask an `Engine` for what differs between engines: the command that
starts the server and the options it passes, how GPU memory is released before a snapshot and
taken back after, what the image needs for that, which build steps the engine wants, and the
option catalog of the engine version in the image.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from generator.engines.option_table import (
    CatalogCorrupt,
    CatalogNotFound,
    OptionError,
    OptionTable,
    version_key,
)
from generator.spec.errors import FieldPath

if TYPE_CHECKING:
    from generator.model.models import Spec

Severity = Literal["error", "warning"]
EngineFinding = tuple[Severity, FieldPath, str]
SKIP_HINT = "or set `image.check_engine_options = false` to skip checking engine options"
# What the generated app's `engine_config_arguments` and `api_key_arguments` add to the server
# command at start (templates/partials/engine/server_process.py.jinja), the same for every engine.
CONFIG_FILE_FLAG = "--config"
API_KEY_FLAG = "--api-key"


@dataclass(frozen=True)
class Argument:
    """One option of the server command: `flag` and its value, from the spec's `field`.

    `value` True passes the bare flag, None and False pass nothing, a list several values, a dict
    one JSON value. `name` is a constant of the generated module that holds the value (such as
    `MODEL_NAME`), used instead of a literal. A `flag` of None is a positional argument.
    """

    field: FieldPath
    flag: str | None
    value: Any
    name: str | None = None


@dataclass(frozen=True)
class MemoryRoute:
    """A request the app sends its own engine: `POST path` with `body` as JSON (None: no body)."""

    path: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class SnapshotSupport:
    """How an engine gives its GPU memory back before a memory snapshot and takes it after."""

    release: MemoryRoute
    resume: MemoryRoute
    env: dict[str, str]  # image variables it needs, unless the spec sets them


@dataclass(frozen=True)
class RankOption:
    """An option each rank of a cluster adds to the server command, from Modal's cluster info.

    `expression` is Python over the names the generated `cluster_arguments` defines: `rank`
    (this container's), `head` (rank 0's address), `NODES` and `CLUSTER_PORT`. `sample` stands in
    for its value when the option is checked against the engine's catalog.
    """

    flag: str
    expression: str
    sample: Any


@dataclass(frozen=True)
class ClusterLaunch:
    """How an engine spans the nodes of a Modal cluster: every rank runs the server command with
    its `options`; rank 0 serves HTTP, the others add `worker_flags` and only compute."""

    port: int  # rank 0 listens here for the other ranks to join
    options: tuple[RankOption, ...]
    worker_flags: tuple[str, ...] = ()
    source: str = ""  # where the engine documents it, for the generated comment


@dataclass(frozen=True)
class OptionRename:
    """An option a release renamed that its catalog cannot show (the engine says so only in
    help text or release notes): from release `since` on, write `new` instead of `old`. `value`
    is what `new` takes where `old` was a bare flag (`--a` became `--b data`); None: the same
    value. `source` is where the engine says so (a pull request, the release notes); `note`
    what else the user should know, shown with the rename."""

    old: str
    new: str
    since: str
    source: str
    value: str | int | float | None = None
    note: str | None = None


@dataclass(frozen=True)
class RemovalAdvice:
    """What to write instead of an option a release removed for a setting of another kind, where
    the engine says so outside its catalog: shown with the removal, never applied."""

    old: str
    advice: str
    source: str


@dataclass(frozen=True)
class RerankAnswer:
    """How an engine's `/v1/rerank` answer reads, and from which release it serves one."""

    results: str  # the expression of the answer's scored documents, from its JSON `body`
    score: str  # the key of a document's score among them
    since: tuple[int, ...]  # the first release modalgen knows to answer `/v1/rerank`
    source: str  # where that is from, for the message that refuses an older one


class Engine(ABC):
    kind: str  # `engine.kind`
    title: str  # as people write it: "SGLang"
    command_prefix: tuple[str, ...]  # what starts the server, before its options
    option_comments: ClassVar[dict[str, str]]  # why each option is set, for the generated command
    snapshot: SnapshotSupport
    # The build step that pre-compiles DeepGEMM kernels, for engines that have one.
    deep_gemm_prefix: tuple[str, ...] | None = None
    # Positional arguments of the server command that an option sets as well: field -> option.
    positional_options: ClassVar[dict[FieldPath, str]] = {}
    # What the server command adds to start with random weights (`model.dummy_weights_variable`).
    dummy_weights_arguments: ClassVar[tuple[str, str]]
    # Renames of server options that the catalogs do not record, for `modalgen upgrade`, and
    # what to do about options removed for a setting of another kind.
    option_renames: ClassVar[tuple[OptionRename, ...]] = ()
    removal_advice: ClassVar[tuple[RemovalAdvice, ...]] = ()

    def server_command_prefix(self, spec: Spec) -> tuple[str, ...]:
        """What starts the server for this spec, before its options."""
        return self.command_prefix

    @abstractmethod
    def typed_arguments(self, spec: Spec) -> list[Argument]:
        """The options the spec's typed fields and `extra_args` ask for, in order."""

    def arguments(self, spec: Spec) -> list[Argument]:
        """The server's options as the generated command passes them: the typed ones, less
        those the engine's config file sets (the file decides those)."""
        in_config = {f"--{key}" for key in spec.engine.config}
        return [
            argument
            for argument in self.typed_arguments(spec)
            if argument.flag not in in_config or argument.field[:2] == ("engine", "extra_args")
        ]

    def config_arguments(self, spec: Spec) -> list[Argument]:
        """The options of the engine's config file, as the flags they stand for."""
        return [
            Argument(("engine", "config", key), f"--{key}", value)
            for key, value in spec.engine.config.items()
        ]

    def start_arguments(self, spec: Spec) -> list[Argument]:
        """What the generated app adds to the server command when it starts, with stand-in
        values for the catalog check: the config file it writes (`engine.config`) and the API
        key from the Secret (`engine.api_key_secret`)."""
        found = []
        if spec.engine.config:
            found.append(Argument(("engine", "config"), CONFIG_FILE_FLAG, "/tmp/engine.yaml"))
        if spec.engine.api_key_secret:
            found.append(Argument(("engine", "api_key_secret"), API_KEY_FLAG, "the key"))
        return found

    def config_findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        """An option set both in the config file and by the spec itself: one place only."""
        explicit = {
            argument.flag: argument.field
            for argument in self.typed_arguments(spec)
            if argument.flag is not None
            and argument.value is not None
            and argument.value is not False
            and (
                argument.field[:2] == ("engine", "extra_args")
                or (
                    argument.field[0] == "engine"
                    and argument.field[1] in spec.engine.model_fields_set
                )
            )
        }
        port = spec.engine.config.get("port")
        if port is not None and port != spec.server.port:
            yield (
                ("engine", "config", "port"),
                f"the engine would listen on {port!r}, but Modal sends requests to server.port "
                f"({spec.server.port}): set one port, in `server.port`",
            )
        for key in spec.engine.config:
            field = explicit.get(f"--{key}")
            if field is not None:
                where = ".".join(map(str, field))
                yield (
                    ("engine", "config", key),
                    f"`{key}` is set here and by {where}: keep one (the config file would win "
                    "over a default, not over an explicit option)",
                )

    def dummy_weights_findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        """The dummy-weights switch sets the load format: the spec must not set it too, and the
        image's engine version must have the option."""
        if spec.model.dummy_weights_variable is None:
            return
        flag, value = self.dummy_weights_arguments
        table = self._server_table_or_none(spec)
        key = _option_key(table, flag)
        for argument in [*self.typed_arguments(spec), *self.config_arguments(spec)]:
            if argument.flag is None or argument.value is None or argument.value is False:
                continue
            if _option_key(table, argument.flag) == key:
                yield (
                    argument.field,
                    f"`{argument.flag}` is set here, and model.dummy_weights_variable sets it to "
                    f"`{value}` when its variable is on: remove it here, or remove the switch",
                )
        if table is not None and flag not in table.by_string:
            yield (
                ("model", "dummy_weights_variable"),
                f"{self.title} {table.version} has no `{flag}` option to start with random "
                "weights: remove the switch, or use a newer image",
            )

    def repeated_option_findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        """An option the server command would pass twice, in any spelling (`--tp` and
        `--tp-size`, `--enforce-eager` and `--no-enforce-eager`): argparse keeps the last one
        and silently drops the other, so the spec would not say what runs."""
        table = self._server_table_or_none(spec)
        first_by_option: dict[str, Argument] = {}
        for argument in self.typed_arguments(spec):
            if argument.flag is None and argument.field in self.positional_options:
                # A positional argument that an option could also set, as `vllm serve MODEL`
                # and `--model`.
                argument = replace(argument, flag=self.positional_options[argument.field])
            if argument.flag is None or argument.value is None or argument.value is False:
                continue
            first = first_by_option.setdefault(_option_key(table, argument.flag), argument)
            if first is argument:
                continue
            where = ".".join(map(str, first.field[:2]))
            if first.field[:2] == ("engine", "extra_args"):
                message = f"`{argument.flag}` and `{first.flag}` are one option: keep one"
            elif argument.flag == first.flag:
                message = (
                    f"`{argument.flag}` is added by {where} already: remove it from "
                    "engine.extra_args"
                )
            else:
                message = (
                    f"`{argument.flag}` sets the same option as `{first.flag}`, which {where} "
                    "adds: remove it from engine.extra_args"
                )
            yield argument.field, message

    def _server_table_or_none(self, spec: Spec) -> OptionTable | None:
        """The server options of the image's engine version, from its catalog or else the
        closest older one; None when neither the version nor such a catalog is known."""
        version = self.version(spec)
        if version is None:
            return None
        try:
            return self.server_options_table(version)
        except CatalogCorrupt:
            return None  # reported by option_findings
        except CatalogNotFound:
            closest = self.closest_older_version(version)
            if closest is None:
                return None
            try:
                return self.server_options_table(closest)
            except CatalogCorrupt:
                return None

    @abstractmethod
    def version(self, spec: Spec) -> str | None:
        """The engine version in the spec's image, or None when nothing says it."""

    @abstractmethod
    def version_in_tag(self, tag: str) -> str | None:
        """The engine version an image tag names, or None."""

    def hint_table(self, image: object) -> OptionTable | None:
        """The server options for a hint about a spec not valid yet: of the version its raw
        `image` table names (`engine_version`, else the tag), or the closest older catalog,
        else of the newest catalog."""
        image = image if isinstance(image, dict) else {}
        version = image.get("engine_version")
        tag = image.get("registry_tag")
        if not isinstance(version, str):
            version = self.version_in_tag(tag) if isinstance(tag, str) else None
        known = self.available_versions()
        if version not in known:
            version = self.closest_older_version(version) if version else None
        version = version or (known[-1] if known else None)
        return self.server_options_table(version) if version else None

    @abstractmethod
    def version_source(self, spec: Spec) -> tuple[FieldPath, str]:
        """Where the version would come from, for a message: (field, what it is)."""

    @abstractmethod
    def catalog_tables(self, spec: Spec, version: str) -> list[tuple[OptionTable, list[Argument]]]:
        """Each command the app runs and the options it passes, for the version's catalog."""

    @abstractmethod
    def server_options_table(self, version: str) -> OptionTable:
        """The options of the server command of this version (`modalgen flags`)."""

    @abstractmethod
    def available_versions(self) -> list[str]: ...

    def closest_older_version(self, version: str) -> str | None:
        """The newest catalogued version before `version`, if any."""
        older = [
            known
            for known in self.available_versions()
            if version_key(known) < version_key(version)
        ]
        return max(older, key=version_key, default=None)

    @abstractmethod
    def extract_command(self, version: str) -> str: ...

    def env_vars(self, version: str) -> frozenset[str] | None:
        """The variables this version reads, where its catalog records them."""
        return None

    env_prefix: str = ""

    def findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        """What this engine refuses that pydantic's rules cannot see."""
        return iter(())

    @abstractmethod
    def cluster_launch(self, spec: Spec) -> ClusterLaunch:
        """How the server command spans the spec's `server.nodes` machines."""

    def parallel_sizes(self, spec: Spec) -> tuple[int, int]:
        """Tensor and pipeline parallelism of the server, defaults included."""
        return spec.tensor_parallel_size, 1

    def cluster_arguments(self, spec: Spec) -> list[Argument]:
        """The options a cluster's ranks add, with sample values, for the catalog check."""
        if spec.server.nodes == 1:
            return []
        launch = self.cluster_launch(spec)
        return [
            *(
                Argument(("server", "nodes"), option.flag, option.sample)
                for option in launch.options
            ),
            *(Argument(("server", "nodes"), flag, True) for flag in launch.worker_flags),
        ]

    def resolved_section(self, spec: Spec) -> Any:
        """The spec's engine section with the defaults that depend on other fields written out."""
        return spec.engine.model_copy(
            update={
                "served_model_name": spec.engine.served_model_name or spec.model.name,
                "tensor_parallel_size": spec.tensor_parallel_size,
            }
        )

    def request_model(self, spec: Spec) -> str | None:
        """The `model` of the requests the app sends, for engines that check it."""
        return None

    @abstractmethod
    def workload_arguments(self, spec: Spec) -> list[Argument]:
        """The options that serve `workload.kind` and `model.adapters` with this engine version."""

    @abstractmethod
    def rerank_answer(self) -> RerankAnswer:
        """The engine's rerank API: what its answer looks like, and since when it has one."""

    def rerank_findings(self, spec: Spec) -> Iterator[tuple[FieldPath, str]]:
        """A release older than the engine's first `/v1/rerank`, for the rerank workload."""
        version = self.version(spec)
        if version is None:
            return
        answer = self.rerank_answer()
        if version_key(version)[: len(answer.since)] < answer.since:
            field, _ = self.version_source(spec)
            since = ".".join(map(str, answer.since))
            yield (
                ("image", "engine_version") if spec.image.engine_version else field,
                f"the rerank workload asks {self.title}'s `/v1/rerank`, which modalgen knows from "
                f"{self.title} {since} on ({answer.source}); the image has {version}: use "
                f"{since} or later",
            )

    @abstractmethod
    def adapter_fields(self, spec: Spec, adapter: str) -> dict[str, str]:
        """The fields of a request body that ask this engine for the LoRA adapter `adapter`."""

    def lora_arguments(self, spec: Spec, modules_flag: str, per_batch_flag: str) -> list[Argument]:
        """`--enable-lora`, the adapters as `name=path` after `modules_flag`, and the limits."""
        model = spec.model
        if not model.adapters:
            return []
        paths = [f"{adapter.name}={spec.adapter_path(adapter)}" for adapter in model.adapters]
        return [
            Argument(("model", "adapters"), "--enable-lora", True),
            Argument(("model", "adapters"), modules_flag, paths),
            Argument(("model", "max_lora_rank"), "--max-lora-rank", model.max_lora_rank),
            Argument(
                ("model", "max_adapters_per_batch"), per_batch_flag, model.max_adapters_per_batch
            ),
        ]

    def deep_gemm_arguments(self, spec: Spec) -> list[Argument]:
        """The options of the DeepGEMM build step, for engines that have one."""
        return []

    def memory_fraction(self, spec: Spec) -> float | None:
        """The fraction of GPU memory the spec lets the engine use, if it says."""
        return None

    # --- option checking, shared -----------------------------------------------------------

    def option_findings(self, spec: Spec) -> Iterator[EngineFinding]:
        """Every option the app passes, checked against the catalog of the image's version."""
        if not spec.image.check_engine_options:
            return
        version = self.version(spec)
        field, what = self.version_source(spec)
        if version is None:
            yield (
                "error",
                field,
                f"cannot tell the {self.title} version of {what}: set `image.engine_version`, "
                f"{SKIP_HINT}",
            )
            return
        version_field = ("image", "engine_version") if spec.image.engine_version else field
        exact = True
        try:
            tables = self.catalog_tables(spec, version)
        except CatalogCorrupt as error:
            yield "error", version_field, str(error)
            return
        except CatalogNotFound:
            closest = self.closest_older_version(version)
            if closest is None:
                known = self.available_versions()
                span = f"{known[0]} to {known[-1]}" if known else "none"
                yield (
                    "error",
                    version_field,
                    f"no option catalog for {self.title} {version}, which is older than every "
                    f"catalog (catalogs: {span}): create it with "
                    f"`{self.extract_command(version)}`, {SKIP_HINT}",
                )
                return
            # A release newer than the catalogs, or a patch between two: its options are
            # mostly those of the release before it. Check against that one, and since a
            # difference may be a real change, report what it refuses as warnings.
            yield (
                "warning",
                version_field,
                f"no option catalog for {self.title} {version}: options are checked against "
                f"{closest}, the closest older one, and what it refuses is a warning; "
                f"`{self.extract_command(version)}` adds the exact catalog to the project",
            )
            try:
                tables = self.catalog_tables(spec, closest)
            except CatalogCorrupt as error:
                yield "error", version_field, str(error)
                return
            version, exact = closest, False
        for table, arguments in tables:
            started: list[Argument] = []
            if table is tables[0][0]:  # the server command: its config file's, its ranks' too
                started = self.start_arguments(spec)
                arguments = arguments + self.config_arguments(spec) + self.cluster_arguments(spec)
            for argument in [*arguments, *started]:
                if argument.flag is None or argument.value is None or argument.value is False:
                    continue
                written = argument.field[:2] in {("engine", "extra_args"), ("engine", "config")}
                generated = not written or argument in started
                for severity, where, message in _option_findings(
                    table, argument.field, argument.flag, argument.value, generated
                ):
                    yield (severity if exact else "warning"), where, message
        known_env = self.env_vars(version)
        if known_env is None or not self.env_prefix:
            return
        for key in spec.image_env:
            if key.startswith(self.env_prefix) and key not in known_env:
                close = difflib.get_close_matches(key, sorted(known_env), n=3, cutoff=0.8)
                hint = f"; closest: {', '.join(close)}" if close else ""
                yield (
                    "warning",
                    ("image", "env", key),
                    f"{self.title} {version} does not read {key} (no such name in its source)"
                    f"{hint}",
                )


def _option_key(table: OptionTable | None, flag: str) -> str:
    """What tells two spellings of one option apart from two options: the catalog's name for
    it, else the name without `--`, `no-` and with dashes."""
    if table is not None:
        try:
            return table.resolve(flag).option.name
        except OptionError:
            pass  # reported against the catalog elsewhere
    return flag.removeprefix("--").replace("_", "-").removeprefix("no-")


def _option_findings(
    table: OptionTable, field: FieldPath, flag: str, value: object, generated: bool
) -> Iterator[EngineFinding]:
    # For a typed field, say where the flag comes from.
    passes = f" (the generated `{table.command}` command passes it for this field)"
    try:
        resolution = table.resolve(flag)
    except OptionError as error:
        yield "error", field, f"{error}{passes if generated else ''}"
        return
    if not resolution.exact:
        yield (
            "error",
            field,
            f"`{flag}` is an abbreviation: {table.engine} {table.version} expands it to "
            f"`{resolution.expanded}`; write `{resolution.expanded}` (an abbreviation breaks "
            f"the day {table.engine} adds another option with the same prefix)",
        )
    problem = table.check_value(resolution.option, value)
    if problem is not None:
        yield "error", field, problem
    option = resolution.option
    if option.deprecated and value is not None and value is not False:
        instead = f"; use `{option.replacement}`" if option.replacement else ""
        yield (
            "warning",
            field,
            f"`{flag}` is deprecated in {table.engine} {table.version}{instead}",
        )

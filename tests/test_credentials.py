"""No secret can reach a generated file: credential shapes are refused in specs, credential
options must come from Modal Secrets, and a last guard scans every file before it is written.

The credentials below are made up; they only have the shapes of real ones.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import shutil
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.checks import validation
from generator.checks.validation import validate_document
from generator.cli.cli import main
from generator.engines.sglang.catalog import available_versions, load_catalog
from generator.project.project import CredentialInOutput, Project
from generator.spec import inherit
from generator.spec.credentials import (
    RANDOM_KIND,
    find_credentials,
    names_a_credential,
    redact,
    spec_findings,
)
from generator.spec.errors import FieldPath, SpecError
from generator.spec.inherit import load_layered
from generator.spec.loader import SourceDocument
from tests.conftest import ROOT

EXAMPLES = [
    ("Hugging Face token", "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", "hf_Q…(37 chars)"),
    ("OpenAI-style API key", "sk-Zq4rT8wLm2Vx9cBn6HsKd1FgJ0pYe3Ua", "sk-Z…(35 chars)"),
    ("OpenAI-style API key", "sk-proj-Zq4rT8wLm2Vx9cBn6HsKd1FgJ0pYe3Ua", "sk-p…(40 chars)"),
    ("OpenAI-style API key", "sk-live-4eC39HqLyjWDarjtT1zdp7dc", "sk-l…(32 chars)"),
    ("GitHub token", "ghp_R2d2C3poL8kE9wX4qZ7mN1bV6cT5yH0jS3aF", "ghp_R…(40 chars)"),
    ("GitHub token", "gho_R2d2C3poL8kE9wX4qZ7mN1bV6cT5yH0jS3aF", "gho_R…(40 chars)"),
    ("GitHub token", "ghs_R2d2C3poL8kE9wX4qZ7mN1bV6cT5yH0jS3aF", "ghs_R…(40 chars)"),
    ("GitHub token", "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123", "githu…(52 chars)"),
    ("AWS access key id", "AKIAZ7Q3N5W2K8X4M6PB", "AKIAZ…(20 chars)"),
    ("AWS access key id", "ASIAZ7Q3N5W2K8X4M6PB", "ASIAZ…(20 chars)"),
    ("Modal token", "ak-Pq3Rs8Tu1Vw6Xy9Za2Bc4De7", "ak-P…(27 chars)"),
    ("Modal token", "as-Lm5No2Pq7Rs4Tu9Vw1Xy6Za3", "as-L…(27 chars)"),
    ("Modal proxy auth token", "wk-Jq8Vd3Lr6Tz1Np4Xw9Hm2Kc7", "wk-J…(27 chars)"),
    ("Modal proxy auth token", "ws-Jq8Vd3Lr6Tz1Np4Xw9Hm2Kc7", "ws-J…(27 chars)"),
    (
        "PEM private key",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBc2\n-----END EC PRIVATE KEY-----",
        "-----BEGIN …(72 chars)",
    ),
    (RANDOM_KIND, "X9fK2mQ7vL4pT8wR1zN6cB3hJ5dG0sYaE7uI", "X9…(36 chars)"),
]


@pytest.mark.parametrize(
    ("kind", "secret", "preview"),
    EXAMPLES,
    ids=[f"{kind}-{index}" for index, (kind, _, _) in enumerate(EXAMPLES)],
)
def test_each_kind_is_found_with_a_preview_that_hides_it(
    kind: str, secret: str, preview: str
) -> None:
    for text in (secret, f"Authorization: Bearer {secret}", f'"{secret}",'):
        (found,) = find_credentials(text)
        assert (found.kind, found.preview) == (kind, preview)
        assert text[found.start : found.end] == secret
        assert secret not in redact(text)


NOT_CREDENTIALS = [
    "Qwen/Qwen3.6-35B-A3B-FP8",
    "nvidia/Llama-3_3-Nemotron-Super-49B-v1_5-FP8",
    "meta-llama/Meta-Llama-3.1-405B-Instruct-FP8-dynamic",
    "95a723d08a9490559dae23d0cff1d9466213d989",
    "lmsysorg/sglang:v0.5.10.post1-cu130-runtime",
    "lmsysorg/sglang@sha256:" + "9f2b" * 16,
    "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
    "https://modal-cdn.com/golden-gate-bridge.jpg",
    "https://huggingface.co/Qwen/Qwen3-8B/resolve/main/config.json?download=true",
    "/root/.cache/huggingface/hub/models--Qwen--Qwen3.6-35B-A3B-FP8/snapshots",
    "You are a pirate who can't help but drop sly reminders that he went to Harvard.",
    "Explain the Singular Value Decomposition.",
    "expandable_segments:True,max_split_size_mb:512",
    "sk-learn-compatible-tokenizer-settings",
    "ask-the-model-about-this-picture-please",
    "3f2a6c1e-9b7d-4e8a-a1c2-0d9e8f7a6b5c",
    "SGLANG_ENABLE_JIT_DEEPGEMM",
    "--speculative-num-draft-tokens",
    "AKIA is how AWS access key ids start",
]


@pytest.mark.parametrize("text", NOT_CREDENTIALS)
def test_ordinary_values_are_not_credentials(text: str) -> None:
    assert find_credentials(text) == []
    assert redact(text) == text


COMMITTED_SPECS = sorted(
    path for path in (ROOT / "specs").glob("*") if path.suffix in {".toml", ".yaml"}
)


def committed_document(path: Path) -> SourceDocument:
    return load_layered(path, path.relative_to(ROOT).as_posix())


@pytest.mark.parametrize("path", COMMITTED_SPECS, ids=lambda path: path.name)
def test_committed_specs_and_their_generated_files_are_clean(path: Path) -> None:
    assert spec_findings(committed_document(path).data) == []
    generated = ROOT / "generated" / f"{path.stem}.py"
    assert find_credentials(generated.read_text(encoding="utf-8")) == []


def test_the_revision_field_holds_a_hash_or_a_name_not_a_secret() -> None:
    # Only the known shapes are looked for in a hash; a revision that is no hash (a branch or
    # tag may be given) is searched for long random-looking strings, as every other field is.
    commit = "0123456789abcdef" * 2 + "01234567"
    random_looking = "X9fK2mQ7vL4pT8wR1zN6cB3hJ5dG0sYaE7uI"
    for revision in (commit, "main", "v1.2.0-rc1", "refs/pr/12"):
        assert spec_findings({"model": {"revision": revision}}) == [], revision
        adapter = {"model": {"adapters": [{"revision": revision}]}}
        assert spec_findings(adapter) == [], revision
    assert spec_findings({"model": {"revision": random_looking}}) != []
    assert spec_findings({"model": {"adapters": [{"revision": random_looking}]}}) != []
    assert spec_findings({"probe": {"session_id": random_looking}}) != []
    assert spec_findings({"model": {"revision": EXAMPLES[0][1]}}) != []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("--api-key", True),
        ("--admin-api-key", True),
        ("--hf-token", True),
        ("--ssl-keyfile-password", True),
        ("--db-secret", True),
        ("HF_TOKEN", True),
        ("MODAL_TOKEN_ID", True),
        ("OPENAI_API_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("TOKENIZERS_PARALLELISM", False),
        ("HF_TOKEN_PATH", False),
        ("--tokenizer-path", False),
        ("--max-total-tokens", False),
        ("--bucket-time-to-first-token", False),
        ("--bucket-inter-token-latency", False),
        ("--speculative-token-map", False),
        ("--ssl-keyfile", False),
    ],
)
def test_names_that_say_they_hold_a_credential(name: str, expected: bool) -> None:
    assert names_a_credential(name) is expected


def test_only_the_credential_options_of_sglang_are_credential_names() -> None:
    flagged = {
        name
        for version in available_versions()
        for option in load_catalog(version).launch_server.options
        for name in option.names
        if names_a_credential(name)
    }
    assert flagged == {"--api-key", "--admin-api-key", "--ssl-keyfile-password"}


def test_credential_options_are_refused_whatever_their_value() -> None:
    data = {"engine": {"extra_args": {"--api-key": "letmein", "--enable-metrics": True}}}
    ((field, message),) = spec_findings(data)
    assert field == ("engine", "extra_args", "--api-key")
    assert 'set `engine.api_key_secret = "NAME"`' in message
    assert "list NAME under `secrets`" in message
    # A credential option given as a bare flag holds no credential.
    assert spec_findings({"engine": {"extra_args": {"--api-key": True}}}) == []


# --- validation ---------------------------------------------------------------------------------


def _plant(data: dict, field: FieldPath, value: str) -> dict:
    planted = copy.deepcopy(data)
    target = planted
    for part in field[:-1]:
        target = target.setdefault(part, {}) if isinstance(target, dict) else target[part]
    target[field[-1]] = value
    return planted


def _string_fields(value: object, path: FieldPath = ()) -> list[FieldPath]:
    if isinstance(value, dict):
        return [
            field for key, item in value.items() for field in _string_fields(item, (*path, key))
        ]
    if isinstance(value, list):
        return [field for i, item in enumerate(value) for field in _string_fields(item, (*path, i))]
    return [path] if isinstance(value, str) else []


def test_messages_never_show_the_secret_even_where_the_value_is_also_invalid() -> None:
    document = committed_document(ROOT / "specs" / "qwen36_vlm.toml")
    secret = EXAMPLES[0][1]
    for field in (("model", "revision"), ("app", "name"), ("probe", "request_extras", secret)):
        planted = _plant(document.data, field, secret)
        with pytest.raises(SpecError) as refused:
            validate_document(SourceDocument(document.path, document.display_path, planted, {}))
        assert secret not in str(refused.value)
        assert "looks like a Hugging Face token, hf_Q…(37 chars)" in str(refused.value)


def _body(
    rng: random.Random, size: int, alphabet: str = string.ascii_letters + string.digits
) -> str:
    """Random characters with at least one letter and one digit, as real keys have."""
    chars = [rng.choice(string.ascii_letters), rng.choice(string.digits)]
    chars += rng.choices(alphabet, k=size - 2)
    rng.shuffle(chars)
    return "".join(chars)


@st.composite
def credentials(draw: st.DrawFn) -> str:
    rng = draw(st.randoms(use_true_random=False))
    kind = draw(st.sampled_from(["hf", "sk", "gh", "aws", "modal", "pem", "random"]))
    if kind == "hf":
        return "hf_" + _body(rng, rng.randint(30, 40))
    if kind == "sk":
        prefix = rng.choice(["sk-", "sk-proj-", "sk-live-", "sk-test-", "sk-ant-api03-"])
        return prefix + _body(rng, rng.randint(20, 60), string.ascii_letters + string.digits + "_-")
    if kind == "gh":
        return rng.choice(["ghp_", "gho_", "ghs_", "github_pat_"]) + _body(rng, 36)
    if kind == "aws":
        return rng.choice(["AKIA", "ASIA"]) + "".join(
            rng.choices(string.ascii_uppercase + string.digits, k=16)
        )
    if kind == "modal":
        return rng.choice(["ak-", "as-", "wk-", "ws-"]) + _body(rng, rng.randint(20, 30))
    if kind == "pem":
        label = rng.choice(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "])
        body = _body(rng, 64, string.ascii_letters + string.digits + "+/")
        return f"-----BEGIN {label}PRIVATE KEY-----\n{body}\n-----END {label}PRIVATE KEY-----"
    while True:  # a long random string; nearly every draw looks random enough at once
        secret = _body(rng, rng.randint(32, 64))
        if find_credentials(secret):
            return secret


COMMITTED_DOCUMENTS = [committed_document(path) for path in COMMITTED_SPECS]
# Every string of the committed specs, and fields a spec may add.
PLANTABLE = [
    (document, field)
    for document in COMMITTED_DOCUMENTS
    for field in [
        *_string_fields(document.data),
        ("image", "env", "UPSTREAM_HEADER"),
        ("engine", "extra_args", "--tool-server"),
        ("probe", "request_extras", "user"),
        ("probe", "system_prompt"),
    ]
]
HASH_FIELDS = {("model", "revision")}


def test_every_provider_shape_is_found_by_its_hints() -> None:
    # A shape's hints let text without them skip its pattern: each must be in every match.
    for token in ("github_pat_" + "a0" * 20, "ghp_" + "a0" * 18, "hf_" + "a0" * 16):
        assert find_credentials(token), token


@settings(max_examples=300 if os.environ.get("CI") else 50, deadline=None)
@given(
    planted=st.sampled_from(PLANTABLE),
    secret=credentials(),
    before=st.sampled_from(["", "Bearer ", "token=", "see "]),
    after=st.sampled_from(["", " ", "\n", ", thanks"]),
)
def test_a_credential_in_any_field_is_refused_and_never_shown(
    planted: tuple[SourceDocument, FieldPath], secret: str, before: str, after: str
) -> None:
    document, field = planted
    data = _plant(document.data, field, before + secret + after)
    with pytest.raises(SpecError) as refused:
        validate_document(SourceDocument(document.path, document.display_path, data, {}))
    problems = refused.value.problems
    if field not in HASH_FIELDS:
        assert any(
            problem.field == field and "looks like" in problem.message for problem in problems
        ), str(refused.value)
    assert secret not in str(refused.value)
    # Were it ever rendered, the guard in front of every write would see it.
    for literal in (repr(before + secret + after), json.dumps(before + secret + after)):
        assert find_credentials(literal)


# --- the guard before anything is written ---------------------------------------------------------


@pytest.fixture
def leaky_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Project, str]:
    """A project whose spec holds a token, with the spec scan switched off: only the guard at
    write time stands between the token and generated/."""
    secret = EXAMPLES[0][1]
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "qwen36_vlm.toml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace('"test-session"', f'"{secret}"'), encoding="utf-8")
    monkeypatch.setattr(validation, "spec_findings", lambda data: [])
    monkeypatch.setattr(inherit, "spec_findings", lambda data: [])
    return Project(tmp_path), secret


def test_the_write_guard_refuses_a_credential_that_got_past_validation(
    leaky_project: tuple[Project, str],
) -> None:
    project, secret = leaky_project
    result = CliRunner().invoke(main, ["generate", "-C", str(project.root)])
    assert result.exit_code != 0
    assert "internal error: generated/qwen36_vlm.py:" in result.output
    assert "would contain a Hugging Face token; nothing was written." in result.output
    assert "This is a bug in modalgen; please report it." in result.output
    assert "Traceback" not in result.output
    assert secret not in result.output
    assert not project.output_dir.exists()  # not even the other, clean spec's file

    # The line named is the line that holds it.
    (leaky,) = [
        o for o in project.render(project.discover_specs()) if o.path.name == "qwen36_vlm.py"
    ]
    line = int(result.output.split("generated/qwen36_vlm.py:")[1].split()[0])
    assert secret in leaky.content.splitlines()[line - 1]
    with pytest.raises(CredentialInOutput):
        project.write(leaky)
    assert not project.output_dir.exists()


@pytest.mark.parametrize("command", ["check", "diff"])
def test_check_and_diff_report_the_guard_without_showing_the_credential(
    leaky_project: tuple[Project, str], command: str
) -> None:
    project, secret = leaky_project
    result = CliRunner().invoke(main, [command, "-C", str(project.root)])
    assert result.exit_code != 0
    assert "would contain a Hugging Face token" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert secret not in result.output


def test_the_guard_passes_the_header_digest_and_the_committed_files() -> None:
    project = Project(ROOT)
    outputs = project.render(project.discover_specs())
    project.check_contents(outputs)
    assert all("# modalgen-inputs: sha256:" in output.content for output in outputs)


# --- the structural rules: every key and value, every field, each file as written ---------------


def _model_fields(model: type, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field path of the spec models, `*` for a list index or a mapping key."""
    from typing import Annotated, Union, get_args, get_origin

    from pydantic import BaseModel

    found: list[tuple[str, ...]] = []

    def walk(annotation: object, where: tuple[str, ...], seen: frozenset) -> None:
        origin = get_origin(annotation)
        if origin is Annotated:
            walk(get_args(annotation)[0], where, seen)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            for name, info in annotation.model_fields.items():
                found.append((*where, name))
                walk(info.annotation, (*where, name), seen | {annotation})
        elif origin in (list, tuple):
            for argument in get_args(annotation):
                walk(argument, (*where, "*"), seen)
        elif origin is dict:
            walk(get_args(annotation)[1], (*where, "*"), seen)
        elif origin is Union or type(annotation).__name__ == "UnionType":
            for argument in get_args(annotation):
                walk(argument, where, seen)

    walk(model, path, frozenset())
    return found


def test_every_spec_field_named_for_a_secret_only_names_one() -> None:
    from generator.model.models import Spec
    from generator.spec.credentials import is_reference_field

    named = {field for field in _model_fields(Spec) if names_a_credential(field[-1])}
    assert named  # secrets, api_key_secret, ...
    assert [field for field in named if not is_reference_field(field)] == []


# Credentials written out in ways no shape gives away, with the field they are planted in:
# `None` plants the value in any string field; a key name plants a key in any table.
def _url(rng: random.Random) -> str:
    user = rng.choice(["oauth2", "__token__", "deploy", "x-access-token", ""])
    password = rng.choice(["hunter2", "pypi-letmein", "glpat-x1", _body(rng, 12)])
    host = rng.choice(["gitlab.example.com/team/repo.git", "pypi.example.com/simple"])
    return f"{rng.choice(['https', 'http', 'git+https'])}://{user}:{password}@{host}"


@st.composite
def written_credentials(draw: st.DrawFn) -> tuple[str, str]:
    """(kind, text) of a credential written into text: a URL with a password anywhere, an
    Authorization header anywhere."""
    rng = draw(st.randoms(use_true_random=False))
    kind = draw(st.sampled_from(["url", "header"]))
    if kind == "url":
        return kind, rng.choice(["", "pip install ", "see "]) + _url(rng)
    scheme = rng.choice(["Bearer", "Basic", "token"])
    return kind, f"Authorization: {scheme} {rng.choice(['letmein42', _body(rng, 24)])}"


@st.composite
def commands(draw: st.DrawFn) -> str:
    """A command that hands a literal credential to a program."""
    rng = draw(st.randoms(use_true_random=False))
    secret = rng.choice(["hunter2", "letmein", _body(rng, 16)])
    return rng.choice(
        [
            f"curl -fsSL -u deploy:{secret} https://files.example.com/k.tgz -o /k.tgz",
            f"curl --user deploy:{secret} https://files.example.com/k.tgz",
            f"wget --password={secret} https://files.example.com/k.tgz",
            f"wget --http-password {secret} https://files.example.com/k.tgz",
            f"huggingface-cli login --token {secret}",
            f"HF_TOKEN={secret} python -c 'import huggingface_hub'",
            f"export GITHUB_TOKEN={secret} && git clone https://github.com/org/repo",
            f"curl -H 'Authorization: Bearer {secret}1' https://files.example.com/k.tgz",
            f"git clone https://oauth2:{secret}@gitlab.example.com/team/repo.git",
        ]
    )


CREDENTIAL_KEYS = [
    "api_key",
    "api-key",
    "token",
    "password",
    "authorization",
    "client_secret",
    "HF_TOKEN",
    "OPENAI_KEY",
    "DB_PASSWORD",
    "X-Api-Key",
]
# Tables of the committed specs and tables a spec may add, where a key can be planted.
TABLES = [
    ("image", "env"),
    ("engine", "extra_args"),
    ("engine", "config"),
    ("probe", "request_extras"),
    ("warmup", "request_extras"),
    ("probe", "request_extras", "chat_template_kwargs"),
    ("probe",),
    ("server",),
]


def _with_layer(data: dict, layer: dict) -> tuple[dict, int]:
    planted = copy.deepcopy(data)
    layers = planted.setdefault("image", {}).setdefault("layers", [])
    layers.append(layer)
    return planted, len(layers) - 1


def _refused_at(data: dict, document: SourceDocument, field: FieldPath) -> SpecError:
    with pytest.raises(SpecError) as refused:
        validate_document(SourceDocument(document.path, document.display_path, data, {}))
    assert any(problem.field == field for problem in refused.value.problems), (
        field,
        str(refused.value),
    )
    return refused.value


@settings(max_examples=200 if os.environ.get("CI") else 60, deadline=None)
@given(
    document=st.sampled_from(COMMITTED_DOCUMENTS),
    key=st.sampled_from(CREDENTIAL_KEYS),
    table=st.sampled_from([*TABLES, "layer env"]),
    value=st.sampled_from(["letmein", "hunter2", "x", "s3cr3t value"]),
)
def test_a_key_that_names_a_credential_is_refused_in_any_table(
    document: SourceDocument, key: str, table: object, value: str
) -> None:
    if table == "layer env":
        env_key = re.sub(r"[^A-Za-z0-9_]", "_", key).upper()
        data, index = _with_layer(document.data, {"env": {env_key: value}})
        field: FieldPath = ("image", "layers", index, "env", env_key)
    else:
        assert isinstance(table, tuple)
        data, field = _plant(document.data, (*table, key), value), (*table, key)
    error = _refused_at(data, document, field)
    assert value not in str(error) or value == "x"
    message = next(problem.message for problem in error.problems if problem.field == field)
    assert "Modal Secret" in message or "api_key_secret" in message


@settings(max_examples=200 if os.environ.get("CI") else 60, deadline=None)
@given(
    planted=st.sampled_from(PLANTABLE),
    written=written_credentials(),
)
def test_a_credential_written_into_any_text_is_refused(
    planted: tuple[SourceDocument, FieldPath], written: tuple[str, str]
) -> None:
    document, field = planted
    _kind, text = written
    _refused_at(_plant(document.data, field, text), document, field)


@settings(max_examples=200 if os.environ.get("CI") else 60, deadline=None)
@given(
    document=st.sampled_from(COMMITTED_DOCUMENTS),
    command=commands(),
    layer=st.sampled_from(["run_commands", "index_url", "extra_index_url", "find_links"]),
)
def test_a_literal_credential_in_a_command_or_an_index_is_refused(
    document: SourceDocument, command: str, layer: str
) -> None:
    if layer == "run_commands":
        data, index = _with_layer(document.data, {"run_commands": ["echo ok", command]})
        field: FieldPath = ("image", "layers", index, "run_commands", 1)
    else:
        rng = random.Random(command)
        data, index = _with_layer(document.data, {"pip_install": ["kernels"], layer: _url(rng)})
        field = ("image", "layers", index, layer)
    error = _refused_at(data, document, field)
    message = next(problem.message for problem in error.problems if problem.field == field)
    assert "this layer's `secrets`" in message


@pytest.mark.parametrize(
    "command",
    [
        "git clone https://oauth2:$GITLAB_TOKEN@gitlab.example.com/team/repo.git",
        "git clone https://oauth2:${GITLAB_TOKEN}@gitlab.example.com/team/repo.git",
        'curl -u "deploy:$PASSWORD" https://files.example.com/k.tgz',
        'curl -H "Authorization: Bearer $TOKEN" https://files.example.com/k.tgz',
        "huggingface-cli login --token $HF_TOKEN",
        "huggingface-cli download Qwen/Qwen3-8B --token-file /run/token",
        "docker run -u 1000:1000 image",
        "sort -u names.txt",
        "pip install 'kernels @ git+ssh://git@github.com/org/kernels.git'",
        "export HF_HUB_ENABLE_HF_TRANSFER=1 TOKENIZERS_PARALLELISM=false",
        "python -m sglang.compile_deep_gemm --max-total-tokens 4096",
    ],
)
def test_commands_that_read_credentials_from_variables_pass(command: str) -> None:
    data = {"image": {"layers": [{"run_commands": [command], "secrets": ["tokens"]}]}}
    assert spec_findings(data) == []


@pytest.mark.parametrize(
    "text",
    [
        "Bearer of bad news.",
        "Basic authentication is weak.",
        "https://user@example.com/repo",
        "https://example.com/a:b@c",  # a colon in the path, not userinfo
        "mailto:someone@example.com",
    ],
)
def test_ordinary_text_is_not_a_written_credential(text: str) -> None:
    assert spec_findings({"probe": {"system_prompt": text}}) == []


def _png_data_url(size: int) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(random.Random(size).randbytes(size)).decode()


@pytest.mark.parametrize("size", [64, 3000, 100_000])
def test_a_data_url_image_is_not_a_secret(size: int) -> None:
    url = _png_data_url(size)
    assert find_credentials(url) == []
    document = committed_document(ROOT / "specs" / "qwen36_vlm.toml")
    data = _plant(document.data, ("warmup", "message", "image_url"), url)
    data = _plant(data, ("warmup", "message", "format"), "parts")
    validate_document(SourceDocument(document.path, document.display_path, data, {}))
    # Without its `data:` prefix, the same text is a random-looking secret again; and a known
    # credential shape inside a data URL is still found.
    assert find_credentials(url.split(",", 1)[1]) != []
    assert find_credentials("data:image/png;base64,AKIAZ7Q3N5W2K8X4M6PB") != []


def test_a_base_value_a_child_overrides_is_refused_where_it_is_written(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "_base.toml").write_text(
        'version = 1\n\n[image.env]\nHF_TOKEN = "my-read-token"\n\n[probe]\n'
        f'session_id = "{EXAMPLES[0][1]}"\n'
    )
    flat = (ROOT / "tests" / "fixtures" / "flat_specs" / "qwen36_vlm.toml").read_text()
    assert "[image.env]\n" in flat and 'session_id = "test-session"' in flat
    child = flat.replace("version = 1\n", 'version = 1\nextends = ["_base.toml"]\n', 1)
    (specs / "app.toml").write_text(child.replace("[image.env]\n", '[image.env]\nHF_TOKEN = ""\n'))
    document = load_layered(specs / "app.toml", "specs/app.toml")
    # The merged values are the child's: no credential is left in them.
    assert document.data["probe"]["session_id"] == "test-session"
    assert document.data["image"]["env"]["HF_TOKEN"] == ""
    assert spec_findings(document.data) == []
    with pytest.raises(SpecError) as refused:
        validate_document(document)
    located = {
        (problem.file, problem.position.line if problem.position else None, problem.field)
        for problem in refused.value.problems
    }
    assert ("specs/_base.toml", 4, ("image", "env", "HF_TOKEN")) in located
    assert ("specs/_base.toml", 7, ("probe", "session_id")) in located
    assert EXAMPLES[0][1] not in str(refused.value)

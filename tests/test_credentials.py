"""No secret can reach a generated file: credential shapes are refused in specs, credential
options must come from Modal Secrets, and a last guard scans every file before it is written.

The credentials below are made up; they only have the shapes of real ones.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import inherit, validation
from generator.cli import main
from generator.credentials import (
    RANDOM_KIND,
    find_credentials,
    names_a_credential,
    redact,
    spec_findings,
)
from generator.engines.sglang.catalog import available_versions, load_catalog
from generator.errors import FieldPath, SpecError
from generator.inherit import load_layered
from generator.loader import SourceDocument
from generator.project import CredentialInOutput, Project
from generator.validation import validate_document
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


def test_the_revision_field_holds_a_hash_not_a_secret() -> None:
    # Only the known shapes are looked for in fields that hold hashes; elsewhere a long
    # random-looking string is refused.
    random_looking = "X9fK2mQ7vL4pT8wR1zN6cB3hJ5dG0sYaE7uI"
    assert spec_findings({"model": {"revision": random_looking}}) == []
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

"""Credentials must never reach a spec or a generated file.

`find_credentials` recognises credential-shaped text: provider tokens by their prefixes, PEM
private keys, and long random-looking strings. Each match carries the kind of credential and a
short preview that is safe to print (`hf_a…(37 chars)`); the secret itself is never shown.

`spec_findings` scans every key and string value of a spec's data, bases included, and refuses
credential options set to a literal (`--api-key = "..."`, `HF_TOKEN = "..."`) whatever their value
looks like: credentials belong in Modal Secrets, listed under `secrets`, read at run time.
"""

from __future__ import annotations

import math
import re
import shlex
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from generator.spec.errors import FieldPath


@dataclass(frozen=True)
class Credential:
    """One credential-shaped piece of text, found at `start:end` of the scanned text."""

    kind: str
    preview: str
    start: int
    end: int

    @property
    def described(self) -> str:
        """`a Hugging Face token`, `an AWS access key id`."""
        article = "an" if self.kind[0].upper() in "AEIOU" else "a"
        return f"{article} {self.kind}"


@dataclass(frozen=True)
class _Shape:
    kind: str
    pattern: re.Pattern[str]
    shown: int  # characters of a match a preview may show: the public prefix and one more
    hints: tuple[str, ...]  # every match contains one: text without any is skipped, quickly


# Not preceded by a letter or digit, so that `task-...` or `mask-...` are not `sk-` keys.
_START = r"(?<![A-Za-z0-9])"
# Random parts, which hold at least one digit and one letter (`sk-learn-...` is not a key).
_RANDOM = r"(?=[A-Za-z_-]*[0-9])(?=[0-9_-]*[A-Za-z])"
_RANDOM_ALNUM = r"(?=[A-Za-z]*[0-9])(?=[0-9]*[A-Za-z])"
SHAPES: tuple[_Shape, ...] = (
    _Shape(
        "PEM private key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END[^-]*-----)?", re.S),
        len("-----BEGIN "),
        ("PRIVATE KEY",),
    ),
    _Shape("Hugging Face token", re.compile(_START + r"hf_[A-Za-z0-9]{30,}"), 4, ("hf_",)),
    _Shape(
        "GitHub token",
        re.compile(_START + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
        5,
        ("gh", "github_pat_"),  # `github_pat_` holds no "gh"
    ),
    # OpenAI, and the keys that copy its shape: `sk-...`, `sk-proj-...`, `sk-live-...`.
    _Shape(
        "OpenAI-style API key",
        re.compile(_START + r"sk-" + _RANDOM + r"[A-Za-z0-9_-]{20,}"),
        4,
        ("sk-",),
    ),
    _Shape(
        "AWS access key id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"),
        5,
        ("AKIA", "ASIA"),
    ),
    # Modal: token ids `ak-` and secrets `as-`; proxy auth tokens `wk-` and `ws-`.
    _Shape(
        "Modal token",
        re.compile(_START + r"a[ks]-" + _RANDOM_ALNUM + r"[A-Za-z0-9]{20,}"),
        4,
        ("ak-", "as-"),
    ),
    _Shape(
        "Modal proxy auth token",
        re.compile(_START + r"w[ks]-" + _RANDOM_ALNUM + r"[A-Za-z0-9]{20,}"),
        4,
        ("wk-", "ws-"),
    ),
    _Shape("Slack token", re.compile(_START + r"xox[abprs]-[A-Za-z0-9-]{10,}"), 5, ("xox",)),
    _Shape(
        "JSON Web Token", re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}"), 4, ("eyJ",)
    ),
)

RANDOM_KIND = "high-entropy secret"
# The base64 payload of a data URL (`data:image/png;base64,...`, a warm-up image): encoded
# content, random-looking by nature and never a credential by its look; the known shapes are
# still looked for in it.
_DATA_URL = re.compile(
    r"data:[a-z]+/[a-z0-9.+-]+(?:;[a-z0-9-]+=[^;,\s]+)*;base64,(?P<payload>[A-Za-z0-9+/]+=*)",
    re.IGNORECASE,
)
# Candidates for the random-looking kind: runs of the characters of base64 and of identifiers.
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
# Within a candidate, separator-free runs; paths and model names are made of short words.
_RUN = re.compile(r"[A-Za-z0-9+=]+")
_EXPLICIT_HASH_BEFORE = re.compile(r"sha(?:1|224|256|384|512):$")
_EXPLICIT_HASH_PREFIX = re.compile(r"sha(?:1|224|256|384|512)-")
MIN_RANDOM_LENGTH = 32
MIN_RANDOM_RUN = 20
MIN_ENTROPY_BITS = 4.0


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`'s own character distribution."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_random(token: str) -> bool:
    return (
        len(token) >= MIN_RANDOM_LENGTH
        and any(c.islower() for c in token)
        and any(c.isupper() for c in token)
        and any(c.isdigit() for c in token)
        and max(len(run) for run in _RUN.findall(token)) >= MIN_RANDOM_RUN
        and shannon_entropy(token) >= MIN_ENTROPY_BITS
    )


def _preview(text: str, shown: int) -> str:
    return f"{text[:shown]}…({len(text)} chars)"


def find_credentials(text: str, *, random_strings: bool = True) -> list[Credential]:
    """Every credential-shaped part of `text`, in order. With `random_strings` false, only the
    known shapes (for fields that hold hashes)."""
    found: list[Credential] = []

    def free(match: re.Match[str]) -> bool:
        return not any(match.start() < other.end and other.start < match.end() for other in found)

    for shape in SHAPES:
        if not any(hint in text for hint in shape.hints):
            continue
        for match in shape.pattern.finditer(text):
            if free(match):
                preview = _preview(match.group(), shape.shown)
                found.append(Credential(shape.kind, preview, match.start(), match.end()))
    if random_strings:
        encoded = [m.span("payload") for m in _DATA_URL.finditer(text)] if "data:" in text else []
        for match in _TOKEN.finditer(text):
            inside_data = any(
                start <= match.start() and match.end() <= end for start, end in encoded
            )
            if (
                free(match)
                and not inside_data
                and not _explicit_hash(text, match)
                and _looks_random(match.group())
            ):
                preview = _preview(match.group(), 2)
                found.append(Credential(RANDOM_KIND, preview, match.start(), match.end()))
    return sorted(found, key=lambda credential: credential.start)


def _explicit_hash(text: str, match: re.Match[str]) -> bool:
    """`sha256:<digest>` or `sha384-<digest>`: a hash that says it is one."""
    before = text[max(0, match.start() - 7) : match.start()]
    return bool(_EXPLICIT_HASH_BEFORE.search(before) or _EXPLICIT_HASH_PREFIX.match(match.group()))


def redact(text: str) -> str:
    """`text` with every credential-shaped part replaced by its preview."""
    for credential in reversed(find_credentials(text)):
        text = text[: credential.start] + credential.preview + text[credential.end :]
    return text


# --- names that say a value is a credential -----------------------------------------------------

_CREDENTIAL_WORDS = (
    "apikey",
    "api-key",
    "access-key",
    "auth-key",
    "private-key",
    "secret",
    "password",
    "passwd",
    "credential",
    "authorization",
    "bearer",
)
# `token` names a credential (`--hf-token`, `HF_TOKEN`, `MODAL_TOKEN_ID`) unless it counts
# tokens of text (`--bucket-time-to-first-token`, `--speculative-token-map`).
_AFTER_CREDENTIAL_TOKEN = {"id", "value", "key"}
_BEFORE_COUNTED_TOKEN = {"first", "inter", "per", "heavy", "last", "next"}


def names_a_credential(name: str) -> bool:
    """Whether an option, variable or key name says that it holds a credential: it says
    secret, password, credential, authorization or API key, or ends in `_KEY` (`OPENAI_KEY`),
    or names a token that is not a count of text tokens."""
    words = [word for word in re.split(r"[-_\s]+", name.lower()) if word]
    joined = "-".join(words)
    if any(part in joined for part in _CREDENTIAL_WORDS):
        return True
    if len(words) > 1 and words[-1] == "key":
        return True
    for index, word in enumerate(words):
        after = words[index + 1 :]
        before = words[index - 1] if index else ""
        if (
            word == "token"
            and before not in _BEFORE_COUNTED_TOKEN
            and all(rest in _AFTER_CREDENTIAL_TOKEN for rest in after)
        ):
            return True
    return False


# --- the spec scan --------------------------------------------------------------------------------

# Fields that hold hashes: only the known credential shapes are looked for there.
HASH_FIELDS: frozenset[FieldPath] = frozenset({("model", "revision")})
HASH_FIELD_NAMES = frozenset({"revision", "digest", "sha", "sha256", "hash", "checksum"})
_HEX_DIGEST = re.compile(r"(?:sha(?:1|256|512):)?[0-9a-fA-F]+")
# Fields of the spec whose names speak of secrets because they name one, never hold one: a
# Modal Secret's name or the name of a variable in it (their types take nothing else). `*`
# stands for any key or index. tests/test_credentials.py checks that every field of the spec
# models whose name names a credential is one of these.
REFERENCE_FIELDS: tuple[tuple[str, ...], ...] = (
    ("secrets",),
    ("secret_keys",),
    ("secret_keys", "*"),
    ("image", "registry_secret"),
    ("image", "layers", "*", "secrets"),
    ("engine", "api_key_secret"),
    ("engine", "api_key_variable"),
    ("model", "download", "secrets"),
    ("sidecars", "*", "secrets"),
)
_ADVICE = (
    "never put credentials in a spec; store it in a Modal Secret "
    "(`modal secret create NAME KEY=...`) and list NAME under `secrets`"
)


def spec_findings(data: Mapping[str, Any]) -> list[tuple[FieldPath, str]]:
    """Credentials in a spec's data, as `(field, message)`: at most one per field.

    Every key and string value is scanned, at every depth, by the same rules: a key that names
    a credential and holds a literal; text shaped like a credential; a URL with a password;
    an `Authorization` or `Bearer` header; in a command, a credential option or variable with
    a literal value. Where the value belongs instead depends on the field, and the message
    says it."""
    findings = dict(_named(data, ()))
    findings.update(_session_header(data))
    for field, message in _shaped(data, ()):
        findings.setdefault(field, message)
    for field, message in _written(data, ()):
        findings.setdefault(field, message)
    return list(findings.items())


def _matches(field: FieldPath, pattern: tuple[str, ...]) -> bool:
    return len(field) == len(pattern) and all(
        want == "*" or part == want for part, want in zip(field, pattern, strict=True)
    )


def is_reference_field(field: FieldPath) -> bool:
    return any(_matches(field, pattern) for pattern in REFERENCE_FIELDS)


def _shaped(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            field = (*path, key)
            if isinstance(key, str):
                yield from _shaped_text(key, field, "its key ")
            yield from _shaped(item, field)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _shaped(item, (*path, index))
    elif isinstance(value, str):
        yield from _shaped_text(value, path, "")


def _shaped_text(text: str, field: FieldPath, what: str) -> Iterator[tuple[FieldPath, str]]:
    # A field that takes a hash may also take a name (a revision's branch or tag): only a value
    # shaped like a hash is spared the search for random strings.
    holds_hash = (
        field in HASH_FIELDS
        or (bool(field) and isinstance(field[-1], str) and field[-1].lower() in HASH_FIELD_NAMES)
    ) and _HEX_DIGEST.fullmatch(text) is not None
    found = find_credentials(text, random_strings=not holds_hash)
    if found:
        first = found[0]
        yield field, f"{what}looks like {first.described}, {first.preview}: {_ADVICE}"


def _has_text(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_text(item) for item in value)
    return isinstance(value, str) and value != ""


# --- keys that name a credential ----------------------------------------------------------------


def _named(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    """Every key, at any depth, that names a credential and holds text, outside the fields
    that name a Secret."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            field = (*path, key)
            if (
                isinstance(key, str)
                and names_a_credential(key)
                and _has_text(item)
                and not is_reference_field(field)
            ):
                yield field, _named_message(field, key)
            yield from _named(item, field)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _named(item, (*path, index))


def _session_header(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    """The probe's session header is a key too, with `session_id` its value: a header named
    `Authorization` or `X-Api-Key` would send a literal credential."""
    probe = data.get("probe")
    if not isinstance(probe, Mapping):
        return
    header, value = probe.get("session_header"), probe.get("session_id")
    if isinstance(header, str) and names_a_credential(header) and _has_text(value):
        yield (
            ("probe", "session_id"),
            f"the session header {header!r} names a credential, and its value would be written "
            "into the generated file: the session header only pins a conversation to one "
            'replica. For the engine\'s API key set `engine.api_key_secret = "NAME"` (a Modal '
            "Secret): the test client sends it as `Authorization: Bearer`, read from the same "
            "variable in your shell",
        )


def _secret_create(key: str) -> str:
    variable = key.lstrip("-").replace("-", "_").upper()
    return f"`modal secret create NAME {variable}=...`"


def _named_message(field: FieldPath, key: str) -> str:
    parent = field[-2] if len(field) > 1 else None
    if parent == "env" and field[:2] == ("image", "env"):
        return (
            f"{key} holds a credential: image env is baked into the image and written into "
            f"the generated file. Store it in a Modal Secret ({_secret_create(key)}) and list "
            f"NAME under `secrets`, which sets {key} at run time"
        )
    if parent == "env":  # a layer's env, or any other table of variables
        return (
            f"{key} holds a credential: an env layer is baked into the image and written into "
            f"the generated file. Store it in a Modal Secret ({_secret_create(key)}): list "
            f"NAME under `secrets` for the server, or under the `secrets` of the layer whose "
            f"build step needs {key} (`run_commands`, `pip_install`, `uv_pip_install`)"
        )
    if field[:2] in {("engine", "extra_args"), ("engine", "config")}:
        what = "flag" if field[1] == "extra_args" else "config key"
        if "api-key" in key or "apikey" in key or "api_key" in key:
            instead = (
                f'and set `engine.api_key_secret = "NAME"` instead of the {what}, so that the '
                "generated code reads the key from the environment at run time"
            )
        else:
            instead = (
                f"and drop the {what}: the server then reads the variable from its environment "
                "at run time (Hugging Face reads HF_TOKEN)"
            )
        return (
            f"{key} takes a credential, and a literal would be written into the generated "
            f"file: never put credentials in a spec. Store it in a Modal Secret (`modal secret "
            f"create NAME KEY=...`), list NAME under `secrets` {instead}"
        )
    if "request_extras" in field:
        return (
            f"`{key}` names a credential, and the request body is written into the generated "
            "file: never put credentials in a spec. For the engine's API key set "
            '`engine.api_key_secret = "NAME"` (a Modal Secret): the test client and the load '
            "test then send it as `Authorization: Bearer`, read from the same variable in your "
            "shell"
        )
    return (
        f"`{key}` names a credential and holds a literal, which would be written into the "
        "generated file: never put credentials in a spec. Store it in a Modal Secret "
        f"({_secret_create(key)}), list NAME under `secrets` (and its variables under "
        "`secret_keys`), and let the app read the variable at run time"
    )


# --- credentials written into text: URLs, headers, commands ---------------------------------------

# `scheme://user:password@host`: userinfo with a password. `git@host` (a user alone) is not one.
_URL_PASSWORD = re.compile(
    r"(?i)\b[a-z][a-z0-9+.-]*://(?P<user>[^/\s:@?#]*):(?P<password>[^/\s@?#]+)@"
)
_AUTHORIZATION = re.compile(r"(?i)\bauthorization\s*[:=]\s*(?P<value>[^\s\"']+(?:\s+[^\s\"']+)?)")
_BEARER = re.compile(r"\bBearer\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})")
_INDEX_FIELDS = {"index_url", "extra_index_url", "find_links"}


def is_literal(value: str) -> bool:
    """Whether a value written in text is a literal, not a shell reference to a variable
    (`$TOKEN`, `${TOKEN}`, `$(cat /run/token)`), which is where a credential belongs."""
    return bool(value) and not value.lstrip("\"'").startswith("$")


def _written(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            field = (*path, key)
            if isinstance(key, str):
                found = _written_text(key, field)
                if found is not None:
                    yield field, f"its key {found}"
            yield from _written(item, field)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _written(item, (*path, index))
    elif isinstance(value, str):
        found = _written_text(value, path)
        if found is not None:
            yield path, found


def _is_command(field: FieldPath) -> bool:
    return len(field) == 5 and field[:2] == ("image", "layers") and field[3] == "run_commands"


def _written_text(text: str, field: FieldPath) -> str | None:
    """What credential `text` writes out, and where it belongs instead; None when none."""
    url = _URL_PASSWORD.search(text)
    if url is not None and is_literal(url["password"]):
        return f"holds a URL with a password (`{url['user']}:…@`): {_url_advice(field)}"
    header = _AUTHORIZATION.search(text) or _bearer_token(text)
    if header is not None and is_literal(header["value"].split()[-1]):
        return (
            f"holds an `Authorization` header with a literal credential: {_command_advice(field)}"
        )
    if _is_command(field):
        option = _command_credential(text)
        if option is not None:
            return f"passes {option} a literal credential: {_command_advice(field)}"
    return None


def _bearer_token(text: str) -> re.Match[str] | None:
    """`Bearer <token>`, where the token looks like one (a digit, a dot or a dash in it, or
    long): not `Bearer instruments` in a prompt."""
    for match in _BEARER.finditer(text):
        value = match["value"]
        if len(value) >= 20 or any(c.isdigit() or c in ".-" for c in value):
            return match
    return None


def _url_advice(field: FieldPath) -> str:
    if field[-1] in _INDEX_FIELDS and field[:2] == ("image", "layers"):
        variable = str(field[-1]).upper()
        return (
            "never put credentials in a spec. Store the whole URL in a Modal Secret, as "
            f"PIP_{variable} for a pip layer or UV_{variable} for a uv layer (`modal secret "
            f"create NAME PIP_{variable}=https://user:password@host/...`), list NAME under this "
            f"layer's `secrets`, and leave `{field[-1]}` out: the installer reads it from there"
        )
    if _is_command(field):
        return _command_advice(field)
    if field[:2] == ("image", "layers"):
        return (
            "never put credentials in a spec. Install from this URL in a `run_commands` layer "
            "with a Modal Secret under its `secrets`, and write the Secret's variable in the "
            "URL (`https://oauth2:$TOKEN@host/...`)"
        )
    return _ADVICE


def _command_advice(field: FieldPath) -> str:
    if _is_command(field):
        return (
            "never put credentials in a spec: the command is written into the generated file "
            "and the image. Store the credential in a Modal Secret (`modal secret create NAME "
            "TOKEN=...`), list NAME under this layer's `secrets`, and write the variable in the "
            'command instead (`$TOKEN`, as in `-H "Authorization: Bearer $TOKEN"`)'
        )
    return _ADVICE


_USER_OPTIONS = {"-u", "--user", "-U", "--proxy-user"}


def _command_credential(command: str) -> str | None:
    """The option or variable of `command` that is given a literal credential: `--token abc`,
    `--password=abc`, `HF_TOKEN=abc cmd`, curl's `-u user:password`."""
    try:
        words = shlex.split(command)
    except ValueError:  # an unclosed quote: the words as written
        words = command.split()
    is_curl = any(word.rsplit("/", 1)[-1] == "curl" for word in words)
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        name, equals, value = word.partition("=")
        if word.startswith("-"):
            if not equals:
                value = following
            if name in _USER_OPTIONS and is_curl:
                user, colon, password = value.partition(":")
                if colon and is_literal(password):
                    return f"`{name}` (`{user}:…`)"
            elif names_a_credential(name) and is_literal(value) and not value.startswith("-"):
                return f"`{name}`"
        elif (
            equals
            and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
            and names_a_credential(name)
            and is_literal(value)
        ):
            return f"the variable `{name}`"
    return None

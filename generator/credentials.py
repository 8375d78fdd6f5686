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
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from generator.errors import FieldPath


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
        ("gh",),
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
        for match in _TOKEN.finditer(text):
            if free(match) and not _explicit_hash(text, match) and _looks_random(match.group()):
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
)
# `token` names a credential (`--hf-token`, `HF_TOKEN`, `MODAL_TOKEN_ID`) unless it counts
# tokens of text (`--bucket-time-to-first-token`, `--speculative-token-map`).
_AFTER_CREDENTIAL_TOKEN = {"id", "value", "key"}
_BEFORE_COUNTED_TOKEN = {"first", "inter", "per", "heavy", "last", "next"}


def names_a_credential(name: str) -> bool:
    """Whether an option or variable name says that it holds a credential."""
    words = [word for word in re.split(r"[-_]+", name.lower()) if word]
    joined = "-".join(words)
    if any(part in joined for part in _CREDENTIAL_WORDS):
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
_ADVICE = (
    "never put credentials in a spec; store it in a Modal Secret "
    "(`modal secret create NAME KEY=...`) and list NAME under `secrets`"
)


def spec_findings(data: Mapping[str, Any]) -> list[tuple[FieldPath, str]]:
    """Credentials in a spec's data, as `(field, message)`: at most one per field."""
    findings = dict(_literal_credential_options(data))
    for field, message in _shaped(data, ()):
        findings.setdefault(field, message)
    return list(findings.items())


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
    holds_hash = field in HASH_FIELDS or (
        bool(field) and isinstance(field[-1], str) and field[-1].lower() in HASH_FIELD_NAMES
    )
    found = find_credentials(text, random_strings=not holds_hash)
    if found:
        first = found[0]
        yield field, f"{what}looks like {first.described}, {first.preview}: {_ADVICE}"


def _table(data: Mapping[str, Any], *path: str) -> Mapping[Any, Any]:
    """The mapping at `path`, or an empty one where the data holds none (an invalid spec)."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _has_text(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_text(item) for item in value)
    return isinstance(value, str) and value != ""


def _literal_credential_options(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    for key, value in _table(data, "image", "env").items():
        if isinstance(key, str) and names_a_credential(key) and _has_text(value):
            yield (
                ("image", "env", key),
                f"{key} holds a credential: image env is baked into the image and written into "
                f"the generated file. Store it in a Modal Secret (`modal secret create NAME "
                f"{key}=...`) and list NAME under `secrets`, which sets {key} at run time",
            )
    for flag, value in _table(data, "engine", "extra_args").items():
        if not (isinstance(flag, str) and names_a_credential(flag) and _has_text(value)):
            continue
        if "api-key" in flag or "apikey" in flag:
            instead = (
                'and set `engine.api_key_secret = "NAME"` instead of the flag, so that the '
                "generated code reads the key from the environment at run time"
            )
        else:
            instead = (
                "and drop the flag: the server then reads the variable from its environment at "
                "run time (Hugging Face reads HF_TOKEN)"
            )
        yield (
            ("engine", "extra_args", flag),
            f"{flag} takes a credential, and a literal would be written into the generated "
            f"file: never put credentials in a spec. Store it in a Modal Secret (`modal secret "
            f"create NAME KEY=...`), list NAME under `secrets` {instead}",
        )

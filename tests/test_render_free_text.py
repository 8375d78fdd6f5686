"""Property: any text in a spec's free-text fields comes out of the generated file exactly.

Hypothesis drives random Unicode (quotes, backslashes, newlines, Jinja-looking text, ...) through
every free-text field at once; the rendered file must parse and hold each value, unchanged, as a
string constant. In CI (`CI` set) it runs a few thousand examples.
"""

from __future__ import annotations

import ast
import copy
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.checks.validation import LoadedSpec, validate_document
from generator.render.render import format_sources, render_unformatted
from generator.spec.loader import SourceDocument

settings.register_profile(
    "ci", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

BASE: dict = {
    "version": 1,
    "app": {"name": "free-text", "class_name": "Server"},
    # Random option names and parser values are not in SGLang's catalog: test rendering only.
    "image": {
        "registry_tag": "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime",
        "env": {},
        "check_engine_options": False,
    },
    "model": {"name": "Qwen/Qwen3-8B", "revision": "0" * 40},
    "volumes": [{"name": "cache", "mount_path": "/cache"}],
    "server": {"gpu": {"type": "H100", "count": 1}, "unauthenticated": True},
    "engine": {},
    "warmup": {"message": {"text": "", "format": "parts"}},
    "probe": {"cli_options": True, "message": {"text": "", "format": "parts"}},
}

# Text a YAML or TOML file can hold: any code point but lone surrogates.
text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
nonempty = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40)
jinja_like = st.sampled_from(["{{ app }}", "{% raw %}", "{#", "'''", '"""', "\\", "\n#", "\r"])
free_text = st.one_of(text, jinja_like, st.tuples(text, jinja_like, text).map("".join))
# Text that reaches an image instruction (env values, paths) is one line, without control
# characters (Cc) or Unicode line and paragraph separators; a header value printable ASCII.
line = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=40)
line_jinja = st.sampled_from(["{{ app }}", "{% raw %}", "{#", "'''", '"""', "\\ x", "#"])
one_line_text = st.one_of(line, line_jinja, st.tuples(line, line_jinja, line).map("".join))
header_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


def _spec_with(values: dict[str, str]) -> dict:
    spec = copy.deepcopy(BASE)
    spec["probe"]["system_prompt"] = values["system_prompt"]
    spec["probe"]["second_system_prompt"] = values["second_system_prompt"]
    spec["probe"]["message"]["text"] = values["probe_text"]
    spec["probe"]["session_id"] = values["session_id"]
    spec["probe"]["request_extras"] = {"extra": values["extra"]}
    spec["warmup"]["message"]["text"] = values["warmup_text"]
    spec["warmup"]["message"]["image_url"] = values["image_url"]
    spec["image"]["env"]["FREE_TEXT"] = values["env"]
    spec["server"]["region"] = values["region"]
    spec["server"]["proxy_regions"] = [values["region"]]
    spec["engine"]["served_model_name"] = values["served_model_name"]
    spec["engine"]["reasoning_parser"] = values["reasoning_parser"]
    spec["engine"]["extra_args"] = {"--free-text": values["engine_arg"]}
    spec["volumes"][0]["mount_path"] = "/" + values["mount_path"]
    return spec


values_strategy = st.fixed_dictionaries(
    {
        "system_prompt": free_text,
        "second_system_prompt": free_text,
        "probe_text": free_text,
        "session_id": header_value,
        "extra": free_text,
        "warmup_text": free_text,
        "image_url": nonempty,
        "env": one_line_text,
        "region": nonempty,
        "served_model_name": nonempty,
        "reasoning_parser": nonempty,
        "engine_arg": free_text,
        "mount_path": one_line_text,
    }
)


def _render(values: dict[str, str]) -> str:
    path = Path("specs/free_text.yaml")
    document = SourceDocument(path, path.as_posix(), _spec_with(values), {})
    loaded = LoadedSpec(validate_document(document), document)
    return render_unformatted(loaded, Path("generated"))


def _string_constants(source: str) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _expected(values: dict[str, str]) -> set[str]:
    expected = set(values.values()) - {values["mount_path"]}
    return expected | {"/" + values["mount_path"]}


@given(values_strategy)
def test_free_text_round_trips_exactly(values: dict[str, str]) -> None:
    source = _render(values)
    assert _expected(values) <= _string_constants(source)


@settings(max_examples=40, deadline=None)
@given(values_strategy)
def test_free_text_survives_formatting(values: dict[str, str]) -> None:
    (formatted,) = format_sources([_render(values)])
    assert _expected(values) <= _string_constants(formatted)


def _rerank_spec(query: str, documents: list[str]) -> dict:
    spec = copy.deepcopy(BASE)
    del spec["warmup"]["message"]["format"], spec["probe"]["message"]["format"]
    spec["workload"] = {"kind": "rerank", "query": query, "documents": documents}
    spec["server"]["proxy_regions"] = ["us-east"]
    return spec


@given(nonempty, st.lists(st.one_of(nonempty, jinja_like), min_size=2, max_size=4))
def test_rerank_query_and_documents_round_trip_exactly(query: str, documents: list[str]) -> None:
    """The rerank probe's query and documents, any text (quotes, newlines, Jinja), come out of
    the generated file as the very strings, in their order."""
    path = Path("specs/free_text.yaml")
    document = SourceDocument(path, path.as_posix(), _rerank_spec(query, documents), {})
    loaded = LoadedSpec(validate_document(document), document)
    tree = ast.parse(render_unformatted(loaded, Path("generated")))
    constants = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("RERANK_QUERY", "RERANK_DOCUMENTS")
    }
    assert constants["RERANK_QUERY"] == query
    assert constants["RERANK_DOCUMENTS"] == documents

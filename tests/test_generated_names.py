"""Spec values that become Python names of the generated module (`app.class_name`,
`probe.entrypoint`) may not take a name Python or the generated code has a use for already.

The refused set cannot go stale: every committed generated file, and every committed spec
rendered with each optional part of the templates on and off, is parsed, and every name it
binds or uses must be refused."""

from __future__ import annotations

import builtins
import copy
import dataclasses
import keyword
from pathlib import Path

import pytest
from pydantic import ValidationError

from generator.checks.validation import LoadedSpec, load_spec, validate_document
from generator.render.render import render_unformatted
from generator.spec.errors import SpecError
from generator.spec.reserved_names import GENERATED_NAMES, refusal
from generator.view.view import _volume_constants
from tests.conftest import ROOT
from tests.support.generated_names import VARIANTS, merged, names_in, top_level_names
from tests.test_checks import spec_with

SPECS = sorted(
    path
    for folder in (ROOT / "specs", ROOT / "examples" / "modal-examples" / "specs")
    for path in folder.iterdir()
    if path.suffix in {".toml", ".yaml"} and not path.name.startswith("_")
)


def _generated(spec_path: Path) -> Path:
    return spec_path.parent.parent / "generated" / f"{spec_path.stem}.py"


def _renders() -> list[tuple[str, LoadedSpec, str]]:
    """(label, spec, source) for every committed file and every variant that validates."""
    found = []
    for path in SPECS:
        loaded = load_spec(path)
        found.append((path.name, loaded, _generated(path).read_text(encoding="utf-8")))
        for index, variant in enumerate(VARIANTS):
            data = merged(copy.deepcopy(loaded.document.data), variant)
            document = dataclasses.replace(loaded.document, data=data, credential_problems=None)
            try:
                spec = validate_document(document)
            except SpecError:
                continue  # a variant that does not apply to this spec
            variant_loaded = LoadedSpec(spec, document)
            source = render_unformatted(variant_loaded, Path("generated"))
            found.append((f"{path.name}+variant{index}", variant_loaded, source))
    return found


RENDERS = _renders()


def test_every_variant_applies_to_some_spec() -> None:
    used = {label.rsplit("+variant", 1)[1] for label, _, _ in RENDERS if "+variant" in label}
    assert used == {str(index) for index in range(len(VARIANTS))}


@pytest.mark.parametrize(("label", "loaded", "source"), RENDERS, ids=[r[0] for r in RENDERS])
def test_every_name_the_generated_code_uses_is_refused(
    label: str, loaded: LoadedSpec, source: str
) -> None:
    spec = loaded.spec
    chosen = {spec.app.class_name, spec.probe.entrypoint}
    options = set(spec.probe.request_options)  # the entrypoint's parameters the spec names
    unrefused = sorted(
        name for name in names_in(source) - chosen - options if refusal(name) is None
    )
    assert unrefused == [], f"add these to reserved_names.GENERATED_NAMES: {unrefused}"
    # The spec's own names are bound once, by the class (or function) and the entrypoint.
    bound = top_level_names(source)
    for name in chosen:
        assert bound.count(name) == 1, (name, bound.count(name))
    # Volume constants are derived from Volume names: no other name may look like one.
    volumes = set(_volume_constants(spec.volumes).values())
    assert {name for name in names_in(source) if name.endswith("VOLUME")} <= volumes


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("class", "is a Python keyword"),
        ("match", "is a Python keyword"),
        ("type", "is a Python builtin"),
        ("__name__", "special (dunder) name"),
        ("__main__", "special (dunder) name"),
        ("__x__", "special (dunder) name"),
        ("print", "is a Python builtin"),
        ("len", "is a Python builtin"),
        ("Exception", "is a Python builtin"),
        ("modal", "would replace a name of the generated module"),
        ("app", "would replace a name of the generated module"),
        ("messages", "would replace a name of the generated module"),
        ("ServerProcess", "would replace a name of the generated module"),
        ("GPU", "would replace a name of the generated module"),
        ("MODEL_NAME", "would replace a name of the generated module"),
        ("MY_CONSTANT", "would replace a name of the generated module"),
    ],
)
def test_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    found = refusal(name)
    assert found is not None and reason in found
    for field in ("class_name", "entrypoint"):
        section = "app" if field == "class_name" else "probe"
        with pytest.raises(ValidationError) as refused:
            spec_with(**{section: {field: name}})
        assert reason in str(refused.value)


def test_every_builtin_and_keyword_is_refused() -> None:
    names = [*dir(builtins), *keyword.kwlist, *keyword.softkwlist]
    assert [name for name in names if refusal(name) is None] == []


@pytest.mark.parametrize("name", ["Server", "VlmServer", "SGLang", "VLLM", "serve", "main", "test"])
def test_ordinary_names_pass(name: str) -> None:
    assert refusal(name) is None


def test_the_list_holds_only_names_no_other_rule_refuses() -> None:
    # Builtins, keywords and UPPER_CASE constants are refused by their own rules.
    assert all(name.isidentifier() for name in GENERATED_NAMES)
    redundant = sorted(
        name
        for name in GENERATED_NAMES
        if name in dir(builtins) or keyword.iskeyword(name) or (name.isupper() and "_" in name)
    )
    assert redundant == []

"""`modalgen pin` against a stand-in Hub on loopback: each branch or tag becomes its commit, in
place, in the file that sets it; a revision the Hub does not resolve changes nothing."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner, Result

from generator.cli.cli import main
from tests.conftest import ROOT
from tests.support.hub import StandinHub, standin_hub

MAIN = "1b2c3d4e5f60718293a4b5c6d7e8f90112233445"
TAGGED = "2222222222222222222222222222222222222222"  # all digits: YAML quotes it
GATED = "3333333333333333333333333333333333333333"
REPOS = {
    "Qwen/Qwen3-8B": {"main": MAIN, "v1.0": TAGGED, "refs/pr/3": TAGGED},
    "meta-llama/Llama-3.1-8B-Instruct": {"main": GATED},
}
TOKEN = "hf_standinSecretToken1234567890"


def _spec(model: str = "Qwen/Qwen3-8B", revision: str = "main", comment: str = "") -> str:
    return f"""version = 1

[app]
name = "pinned"
class_name = "Server"

[image]
registry_tag = "vllm/vllm-openai:v0.11.2"

[model]
# which model
name = "{model}"
revision = "{revision}"{comment}

[server]
kind = "server"
startup_timeout = 600
gpu = {{ type = "H100", count = 1 }}
target_concurrency = 8

[engine]
kind = "vllm"
"""


def _project(tmp_path: Path, **specs: str) -> Path:
    (tmp_path / "generated").mkdir()
    (tmp_path / "specs").mkdir()
    for name, text in specs.items():
        path = tmp_path / "specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _pin(hub: StandinHub, project: Path, *args: str, token: str | None = None) -> Result:
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": token, "HF_HUB_OFFLINE": None}
    return CliRunner().invoke(main, ["pin", "-C", str(project), *args], env=env)


def _texts(project: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((project / "specs").rglob("*.*"))}


def test_a_branch_is_replaced_by_its_commit_in_place(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"a.toml": _spec(comment="  # the example's branch")})
    with standin_hub(REPOS) as hub:
        result = _pin(hub, project)
    assert result.exit_code == 0, result.output
    assert (project / "specs" / "a.toml").read_text() == _spec(
        revision=MAIN, comment="  # the example's branch"
    )
    assert f"pinned specs/a.toml: model.revision 'main' -> {MAIN} (Qwen/Qwen3-8B)" in result.output
    assert "run `modalgen generate`" in result.output
    assert hub.requests == [("/api/models/Qwen/Qwen3-8B/revision/main", None)]
    validated = CliRunner().invoke(main, ["validate", "-C", str(project)])
    assert validated.exit_code == 0 and "branch or tag" not in validated.output


def test_a_starter_spec_at_a_branch_reads_true_once_pinned(tmp_path: Path) -> None:
    """`modalgen new --revision main` comments the revision; after `pin` has replaced the branch
    by its commit, that comment must not still call the value a branch."""
    project = _project(tmp_path)
    options = ["--model", "Qwen/Qwen3-8B", "--revision", "main", "--gpu", "H100:1"]
    created = CliRunner().invoke(main, ["new", "-C", str(project), "a", *options])
    assert created.exit_code == 0, created.output
    with standin_hub(REPOS) as hub:
        result = _pin(hub, project)
    assert result.exit_code == 0, result.output
    (line,) = [
        line
        for line in (project / "specs" / "a.toml").read_text().splitlines()
        if line.startswith("revision =")
    ]
    value, _, comment = line.partition("#")
    assert MAIN in value
    assert "a branch or tag:" not in comment and "commit" in comment


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"a.toml": _spec()})
    with standin_hub(REPOS) as hub:
        result = _pin(hub, project, "--dry-run")
    assert result.exit_code == 0, result.output
    assert '-revision = "main"' in result.output
    assert f'+revision = "{MAIN}"' in result.output
    assert "nothing was written" in result.output
    assert (project / "specs" / "a.toml").read_text() == _spec()


def test_a_revision_a_base_sets_is_pinned_in_the_base_once(tmp_path: Path) -> None:
    base = '[model]\nname = "Qwen/Qwen3-8B"\nrevision = "main"  # shared\n'
    own = _spec().replace('# which model\nname = "Qwen/Qwen3-8B"\nrevision = "main"\n', "")
    spec = own.replace("version = 1\n", 'version = 1\nextends = ["_base/model.toml"]\n')
    project = _project(
        tmp_path,
        **{
            "_base/model.toml": base,
            "a.toml": spec,
            "b.toml": spec,
            "c.toml": _spec(revision="v1.0"),
        },
    )
    with standin_hub(REPOS) as hub:
        result = _pin(hub, project)
    assert result.exit_code == 0, result.output
    assert (project / "specs" / "_base" / "model.toml").read_text() == base.replace("main", MAIN, 1)
    assert (project / "specs" / "a.toml").read_text() == spec
    assert (project / "specs" / "c.toml").read_text() == _spec(revision=TAGGED)
    assert "pinned specs/_base/model.toml: model.revision 'main'" in result.output
    assert "read by specs/a.toml, specs/b.toml" in result.output
    assert len(hub.requests) == 2  # main once for both specs, and v1.0


def test_a_yaml_spec_keeps_its_layout(tmp_path: Path) -> None:
    text = (
        "version: 1\napp:\n  name: pinned\n  class_name: Server\nimage:\n"
        "  registry_tag: vllm/vllm-openai:v0.11.2\nmodel:\n  name: Qwen/Qwen3-8B\n"
        "  revision: refs/pr/3   # a pull request\nserver:\n  kind: server\n"
        "  startup_timeout: 600\n  gpu: {type: H100, count: 1}\n  target_concurrency: 8\n"
        "engine:\n  kind: vllm\n"
    )
    project = _project(tmp_path, **{"a.yaml": text})
    with standin_hub(REPOS) as hub:
        result = _pin(hub, project)
    assert result.exit_code == 0, result.output
    assert (project / "specs" / "a.yaml").read_text() == text.replace(
        "refs/pr/3   #", f"'{TAGGED}'   #"
    )
    assert hub.requests[0][0] == "/api/models/Qwen/Qwen3-8B/revision/refs%2Fpr%2F3"


def test_a_revision_the_hub_does_not_have_changes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"a.toml": _spec(), "b.toml": _spec(revision="nope")})
    with standin_hub(REPOS) as hub:
        result = _pin(hub, project)
    assert result.exit_code == 1
    assert (
        "specs/b.toml:13:1: model.revision: the Hub has no revision 'nope' of Qwen/Qwen3-8B "
        "(HTTP 404)" in result.output
    )
    assert "nothing was written" in result.output
    assert _texts(project) == {"a.toml": _spec(), "b.toml": _spec(revision="nope")}


def test_a_gated_repository_needs_a_token_which_is_never_printed(tmp_path: Path) -> None:
    gated = _spec(model="meta-llama/Llama-3.1-8B-Instruct")
    project = _project(tmp_path, **{"a.toml": gated})
    with standin_hub(REPOS, gated={"meta-llama/Llama-3.1-8B-Instruct": TOKEN}) as hub:
        refused = _pin(hub, project)
        wrong = _pin(hub, project, token="hf_wrongToken")
        assert (project / "specs" / "a.toml").read_text() == gated
        pinned = _pin(hub, project, token=TOKEN)
    assert refused.exit_code == 1
    assert "refused meta-llama/Llama-3.1-8B-Instruct without a token (HTTP 401)" in refused.output
    assert "set HF_TOKEN" in refused.output
    assert wrong.exit_code == 1 and "with the token in HF_TOKEN (HTTP 403)" in wrong.output
    assert "hf_wrongToken" not in wrong.output
    assert pinned.exit_code == 0, pinned.output
    assert TOKEN not in pinned.output
    assert hub.requests[-1][1] == f"Bearer {TOKEN}"
    assert GATED in (project / "specs" / "a.toml").read_text()


def test_no_network_is_a_clear_error_that_changes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"a.toml": _spec()})
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_TOKEN": None}
    result = CliRunner().invoke(main, ["pin", "-C", str(project)], env=env)
    assert result.exit_code == 1
    assert f"cannot reach the Hub at http://127.0.0.1:{port} to resolve Qwen/Qwen3-8B" in (
        result.output
    )
    assert (project / "specs" / "a.toml").read_text() == _spec()


def test_specs_already_pinned_are_left_alone(tmp_path: Path) -> None:
    project = _project(tmp_path, **{"a.toml": _spec(revision=MAIN)})
    with standin_hub(REPOS) as hub:
        result = _pin(hub, project, "specs/a.toml")
    assert result.exit_code == 0, result.output
    assert "nothing to pin" in result.output
    assert hub.requests == []


def test_a_spec_edited_while_pinning_is_not_overwritten(tmp_path: Path) -> None:
    """The user saves a.toml after pin read it and before it writes: pin refuses."""
    project = _project(tmp_path, **{"a.toml": _spec(), "b.toml": _spec(revision="v1.0")})
    edited = _spec() + "# the user's edit\n"
    with standin_hub(REPOS) as hub:
        original = hub.repos["Qwen/Qwen3-8B"]

        class EditOnTag(dict):  # b's revision is resolved after a.toml was read for editing
            def get(self, key: str, default: object = None) -> object:
                if key == "v1.0":
                    (project / "specs" / "a.toml").write_text(edited)
                return original.get(key, default)

        hub.repos["Qwen/Qwen3-8B"] = EditOnTag()
        result = _pin(hub, project)
    assert result.exit_code == 1
    assert "specs/a.toml: changed on disk since it was read" in result.output
    assert _texts(project) == {"a.toml": edited, "b.toml": _spec(revision="v1.0")}


ADAPTER_MAIN = "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
LORA_EXAMPLE = ROOT / "examples" / "modal-examples" / "specs" / "vllm_lora_summarizer.toml"


def test_an_adapter_at_a_branch_is_pinned_like_the_model(tmp_path: Path) -> None:
    adapter = (
        '\n[[model.adapters]]\nname = "sql"  # what requests ask for\nrepo = "org/sql-lora"\n'
        'revision = "main"  # the adapter\'s branch\n\n[[model.adapters]]\nname = "local"\n'
        'path = "adapters/local"\n'
    )
    text = _spec().replace("\n[server]", f"{adapter}\n[server]")
    project = _project(tmp_path, **{"a.toml": text})
    repos = {**REPOS, "org/sql-lora": {"main": ADAPTER_MAIN}}
    with standin_hub(repos) as hub:
        result = _pin(hub, project)
    assert result.exit_code == 0, result.output
    expected = text.replace('revision = "main"\n', f'revision = "{MAIN}"\n').replace(
        'revision = "main"  #', f'revision = "{ADAPTER_MAIN}"  #'
    )
    assert (project / "specs" / "a.toml").read_text() == expected
    assert (
        f"pinned specs/a.toml: model.adapters[0].revision 'main' -> {ADAPTER_MAIN} "
        "(org/sql-lora)" in result.output
    )
    assert sorted(path for path, _ in hub.requests) == [
        "/api/models/Qwen/Qwen3-8B/revision/main",
        "/api/models/org/sql-lora/revision/main",
    ]


def test_the_lora_example_s_adapter_branch_is_pinned_keeping_its_comments(
    tmp_path: Path,
) -> None:
    """examples/modal-examples' vllm_lora_summarizer serves its adapter at `main`, as the real
    deployment does: `modalgen pin` writes the commit in its place and changes nothing else."""
    text = LORA_EXAMPLE.read_text()
    assert '\nrevision = "main"\n' in text  # the adapter's, after its comment
    project = _project(tmp_path, **{"vllm_lora_summarizer.toml": text})
    repo = "moo3030/Llama-3.2-1B-QLoRA-Summarizer-adapters"
    with standin_hub({repo: {"main": ADAPTER_MAIN}}) as hub:
        result = _pin(hub, project)
    assert result.exit_code == 0, result.output
    pinned = (project / "specs" / "vllm_lora_summarizer.toml").read_text()
    assert pinned == text.replace('\nrevision = "main"\n', f'\nrevision = "{ADAPTER_MAIN}"\n')
    assert hub.requests == [(f"/api/models/{repo}/revision/main", None)]
    validated = CliRunner().invoke(main, ["validate", "-C", str(project)])
    assert "branch or tag" not in validated.output

"""Images and build steps: layers in the spec's order, weights downloaded while the image builds,
the server then offline, and the engine's config file.

Apps are generated from specs written here and imported with the real `modal` package; the
download step runs against the stand-in for the Hugging Face Hub (no network), the server
against the stand-in engine.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.checks.checks import run_checks, run_warnings
from generator.model.models import Spec
from generator.project.project import Project
from generator.spec.errors import SpecError
from tests.support.engine import STANDIN_PATH, StandinLog
from tests.support.introspect import describe_app, import_app_file, lifecycle_method

REVISION = "0123456789abcdef0123456789abcdef01234567"
BASE: dict[str, Any] = {
    "version": 1,
    "app": {"name": "build-steps", "class_name": "Server"},
    "image": {"registry_tag": "lmsysorg/sglang:v0.5.9-cu129-amd64-runtime"},
    "model": {"name": "Qwen/Qwen3-8B", "revision": REVISION},
    "volumes": [{"name": "huggingface-cache", "mount_path": "/root/.cache/huggingface"}],
    "deep_gemm": {"enabled": False},
    "server": {
        "kind": "server",
        "gpu": "H100",
        "target_concurrency": 4,
        "port": 18433,
        "startup_timeout": 600,
    },
}


def spec(**sections: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


def generate(tmp_path: Path, data: dict[str, Any], name: str = "app") -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    (specs / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    project = Project(tmp_path)
    for output in project.render(project.discover_specs()):
        project.write(output)
    return tmp_path / "generated" / f"{name}.py"


def messages(data: dict[str, Any], warnings: bool = False) -> list[str]:
    model = Spec.model_validate(data)
    found = run_warnings(model) if warnings else run_checks(model)
    return [f"{'.'.join(map(str, field))}: {message}" for field, message in found]


# ## Image layers


def test_layers_keep_the_spec_order_and_each_command_stays_one_literal(tmp_path: Path) -> None:
    layers = [
        {"apt_install": ["git"]},
        {"uv_pip_install": ["numpy==2.2.0"], "extra_index_url": "https://example.com/simple"},
        {"run_commands": ["echo 'one; two' > /tmp/a", "echo $HOME && ls"]},
        {"env": {"A": "1"}},
        {"pip_install": ["requests==2.32.0"]},
    ]
    path = generate(tmp_path, spec(image={"layers": layers}))
    (service,) = describe_app(import_app_file(path)).services.values()
    commands = [
        command for layer in service.image.facts()["layers"] for command in layer["dockerfile"]
    ]
    order = [
        next(i for i, c in enumerate(commands) if "apt-get install" in c and "git" in c),
        next(i for i, c in enumerate(commands) if "numpy==2.2.0" in c),
        commands.index("RUN echo 'one; two' > /tmp/a"),
        commands.index("RUN echo $HOME && ls"),
        commands.index("ENV A=1"),
        next(i for i, c in enumerate(commands) if "requests==2.32.0" in c),
    ]
    assert order == sorted(order)
    assert any("--extra-index-url https://example.com/simple" in c for c in commands)


def test_image_from_a_digest_and_from_debian_slim(tmp_path: Path) -> None:
    digest = "lmsysorg/sglang@sha256:" + "ab" * 32
    path = generate(tmp_path, spec(image={"registry_tag": digest, "engine_version": "0.5.9"}))
    (service,) = describe_app(import_app_file(path)).services.values()
    assert service.image.facts()["base"] == {"registry": digest}


def test_unpinned_packages_are_a_warning() -> None:
    layers = [{"uv_pip_install": ["vllm", "numpy==2.2.0", "torch>=2"]}]
    found = messages(spec(image={"layers": layers}), warnings=True)
    assert [m.split(":")[0] for m in found if "not pinned" in m] == [
        "image.layers.0.uv_pip_install.0",
        "image.layers.0.uv_pip_install.2",
    ]


# What a command may hold: one line without control characters (Cc: C0, DEL, U+0085) or
# Unicode line and paragraph separators, and no backslash at its end.
one_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda text: not text.rstrip(" ").endswith("\\"))


@settings(max_examples=200 if "CI" in __import__("os").environ else 30, deadline=None)
@given(commands=st.lists(one_line, min_size=1, max_size=3))
def test_commands_come_back_exactly_as_written(commands: list[str], tmp_path_factory) -> None:
    tmp_path = tmp_path_factory.mktemp("commands")
    data = spec(image={"layers": [{"run_commands": commands}]})
    data["image"]["check_engine_options"] = False
    try:
        path = generate(tmp_path, data)
    except Exception as error:  # a credential-shaped command is refused, as it should be
        assert "credential" in str(error) or "looks like" in str(error), error
        return
    tree = ast.parse(path.read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run_commands"
    ]
    (call,) = calls
    assert [ast.literal_eval(arg) for arg in call.args] == commands


# ## Weights at build time


def test_download_needs_a_volume_over_the_cache() -> None:
    data = spec(model={"download": "build"}, volumes=[])
    (message,) = [m for m in messages(data) if m.startswith("model.download")]
    assert "writes to /root/.cache/huggingface/hub" in message
    assert 'mount_path = "/root/.cache/huggingface"' in message


def test_a_gated_model_needs_a_secret() -> None:
    data = spec(model={"name": "meta-llama/Llama-3.1-8B-Instruct", "download": "build"})
    (message,) = [m for m in messages(data) if "gated" in m]
    assert "modal secret create huggingface HF_TOKEN=hf_..." in message
    data["secrets"] = ["huggingface"]
    assert not [m for m in messages(data) if "gated" in m]


def test_patterns_that_exclude_every_weight_file_are_refused() -> None:
    allowing = spec(model={"download": {"at": "build", "allow_patterns": ["*.json"]}})
    assert any("no weights file matches" in m for m in messages(allowing))
    ignoring = spec(
        model={"download": {"at": "build", "ignore_patterns": ["*.safetensors", "*.bin"]}}
    )
    assert any("skips every weights file" in m for m in messages(ignoring))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in `huggingface_hub` importable here, with the Volume's cache in `tmp_path`."""
    monkeypatch.syspath_prepend(str(STANDIN_PATH))
    monkeypatch.delitem(sys.modules, "huggingface_hub", raising=False)
    volume = tmp_path / "volume"
    monkeypatch.setenv("HF_HUB_CACHE", str(volume / "hub"))
    return volume


def test_download_fetches_the_pinned_revision_and_the_server_starts_offline(
    tmp_path: Path, hub: Path, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = spec(
        model={
            "download": {
                "at": "build",
                "allow_patterns": ["*.json", "*.safetensors"],
                "max_workers": 16,
            }
        },
        secrets=["huggingface"],
        warmup={"requests": 0},
    )
    path = generate(tmp_path / "project", data)
    (service,) = describe_app(import_app_file(path)).services.values()
    (step,) = service.image.build_steps
    assert step.name == "download_weights"
    assert step.declared["volumes"] == {
        "/root/.cache/huggingface": {"name": "huggingface-cache", "create_if_missing": True}
    }
    assert step.declared["secrets"] == ["huggingface"] and step.declared["timeout"] == 3600

    step.function()
    (event,) = standin.events("snapshot_download")
    assert event["repo_id"] == "Qwen/Qwen3-8B" and event["revision"] == REVISION
    assert event["allow_patterns"] == ["*.json", "*.safetensors"]
    assert event["max_workers"] == 16
    snapshot = hub / "hub" / "models--Qwen--Qwen3-8B" / "snapshots" / REVISION
    assert sorted(p.name for p in snapshot.iterdir())  # the weights are in the Volume

    assert service.user_cls is not None
    instance = service.user_cls()
    for attribute in service.lifecycle["enter_post_snapshot"]:
        lifecycle_method(service.user_cls, attribute)(instance)
    try:
        (launch,) = standin.events("launch_server")
        assert launch["hf_hub_offline"] == "1"
    finally:
        for attribute in service.lifecycle["exit"]:
            lifecycle_method(service.user_cls, attribute)(instance)


def test_a_build_time_secret_is_attached_only_where_it_is_used(tmp_path: Path) -> None:
    data = spec(
        model={"download": {"at": "build", "secrets": ["hub-token"]}},
        secrets=[],
    )
    path = generate(tmp_path, data)
    (service,) = describe_app(import_app_file(path)).services.values()
    (step,) = service.image.build_steps
    assert step.declared["secrets"] == ["hub-token"]
    assert service.declared["secrets"] == []


def test_commands_can_run_with_secrets_and_on_a_gpu(tmp_path: Path) -> None:
    layers = [
        {"run_commands": ["git clone https://example.com/private.git"], "secrets": ["github"]},
        {"run_commands": ["python -c 'import torch'"], "gpu": "H100:2"},
    ]
    path = generate(tmp_path, spec(image={"layers": layers}))
    source = path.read_text()
    assert '"git clone https://example.com/private.git",' in source
    assert 'secrets=[modal.Secret.from_name("github")]' in source
    assert 'gpu="H100:2"' in source
    describe_app(import_app_file(path))  # modal takes both keywords

    layers[1]["gpu"] = "H100:9"
    assert messages(spec(image={"layers": layers})) == [
        "image.layers.1.gpu.count: Modal attaches at most 8 H100 GPUs to one container; given 9"
    ]


def test_secret_keys_are_required_wherever_the_secret_is_attached(tmp_path: Path) -> None:
    layers = [{"uv_pip_install": ["numpy==2.2.0"], "secrets": ["huggingface", "index"]}]
    data = spec(
        model={"download": "build"},
        image={"layers": layers},
        secrets=["huggingface"],
        secret_keys={"huggingface": ["HF_TOKEN"]},
    )
    path = generate(tmp_path, data)
    module = import_app_file(path)
    tree = ast.parse(path.read_text())
    attached = [
        (node.args[0].value, {k.arg: ast.literal_eval(k.value) for k in node.keywords})
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "modal.Secret.from_name"
    ]
    # The server, the download step and the layer; the layer's other Secret is left as it is.
    assert attached.count(("huggingface", {"required_keys": ["HF_TOKEN"]})) == 3
    assert ("index", {}) in attached
    assert len(attached) == 4
    (service,) = describe_app(module).services.values()
    assert service.declared["secrets"] == ["huggingface"]  # and modal took the keyword

    data["secret_keys"] = {"hugginface": ["HF_TOKEN"]}
    assert messages(data) == [
        "secret_keys.hugginface: the app attaches no Secret named 'hugginface' (it attaches: "
        "huggingface, index); list it under `secrets`, or drop it here"
    ]


# ## Engine config files


def test_config_keys_are_checked_against_the_catalog() -> None:
    data = spec(engine={"config": {"mem-fraction-statc": 0.8}})
    (message,) = [m for m in messages(data) if m.startswith("engine.config")]
    assert "closest: `--mem-fraction-static`" in message


def test_an_option_set_twice_is_refused() -> None:
    data = spec(engine={"mem_fraction_static": 0.8, "config": {"mem-fraction-static": 0.85}})
    assert any(
        "`mem-fraction-static` is set here and by engine.mem_fraction_static" in m
        for m in messages(data)
    )


def test_config_file_is_written_and_passed(
    tmp_path: Path, standin: StandinLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"cuda-graph-max-bs": 32, "enable-metrics": True, "log-level": "debug"}
    path = generate(tmp_path, spec(engine={"config": config}, warmup={"requests": 0}))
    source = path.read_text()
    assert '"--cuda-graph-max-bs"' not in source  # the file decides it, not a default
    (service,) = describe_app(import_app_file(path)).services.values()
    assert service.user_cls is not None
    instance = service.user_cls()
    lifecycle_method(service.user_cls, "startup")(instance)
    try:
        (launch,) = standin.events("launch_server")
        assert launch["config"] == config
        assert "--config" in launch["argv"]
    finally:
        lifecycle_method(service.user_cls, "stop")(instance)


# ## Local files


def test_a_local_file_is_added_from_the_project(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "chat-template.jinja").write_text("{{ messages }}")
    layer = {"add_local_file": "config/chat-template.jinja", "remote_path": "/root/template.jinja"}
    path = generate(tmp_path, spec(image={"layers": [layer]}))
    (service,) = describe_app(import_app_file(path)).services.values()
    assert service.image.facts()["layers"][-1] == {
        "local_files": [
            {"local_name": "chat-template.jinja", "remote_path": "/root/template.jinja"}
        ]
    }
    assert service.image.mounted_files == {
        "/root/template.jinja": str(tmp_path / "config" / "chat-template.jinja")
    }


def test_a_local_folder_is_added_from_the_project(tmp_path: Path) -> None:
    (tmp_path / "patches" / "sub").mkdir(parents=True)
    (tmp_path / "patches" / "sub" / "fix.py").write_text("print('patched')\n")
    layer = {"add_local_dir": "patches", "remote_path": "/root/patches", "ignore": ["*.pyc"]}
    path = generate(tmp_path, spec(image={"layers": [layer]}))
    assert (
        '.add_local_dir(PROJECT_DIR / "patches", "/root/patches", ignore=["*.pyc"])'
        in path.read_text()
    )
    (service,) = describe_app(import_app_file(path)).services.values()
    assert service.image.facts()["layers"][-1] == {
        "local_dirs": [{"local_name": "patches", "remote_path": "/root/patches"}]
    }

    missing = {**layer, "add_local_dir": "nowhere"}
    with pytest.raises(SpecError, match="no folder 'nowhere' in the project"):
        generate(tmp_path / "other", spec(image={"layers": [missing]}))


@pytest.mark.parametrize(
    ("local", "expected"),
    [("missing.yaml", "no file 'missing.yaml' in the project"), ("../x.yaml", "lies outside")],
)
def test_a_local_file_must_exist_inside_the_project(
    tmp_path: Path, local: str, expected: str
) -> None:
    (tmp_path.parent / "x.yaml").write_text("a: 1")
    layer = {"add_local_file": local, "remote_path": "/root/x.yaml"}
    with pytest.raises(SpecError, match=expected) as refused:
        generate(tmp_path, spec(image={"layers": [layer]}))
    assert "image.layers[0].add_local_file" in str(refused.value)
    assert not (tmp_path / "generated").exists()


def test_private_registry_and_package_indexes(tmp_path: Path) -> None:
    layer = {
        "uv_pip_install": ["vllm==0.11.2"],
        "index_url": "https://pypi.example.com/simple",
        "find_links": "https://example.com/wheels",
        "pre": True,
        "secrets": ["index-token"],
    }
    image = {"registry_secret": "registry-login", "layers": [layer]}
    path = generate(tmp_path, spec(image=image))
    source = path.read_text()
    assert 'secret=modal.Secret.from_name("registry-login")' in source
    assert 'secrets=[modal.Secret.from_name("index-token")]' in source
    (service,) = describe_app(import_app_file(path)).services.values()
    commands = [c for layer in service.image.facts()["layers"] for c in layer["dockerfile"]]
    (install,) = [c for c in commands if "vllm==0.11.2" in c]
    for option in (
        "--index-url https://pypi.example.com/simple",
        "--find-links https://example.com/wheels",
        "--prerelease allow",
    ):
        assert option in install, install


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("link out", "patches/shadow is a symbolic link to {outside}, outside the project"),
        ("link to a folder out", "patches/etc is a symbolic link to {outside_dir}, outside"),
        ("fifo", "patches/fifo is a FIFO (named pipe), which cannot be copied into an image"),
        ("folder is a link out", "'patches' lies outside the project"),
    ],
)
def test_a_local_folder_that_leads_out_of_the_project_is_refused(
    tmp_path_factory: pytest.TempPathFactory, make: str, expected: str
) -> None:
    """As `patches/shadow -> /etc/shadow` would: what leaves the project, and special files,
    are refused when the spec is validated, before anything is written."""
    import os

    root = tmp_path_factory.mktemp("project")
    outside_dir = tmp_path_factory.mktemp("outside")
    outside = outside_dir / "shadow"
    outside.write_text("root:secret\n")
    patches = root / "patches"
    if make == "folder is a link out":
        patches.symlink_to(outside_dir)
    else:
        patches.mkdir()
        (patches / "fix.py").write_text("print('fix')\n")
    if make == "link out":
        (patches / "shadow").symlink_to(outside)
    elif make == "link to a folder out":
        (patches / "etc").symlink_to(outside_dir)
    elif make == "fifo":
        os.mkfifo(patches / "fifo")
    layer = {"add_local_dir": "patches", "remote_path": "/root/patches"}
    with pytest.raises(SpecError) as refused:
        generate(root, spec(image={"layers": [layer]}))
    (problem,) = refused.value.problems
    assert str(problem).startswith("specs/app.yaml:")
    assert "image.layers[0].add_local_dir: " in str(problem)
    assert expected.format(outside=outside, outside_dir=outside_dir) in str(problem)
    assert not (root / "generated").exists()


def test_a_local_file_linked_out_of_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "passwd").symlink_to("/etc/passwd")
    layer = {"add_local_file": "config/passwd", "remote_path": "/root/passwd"}
    with pytest.raises(SpecError, match=r"'config/passwd' lies outside the project \("):
        generate(tmp_path, spec(image={"layers": [layer]}))

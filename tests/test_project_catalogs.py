"""A project's own option catalogs: `modalgen catalog add` from a release file or a package
index (a stand-in on loopback), their manifest check, and their use beside the bundled ones in
validation and `modalgen flags`. The releases are small archives made from the extractor
fixtures; nothing here reaches beyond loopback."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli.cli import main
from generator.engines.catalog_folders import use_catalog_folders
from generator.engines.option_table import CATALOG_DIR
from generator.project.project import Project
from tests.conftest import ROOT

SGLANG_FIXTURE = ROOT / "tests" / "fixtures" / "sglang_catalog" / "fields_form"
VLLM_FIXTURE = ROOT / "tests" / "fixtures" / "vllm_catalog" / "dataclass_form"
REVISION = "0123456789abcdef0123456789abcdef01234567"
NEW_VERSION = "0.9.0"  # newer than every bundled SGLang catalog


@pytest.fixture(autouse=True)
def bundled_only() -> Iterator[None]:
    """Each test starts and ends with no project catalogs registered."""
    use_catalog_folders([])
    yield
    use_catalog_folders([])


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "-C", str(project)])


def sglang_wheel(directory: Path, version: str = NEW_VERSION) -> Path:
    """A wheel of the SGLang fixture's source, named as a release's."""
    wheel = directory / f"sglang-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in sorted(SGLANG_FIXTURE.rglob("*.py")):
            archive.write(path, path.relative_to(SGLANG_FIXTURE).as_posix())
        archive.writestr(f"sglang-{version}.dist-info/METADATA", "Name: sglang\n")
    return wheel


def vllm_sdist(directory: Path, version: str) -> Path:
    """An sdist of the vLLM fixture's source: `vllm-VERSION/vllm/...`."""
    sdist = directory / f"vllm-{version}.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for path in sorted(VLLM_FIXTURE.rglob("*.py")):
            archive.add(path, f"vllm-{version}/{path.relative_to(VLLM_FIXTURE).as_posix()}")
    return sdist


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def starter(project: Path, tag_version: str = NEW_VERSION) -> Path:
    result = run(project, "new", "demo", "--model", "org/name", "--revision", REVISION)
    assert result.exit_code == 2  # --gpu is required: the usage error, not a crash
    image = f"lmsysorg/sglang:v{tag_version}-cu130-runtime"
    result = run(
        project,
        *("new", "demo", "--model", "org/name", "--revision", REVISION, "--gpu", "H100:1"),
        *("--engine-image", image),
    )
    assert result.exit_code == 0, result.output
    spec = project / "specs" / "demo.toml"
    assert f'registry_tag = "{image}"' in spec.read_text(encoding="utf-8")
    return spec


def script(name: str):
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- catalog add from a file --------------------------------------------------------------------


def test_add_from_a_wheel_writes_what_the_script_writes(tmp_path: Path) -> None:
    wheel = sglang_wheel(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    result = run(project, "catalog", "add", "sglang", NEW_VERSION, "--from", str(wheel))
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "launch_server options" in result.output
    written = project / "catalogs" / f"sglang-{NEW_VERSION}.json"
    text = written.read_text(encoding="utf-8")
    assert json.loads(text)["sglang_version"] == NEW_VERSION
    digest = hashlib.sha256(text.encode()).hexdigest()
    manifest = (project / "catalogs" / "SHA256SUMS").read_text(encoding="utf-8")
    assert manifest == f"{digest}  sglang-{NEW_VERSION}.json\n"
    # The script that makes modalgen's own catalogs writes the same bytes.
    script("extract_sglang_catalog").main(
        [NEW_VERSION, "--wheel", str(wheel), "--output-dir", str(tmp_path / "script")]
    )
    assert (tmp_path / "script" / written.name).read_text(encoding="utf-8") == text


def test_add_vllm_from_an_sdist_and_the_manifest_keeps_every_entry(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    assert run(project, "catalog", "add", "sglang", NEW_VERSION, "--from", str(SGLANG_FIXTURE))
    for version in ("0.99.0", "0.99.1"):
        sdist = vllm_sdist(tmp_path, version)
        result = run(project, "catalog", "add", "vllm", version, "--from", str(sdist))
        assert result.exit_code == 0, result.output
        assert "serve options" in result.output
    catalogs = project / "catalogs"
    data = json.loads((catalogs / "vllm-0.99.0.json").read_text(encoding="utf-8"))
    assert data["vllm_version"] == "0.99.0"
    assert data["source"]["file"] == "vllm-0.99.0.tar.gz"
    assert "--enforce-eager" in {record["name"] for record in data["serve"]}
    lines = (catalogs / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert [line.split("  ")[1] for line in lines] == [
        f"sglang-{NEW_VERSION}.json",
        "vllm-0.99.0.json",
        "vllm-0.99.1.json",
    ]
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((catalogs / name).read_bytes()).hexdigest() == digest


def test_an_existing_catalog_is_replaced_only_with_force(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    first = run(project, "catalog", "add", "sglang", NEW_VERSION, "--from", str(SGLANG_FIXTURE))
    assert first.exit_code == 0, first.output
    before = snapshot(project)
    wheel = sglang_wheel(tmp_path)
    again = run(project, "catalog", "add", "sglang", NEW_VERSION, "--from", str(wheel))
    assert again.exit_code == 1
    assert f"sglang-{NEW_VERSION}.json exists: pass --force" in again.output
    assert snapshot(project) == before
    forced = run(project, "catalog", "add", "sglang", NEW_VERSION, "--from", str(wheel), "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.output.startswith("replaced")
    source = json.loads((project / "catalogs" / f"sglang-{NEW_VERSION}.json").read_text())
    assert source["source"]["wheel"] == wheel.name


def test_a_bundled_version_is_not_added_again_without_force(tmp_path: Path) -> None:
    result = run(tmp_path, "catalog", "add", "sglang", "0.5.9", "--from", str(SGLANG_FIXTURE))
    assert result.exit_code == 1
    assert "modalgen bundles the catalog of SGLang 0.5.9 already" in result.output
    assert not (tmp_path / "catalogs").exists()


@pytest.mark.parametrize(
    ("engine", "make", "message"),
    [
        # a release of another engine
        ("vllm", lambda d: sglang_wheel(d, "0.99.0"), "holds no vllm/engine/arg_utils.py"),
        # the file of another version
        ("sglang", lambda d: sglang_wheel(d, "0.8.0"), "is SGLang 0.8.0, not 0.9.0"),
        # not an archive at all
        ("sglang", lambda d: _text_file(d / "sglang-0.9.0.tar.gz"), "cannot read it as an sdist"),
    ],
)
def test_a_file_that_is_not_the_release_writes_nothing(
    tmp_path: Path, engine: str, make, message: str
) -> None:
    source = make(tmp_path)
    version = "0.99.0" if engine == "vllm" else NEW_VERSION
    result = run(tmp_path, "catalog", "add", engine, version, "--from", str(source))
    assert result.exit_code == 1
    assert message in result.output and "nothing was written" in result.output
    assert not (tmp_path / "catalogs").exists()


def _text_file(path: Path) -> Path:
    path.write_text("not an archive\n", encoding="utf-8")
    return path


# -- the project's catalogs in validation and flags ----------------------------------------------


def test_a_spec_on_a_version_only_the_project_has_is_checked_against_it(tmp_path: Path) -> None:
    starter(tmp_path)
    # Without the project's catalog: the closest older bundled one, and only warnings.
    result = run(tmp_path, "validate")
    assert result.exit_code == 0, result.output
    assert f"no option catalog for SGLang {NEW_VERSION}" in result.output
    assert f"`modalgen catalog add sglang {NEW_VERSION}` adds the exact catalog" in result.output
    added = run(tmp_path, "catalog", "add", "sglang", NEW_VERSION, "--from", str(SGLANG_FIXTURE))
    assert added.exit_code == 0, added.output
    # The fixture's SGLang has no --port: the exact catalog refuses what the starter passes.
    result = run(tmp_path, "validate")
    assert result.exit_code == 1
    assert "no option catalog" not in result.output
    assert (
        f"server.port: `--port` is not an option of `sglang.launch_server` of SGLang {NEW_VERSION}"
        in result.output
    )
    assert run(tmp_path, "generate").exit_code == 1
    assert not (tmp_path / "generated").exists()


def test_flags_lists_bundled_and_project_versions(tmp_path: Path) -> None:
    for version in (NEW_VERSION, "0.5.9"):
        result = run(
            tmp_path, "catalog", "add", "sglang", version, "--from", str(SGLANG_FIXTURE), "--force"
        )
        assert result.exit_code == 0, result.output
    listed = run(tmp_path, "flags", "--versions", "sglang")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "sglang 0.5.23  bundled" in lines
    assert f"sglang {NEW_VERSION}  project ({tmp_path / 'catalogs'}/)" in lines
    assert (
        f"sglang 0.5.9  project ({tmp_path / 'catalogs'}/), used instead of the bundled one"
        in lines
    )
    assert lines[-1].startswith(f"sglang {NEW_VERSION}")  # oldest first
    assert all(line.startswith("sglang ") for line in lines)
    both = run(tmp_path, "flags", "--versions").output.splitlines()
    assert "vllm 0.33.0  bundled" in both and set(lines) < set(both)
    # The options of the project's version, and the bundled catalogs untouched.
    options = run(tmp_path, "flags", "sglang", NEW_VERSION, "attention")
    assert options.exit_code == 0, options.output
    assert options.output.startswith("--attention-backend  [str; choices: triton, fa3")
    assert f"sglang-{NEW_VERSION}.json" not in {path.name for path in CATALOG_DIR.iterdir()}
    assert run(tmp_path, "flags", "--versions", "sglang", "x").exit_code == 2


def test_adding_a_catalog_makes_check_validate_again(tmp_path: Path) -> None:
    before = Project(tmp_path).modalgen
    assert Project(tmp_path).modalgen == before
    run(tmp_path, "catalog", "add", "sglang", NEW_VERSION, "--from", str(SGLANG_FIXTURE))
    added = Project(tmp_path).modalgen
    assert added != before
    catalog = tmp_path / "catalogs" / f"sglang-{NEW_VERSION}.json"
    catalog.write_text(catalog.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert Project(tmp_path).modalgen not in (before, added)


# -- a damaged catalog folder -------------------------------------------------------------------


def _damage_by_editing(catalog: Path) -> str:
    catalog.write_text(catalog.read_text(encoding="utf-8").replace("Attention", "Edited"))
    return "its sha256 is not the one"


def _damage_json_and_manifest(catalog: Path) -> str:
    catalog.write_text("{not json", encoding="utf-8")
    digest = hashlib.sha256(catalog.read_bytes()).hexdigest()
    (catalog.parent / "SHA256SUMS").write_text(f"{digest}  {catalog.name}\n", encoding="utf-8")
    return "not valid JSON"


def _damage_manifest(catalog: Path) -> str:
    (catalog.parent / "SHA256SUMS").unlink()
    return "no SHA256SUMS beside it"


@pytest.mark.parametrize(
    "damage", [_damage_by_editing, _damage_json_and_manifest, _damage_manifest]
)
def test_a_damaged_catalog_is_named_and_changes_nothing(tmp_path: Path, damage) -> None:
    starter(tmp_path)
    run(tmp_path, "catalog", "add", "sglang", NEW_VERSION, "--from", str(SGLANG_FIXTURE))
    catalog = tmp_path / "catalogs" / f"sglang-{NEW_VERSION}.json"
    problem = damage(catalog)
    before = snapshot(tmp_path)
    for command in ("validate", "generate", "check"):
        result = run(tmp_path, command)
        assert result.exit_code == 1, (command, result.output)
        assert f"image.registry_tag: {catalog}: {problem}" in result.output, command
        assert f"`modalgen catalog add sglang {NEW_VERSION} --force`" in result.output
    flags = run(tmp_path, "flags", "sglang", NEW_VERSION)
    assert flags.exit_code == 1 and f"{catalog}: {problem}" in flags.output
    # Adding another catalog would rewrite the manifest: refused while one is damaged.
    other = run(tmp_path, "catalog", "add", "vllm", "0.99.0", "--from", str(VLLM_FIXTURE))
    assert other.exit_code == 1
    assert str(catalog) in other.output and "nothing was written" in other.output
    assert snapshot(tmp_path) == before
    # Extracting the damaged one again mends it.
    forced = run(
        tmp_path, "catalog", "add", "sglang", NEW_VERSION, "--from", str(SGLANG_FIXTURE), "--force"
    )
    assert forced.exit_code == 0, forced.output
    assert "--port` is not an option" in run(tmp_path, "validate").output


# -- catalog add from a package index (a stand-in on loopback) ----------------------------------


class StandInIndex:
    """A package index's simple API for one project, serving its files too."""

    def __init__(self, files: dict[str, bytes], html: bool = False, bad_hash: bool = False):
        self.files = files
        self.html = html
        self.bad_hash = bad_hash
        self.requests: list[str] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append(self.path)
                body, kind = index.answer(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    def digest(self, data: bytes) -> str:
        return hashlib.sha256(b"other" if self.bad_hash else data).hexdigest()

    def answer(self, path: str) -> tuple[bytes | None, str]:
        if path.startswith("/files/"):
            return self.files.get(path.removeprefix("/files/")), "application/octet-stream"
        if path != "/simple/sglang/":
            return None, "text/plain"
        if self.html:
            links = "".join(
                f'<a href="../../files/{name}#sha256={self.digest(data)}">{name}</a>\n'
                for name, data in self.files.items()
            )
            return f"<html><body>{links}</body></html>".encode(), "text/html"
        document = {
            "meta": {"api-version": "1.0"},
            "name": "sglang",
            "files": [
                {"filename": name, "url": f"/files/{name}", "hashes": {"sha256": self.digest(data)}}
                for name, data in self.files.items()
            ],
        }
        return json.dumps(document).encode(), "application/vnd.pypi.simple.v1+json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def release_files(tmp_path: Path) -> dict[str, bytes]:
    releases = tmp_path / "releases"
    releases.mkdir()
    wheel = sglang_wheel(releases)
    return {
        "sglang-0.8.0.tar.gz": b"an sdist the wheel is preferred to",
        wheel.name: wheel.read_bytes(),
    }


@pytest.mark.parametrize("html", [False, True])
def test_add_downloads_the_release_from_the_index(
    tmp_path: Path, release_files: dict[str, bytes], html: bool
) -> None:
    index = StandInIndex(release_files, html=html)
    try:
        project = tmp_path / "project"
        project.mkdir()
        result = run(project, "catalog", "add", "sglang", NEW_VERSION, "--index-url", index.url)
    finally:
        index.close()
    assert result.exit_code == 0, result.output
    wheel = f"sglang-{NEW_VERSION}-py3-none-any.whl"
    assert index.requests == ["/simple/sglang/", f"/files/{wheel}"]
    catalog = json.loads((project / "catalogs" / f"sglang-{NEW_VERSION}.json").read_text())
    assert catalog["source"]["wheel"] == wheel


def test_the_index_url_comes_from_pip_index_url(
    tmp_path: Path, release_files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = StandInIndex(release_files)
    monkeypatch.setenv("PIP_INDEX_URL", index.url)
    try:
        result = run(tmp_path, "catalog", "add", "sglang", NEW_VERSION)
    finally:
        index.close()
    assert result.exit_code == 0, result.output
    assert (tmp_path / "catalogs" / f"sglang-{NEW_VERSION}.json").is_file()


def test_a_version_with_no_release_on_the_index_writes_nothing(
    tmp_path: Path, release_files: dict[str, bytes]
) -> None:
    index = StandInIndex(release_files)
    try:
        result = run(tmp_path, "catalog", "add", "sglang", "0.9.1", "--index-url", index.url)
    finally:
        index.close()
    assert result.exit_code == 1
    assert (
        f"the package index {index.url} has no release sglang 0.9.1 (its newest: 0.8.0, 0.9.0)"
        in result.output
    )
    assert "--from FILE" in result.output and "nothing was written" in result.output
    assert index.requests == ["/simple/sglang/"]
    assert not (tmp_path / "catalogs").exists()


def test_a_download_whose_hash_does_not_match_writes_nothing(
    tmp_path: Path, release_files: dict[str, bytes]
) -> None:
    index = StandInIndex(release_files, bad_hash=True)
    try:
        result = run(tmp_path, "catalog", "add", "sglang", NEW_VERSION, "--index-url", index.url)
    finally:
        index.close()
    assert result.exit_code == 1
    assert "its sha256 does not match the index's; nothing was written" in result.output
    assert not (tmp_path / "catalogs").exists()


def test_an_unreachable_index_says_to_use_from(tmp_path: Path) -> None:
    index = StandInIndex({})
    url = index.url
    index.close()  # nothing listens there any more
    result = run(tmp_path, "catalog", "add", "sglang", NEW_VERSION, "--index-url", url)
    assert result.exit_code == 1
    assert f"cannot read the package index at {url}sglang/" in result.output
    assert "give the release's sdist or wheel with --from FILE" in result.output
    assert not (tmp_path / "catalogs").exists()

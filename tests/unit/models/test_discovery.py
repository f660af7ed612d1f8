"""`lfcode models` and model references on fake Ollama, LM Studio, Hugging Face and llama.cpp
stores built in a temporary HOME with tiny GGUF models (real files, real llama.cpp)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from lfcode.backends import embedded
from lfcode.cli import cli
from lfcode.errors import BackendError
from lfcode.models import stores
from lfcode.models.references import resolve_model
from lfcode.models.service import list_models
from tests.tinygguf import write_tiny_gguf

CHAT = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
STORE_VARS = ("OLLAMA_MODELS", "HF_HUB_CACHE", "HF_HOME", "LLAMA_CACHE", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME; no store variable set; Ollama's system store moved under tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in STORE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(stores, "OLLAMA_SYSTEM_STORE", tmp_path / "usr-share-ollama" / "models")
    return home


def ollama_model(store: Path, name: str, tag: str, gguf: Path, *, host: str = "registry.ollama.ai",
                 namespace: str = "library") -> Path:
    """Pull ``gguf`` into the Ollama ``store`` as Ollama does (blob + manifest); returns the blob."""
    data = gguf.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    blob = store / "blobs" / f"sha256-{digest}"
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    manifest = store / "manifests" / host / namespace / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
        "layers": [
            {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}", "size": len(data)},
            {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "1" * 64, "size": 10},
        ],
    }))
    return blob


def hf_model(hub: Path, repo_id: str, files: dict[str, Path], revision: str = "a" * 40, *, main: bool = True) -> Path:
    """A Hugging Face cache entry: blobs, ``snapshots/<revision>/<file>`` symlinks, ``refs/main``."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    for relative, gguf in files.items():
        data = gguf.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / revision / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(revision)
    return repo / "snapshots" / revision


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Path]:
    """Tiny models: a Qwen-style FIM base model, a chat model, a FIM model with a chat template."""
    folder = tmp_path / "src"
    folder.mkdir()
    return {
        "fim": write_tiny_gguf(folder / "fim.gguf", family="qwen", n_ctx=512),
        "chat": write_tiny_gguf(folder / "chat.gguf", chat_template=CHAT, n_ctx=1024),
        "both": write_tiny_gguf(folder / "both.gguf", family="codegemma", chat_template=CHAT, n_ctx=2048),
        "base": write_tiny_gguf(folder / "base.gguf", seed=1),
    }


def by_name(listing) -> dict[str, object]:
    return {m.name: m for m in listing.models}


# --- discovery ----------------------------------------------------------------------------------


def test_ollama_store_names_blobs_and_header_facts(home: Path, models: dict[str, Path]) -> None:
    store = home / ".ollama" / "models"
    coder = ollama_model(store, "tiny-coder", "1.5b", models["fim"])
    ollama_model(store, "tiny-coder", "latest", models["fim"])
    chat = ollama_model(store, "chatty", "7b", models["chat"], namespace="someone")
    ollama_model(store, "tiny-both", "Q4_K_M", models["both"], host="hf.co", namespace="org")
    found = by_name(list_models())
    assert set(found) == {"tiny-coder:1.5b", "tiny-coder:latest", "someone/chatty:7b", "hf.co/org/tiny-both:Q4_K_M"}
    coder_entry = found["tiny-coder:1.5b"]
    assert (coder_entry.source, coder_entry.reference, coder_entry.path) == ("ollama", "ollama:tiny-coder:1.5b", str(coder))
    assert (coder_entry.architecture, coder_entry.fim, coder_entry.chat_template, coder_entry.roles) == ("llama", "qwen", False, ["completion"])
    assert (coder_entry.context_length, coder_entry.quantization, coder_entry.size_bytes) == (512, "F32", models["fim"].stat().st_size)
    chat_entry = found["someone/chatty:7b"]
    assert (chat_entry.path, chat_entry.fim, chat_entry.chat_template, chat_entry.roles) == (str(chat), None, True, ["chat"])
    both = found["hf.co/org/tiny-both:Q4_K_M"]
    assert (both.architecture, both.fim, both.roles, both.context_length) == ("gemma", "codegemma", ["completion", "chat"], 2048)


def test_ollama_models_variable_replaces_the_home_store_and_the_system_store_is_read(
    home: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ollama_model(home / ".ollama" / "models", "ignored", "latest", models["fim"])
    ollama_model(tmp_path / "elsewhere", "mine", "latest", models["fim"])
    ollama_model(stores.OLLAMA_SYSTEM_STORE, "service", "latest", models["chat"])
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "elsewhere"))
    assert set(by_name(list_models())) == {"mine:latest", "service:latest"}


def test_lmstudio_home_pointer_and_the_older_cache_folder(home: Path, models: dict[str, Path], tmp_path: Path) -> None:
    moved = tmp_path / "lmstudio-home"
    (moved / "models" / "pub" / "coder-GGUF").mkdir(parents=True)
    (moved / "models" / "pub" / "coder-GGUF" / "coder-Q4_K_M.gguf").write_bytes(models["fim"].read_bytes())
    (home / ".lmstudio-home-pointer").write_text(f"{moved}\n")
    (home / ".lmstudio" / "models" / "pub" / "hidden").mkdir(parents=True)  # not read: the pointer wins
    (home / ".lmstudio" / "models" / "pub" / "hidden" / "x.gguf").write_bytes(models["fim"].read_bytes())
    old = home / ".cache" / "lm-studio" / "models" / "old" / "chat-GGUF"
    old.mkdir(parents=True)
    (old / "chat.gguf").write_bytes(models["chat"].read_bytes())
    found = by_name(list_models())
    assert set(found) == {"pub/coder-GGUF/coder-Q4_K_M.gguf", "old/chat-GGUF/chat.gguf"}
    assert found["pub/coder-GGUF/coder-Q4_K_M.gguf"].reference == "lmstudio:pub/coder-GGUF/coder-Q4_K_M.gguf"
    assert found["old/chat-GGUF/chat.gguf"].roles == ["chat"]


def test_hugging_face_cache_follows_refs_main(home: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    hub = home / ".cache" / "huggingface" / "hub"
    current = hf_model(hub, "Org/Coder-GGUF", {"coder-q4_k_m.gguf": models["fim"], "sub/part.gguf": models["base"]}, "b" * 40)
    hf_model(hub, "Org/Coder-GGUF", {"coder-old.gguf": models["chat"]}, "c" * 40, main=False)  # an older snapshot
    found = by_name(list_models())
    assert set(found) == {"Org/Coder-GGUF/coder-q4_k_m.gguf", "Org/Coder-GGUF/sub/part.gguf"}
    entry = found["Org/Coder-GGUF/coder-q4_k_m.gguf"]
    assert (entry.source, entry.reference, entry.path) == ("huggingface", "hf:Org/Coder-GGUF/coder-q4_k_m.gguf", str(current / "coder-q4_k_m.gguf"))
    assert entry.fim == "qwen" and entry.size_bytes == models["fim"].stat().st_size  # the blob's size, not the link's
    # Without refs/main every snapshot is listed; HF_HOME moves the cache.
    monkeypatch.setenv("HF_HOME", str(home / "hf-home"))
    hf_model(home / "hf-home" / "hub", "Org/NoRefs", {"a.gguf": models["fim"]}, "d" * 40, main=False)
    hf_model(home / "hf-home" / "hub", "Org/NoRefs", {"b.gguf": models["chat"]}, "e" * 40, main=False)
    assert set(by_name(list_models())) == {"Org/NoRefs/a.gguf", "Org/NoRefs/b.gguf"}
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))  # wins over HF_HOME
    assert "Org/Coder-GGUF/coder-q4_k_m.gguf" in by_name(list_models())


def test_llama_cpp_cache_user_folders_and_split_models(home: Path, models: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "llama-cache"
    cache.mkdir()
    (cache / "org_repo_coder.gguf").write_bytes(models["fim"].read_bytes())
    monkeypatch.setenv("LLAMA_CACHE", str(cache))
    mine = tmp_path / "mine" / "deep"
    mine.mkdir(parents=True)
    (mine / "big-00001-of-00002.gguf").write_bytes(models["base"].read_bytes())
    (mine / "big-00002-of-00002.gguf").write_bytes(b"x" * 10)
    (mine / "notes.txt").write_text("not a model")
    listing = list_models([tmp_path / "mine", tmp_path / "missing"])
    found = by_name(listing)
    assert set(found) == {"org_repo_coder.gguf", "deep/big-00001-of-00002.gguf"}
    assert found["org_repo_coder.gguf"].source == "llama.cpp"
    split = found["deep/big-00001-of-00002.gguf"]
    assert (split.source, split.reference) == ("path", str(mine / "big-00001-of-00002.gguf"))
    assert split.size_bytes == models["base"].stat().st_size + 10  # every part
    assert [(p.location, p.reason) for p in listing.problems] == [(str(tmp_path / "missing"), "no such folder")]


def test_broken_manifests_missing_blobs_and_non_gguf_files_are_reported_not_fatal(home: Path, models: dict[str, Path]) -> None:
    store = home / ".ollama" / "models"
    ollama_model(store, "good", "latest", models["fim"])
    library = store / "manifests" / "registry.ollama.ai" / "library"
    (library / "torn").mkdir()
    (library / "torn" / "latest").write_text("{not json")
    (library / "nolayer").mkdir()
    (library / "nolayer" / "latest").write_text(json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.license"}]}))
    (library / "gone").mkdir()
    (library / "gone" / "latest").write_text(json.dumps({"layers": [{"mediaType": stores.OLLAMA_MODEL_LAYER, "digest": "sha256:" + "f" * 64}]}))
    lms = home / ".lmstudio" / "models" / "pub" / "junk"
    lms.mkdir(parents=True)
    (lms / "zip.gguf").write_bytes(b"PK\x03\x04 not a model")
    (lms / "cut.gguf").write_bytes(models["fim"].read_bytes()[:600])
    listing = list_models()
    found = by_name(listing)
    assert found["good:latest"].error is None and found["good:latest"].fim == "qwen"
    assert found["pub/junk/zip.gguf"].error == "not a valid GGUF file: no GGUF magic at its start (another format?)"
    assert "truncated" in found["pub/junk/cut.gguf"].error and found["pub/junk/cut.gguf"].roles == []
    reasons = {Path(p.location).parent.name: p.reason for p in listing.problems}
    assert set(reasons) == {"torn", "nolayer", "gone"}
    assert "not JSON" in reasons["torn"] and "no layer" in reasons["nolayer"] and "missing" in reasons["gone"]


def test_an_unreadable_folder_is_a_problem(home: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    store = home / ".ollama" / "models"
    ollama_model(store, "fine", "latest", models["fim"])
    locked = home / ".lmstudio" / "models"
    locked.mkdir(parents=True)
    real_iterdir = Path.iterdir

    def iterdir(self: Path):
        if self == locked:  # tests run as root, so chmod would not stop the read
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    listing = list_models()
    assert list(by_name(listing)) == ["fine:latest"]
    assert [(p.location, p.reason) for p in listing.problems] == [(str(locked), "cannot read the folder: Permission denied")]


# --- references ---------------------------------------------------------------------------------


def test_resolve_each_scheme(home: Path, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = home / ".ollama" / "models"
    latest = ollama_model(store, "tiny-coder", "latest", models["fim"])
    tagged = ollama_model(store, "tiny-coder", "1.5b", models["chat"])
    spaced = ollama_model(store, "chatty", "7b", models["both"], namespace="someone")
    assert resolve_model("ollama:tiny-coder") == latest
    assert resolve_model("ollama:tiny-coder:1.5b") == tagged
    assert resolve_model("ollama:someone/chatty:7b") == spaced
    other_host = ollama_model(store, "tiny-base", "Q4_K_M", models["base"], host="hf.co", namespace="org")
    assert resolve_model("ollama:hf.co/org/tiny-base:Q4_K_M") == other_host
    one = home / ".lmstudio" / "models" / "pub" / "one-GGUF"
    one.mkdir(parents=True)
    (one / "one.gguf").write_bytes(b"GGUF")
    (one / "mmproj-one-f16.gguf").write_bytes(b"GGUF")  # a vision projector is not the model
    assert resolve_model("lmstudio:pub/one-GGUF") == one / "one.gguf"
    assert resolve_model("lmstudio:pub/one-GGUF/mmproj-one-f16.gguf") == one / "mmproj-one-f16.gguf"
    snapshot = hf_model(home / ".cache" / "huggingface" / "hub", "Org/Coder-GGUF", {"coder.gguf": models["fim"]})
    assert resolve_model("hf:Org/Coder-GGUF/coder.gguf") == snapshot / "coder.gguf"
    assert resolve_model("hf:Org/Coder-GGUF") == snapshot / "coder.gguf"
    plain = tmp_path / "plain.gguf"
    plain.write_bytes(b"GGUF")
    assert resolve_model(str(plain)) == plain
    assert resolve_model("~/.lmstudio/models/pub/one-GGUF/one.gguf") == one / "one.gguf"
    monkeypatch.setattr(embedded, "embedded_model_path", lambda env=None: tmp_path / "the-embedded.gguf")
    assert resolve_model("embedded") == tmp_path / "the-embedded.gguf"


def test_misses_name_the_closest_matches(home: Path, models: dict[str, Path]) -> None:
    store = home / ".ollama" / "models"
    ollama_model(store, "qwen2.5-coder", "1.5b", models["fim"])
    ollama_model(store, "llama3.2", "3b", models["chat"])
    hf_model(home / ".cache" / "huggingface" / "hub", "Org/Coder-GGUF", {"coder-q4_k_m.gguf": models["fim"]})
    with pytest.raises(BackendError, match=r"not found: no such model in the Ollama stores.*closest matches: ollama:qwen2.5-coder:1.5b") as caught:
        resolve_model("ollama:qwen2.5-coder:1.5")
    assert "llama3.2" not in str(caught.value)
    with pytest.raises(BackendError, match=r"closest matches: hf:Org/Coder-GGUF/coder-q4_k_m.gguf"):
        resolve_model("hf:Org/Coder-GGUF/coder-q4_k_s.gguf")
    with pytest.raises(BackendError, match=r"model file not found: qwen2.5-coder:1.5b; closest matches: ollama:qwen2.5-coder:1.5b"):
        resolve_model("qwen2.5-coder:1.5b")  # the scheme forgotten
    with pytest.raises(BackendError, match=r"lmstudio.*`lfcode models` lists"):
        resolve_model("lmstudio:nobody/nothing")


def test_ambiguous_malformed_and_broken_references(home: Path, models: dict[str, Path]) -> None:
    two = home / ".lmstudio" / "models" / "pub" / "two-GGUF"
    two.mkdir(parents=True)
    (two / "two-Q4_K_M.gguf").write_bytes(b"GGUF")
    (two / "two-Q8_0.gguf").write_bytes(b"GGUF")
    with pytest.raises(BackendError, match=r"ambiguous: .* 2 model files \(two-Q4_K_M.gguf, two-Q8_0.gguf\)"):
        resolve_model("lmstudio:pub/two-GGUF")
    with pytest.raises(BackendError, match="write an Ollama model as"):
        resolve_model("ollama:a/b/c/d")
    with pytest.raises(BackendError, match="write a Hugging Face file as"):
        resolve_model("hf:just-a-name")
    torn = home / ".ollama" / "models" / "manifests" / "registry.ollama.ai" / "library" / "torn"
    torn.mkdir(parents=True)
    (torn / "latest").write_text("{")
    with pytest.raises(BackendError, match="broken manifest"):
        resolve_model("ollama:torn")


def test_model_path_of_the_settings_resolves_references(home: Path, models: dict[str, Path]) -> None:
    from lfcode.backends import model_path
    from lfcode.settings import Settings

    blob = ollama_model(home / ".ollama" / "models", "tiny-coder", "latest", models["fim"])
    assert model_path(Settings(model="ollama:tiny-coder")) == blob
    with pytest.raises(BackendError, match="closest matches: ollama:tiny-coder:latest"):
        model_path(Settings(model="ollama:tiny-codr"))


# --- the command --------------------------------------------------------------------------------


def test_lfcode_models_json(home: Path, models: dict[str, Path], tmp_path: Path) -> None:
    ollama_model(home / ".ollama" / "models", "tiny-coder", "1.5b", models["fim"])
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "chat.gguf").write_bytes(models["chat"].read_bytes())
    result = CliRunner().invoke(cli, ["models", "--format", "json", "--path", str(folder)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {m["reference"]: m for m in data["models"]}
    assert set(rows) == {"ollama:tiny-coder:1.5b", str(folder / "chat.gguf")}
    coder = rows["ollama:tiny-coder:1.5b"]
    assert {k: coder[k] for k in ("name", "source", "architecture", "fim", "chat_template", "roles", "context_length", "loadable")} == {
        "name": "tiny-coder:1.5b", "source": "ollama", "architecture": "llama", "fim": "qwen", "chat_template": False,
        "roles": ["completion"], "context_length": 512, "loadable": None,
    }
    assert rows[str(folder / "chat.gguf")]["roles"] == ["chat"]
    assert str(folder) in data["searched"] and data["problems"] == []


def test_lfcode_models_with_nothing_found_exits_0_and_says_so(home: Path) -> None:
    result = CliRunner().invoke(cli, ["models"])  # not a terminal: JSON
    assert result.exit_code == 0
    assert json.loads(result.stdout)["models"] == []
    assert "no GGUF model found (searched " in result.stderr and str(home / ".ollama" / "models") in result.stderr
    table = CliRunner().invoke(cli, ["models", "--format", "table"])
    assert (table.exit_code, table.stdout) == (0, "") and "no GGUF model found" in table.stderr


def test_lfcode_models_table(home: Path, models: dict[str, Path]) -> None:
    ollama_model(home / ".ollama" / "models", "tiny-coder", "1.5b", models["fim"])
    lms = home / ".lmstudio" / "models" / "pub" / "evil\x1b[31m"
    lms.mkdir(parents=True)
    (lms / "m.gguf").write_bytes(b"not gguf")
    result = CliRunner().invoke(cli, ["models", "--format", "table"], terminal_width=200)
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "ollama:tiny-coder:1.5b" in line)
    assert all(cell in row for cell in ("llama", "F32", "512", "qwen", "completion"))
    assert "\x1b" not in result.stdout  # the escape sequence in the folder name is removed
    bad = next(line for line in result.stdout.splitlines() if "lmstudio:pub/evil/m.gguf" in line)
    assert "invalid [1]" in bad
    assert "[1] lmstudio:pub/evil/m.gguf: not a valid GGUF file: no GGUF magic" in result.stdout


def test_ollama_reference_serves_completions(home: Path, models: dict[str, Path], tmp_path: Path) -> None:
    """The issue's "done when": a model in a fake Ollama store, named in the user's config as
    ``model = "ollama:NAME"``, serves `lfcode complete` through the real llama.cpp backend."""
    blob = ollama_model(home / ".ollama" / "models", "tiny-coder", "1.5b", models["fim"])
    (home / ".config" / "lfcode").mkdir(parents=True)
    (home / ".config" / "lfcode" / "config.toml").write_text('model = "ollama:tiny-coder:1.5b"\nn_threads = 1\n')
    source = tmp_path / "a.py"
    source.write_text("def add(a, b):\n    return a + b\n\n\ndef main():\n    x = \n")
    by_reference = CliRunner().invoke(cli, ["complete", str(source), "6", "9"])
    assert by_reference.exit_code == 0, by_reference.output
    assert by_reference.stdout.strip()
    # The same suggestion as the blob named by its path: the reference loaded that file.
    by_path = CliRunner().invoke(cli, ["complete", str(source), "6", "9", "--model", str(blob)])
    assert by_path.stdout == by_reference.stdout
    wrong = CliRunner().invoke(cli, ["complete", str(source), "6", "9", "--model", "ollama:tiny-codr:1.5b"])
    assert wrong.exit_code == 2 and "closest matches: ollama:tiny-coder:1.5b" in wrong.stderr

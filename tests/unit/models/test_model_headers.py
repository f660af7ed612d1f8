"""GGUF headers read without the weights (`lfcode.models.header`), the facts and roles taken from
them (`lfcode.models.facts`), and `--check`'s trial load, on tiny GGUF files and real llama.cpp."""

from __future__ import annotations

import threading
from pathlib import Path

import gguf
import numpy as np
import pytest

from lfcode.backends.llama_cpp import LlamaCppBackend
from lfcode.models.check import LoadResult, trial_load
from lfcode.models.facts import describe, roles_for
from lfcode.models.header import GgufError, read_header
from lfcode.models.service import list_models
from tests.tinygguf import FAMILIES, write_tiny_gguf

CHAT = "{{ messages[0].content }}"


def write_gguf(path: Path, arch: str = "llama", *, endianess=gguf.GGUFEndian.LITTLE, tokens: list[str] | None = None,
               types: list[int] | None = None, **keys) -> Path:
    """A GGUF with the given metadata, a vocabulary and one small tensor (not loadable: a fixture
    for the header only). ``keys`` map ``general.size_label``-style keys (dots as ``__``) to values."""
    writer = gguf.GGUFWriter(str(path), arch, endianess=endianess)
    for key, value in keys.items():
        name = key.replace("__", ".")
        if isinstance(value, bool):
            writer.add_bool(name, value)
        elif isinstance(value, int):
            writer.add_uint32(name, value)
        else:
            writer.add_string(name, value)
    if tokens is not None:
        writer.add_token_list(tokens)
    if types is not None:
        writer.add_token_types(types)
    writer.add_array("general.tags", ["a", "b"])
    writer.add_tensor("token_embd.weight", np.zeros((3, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def without_tensor(source: Path, target: Path, dropped: str) -> Path:
    """A copy of the GGUF ``source`` lacking the tensor ``dropped`` (llama.cpp refuses to load it)."""
    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(str(target), str(reader.fields["general.architecture"].contents()))
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), field.types[0], sub_type=field.types[-1])
        else:
            writer.add_key_value(key, field.contents(), field.types[0])
    for tensor in reader.tensors:
        if tensor.name != dropped:
            writer.add_tensor(tensor.name, np.array(tensor.data), raw_shape=list(reversed(tensor.shape.tolist())))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def test_header_agrees_with_the_gguf_package(tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path / "m.gguf", family="starcoder", chat_template=CHAT, n_ctx=777)
    header = read_header(path)
    reader = gguf.GGUFReader(path)
    expected = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.") and k != "tokenizer.ggml.scores"}
    assert header.metadata == expected
    assert "tokenizer.ggml.scores" not in header.metadata  # a long array nobody asked for is skipped
    assert [(t.name, t.shape, t.type) for t in header.tensors] == [
        (t.name, tuple(int(d) for d in t.shape), int(t.tensor_type)) for t in reader.tensors]
    assert header.size_bytes == path.stat().st_size and header.version == 3


def test_big_endian_files_read_the_same(tmp_path: Path) -> None:
    keys = {"general__size_label": "1.5B", "llama__context_length": 4096}
    little = read_header(write_gguf(tmp_path / "le.gguf", tokens=["a", "<|fim_prefix|>"], types=[1, 3], **keys))
    big = read_header(write_gguf(tmp_path / "be.gguf", endianess=gguf.GGUFEndian.BIG, tokens=["a", "<|fim_prefix|>"], types=[1, 3], **keys))
    assert big.metadata == little.metadata and big.metadata["llama.context_length"] == 4096
    assert [(t.name, t.shape) for t in big.tensors] == [("token_embd.weight", (4, 3))]


@pytest.mark.parametrize("family", [*FAMILIES, None])
def test_header_facts_match_what_the_loaded_model_reports(tmp_path: Path, family: str | None) -> None:
    path = write_tiny_gguf(tmp_path / "model.gguf", family=family, n_ctx=384)
    facts = describe(path)
    backend = LlamaCppBackend(path, n_ctx=256, n_threads=1)
    try:
        caps = backend.capabilities
        assert facts.fim == (caps.fim.family if caps.fim else None)
        assert facts.fim == family
        assert facts.chat_template is caps.chat_template is False
        assert facts.architecture == backend._llm.metadata["general.architecture"]
        assert facts.parameters == sum(int(t.n_elements) for t in gguf.GGUFReader(path).tensors)
        assert facts.context_length == 384 and facts.quantization == "F32" and facts.roles == ["completion"]
        assert list(backend.complete(_request(), threading.Event()))  # and it generates
    finally:
        backend.close()


def _request():
    from lfcode.backends.base import GenerationRequest

    return GenerationRequest(prompt="def f", max_tokens=3)


def test_metadata_names_sizes_and_quantization(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "q.gguf", "qwen2", general__size_label="1.5B", general__file_type=int(gguf.LlamaFileType.MOSTLY_Q4_K_M),
                      qwen2__context_length=32768, general__name="Qwen2.5 Coder 1.5B", tokenizer__chat_template=CHAT,
                      tokens=["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "x"], types=[3, 3, 3, 3, 1])
    facts = describe(path)
    assert (facts.architecture, facts.model_name, facts.size_label, facts.quantization, facts.context_length) == (
        "qwen2", "Qwen2.5 Coder 1.5B", "1.5B", "Q4_K_M", 32768)
    assert (facts.fim, facts.chat_template, facts.roles) == ("qwen", True, ["completion", "chat"])
    assert facts.parameters == 12  # the one 3x4 tensor


def test_without_token_types_every_token_counts(tmp_path: Path) -> None:
    fim = ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"]
    assert describe(write_gguf(tmp_path / "untyped.gguf", tokens=["a", *fim])).fim == "starcoder"
    # Typed NORMAL, the FIM texts still count (vocab_from_llama probes them by text as well),
    # but a NORMAL token that is no known FIM text does not make a family.
    assert describe(write_gguf(tmp_path / "normal.gguf", tokens=["a", *fim], types=[1, 1, 1, 1])).fim == "starcoder"
    assert describe(write_gguf(tmp_path / "plain.gguf", tokens=["a", "<PRE>x"], types=[1, 1])).fim is None


def test_special_vocab_keeps_control_user_defined_named_and_fim_texts() -> None:
    from lfcode.models.facts import special_vocab

    tokens = ["a", "<ctrl>", "<user>", "<|fim_prefix|>", "b", "<end>", "<ctrl>"]
    meta = {"tokenizer.ggml.tokens": tokens, "tokenizer.ggml.token_type": [1, 3, 4, 1, 1, 1, 3], "tokenizer.ggml.eos_token_id": 5}
    assert special_vocab(meta) == {"<ctrl>": 1, "<user>": 2, "<|fim_prefix|>": 3, "<end>": 5}
    del meta["tokenizer.ggml.token_type"]  # without types: every token, first id of a repeated text
    assert special_vocab(meta) == {"a": 0, "<ctrl>": 1, "<user>": 2, "<|fim_prefix|>": 3, "b": 4, "<end>": 5}


def test_without_file_type_the_main_tensor_type_names_the_quantization(tmp_path: Path) -> None:
    facts = describe(write_gguf(tmp_path / "f.gguf"))
    assert facts.quantization == "F32" and facts.size_label == "12"


def test_roles() -> None:
    assert roles_for("llama", "model", None, False) == ["completion"]  # a base model
    assert roles_for("llama", None, "qwen", False) == ["completion"]
    assert roles_for("llama", None, None, True) == ["chat"]  # an instruct model without FIM
    assert roles_for("qwen2", None, "qwen", True) == ["completion", "chat"]
    assert roles_for("clip", "mmproj", None, False) == []
    assert roles_for("llama", "adapter", None, False) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"PK\x03\x04" + b"\x00" * 40, "no GGUF magic"),
        (b"GGUF\x01\x00\x00\x00" + b"\x00" * 40, "version 1 is not supported"),
        (b"GGUF\x03\x00\x00\x00" + (1).to_bytes(8, "little") + (10**12).to_bytes(8, "little") + b"\x00" * 16, "corrupt header"),
    ],
)
def test_bad_headers(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(GgufError, match=message):
        read_header(path)


def test_every_truncation_of_the_header_is_an_error_not_a_crash(tmp_path: Path) -> None:
    data = write_tiny_gguf(tmp_path / "m.gguf").read_bytes()
    header_end = len(data) - sum(t.elements * 4 for t in read_header(tmp_path / "m.gguf").tensors)
    cut = tmp_path / "cut.gguf"
    for size in range(24, header_end - 64, 97):
        cut.write_bytes(data[:size])
        with pytest.raises(GgufError):
            read_header(cut)


def test_trial_load_tells_loadable_from_not_with_llama_cpps_reason(tmp_path: Path) -> None:
    good = write_tiny_gguf(tmp_path / "good.gguf", family="qwen")
    broken = without_tensor(good, tmp_path / "broken.gguf", "output_norm.weight")
    assert read_header(broken).metadata["general.architecture"] == "llama"  # the header is fine
    assert trial_load(good) == LoadResult(loadable=True)
    result = trial_load(broken)
    assert result.loadable is False and "output_norm.weight" in result.reason


def test_a_file_reached_under_two_names_is_read_and_loaded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lfcode.models import service, stores
    from tests.unit.models.test_discovery import STORE_VARS, ollama_model

    for var in STORE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(stores, "OLLAMA_SYSTEM_STORE", tmp_path / "system")
    model = write_tiny_gguf(tmp_path / "a.gguf")
    store = tmp_path / "home" / ".ollama" / "models"
    blob = ollama_model(store, "tiny", "latest", model)
    assert ollama_model(store, "tiny", "1b", model) == blob  # two tags, one blob
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "junk.gguf").write_bytes(b"junk")
    reads: list[Path] = []
    monkeypatch.setattr(service, "describe", lambda path: reads.append(path) or describe(path))
    loads: list[Path] = []

    def loader(path: Path) -> LoadResult:
        loads.append(path)
        return LoadResult(loadable=False, reason="stand-in")

    listing = list_models([folder], check=True, loader=loader)
    rows = {m.name: m for m in listing.models}
    assert set(rows) == {"tiny:latest", "tiny:1b", "junk.gguf"}
    assert [(rows[n].loadable, rows[n].load_error) for n in ("tiny:latest", "tiny:1b")] == [(False, "stand-in")] * 2
    assert rows["junk.gguf"].loadable is None and rows["junk.gguf"].error is not None  # not tried
    assert loads == [blob] and reads.count(blob) == 1

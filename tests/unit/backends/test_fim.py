"""FIM detection, templates and prompt layout, checked against real llama.cpp on tiny GGUF models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lfcode.backends.base import FimTokens
from lfcode.backends.fim import (
    FAMILY_TEMPLATES,
    detect_fim,
    format_fim,
    get_fim,
    metadata_from_llama,
    vocab_from_llama,
)

try:
    from tests.tinygguf import FAMILIES, family_special_tokens, write_tiny_gguf
except ImportError:  # tests/ is not a package on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tinygguf import FAMILIES, family_special_tokens, write_tiny_gguf

PRE = "def f(x):\n    return "
SUF = "\n\nprint(f(1))\n"

# Exact prompt layouts (see lfcode/backends/fim.py for the sources), with repo_name="r", file_path="a.py".
EXPECTED_PROMPT = {
    "codellama": f"<PRE> {PRE} <SUF>{SUF} <MID>",
    "starcoder": f"<repo_name>r<file_sep>a.py\n<fim_prefix>{PRE}<fim_suffix>{SUF}<fim_middle>",
    "deepseek": f"<｜fim▁begin｜>{PRE}<｜fim▁hole｜>{SUF}<｜fim▁end｜>",
    "qwen": f"<|repo_name|>r\n<|file_sep|>a.py\n<|fim_prefix|>{PRE}<|fim_suffix|>{SUF}<|fim_middle|>",
    "codegemma": f"<|fim_prefix|>{PRE}<|fim_suffix|>{SUF}<|fim_middle|>",
    "codestral": f"[SUFFIX]{SUF}[PREFIX]{PRE}",
}

# family -> (prefix, suffix, middle, file_sep, repo_name, some expected stop tokens)
EXPECTED_TOKENS = {
    "codellama": ("<PRE>", "<SUF>", "<MID>", None, None, ("<EOT>", "</s>")),
    "starcoder": (
        "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<file_sep>", "<repo_name>",
        ("<|endoftext|>", "<file_sep>"),
    ),
    "deepseek": (
        "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>", None, None,
        ("<｜end▁of▁sentence｜>", "<|EOT|>"),
    ),
    "qwen": (
        "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>", "<|repo_name|>",
        ("<|endoftext|>", "<|file_sep|>"),
    ),
    "codegemma": (
        "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_separator|>", None,
        ("<|file_separator|>",),
    ),
    "codestral": ("[PREFIX]", "[SUFFIX]", "[MIDDLE]", None, None, ("</s>",)),
}


@pytest.fixture(scope="module")
def llama_cpp():
    import llama_cpp  # a declared dependency: missing, these tests fail

    return llama_cpp


def _load(llama_cpp, path: Path):
    return llama_cpp.Llama(model_path=str(path), n_ctx=256, verbose=False)


# --- real llama.cpp on tiny models -------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_detect_format_tokenize_generate(tmp_path: Path, llama_cpp, family: str) -> None:
    # A misleading file name: detection must come from the vocabulary only.
    path = write_tiny_gguf(tmp_path / "starcoder-qwen-codellama.gguf", family=family)
    llm = _load(llama_cpp, path)
    try:
        vocab = vocab_from_llama(llm)
        fim = detect_fim(vocab, metadata_from_llama(llm))
        assert fim is not None
        assert fim.family == family
        pre, suf, mid, fsep, repo, stops = EXPECTED_TOKENS[family]
        assert (fim.prefix, fim.suffix, fim.middle) == (pre, suf, mid)
        assert (fim.file_sep, fim.repo_name) == (fsep, repo)
        assert fim.suffix_first is (family == "codestral")
        for stop in stops:
            assert stop in fim.stop
        assert fim == get_fim(family)

        # Every FIM/stop token is ONE special (control) token for llama.cpp.
        control = int(llama_cpp.LLAMA_TOKEN_ATTR_CONTROL)
        for text in {fim.prefix, fim.suffix, fim.middle, *fim.stop} | ({fim.file_sep} - {None}):
            ids = llm.tokenize(text.encode(), add_bos=False, special=True)
            assert ids == [vocab[text]], text
            assert llama_cpp.llama_vocab_get_attr(llm._model.vocab, ids[0]) & control, text

        prompt = format_fim(fim, PRE, SUF, repo_name="r", file_path="a.py")
        assert prompt == EXPECTED_PROMPT[family]
        ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        order = [fim.suffix, fim.prefix] if fim.suffix_first else [fim.prefix, fim.suffix, fim.middle]
        specials = [i for i in ids if i in set(vocab.values())]
        assert specials[-len(order):] == [vocab[t] for t in order]
        # Text around the special tokens round-trips through the byte-fallback vocabulary.
        assert llm.detokenize(ids, special=True).decode() == prompt

        out = llm.create_completion(prompt, max_tokens=4, temperature=0.0)
        assert out["usage"]["completion_tokens"] >= 1
        assert isinstance(out["choices"][0]["text"], str)
    finally:
        llm.close()


def test_no_fim_model_detects_none(tmp_path: Path, llama_cpp) -> None:
    llm = _load(llama_cpp, write_tiny_gguf(tmp_path / "codellama-7b-code.gguf"))
    try:
        vocab = vocab_from_llama(llm)
        assert vocab == {"<s>": 1, "</s>": 2}
        assert detect_fim(vocab, metadata_from_llama(llm)) is None
        assert llm.create_completion("hello", max_tokens=2)["usage"]["completion_tokens"] >= 1
    finally:
        llm.close()


def test_metadata_has_fim_ids_and_chat_template(tmp_path: Path, llama_cpp) -> None:
    template = "{% for m in messages %}{{ m.content }}{% endfor %}"
    path = write_tiny_gguf(tmp_path / "m.gguf", family="codegemma", chat_template=template)
    llm = _load(llama_cpp, path)
    try:
        meta = metadata_from_llama(llm)
        vocab = vocab_from_llama(llm)
        assert meta["general.architecture"] == "gemma"
        assert meta["tokenizer.chat_template"] == template
        assert int(meta["tokenizer.ggml.fim_pre_token_id"]) == vocab["<|fim_prefix|>"]
        assert int(meta["tokenizer.ggml.fim_sep_token_id"]) == vocab["<|file_separator|>"]
        assert int(meta["tokenizer.ggml.eot_token_id"]) == vocab["<end_of_turn>"]
    finally:
        llm.close()


def test_tinygguf_is_small_deterministic_and_validated(tmp_path: Path) -> None:
    a = write_tiny_gguf(tmp_path / "a.gguf", family="qwen", seed=3)
    b = write_tiny_gguf(tmp_path / "b.gguf", family="qwen", seed=3)
    c = write_tiny_gguf(tmp_path / "c.gguf", family="qwen", seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert a.stat().st_size < 2 * 1024 * 1024
    assert "<|fim_prefix|>" in family_special_tokens("qwen")
    with pytest.raises(ValueError, match="codellama"):
        write_tiny_gguf(tmp_path / "x.gguf", family="nope")


# --- detect_fim / format_fim / get_fim on plain data --------------------------------------------

QWEN_FIM = {"<|fim_prefix|>": 1, "<|fim_suffix|>": 2, "<|fim_middle|>": 3}


def test_qwen_and_codegemma_told_apart() -> None:
    assert detect_fim(QWEN_FIM).family == "qwen"
    assert detect_fim({**QWEN_FIM, "<|file_sep|>": 4, "<|repo_name|>": 5}).family == "qwen"
    assert detect_fim({**QWEN_FIM, "<|file_separator|>": 4}).family == "codegemma"
    assert detect_fim({**QWEN_FIM, "<start_of_turn>": 4, "<end_of_turn>": 5}).family == "codegemma"
    assert detect_fim(QWEN_FIM, {"general.architecture": "gemma"}).family == "codegemma"
    assert detect_fim(QWEN_FIM, {"general.architecture": "qwen2"}).family == "qwen"
    # Explicit separator tokens outrank the architecture hint.
    assert detect_fim({**QWEN_FIM, "<|file_sep|>": 4}, {"general.architecture": "gemma"}).family == "qwen"


def test_names_are_never_used() -> None:
    meta = {"general.name": "CodeLlama 7B", "general.basename": "qwen2.5-coder"}
    assert detect_fim({"<s>": 1, "</s>": 2}, meta) is None
    assert detect_fim(QWEN_FIM, meta).family == "qwen"


def test_iterable_vocab_and_none() -> None:
    assert detect_fim(["<fim_prefix>", "<fim_suffix>", "<fim_middle>"]).family == "starcoder"
    assert detect_fim([]) is None
    assert detect_fim({"<|im_start|>": 1, "<|im_end|>": 2, "<|endoftext|>": 3}) is None
    assert detect_fim(["<PRE>", "<SUF>"]) is None  # incomplete set


def test_codellama_spm_space_tokens() -> None:
    vocab = {"</s>": 2, "▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010}
    fim = detect_fim(vocab)
    assert fim == FimTokens(
        family="codellama", prefix="▁<PRE>", suffix="▁<SUF>", middle="▁<MID>",
        stop=("▁<EOT>", "</s>", "▁<PRE>", "▁<SUF>", "▁<MID>"),
    )
    assert format_fim(fim, "a = ", "\nb") == "▁<PRE> a = ▁<SUF>\nb▁<MID>"


def test_stop_lists_follow_the_vocabulary() -> None:
    fim = detect_fim(["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"])
    # No end token listed: the documented ones are kept.
    assert fim.stop[:2] == ("<｜end▁of▁sentence｜>", "<|EOT|>")
    fim = detect_fim({**QWEN_FIM, "<|endoftext|>": 9})
    assert fim.stop == ("<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")
    assert fim.file_sep is None and fim.repo_name is None
    # Without file_sep/repo_name tokens, the repo-level header is dropped.
    prompt = format_fim(fim, "a", "b", repo_name="r", file_path="p")
    assert prompt == "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"


def test_generic_family_from_metadata_ids() -> None:
    vocab = {"<|code_prefix|>": 10, "<|code_suffix|>": 11, "<|code_middle|>": 12, "<|endoftext|>": 13}
    meta = {
        "tokenizer.ggml.fim_pre_token_id": "10",
        "tokenizer.ggml.fim_suf_token_id": "11",
        "tokenizer.ggml.fim_mid_token_id": "12",
        "tokenizer.ggml.eos_token_id": "13",
    }
    fim = detect_fim(vocab, meta)
    assert fim.family == "generic"
    assert (fim.prefix, fim.suffix, fim.middle) == ("<|code_prefix|>", "<|code_suffix|>", "<|code_middle|>")
    assert fim.stop[0] == "<|endoftext|>"
    assert format_fim(fim, "x", "y") == "<|code_prefix|>x<|code_suffix|>y<|code_middle|>"
    assert detect_fim(list(vocab), meta) is None  # ids cannot be resolved without a mapping
    assert detect_fim(vocab, {**meta, "tokenizer.ggml.fim_mid_token_id": "999"}) is None


def test_get_fim() -> None:
    assert set(FAMILY_TEMPLATES) == set(FAMILIES)
    assert get_fim("Qwen") is FAMILY_TEMPLATES["qwen"]
    assert get_fim("codestral").suffix_first
    with pytest.raises(ValueError) as err:
        get_fim("santacoder")
    for name in FAMILIES:
        assert name in str(err.value)


def test_format_fim_repo_header_variants() -> None:
    sc = get_fim("starcoder")
    assert format_fim(sc, "a", "b", file_path="x.py") == "<file_sep>x.py\n<fim_prefix>a<fim_suffix>b<fim_middle>"
    assert format_fim(sc, "a", "b") == "<fim_prefix>a<fim_suffix>b<fim_middle>"
    # Families without a documented repo-level format ignore the header arguments.
    deepseek = format_fim(get_fim("deepseek"), "a", "b", repo_name="r", file_path="p")
    assert deepseek == "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>"
    assert format_fim(get_fim("codestral"), "a", "b", repo_name="r") == "[SUFFIX]b[PREFIX]a"


def test_the_vocabulary_scan_keeps_the_gil_and_reads_the_same_attributes(tmp_path: Path, llama_cpp) -> None:
    import ctypes

    from lfcode.backends.fim import _holding_the_gil

    llm = _load(llama_cpp, write_tiny_gguf(tmp_path / "starcoder-tiny.gguf", family="starcoder"))
    try:
        plain = llama_cpp.llama_vocab_get_attr
        held = _holding_the_gil(plain)
        # PYFUNCTYPE: called with the GIL held (ctypes' FUNCFLAG_PYTHONAPI), unlike the binding.
        assert held._flags_ & ctypes._FUNCFLAG_PYTHONAPI and not plain._flags_ & ctypes._FUNCFLAG_PYTHONAPI
        vocab_p = llm._model.vocab
        ids = range(int(llama_cpp.llama_vocab_n_tokens(vocab_p)))
        assert [held(vocab_p, i) for i in ids] == [plain(vocab_p, i) for i in ids]
        assert _holding_the_gil(len) is len  # not a ctypes function: left as it is
    finally:
        llm.close()

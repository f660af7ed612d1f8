"""Tiny, random-weight GGUF models that real llama.cpp loads and generates from.

Used by the tests instead of downloaded weights. Each file is a 1-layer ``llama`` (or ``gemma``
for CodeGemma) network with ``n_embd=64``, 2 heads, ``n_ff=128`` and F32 tensors, about 0.3 MB,
loading in a few milliseconds.

The vocabulary is SentencePiece style (``tokenizer.ggml.model = "llama"``): ``<unk>``/``<s>``/
``</s>`` (Gemma: ``<pad>``/``<eos>``/``<bos>``/``<unk>``), the 256 byte-fallback tokens
``<0x00>``..``<0xFF>`` (so any UTF-8 text tokenizes), ``▁`` and the printable ASCII characters,
then the chosen FIM family's special tokens typed CONTROL. The ``tokenizer.ggml.fim_*_token_id``
and ``eot_token_id`` keys point at them, as ``convert_hf_to_gguf.py`` does for CodeLlama and
CodeGemma. Output depends only on the arguments, and the bytes are kept in memory, so calling the
function again with the same arguments only copies them.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["FAMILIES", "write_tiny_gguf", "family_special_tokens"]

FAMILIES: tuple[str, ...] = ("codellama", "starcoder", "deepseek", "qwen", "codegemma", "codestral")

# Per family: the special tokens added (in id order) and which metadata key points at each.
# Role names map to GGUF keys ``tokenizer.ggml.<role>_token_id``.
_FAMILY_TOKENS: dict[str, list[tuple[str, str | None]]] = {
    "codellama": [("<PRE>", "fim_pre"), ("<SUF>", "fim_suf"), ("<MID>", "fim_mid"), ("<EOT>", "eot")],
    "starcoder": [
        ("<|endoftext|>", "eos"),
        ("<fim_prefix>", "fim_pre"),
        ("<fim_middle>", "fim_mid"),
        ("<fim_suffix>", "fim_suf"),
        ("<fim_pad>", "fim_pad"),
        ("<repo_name>", "fim_rep"),
        ("<file_sep>", "fim_sep"),
    ],
    "deepseek": [
        ("<｜begin▁of▁sentence｜>", "bos"),
        ("<｜end▁of▁sentence｜>", "eos"),
        ("<｜fim▁hole｜>", "fim_suf"),
        ("<｜fim▁begin｜>", "fim_pre"),
        ("<｜fim▁end｜>", "fim_mid"),
        ("<|EOT|>", "eot"),
    ],
    "qwen": [
        ("<|endoftext|>", "eos"),
        ("<|im_start|>", None),
        ("<|im_end|>", None),
        ("<|fim_prefix|>", "fim_pre"),
        ("<|fim_middle|>", "fim_mid"),
        ("<|fim_suffix|>", "fim_suf"),
        ("<|fim_pad|>", "fim_pad"),
        ("<|repo_name|>", "fim_rep"),
        ("<|file_sep|>", "fim_sep"),
    ],
    "codegemma": [
        ("<|fim_prefix|>", "fim_pre"),
        ("<|fim_middle|>", "fim_mid"),
        ("<|fim_suffix|>", "fim_suf"),
        ("<|file_separator|>", "fim_sep"),
        ("<start_of_turn>", None),
        ("<end_of_turn>", "eot"),
    ],
    "codestral": [
        ("[INST]", None),
        ("[/INST]", None),
        ("[PREFIX]", "fim_pre"),
        ("[MIDDLE]", "fim_mid"),
        ("[SUFFIX]", "fim_suf"),
    ],
}

_N_EMBD = 64
_N_HEAD = 2
_N_FF = 128
_N_LAYER = 1

# gguf.TokenType values (kept literal so the table reads without the enum).
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6


def family_special_tokens(family: str) -> tuple[str, ...]:
    """Texts of the special tokens :func:`write_tiny_gguf` adds for ``family``.

    Raises ``ValueError`` for a family not in :data:`FAMILIES`.
    """
    if family not in _FAMILY_TOKENS:
        raise ValueError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    return tuple(text for text, _ in _FAMILY_TOKENS[family])


def _vocab(family: str | None) -> tuple[list[str], list[float], list[int], dict[str, int]]:
    """Build ``(tokens, scores, types, role_ids)``; ``role_ids`` maps e.g. ``"eos"`` to an id."""
    gemma = family == "codegemma"
    if gemma:
        base = [("<pad>", _CONTROL), ("<eos>", _CONTROL), ("<bos>", _CONTROL), ("<unk>", _UNKNOWN)]
        roles = {"pad": 0, "eos": 1, "bos": 2, "unk": 3}
    else:
        base = [("<unk>", _UNKNOWN), ("<s>", _CONTROL), ("</s>", _CONTROL)]
        roles = {"unk": 0, "bos": 1, "eos": 2}
    tokens = [t for t, _ in base]
    types = [k for _, k in base]
    scores = [0.0] * len(base)
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(_BYTE)
        scores.append(0.0)
    normal = ["▁"] + [chr(c) for c in range(33, 127)]
    for i, piece in enumerate(normal):
        tokens.append(piece)
        types.append(_NORMAL)
        scores.append(-float(i + 1))
    if family is not None:
        for text, role in _FAMILY_TOKENS[family]:
            if role is not None:
                roles[role] = len(tokens)
            tokens.append(text)
            types.append(_CONTROL)
            scores.append(0.0)
    return tokens, scores, types, roles


@functools.lru_cache(maxsize=64)
def _build(family: str | None, chat_template: str | None, n_ctx: int, seed: int) -> bytes:
    """Serialise one model to bytes (cached)."""
    import gguf  # imported lazily: only the tests need it

    arch = "gemma" if family == "codegemma" else "llama"
    tokens, scores, types, roles = _vocab(family)
    n_vocab = len(tokens)
    fd, tmp = tempfile.mkstemp(suffix=".gguf")
    os.close(fd)
    try:
        w = gguf.GGUFWriter(tmp, arch)
        w.add_name("tiny-test-model")  # deliberately uninformative: detection must not use names
        w.add_context_length(n_ctx)
        w.add_embedding_length(_N_EMBD)
        w.add_block_count(_N_LAYER)
        w.add_feed_forward_length(_N_FF)
        w.add_head_count(_N_HEAD)
        w.add_head_count_kv(_N_HEAD)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(_N_EMBD // _N_HEAD)
        w.add_vocab_size(n_vocab)
        w.add_file_type(gguf.LlamaFileType.ALL_F32)

        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_add_space_prefix(False)
        w.add_add_bos_token(family not in ("starcoder", "qwen"))
        w.add_add_eos_token(False)
        for role, tid in roles.items():
            w.add_uint32(f"tokenizer.ggml.{role}_token_id", tid)
        if chat_template is not None:
            w.add_chat_template(chat_template)

        rng = np.random.default_rng(seed)

        def rand(*shape: int) -> np.ndarray:
            return (rng.standard_normal(shape) * 0.5).astype(np.float32)

        ones = np.ones(_N_EMBD, dtype=np.float32)
        # numpy shapes are (rows=out, cols=in); gguf reverses them into ggml's {in, out}.
        w.add_tensor("token_embd.weight", rand(n_vocab, _N_EMBD))
        w.add_tensor("output_norm.weight", ones)
        if arch == "llama":
            w.add_tensor("output.weight", rand(n_vocab, _N_EMBD))
        for i in range(_N_LAYER):
            p = f"blk.{i}."
            w.add_tensor(p + "attn_norm.weight", ones)
            for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
                w.add_tensor(p + name + ".weight", rand(_N_EMBD, _N_EMBD))
            w.add_tensor(p + "ffn_norm.weight", ones)
            w.add_tensor(p + "ffn_gate.weight", rand(_N_FF, _N_EMBD))
            w.add_tensor(p + "ffn_up.weight", rand(_N_FF, _N_EMBD))
            w.add_tensor(p + "ffn_down.weight", rand(_N_EMBD, _N_FF))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return Path(tmp).read_bytes()
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_tiny_gguf(
    path: Path,
    *,
    family: str | None = None,
    chat_template: str | None = None,
    n_ctx: int = 512,
    seed: int = 0,
) -> Path:
    """Write a tiny random-weight GGUF model to ``path`` and return ``path``.

    ``family`` (one of :data:`FAMILIES`, or ``None`` for a model without FIM tokens) adds that
    family's FIM/end tokens as CONTROL tokens; ``chat_template`` (Jinja text) is stored as
    ``tokenizer.chat_template``; ``n_ctx`` is the trained context length in tokens; ``seed`` picks
    the random weights. The same arguments always give the same bytes. Raises ``ValueError`` for
    an unknown family.
    """
    if family is not None and family not in _FAMILY_TOKENS:
        raise ValueError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    path = Path(path)
    path.write_bytes(_build(family, chat_template, int(n_ctx), int(seed)))
    return path

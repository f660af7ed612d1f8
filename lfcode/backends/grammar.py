"""Fast grammar-constrained greedy decoding for llama.cpp.

llama-cpp-python applies a grammar sampler to the whole vocabulary at every step; with Gemma's
262k-token vocabulary that costs far more than the model itself. This follows llama.cpp's own
``common_sampler_sample`` (common/sampling.cpp): first pick among the ``k`` most likely tokens only
those the grammar accepts, and only when none of them is accepted run the grammar over the full
vocabulary. The output is the same as greedy decoding under the grammar, so it always parses as
the JSON schema (unless ``max_tokens`` cuts it short).
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from lfcode.errors import CancelToken

#: Candidates checked against the grammar before falling back to the full vocabulary.
TOP_K = 64


_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])  # llama_token_data's layout


def _best_accepted(llama_cpp: Any, grammar: Any, ids: np.ndarray, logits: np.ndarray) -> int | None:
    """The highest-logit token of ``ids`` that the grammar accepts, or ``None``."""
    data = np.zeros(len(ids), dtype=_TOKEN_DATA)
    data["id"], data["logit"] = ids, logits
    pointer = ctypes.cast(data.ctypes.data, ctypes.POINTER(llama_cpp.llama_token_data))
    array = llama_cpp.llama_token_data_array(data=pointer, size=len(ids), selected=-1, sorted=False)
    llama_cpp.llama_sampler_apply(grammar, ctypes.byref(array))
    accepted = data[: array.size]
    accepted = accepted[np.isfinite(accepted["logit"])]
    if not len(accepted):
        return None
    return int(accepted["id"][np.argmax(accepted["logit"])])


def decode_json(
    llm: Any, tokens: list[int], schema: dict, max_tokens: int, cancel: CancelToken
) -> Iterator[bytes]:
    """Greedy decode ``tokens``' continuation under ``schema``; yields each token's bytes.

    ``llm`` is a ``llama_cpp.Llama``; the caller holds the model lock. The KV cache of a shared
    prompt prefix is reused. Stops at an end-of-generation token, after ``max_tokens`` tokens, or
    within one token of ``cancel`` being set.

    Raises:
        ValueError: the schema cannot be turned into a grammar.
    """
    import llama_cpp
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    vocab = llm._model.vocab
    grammar = llama_cpp.llama_sampler_init_grammar(vocab, json_schema_to_gbnf(json.dumps(schema)).encode(), b"root")
    if not grammar:
        raise ValueError("llama.cpp rejected the grammar made from the JSON schema")
    try:
        common = 0
        for old, new in zip(llm.input_ids[: llm.n_tokens].tolist(), tokens[:-1]):
            if old != new:
                break
            common += 1
        llm.n_tokens = common
        llm.eval(tokens[common:])
        n_vocab = llm.n_vocab()
        all_ids = np.arange(n_vocab, dtype=np.int32)
        # End-of-generation tokens are always candidates, so a finished answer ends cheaply.
        eog = np.array([t for t in (llm.token_eos(), llama_cpp.llama_vocab_eot(vocab)) if t >= 0], dtype=np.int32)
        for _ in range(max_tokens):
            if cancel.is_set():
                return
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(n_vocab,))
            top = np.union1d(np.argpartition(-logits, TOP_K)[:TOP_K].astype(np.int32), eog)
            token = _best_accepted(llama_cpp, grammar, top, logits[top])
            if token is None:
                token = _best_accepted(llama_cpp, grammar, all_ids, logits)
            if token is None or llama_cpp.llama_vocab_is_eog(vocab, token):
                return
            llama_cpp.llama_sampler_accept(grammar, token)
            yield llm.detokenize([token], special=True)
            llm.eval([token])
    finally:
        llama_cpp.llama_sampler_free(grammar)

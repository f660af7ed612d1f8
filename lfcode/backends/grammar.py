"""Fast grammar-constrained greedy decoding for llama.cpp.

llama-cpp-python applies a grammar sampler to the whole vocabulary at every step; with Gemma's
262k-token vocabulary that costs far more than the model itself. This follows llama.cpp's own
``common_sampler_sample`` (common/sampling.cpp): first pick among the ``k`` most likely tokens only
those the grammar accepts, and only when none of them is accepted run the grammar over the full
vocabulary. The output is greedy decoding under the grammar (except that an end-of-generation
token, always a candidate, can end the answer where an accepted token outside the ``k`` was
likelier), so it always parses as the JSON schema (unless ``max_tokens`` cuts it short).

Each token comes with its probability among the tokens the grammar accepted at that step (the
softmax of their logits): the model's own confidence in a choice the schema left open, 1.0 for a
token the grammar forced (see :func:`decode_json`).
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
#: Most likely tokens a probability is normalised over when the caller wants probabilities: the
#: accepted tokens outside them are left out (they hold little probability; see :func:`decode_json`).
PROBABILITY_TOP_K = 1024


_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])  # llama_token_data's layout
# llama-cpp-python's converter lets a JSON string hold raw control characters (a model then
# writes a newline inside a string, and no JSON parser reads the answer); llama.cpp's own
# converter leaves them out, as this rule does.
_LOOSE_CHAR = r'char ::= [^"\\] |'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


def schema_grammar(schema: dict) -> str:
    """The GBNF grammar of JSON instances of ``schema`` (llama-cpp-python's converter, with
    control characters kept out of strings so that every output parses as JSON).

    Raises:
        ValueError: the converter cannot handle the schema.
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(json.dumps(schema)).replace(_LOOSE_CHAR, _STRICT_CHAR)


def _accepted(llama_cpp: Any, grammar: Any, ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The records (``id``, ``logit``) of the tokens of ``ids`` that the grammar accepts."""
    data = np.zeros(len(ids), dtype=_TOKEN_DATA)
    data["id"], data["logit"] = ids, logits
    pointer = ctypes.cast(data.ctypes.data, ctypes.POINTER(llama_cpp.llama_token_data))
    array = llama_cpp.llama_token_data_array(data=pointer, size=len(ids), selected=-1, sorted=False)
    llama_cpp.llama_sampler_apply(grammar, ctypes.byref(array))
    accepted = data[: array.size]
    return accepted[np.isfinite(accepted["logit"])]


def _most_likely(logits: np.ndarray, k: int, eog: np.ndarray) -> np.ndarray:
    """The ids of the ``k`` highest ``logits`` and the end-of-generation ids, sorted."""
    return np.union1d(np.argpartition(-logits, k)[:k].astype(np.int32), eog)


def decode_json(
    llm: Any, tokens: list[int], schema: dict, max_tokens: int, cancel: CancelToken, normalise_over: int = TOP_K
) -> Iterator[tuple[bytes, float]]:
    """Greedy decode ``tokens``' continuation under ``schema``; yields ``(bytes, probability)``
    for each token.

    ``llm`` is a ``llama_cpp.Llama``; the caller holds the model lock. The KV cache of a shared
    prompt prefix is reused. Stops at an end-of-generation token, after ``max_tokens`` tokens, or
    within one token of ``cancel`` being set.

    The token chosen is the highest-logit one the grammar accepts among the :data:`TOP_K` most
    likely and the end-of-generation tokens (among the whole vocabulary when none of those is
    accepted). ``probability`` (0-1) is its softmax over the grammar-accepted tokens among the
    ``normalise_over`` most likely (and end-of-generation) ones, or over every accepted token
    after the fall-back. Accepted tokens outside that set are left out, so it can only
    over-estimate, by their share; :data:`PROBABILITY_TOP_K` makes that share small, and changes
    which tokens are chosen in no way.

    Raises:
        ValueError: the schema cannot be turned into a grammar.
    """
    import llama_cpp

    vocab = llm._model.vocab
    grammar = llama_cpp.llama_sampler_init_grammar(vocab, schema_grammar(schema).encode(), b"root")
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
        k, wide = min(TOP_K, n_vocab - 1), min(max(normalise_over, TOP_K), n_vocab - 1)
        for _ in range(max_tokens):
            if cancel.is_set():
                return
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(n_vocab,))
            top = _most_likely(logits, k, eog)
            if wide > k:
                ids = _most_likely(logits, wide, eog)
                among = _accepted(llama_cpp, grammar, ids, logits[ids])
                accepted = among[np.isin(among["id"], top)]
            else:
                among = accepted = _accepted(llama_cpp, grammar, top, logits[top])
            if not len(accepted):
                among = accepted = _accepted(llama_cpp, grammar, all_ids, logits)
            if not len(accepted):
                return
            best = accepted[np.argmax(accepted["logit"])]
            token = int(best["id"])
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                return
            # Its softmax among the accepted: 1 / sum(exp(logit - its logit)).
            probability = float(1.0 / np.exp(among["logit"].astype(np.float64) - float(best["logit"])).sum())
            llama_cpp.llama_sampler_accept(grammar, token)
            yield llm.detokenize([token], special=True), probability
            llm.eval([token])
    finally:
        llama_cpp.llama_sampler_free(grammar)

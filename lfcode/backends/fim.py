"""Fill-in-the-middle (FIM) templates, found from a model's vocabulary and metadata.

A model's FIM convention is read from the special tokens it actually has (and, as tie-breakers or
a fallback, from its GGUF metadata), never from its file name. Supported families and where each
prompt layout comes from:

``codellama``
    ``<PRE> {prefix} <SUF>{suffix} <MID>`` -- Rozière et al., "Code Llama: Open Foundation Models
    for Code" (2023), §2.3 "Infilling", and the reference ``infilling_prompt_tokens`` in
    ``facebookresearch/codellama``. Real conversions store the tokens as ``▁<PRE>`` etc.; the
    token text found in the vocabulary is used as is.
``starcoder``
    ``<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>``, with the repository-level header
    ``<repo_name>{repo}<file_sep>{path}\\n`` -- Lozhkov et al., "StarCoder 2 and The Stack v2"
    (2024), §5 (repository context, FIM).
``deepseek``
    ``<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>`` -- DeepSeek-Coder README,
    "Code Insertion".
``qwen``
    ``<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>``, with the repository-level
    header ``<|repo_name|>{repo}\\n<|file_sep|>{path}\\n`` -- Hui et al., "Qwen2.5-Coder Technical
    Report" (2024), §3 (file-level and repo-level FIM formats), and the model card.
``codegemma``
    ``<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>``, answers end with
    ``<|file_separator|>`` -- CodeGemma model card, "Prompt format / FIM".
``codestral``
    Suffix first: ``[SUFFIX]{suffix}[PREFIX]{prefix}`` -- Mistral docs, "Codestral / FIM", and
    ``mistral_common`` ``encode_fim`` (``[SUFFIX]`` suffix ``[PREFIX]`` prefix; ``[MIDDLE]`` is
    not part of the prompt).
``generic``
    Only from metadata: when the GGUF names FIM token ids (``tokenizer.ggml.fim_pre_token_id``
    etc.) whose texts match none of the above, the prefix-suffix-middle order is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lfcode.backends.base import FimTokens
from lfcode.errors import LfcodeError


class FimError(LfcodeError, ValueError):
    """An unknown FIM family name (the ``fim_template`` setting); the message lists the valid ones."""


__all__ = [
    "DETECTION_ORDER",
    "FAMILIES",
    "FAMILY_TEMPLATES",
    "FimFamily",
    "FimError",
    "detect_fim",
    "format_fim",
    "get_fim",
    "metadata_from_llama",
    "vocab_from_llama",
]

@dataclass(frozen=True)
class FimFamily:
    """One FIM family, declared once: its tokens, how to recognise it and how to lay out a prompt.

    Attributes:
        name: the family name (the ``fim_template`` setting accepts it).
        prefix, suffix, middle: the FIM token texts (as documented; vocabularies may add ``▁``).
        ends: end-of-text/EOT tokens that end an answer.
        extra: other tokens that end an answer when the vocabulary has them.
        file_sep, repo_name: the repository-level header tokens, if the family has them.
        suffix_first: the prompt puts the suffix before the prefix (Codestral).
        detect: tokens whose presence selects this family in :func:`detect_fim` (families are
            tried in :data:`DETECTION_ORDER`; families sharing the same ``detect`` are told
            apart by :data:`TIE_BREAKERS`).
        repo_newline: ``None`` for no repository header in :func:`format_fim`, else the text
            written after the repository name (``""`` or ``"\\n"``).
    """

    name: str
    prefix: str
    suffix: str
    middle: str
    ends: tuple[str, ...]
    extra: tuple[str, ...] = ()
    file_sep: str | None = None
    repo_name: str | None = None
    suffix_first: bool = False
    detect: tuple[str, ...] = ()
    repo_newline: str | None = None


#: Every family by name. Adding a family: one entry here (plus a line in DETECTION_ORDER, and a
#: layout branch in :func:`format_fim` only if it is neither PSM nor suffix-first).
FAMILIES: dict[str, FimFamily] = {
    f.name: f
    for f in (
        FimFamily("codellama", "<PRE>", "<SUF>", "<MID>", ("<EOT>", "</s>"), detect=("<PRE>", "<SUF>", "<MID>")),
        FimFamily(
            "starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", ("<|endoftext|>",),
            ("<file_sep>", "<fim_pad>", "<repo_name>"), "<file_sep>", "<repo_name>",
            detect=("<fim_prefix>", "<fim_suffix>", "<fim_middle>"), repo_newline="",
        ),
        FimFamily(
            "deepseek", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>", ("<｜end▁of▁sentence｜>", "<|EOT|>"),
            detect=("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
        ),
        FimFamily(
            "qwen", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", ("<|endoftext|>",),
            ("<|file_sep|>", "<|fim_pad|>", "<|repo_name|>", "<|im_end|>"), "<|file_sep|>", "<|repo_name|>",
            detect=("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"), repo_newline="\n",
        ),
        FimFamily(
            "codegemma", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", ("<|file_separator|>",),
            ("<end_of_turn>", "<eos>"), "<|file_separator|>", None,
            detect=("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
        ),
        FimFamily("codestral", "[PREFIX]", "[SUFFIX]", "[MIDDLE]", ("</s>",), suffix_first=True, detect=("[PREFIX]", "[SUFFIX]")),
    )
}

#: The order :func:`detect_fim` tries the families in: the most distinctive token sets first
#: (``<|fim_prefix|>`` is shared by Qwen and CodeGemma, so it comes late).
DETECTION_ORDER: tuple[str, ...] = ("codestral", "deepseek", "starcoder", "qwen", "codegemma", "codellama")

_SPM_SPACE = "▁"  # SentencePiece's visible space; CodeLlama GGUFs store "▁<PRE>"

# GGUF keys llama.cpp reads for FIM ids (new names first, then the deprecated ones).
_META_KEYS = {
    "pre": ("tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"),
    "suf": ("tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"),
    "mid": ("tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"),
    "pad": ("tokenizer.ggml.fim_pad_token_id",),
    "rep": ("tokenizer.ggml.fim_rep_token_id",),
    "sep": ("tokenizer.ggml.fim_sep_token_id",),
    "eot": ("tokenizer.ggml.eot_token_id",),
    "eos": ("tokenizer.ggml.eos_token_id",),
}


def _template(family: str) -> FimTokens:
    f = FAMILIES[family]
    return FimTokens(
        family=family, prefix=f.prefix, suffix=f.suffix, middle=f.middle, stop=_dedup(f.ends + f.extra + (f.prefix, f.suffix, f.middle)),
        suffix_first=f.suffix_first, file_sep=f.file_sep, repo_name=f.repo_name,
    )


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


FAMILY_TEMPLATES: dict[str, FimTokens] = {name: _template(name) for name in FAMILIES}
"""Default :class:`FimTokens` per family name, with the family's full stop list."""


def get_fim(family: str) -> FimTokens:
    """Return the default FIM tokens for ``family`` (a user override by name).

    ``family`` is matched case-insensitively.

    Raises:
        FimError: (a ``ValueError``) ``family`` is unknown; the message names the valid families.
    """
    key = family.strip().lower()
    if key not in FAMILY_TEMPLATES:
        valid = ", ".join(sorted(FAMILY_TEMPLATES))
        raise FimError(f"unknown FIM family {family!r}; valid families: {valid}")
    return FAMILY_TEMPLATES[key]


def _lookup(texts: Mapping[str, int] | frozenset[str], token: str) -> str | None:
    """Return the vocabulary text for ``token``: itself, or its ``▁``-prefixed SentencePiece form."""
    if token in texts:
        return token
    if _SPM_SPACE + token in texts:
        return _SPM_SPACE + token
    return None


def _pick_fim_prefix_family(texts: Mapping[str, int] | frozenset[str], arch: str) -> str:
    """Tell CodeGemma from Qwen: both use ``<|fim_prefix|>``/``<|fim_suffix|>``/``<|fim_middle|>``."""
    if "<|file_separator|>" in texts:
        return "codegemma"
    if "<|file_sep|>" in texts or "<|repo_name|>" in texts:
        return "qwen"
    if arch.startswith("gemma") or "<start_of_turn>" in texts or "<end_of_turn>" in texts:
        return "codegemma"
    return "qwen"


#: ``pick(vocabulary texts, architecture) -> family name`` for families sharing their ``detect`` tokens.
TIE_BREAKERS: dict[tuple[str, ...], Callable[[Mapping[str, int] | frozenset[str], str], str]] = {
    FAMILIES["qwen"].detect: _pick_fim_prefix_family,
}


def _from_family(family: str, texts: Mapping[str, int] | frozenset[str]) -> FimTokens:
    f = FAMILIES[family]
    pre, suf, mid, ends, extra, fsep, repo, sfirst = f.prefix, f.suffix, f.middle, f.ends, f.extra, f.file_sep, f.repo_name, f.suffix_first
    found = {tok: _lookup(texts, tok) for tok in (pre, suf, mid, *ends, *extra)}
    present_ends = [found[t] for t in ends if found[t]]
    stop_ends = present_ends or list(ends)  # keep the documented end tokens if none are listed
    stop_extra = [found[t] for t in extra if found[t]]
    p, s, m = (found[pre] or pre), (found[suf] or suf), (found[mid] or mid)
    return FimTokens(
        family=family, prefix=p, suffix=s, middle=m, stop=_dedup([*stop_ends, *stop_extra, p, s, m]),
        suffix_first=sfirst,
        file_sep=_lookup(texts, fsep) if fsep else None,
        repo_name=_lookup(texts, repo) if repo else None,
    )


def _meta_id(metadata: Mapping[str, Any], role: str) -> int | None:
    for key in _META_KEYS[role]:
        value = metadata.get(key)
        if value is None:
            continue
        try:
            tid = int(str(value).strip())
        except ValueError:
            continue
        if tid >= 0:
            return tid
    return None


def _generic_from_metadata(vocab: Mapping[str, int], metadata: Mapping[str, Any]) -> FimTokens | None:
    """PSM template from the ``tokenizer.ggml.fim_*_token_id`` keys, when their ids are in ``vocab``."""
    by_id = {tid: text for text, tid in vocab.items()}
    ids = {role: _meta_id(metadata, role) for role in _META_KEYS}
    text = {role: by_id.get(tid) if tid is not None else None for role, tid in ids.items()}
    if not (text["pre"] and text["suf"] and text["mid"]):
        return None
    stops = [t for t in (text["eot"], text["eos"], text["pad"], text["sep"], text["rep"]) if t]
    return FimTokens(
        family="generic", prefix=text["pre"], suffix=text["suf"], middle=text["mid"],
        stop=_dedup([*stops, text["pre"], text["suf"], text["mid"]]),
        file_sep=text["sep"], repo_name=text["rep"],
    )


def detect_fim(
    vocab: Mapping[str, int] | Iterable[str],
    metadata: Mapping[str, str] | None = None,
) -> FimTokens | None:
    """Find the model's FIM convention from the special tokens it has.

    ``vocab`` maps token text to token id (or is just the token texts); only special tokens need
    to be in it (see :func:`vocab_from_llama`). ``metadata`` is the GGUF key/value metadata as
    strings (see :func:`metadata_from_llama`); ``general.architecture`` breaks the CodeGemma/Qwen
    tie and the ``tokenizer.ggml.fim_*_token_id`` keys give a ``generic`` template for token
    texts not known here (only when ``vocab`` is a mapping). File names are never looked at.

    Returns the :class:`FimTokens` whose texts are exactly as in ``vocab``, with ``stop`` holding
    the family's end-of-text/EOT tokens, file separators and FIM tokens that the vocabulary has
    (the documented end tokens are kept if it lists none); ``None`` when no FIM tokens are found.
    """
    metadata = metadata or {}
    texts: Mapping[str, int] | frozenset[str] = vocab if isinstance(vocab, Mapping) else frozenset(vocab)
    arch = str(metadata.get("general.architecture", "")).lower()

    def has(*tokens: str) -> bool:
        return all(_lookup(texts, t) is not None for t in tokens)

    for name in DETECTION_ORDER:
        family = FAMILIES[name]
        if has(*family.detect):
            pick = TIE_BREAKERS.get(family.detect)
            return _from_family(pick(texts, arch) if pick else name, texts)
    if isinstance(vocab, Mapping):
        return _generic_from_metadata(vocab, metadata)
    return None


def format_fim(
    fim: FimTokens,
    prefix: str,
    suffix: str,
    *,
    repo_name: str | None = None,
    file_path: str | None = None,
) -> str:
    """Build the FIM prompt text for ``fim``'s family (layouts and sources in the module docstring).

    ``prefix``/``suffix`` are the code before and after the cursor. ``repo_name`` and
    ``file_path`` add the repository-level header for the families trained with one (StarCoder2:
    ``<repo_name>{repo}<file_sep>{path}\\n``; Qwen2.5-Coder: ``<|repo_name|>{repo}\\n<|file_sep|>{path}\\n``)
    and are ignored for the others or when the vocabulary lacks those tokens. The text is meant to
    be tokenized with special-token parsing on; the model's BOS is not included. Returns the prompt.
    """
    if fim.suffix_first:
        return f"{fim.suffix}{suffix}{fim.prefix}{prefix}"
    if fim.family == "codellama":
        # A "▁<SUF>" token already carries the space the paper's layout puts before "<SUF>".
        gap = "" if fim.suffix.startswith(_SPM_SPACE) else " "
        gap_mid = "" if fim.middle.startswith(_SPM_SPACE) else " "
        return f"{fim.prefix} {prefix}{gap}{fim.suffix}{suffix}{gap_mid}{fim.middle}"
    header = ""
    family = FAMILIES.get(fim.family)
    if family is not None and family.repo_newline is not None:
        newline = family.repo_newline
        if repo_name is not None and fim.repo_name:
            header += f"{fim.repo_name}{repo_name}{newline}"
        if file_path is not None and fim.file_sep:
            header += f"{fim.file_sep}{file_path}\n"
    return f"{header}{fim.prefix}{prefix}{fim.suffix}{suffix}{fim.middle}"


# Token texts worth probing directly, whatever their type in the GGUF.
_PROBE_TEXTS: tuple[str, ...] = _dedup(
    [t for f in FAMILIES.values() for t in (f.prefix, f.suffix, f.middle, *f.ends, *f.extra)]
    + [_SPM_SPACE + t for t in ("<PRE>", "<SUF>", "<MID>", "<EOT>")]
    + ["<start_of_turn>", "<end_of_turn>"]
)


def _holding_the_gil(function: Any) -> Any:
    """``function`` (a llama-cpp-python ctypes binding) called without releasing the GIL.

    ctypes releases the GIL around every foreign call; 262k tiny calls in a row then hand the GIL
    to any other busy Python thread once each, and wait for it to come back. Measured on 2 cores
    with one busy Python thread beside: the vocabulary scan took 72 ms alone, 18.9 s with the
    default switch interval and 2.7 s at 0.5 ms (the server's start, when the model loads while
    the server's modules import). ``ctypes.PYFUNCTYPE`` keeps the GIL for the call. Falls back
    to ``function`` when it is not a ctypes function.
    """
    import ctypes

    try:
        address = ctypes.cast(function, ctypes.c_void_p).value
        prototype = ctypes.PYFUNCTYPE(function.restype, *function.argtypes)
    except (TypeError, AttributeError, ctypes.ArgumentError):
        return function
    return prototype(address) if address else function


def vocab_from_llama(llm: Any) -> dict[str, int]:
    """Special tokens of a loaded ``llama_cpp.Llama`` as ``{token text: id}``.

    Includes every CONTROL or USER_DEFINED token that is not marked unused (one ctypes attribute
    call per id: about 0.1 s for a 262k vocabulary on one core; texts are read only for the
    special ones), the ids llama.cpp itself resolved for EOS/EOT/FIM, and every FIM/stop token
    text known to :func:`detect_fim` that tokenizes to a single token. Texts are the raw
    vocabulary strings (e.g. ``▁<PRE>``). Raises ``ImportError`` without ``llama_cpp``.
    """
    import llama_cpp

    vocab_p = llm._model.vocab
    n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab_p))
    get_attr = _holding_the_gil(llama_cpp.llama_vocab_get_attr)
    get_text = llama_cpp.llama_vocab_get_text
    special = int(llama_cpp.LLAMA_TOKEN_ATTR_CONTROL) | int(llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED)
    unused = int(llama_cpp.LLAMA_TOKEN_ATTR_UNUSED)
    out: dict[str, int] = {}

    def add(tid: int) -> None:
        if 0 <= tid < n_vocab:
            text = get_text(vocab_p, tid).decode("utf-8", errors="replace")
            out.setdefault(text, tid)

    for tid in range(n_vocab):
        attr = get_attr(vocab_p, tid)
        if attr & special and not attr & unused:
            add(tid)
    for getter in ("eos", "eot", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"):
        add(int(getattr(llama_cpp, f"llama_vocab_{getter}")(vocab_p)))
    for text in _PROBE_TEXTS:
        if text in out:
            continue
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(ids) == 1 and get_text(vocab_p, ids[0]).decode("utf-8", errors="replace") == text:
            out.setdefault(text, int(ids[0]))
    return out


def metadata_from_llama(llm: Any) -> dict[str, str]:
    """GGUF metadata of a loaded ``llama_cpp.Llama`` as ``{key: value string}``.

    This is ``llm.metadata`` plus, for the ``tokenizer.ggml.fim_*_token_id`` / ``eot_token_id``
    keys the file lacks, the ids llama.cpp resolved itself from token texts (as decimal strings),
    so :func:`detect_fim`'s ``generic`` fallback sees them too.
    """
    import llama_cpp

    meta = {str(k): str(v) for k, v in (getattr(llm, "metadata", None) or {}).items()}
    vocab_p = llm._model.vocab
    for role in ("pre", "suf", "mid", "pad", "rep", "sep"):
        key = f"tokenizer.ggml.fim_{role}_token_id"
        tid = int(getattr(llama_cpp, f"llama_vocab_fim_{role}")(vocab_p))
        if key not in meta and tid >= 0:
            meta[key] = str(tid)
    eot = int(llama_cpp.llama_vocab_eot(vocab_p))
    if "tokenizer.ggml.eot_token_id" not in meta and eot >= 0:
        meta["tokenizer.ggml.eot_token_id"] = str(eot)
    return meta

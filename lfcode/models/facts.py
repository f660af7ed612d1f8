"""What a GGUF file is, from its header alone: architecture, size, quantization, context length,
FIM tokens, chat template, and the roles it suits.

Roles: ``completion`` needs FIM tokens or a base model (no chat template); ``chat`` (explain,
tests, review) needs an instruct or chat model (a chat template). A coder model with both FIM
tokens and a chat template suits both; projectors, adapters and encoders suit neither.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

import gguf
from pydantic import BaseModel, Field

from lfcode.backends.fim import _PROBE_TEXTS, detect_fim
from lfcode.models.header import GgufError, GgufHeader, read_header

__all__ = ["GgufError", "ModelFacts", "NOT_GENERATIVE", "Role", "describe", "facts_from_header", "quantization_name", "roles_for", "special_vocab"]

Role = Literal["completion", "chat"]

#: ``general.architecture`` values that generate no text (vision projectors, encoders).
NOT_GENERATIVE = frozenset({"clip", "bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "t5encoder", "wavtokenizer-dec"})
#: ``general.type`` values that are not a whole model.
NOT_A_MODEL = frozenset({"adapter", "mmproj", "imatrix"})
#: Token types whose texts are special (``gguf.TokenType``).
_SPECIAL_TYPES = frozenset({int(gguf.TokenType.CONTROL), int(gguf.TokenType.USER_DEFINED)})


class ModelFacts(BaseModel):
    """Facts read from one GGUF header.

    Attributes:
        architecture: ``general.architecture`` (``llama``, ``qwen2``, ``gemma3``, ...).
        model_name: ``general.name``.
        parameters: parameters counted from the tensor shapes (``None`` for a split file's first
            part, which lists only its own tensors).
        size_label: ``general.size_label`` (``1.5B``), else made from ``parameters``.
        quantization: ``general.file_type`` as a name (``Q4_K_M``), else the most common tensor type.
        context_length: ``<arch>.context_length``, tokens.
        fim: the FIM family :func:`lfcode.backends.fim.detect_fim` finds, or ``None``.
        chat_template: the file has ``tokenizer.chat_template``.
        roles: the roles it suits (module docstring).
    """

    architecture: str | None = None
    model_name: str | None = None
    parameters: int | None = None
    size_label: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    fim: str | None = None
    chat_template: bool = False
    roles: list[Role] = Field(default_factory=list)


def quantization_name(file_type: int | None, tensors: list[Any] = ()) -> str | None:
    """``general.file_type`` as llama.cpp names it (``15`` → ``"Q4_K_M"``, ``0`` → ``"F32"``);
    without it, the ggml type holding most of the tensors' values (``"Q8_0"``); ``None`` when
    neither is known. An unknown number is returned as ``"file type N"``."""
    if file_type is not None:
        try:
            name = gguf.LlamaFileType(int(file_type)).name
        except ValueError:
            return f"file type {file_type}"
        return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    weights: Counter[int] = Counter()
    for tensor in tensors:
        weights[tensor.type] += tensor.elements
    if not weights:
        return None
    top = weights.most_common(1)[0][0]
    try:
        return gguf.GGMLQuantizationType(top).name
    except ValueError:
        return f"tensor type {top}"


def _size_label(parameters: int | None) -> str | None:
    """``1_543_714_304`` → ``"1.5B"``, ``270_000_000`` → ``"270M"``."""
    if not parameters:
        return None
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if parameters >= scale:
            value = parameters / scale
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(parameters)


def special_vocab(metadata: dict[str, Any]) -> dict[str, int]:
    """The special tokens of a header's vocabulary as ``{text: id}``, for
    :func:`lfcode.backends.fim.detect_fim`.

    Like :func:`lfcode.backends.fim.vocab_from_llama` on a loaded model: the CONTROL and
    USER_DEFINED tokens (every token when ``tokenizer.ggml.token_type`` is missing), the tokens
    the metadata names by id (``tokenizer.ggml.*_token_id``), and the FIM and stop texts
    ``detect_fim`` knows, whatever their type.
    """
    tokens = metadata.get(gguf.Keys.Tokenizer.LIST) or []
    types = metadata.get(gguf.Keys.Tokenizer.TOKEN_TYPE)
    if not isinstance(types, list) or len(types) != len(tokens):
        return {text: tid for tid, text in reversed(list(enumerate(tokens)))}
    out: dict[str, int] = {}
    for tid, kind in enumerate(types):
        if kind in _SPECIAL_TYPES:
            out.setdefault(tokens[tid], tid)
    for key, value in metadata.items():
        if key.startswith("tokenizer.ggml.") and key.endswith("_token_id") and isinstance(value, int) and 0 <= value < len(tokens):
            out.setdefault(tokens[value], value)
    probes = set(_PROBE_TEXTS) - out.keys()
    if probes:
        for tid, text in enumerate(tokens):
            if text in probes:
                out.setdefault(text, tid)
    return out


def roles_for(architecture: str | None, general_type: str | None, fim: str | None, chat_template: bool) -> list[Role]:
    """The roles a model suits (module docstring); ``[]`` for what generates no text."""
    if (architecture or "") in NOT_GENERATIVE or (general_type or "") in NOT_A_MODEL:
        return []
    roles: list[Role] = []
    if fim is not None or not chat_template:
        roles.append("completion")
    if chat_template:
        roles.append("chat")
    return roles


def facts_from_header(header: GgufHeader) -> ModelFacts:
    """The :class:`ModelFacts` of a header read by :func:`lfcode.models.header.read_header`."""
    meta = header.metadata
    arch = meta.get(gguf.Keys.General.ARCHITECTURE)
    arch = arch if isinstance(arch, str) else None
    split = meta.get(gguf.Keys.Split.LLM_KV_SPLIT_COUNT)
    parameters = sum(t.elements for t in header.tensors) if not (isinstance(split, int) and split > 1) else None
    label = meta.get(gguf.Keys.General.SIZE_LABEL)
    context = meta.get(gguf.Keys.LLM.CONTEXT_LENGTH.format(arch=arch)) if arch else None
    strings = {k: str(v) for k, v in meta.items() if not isinstance(v, list)}
    found = detect_fim(special_vocab(meta), strings)
    chat = isinstance(meta.get(gguf.Keys.Tokenizer.CHAT_TEMPLATE), str)
    file_type = meta.get(gguf.Keys.General.FILE_TYPE)
    general_type = meta.get(gguf.Keys.General.TYPE)
    return ModelFacts(
        architecture=arch,
        model_name=meta.get(gguf.Keys.General.NAME) if isinstance(meta.get(gguf.Keys.General.NAME), str) else None,
        parameters=parameters or None,
        size_label=label if isinstance(label, str) and label else _size_label(parameters),
        quantization=quantization_name(file_type if isinstance(file_type, int) else None, header.tensors),
        context_length=context if isinstance(context, int) else None,
        fim=found.family if found else None,
        chat_template=chat,
        roles=roles_for(arch, general_type if isinstance(general_type, str) else None, found.family if found else None, chat),
    )


def describe(path: Path) -> ModelFacts:
    """Read ``path``'s GGUF header and return its facts (the weights are never read).

    Raises:
        GgufError: not a GGUF file, or a corrupt header.
        OSError: the file cannot be read.
    """
    return facts_from_header(read_header(path))


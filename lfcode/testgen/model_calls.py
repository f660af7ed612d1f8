"""Call expressions proposed by the model for the lines no call has reached yet.

The model only proposes inputs (its strength); what the calls return is observed in the sandbox
(:mod:`lfcode.execution.engine`), never predicted. The prompt (``prompts/test_calls.txt``) is
completion-style and few-shot, as CoverUp re-prompts with the still-uncovered lines
("CoverUp: Coverage-Guided LLM-Based Test Generation", arXiv 2403.16218): the function's source
with those lines marked ``# not run yet``, and the calls that already ran as the start of the
answer. Every proposed line must parse as one call of the function, or it is dropped.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from lfcode.backends.base import Backend, GenerationRequest
from lfcode.backends.generation import generate_text
from lfcode.errors import CancelToken
from lfcode.templates import render

#: Tokens per answer (a few calls).
CALLS_MAX_TOKENS = 160
#: Characters of the marked source shown to the model.
SOURCE_CHARS = 6000
MARK = "  # not run yet"


def marked_source(source: str, first: int, last: int, uncovered: set[int]) -> str:
    """Lines ``first``..``last`` (1-based, inclusive) of ``source`` with each line in
    ``uncovered`` ending in ``# not run yet``; at most :data:`SOURCE_CHARS` characters."""
    lines = source.splitlines()[first - 1 : last]
    text = "\n".join(line + MARK if first + i in uncovered else line for i, line in enumerate(lines))
    return text[:SOURCE_CHARS]


def parse_calls(text: str, callee: str) -> list[str]:
    """The lines of ``text`` that are one call of ``callee`` (``"f"`` or ``"obj.m"``), normalised
    with ``ast.unparse``, first seen first."""
    calls: list[str] = []
    for line in text.splitlines():
        try:
            node = ast.parse(line.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            continue
        if isinstance(node, ast.Call) and ast.unparse(node.func) == callee:
            calls.append(ast.unparse(node))
    return list(dict.fromkeys(calls))


def model_calls(
    backend: Backend,
    source_path: str,
    cancel: CancelToken,
    marked: str,
    callee: str,
    examples: Sequence[str],
    attempt: int = 0,
    feature: str = "testgen",
) -> list[str]:
    """Calls of ``callee`` the model proposes to reach the marked lines of ``marked`` (see
    :func:`marked_source`), after ``examples`` (calls that already ran; up to three are shown).
    ``attempt`` seeds the sampling (temperature 0.8), so each round asks for something new.
    ``feature`` is the :attr:`~lfcode.backends.base.GenerationRequest.feature` recorded in the
    audit log (the review's behaviour diff passes ``"review"``).
    With the first three bound (``functools.partial``) it is a
    :data:`lfcode.testgen.search.Proposer`.

    Raises:
        lfcode.errors.Cancelled: ``cancel`` was set.
        lfcode.errors.BackendError: the model failed.
    """
    name = callee.rsplit(".", 1)[-1]
    shown = "\n".join(examples[:3]) + ("\n" if examples else "")
    prompt = render("test_calls.txt", source_path=source_path, source=marked, function=name, calls=shown).rstrip("\n") + "\n"
    request = GenerationRequest(prompt="", max_tokens=CALLS_MAX_TOKENS, temperature=0.8, seed=attempt, stop=["\n\n", "###"],
                                feature=feature)
    text = generate_text(backend, prompt, request, cancel)
    return [call for call in parse_calls(text, callee) if call not in examples]

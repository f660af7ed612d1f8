"""Explain, as one service shared by ``lfcode explain`` and the ``lfcode.explain`` LSP command.

Three phases, so that a front end runs each where it belongs and reports progress in between:

1. :func:`prepare` computes the facts (parses the file, reads the project's index: blocking,
   a worker thread in the LSP);
2. :func:`run_examples` runs calls in the sandbox (one subprocess: a worker thread);
3. :func:`explain_symbol` asks the model for the summary, checks it and renders the document
   (the LSP runs it in the inference worker).

Both front ends therefore show the same facts and send the model the same prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lfcode.backends.base import Backend
from lfcode.context.index import SymbolIndex
from lfcode.context.symbols import Symbol, module_symbol, symbol_at
from lfcode.errors import BackendError, CancelToken, Cancelled
from lfcode.explain import document
from lfcode.explain.examples import Examples, worked_examples
from lfcode.explain.facts import Facts, build_facts
from lfcode.explain.summary import SUMMARY_MAX_TOKENS, Summary, prompt_values, summarise


@dataclass
class Prepared:
    """What an explanation starts from: the ``symbol``, its file's ``text`` and ``path`` (as
    shown), the project ``root`` and the computed ``facts``."""

    symbol: Symbol
    text: str
    path: str
    root: Path | None
    facts: Facts


@dataclass
class Explanation:
    """The result: ``facts``, ``examples``, the model's checked ``summary`` (``None`` when the
    model failed: ``model_note`` says why), and the whole ``markdown`` document."""

    facts: Facts
    examples: Examples
    summary: Summary | None
    markdown: str
    model_note: str = ""

    def as_json(self) -> dict[str, object]:
        """The fields of ``lfcode explain --format json`` (see :func:`lfcode.explain.document.as_json`)."""
        return document.as_json(self.facts, self.examples, self.summary, self.model_note)


def symbol_for_line(text: str, path: str, line: int | None) -> Symbol | None:
    """The symbol ``lfcode explain FILE[:LINE]`` means.

    Args:
        text: the file's text.
        path: its path (chooses the grammar).
        line: 1-based line, or ``None`` for the whole file.

    Returns:
        The innermost function, method or class holding the first non-blank character of
        ``line`` (or its last one); the whole file as a ``module`` symbol when ``line`` is ``None``; ``None`` when
        the line is outside every symbol.
    """
    if line is None:
        return module_symbol(text, path)
    row = text.split("\n")[line - 1]
    # The first non-blank character, else the last one (``export function f() {`` starts on a
    # keyword outside the definition node).
    return symbol_at(text, line - 1, len(row) - len(row.lstrip()), path) or symbol_at(text, line - 1, len(row.rstrip()) - 1, path)


def prepare(text: str, symbol: Symbol, path: str, root: Path | None, index: SymbolIndex | None = None) -> Prepared:
    """The facts of ``symbol`` in the file ``path`` (text ``text``) of project ``root``.

    Blocking: parses, and reads the project's files (callers, callees; each parsed once per
    modification time). ``index``, the language server's workspace index, gives the other
    files' symbols once it has walked ``root``, so nothing is walked or parsed again.
    """
    return Prepared(symbol=symbol, text=text, path=path, root=root, facts=build_facts(text, symbol, path, root, index))


def run_examples(prepared: Prepared, sandbox: Literal["required", "off"] = "required", cancel: CancelToken | None = None) -> Examples:
    """Worked examples for ``prepared`` (:func:`lfcode.explain.examples.worked_examples`): blocking,
    one sandboxed process of at most 20 s. Without a project root there are none (a note says so).

    Raises:
        lfcode.errors.Cancelled: ``cancel`` was set.
    """
    if prepared.root is None:
        return Examples(note="examples need the file's project folder")
    return worked_examples(prepared.root, Path(prepared.path), prepared.text, prepared.facts, sandbox=sandbox, cancel=cancel)


def explain_symbol(
    backend: Backend, prepared: Prepared, examples: Examples, cancel: CancelToken, max_tokens: int = SUMMARY_MAX_TOKENS,
) -> Explanation:
    """Ask the model for the summary, check it, and render the document (blocking; seconds of
    model time). A model that fails leaves the facts and examples, with a note saying why.

    Raises:
        lfcode.errors.Cancelled: ``cancel`` was set.
    """
    facts = prepared.facts
    lines = document.fact_lines(facts, examples)
    summary: Summary | None = None
    note = ""
    try:
        values = prompt_values(backend, prepared.symbol.name, facts.signature, prepared.path, facts.language,
                               prepared.symbol.source, lines, max_tokens)
        summary = summarise(backend, values, prepared.symbol.source, "\n".join(lines), [e.result for e in examples.items], cancel,
                            max_tokens)
    except Cancelled:
        raise
    except BackendError as exc:
        note = f"the model failed ({exc})"
    markdown = document.render_markdown(facts, examples, summary, note)
    return Explanation(facts=facts, examples=examples, summary=summary, markdown=markdown, model_note=note)


def save(explanation: Explanation) -> Path:
    """Write the document under ``$XDG_CACHE_HOME/lfcode/explanations/`` (never into the
    project) and return its path.

    Raises:
        OSError: the cache folder cannot be written.
    """
    return document.write_explanation(explanation.facts.path, explanation.facts.qualname, explanation.markdown)


__all__ = ["Explanation", "Prepared", "explain_symbol", "prepare", "run_examples", "save", "symbol_for_line"]

"""The explanation as a document: Markdown for people, JSON for scripts, and the facts as the
model's prompt sees them.

The Markdown puts what tooling established first (facts, then examples observed in the
sandbox) and the model's text last, under its own heading and label. Documents are written
under ``$XDG_CACHE_HOME/lfcode/explanations/``, never inside the project.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from lfcode.explain.examples import Examples
from lfcode.explain.facts import Facts
from lfcode.explain.summary import DROP_KINDS, Summary

#: Callees named in the prompt and the document at most.
MAX_CALLS = 16


def _code(items: list[str]) -> str:
    return ", ".join(f"`{item}`" for item in items)


def parameters_line(facts: Facts) -> str:
    """``r``, ``g: int = 0``, ``*args``... or ``none``."""
    shown = []
    for p in facts.parameters:
        star = "*" if p["kind"] == "*args" else "**" if p["kind"] == "**kwargs" else ""
        text = star + p["name"] + (f": {p['annotation']}" if p["annotation"] else "") + (f" = {p['default']}" if p["default"] else "")
        shown.append(text)
    return _code(shown) or "none"


def calls_line(facts: Facts) -> str:
    """``max`` (builtin), ``helper`` (``file.py:12``)... or ``none``."""
    shown = []
    for callee in facts.calls[:MAX_CALLS]:
        where = f"`{callee.where}`" if callee.where else callee.kind
        shown.append(f"`{callee.name}` ({where})")
    more = len(facts.calls) - MAX_CALLS
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"


def returns_line(facts: Facts) -> str:
    """The returned expressions with their lines, the annotation, or what a function without
    ``return`` gives back."""
    parts = [f"`{r['expression']}` (line {r['line']})" for r in facts.returns]
    text = ", ".join(parts)
    if facts.generator:
        text = "a generator" + (f"; `return` {text}" if text else "")
    elif not parts and facts.kind in ("function", "method"):
        text = "`None` (no `return` statement)"
    if facts.return_annotation:
        text = f"`{facts.return_annotation}` (annotation)" + (f"; {text}" if text else "")
    return text


def raises_line(facts: Facts) -> str:
    """Exception types with where they come from, or that it raises nothing itself."""
    if not facts.raises:
        return "nothing it raises itself or through the project's own functions"
    return ", ".join(f"`{r.type}` " + (f"(line {r.line})" if r.line else f"(via `{r.via}`)") for r in facts.raises)


def effects_line(facts: Facts) -> str:
    """Side effects found statically, or none."""
    if not facts.side_effects:
        return "none found"
    return "; ".join(f"{e['what']} (`{e['code']}`, line {e['line']})" for e in facts.side_effects[:8])


def fact_lines(facts: Facts, examples: Examples, markdown: bool = False) -> list[str]:
    """The facts as lines (``Calls: `max` (builtin)``), bold labels with ``markdown``; used both in
    the document and in the model's prompt."""
    label = (lambda name: f"**{name}:**") if markdown else (lambda name: f"{name}:")
    lines = []
    if facts.analysed:
        lines.append(f"{label('Parameters')} {parameters_line(facts)}")
        lines.append(f"{label('Returns')} {returns_line(facts) or 'nothing'}")
        lines.append(f"{label('Raises')} {raises_line(facts)}")
    if facts.kind != "module":
        lines.append(f"{label('Calls')} {calls_line(facts)}")
        callers = f"{_code(facts.called_by)} (calls of the name `{facts.qualname.rsplit('.', 1)[-1]}`)" if facts.called_by else ""
        lines.append(f"{label('Called by')} {callers or 'nothing found in the project'}")
    if facts.analysed:
        lines.append(f"{label('Side effects')} {effects_line(facts)}")
        lines.append(f"{label('Complexity')} {facts.complexity}")
    if not markdown and examples.items:
        lines.append("Examples: " + "; ".join(f"`{e.call}` → `{e.result}`" for e in examples.items))
    return lines


def render_markdown(facts: Facts, examples: Examples, summary: Summary | None, model_note: str = "") -> str:
    """The whole document: title, location, signature, docstring, facts, examples, then the
    model's checked text under its own label (or ``model_note`` saying why there is none)."""
    parts = [
        f"# {facts.kind.capitalize()} `{facts.qualname}`",
        f"`{facts.path}`, lines {facts.start_line}–{facts.end_line}",
        f"```{facts.language}\n{facts.signature}\n```",
    ]
    if facts.docstring:
        parts.append("> " + facts.docstring)
    facts_md = fact_lines(facts, examples, markdown=True)
    if facts_md:
        parts.append("## Facts\n\n*Established by lfcode from the code (parsed and indexed), not by the model.*\n\n"
                     + "\n".join(f"- {line}" for line in facts_md))
    if examples.items:
        parts.append("## Examples\n\n*Run in the sandbox: each call ran twice and gave this result both times.*\n\n"
                     + "\n".join(f"- `{e.call}` → `{e.result}`" for e in examples.items))
    elif examples.note:
        parts.append(f"## Examples\n\n*{examples.note[:1].upper()}{examples.note[1:]}.*")
    parts.append(_model_part(summary, model_note))
    return "\n\n".join(parts) + "\n"


def dropped_line(summary: Summary) -> str:
    """``"3 sentences left out: 2 named something not in the code or the facts, 1 ..."``, without
    repeating what they said."""
    counts: dict[str, int] = {}
    for item in summary.dropped:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    total = len(summary.dropped)
    reasons = ", ".join(f"{n} {DROP_KINDS.get(kind, kind)}" for kind, n in counts.items())
    return f"{total} sentence{'s' if total != 1 else ''} of the model's answer left out: {reasons}"


def _model_part(summary: Summary | None, note: str) -> str:
    head = "## Summary (local model)\n\n"
    if summary is None or not summary.usable:
        why = note or "the model gave no usable summary"
        if summary is not None and summary.dropped:
            why += f" ({dropped_line(summary)})"
        return head + f"*No summary: {why}. The facts and examples above are lfcode's own.*"
    text = head + "*Written by a local model from the code and the facts above; check it against the code.*"
    if summary.summary:
        text += f"\n\n**Summary.** {summary.summary}"
    if summary.steps:
        text += "\n\n**How it works.**\n" + "\n".join(f"- {step}" for step in summary.steps)
    if summary.dropped:
        text += f"\n\n*{dropped_line(summary)}.*"
    return text


def as_json(facts: Facts, examples: Examples, summary: Summary | None, model_note: str = "") -> dict[str, object]:
    """The explanation as JSON-ready fields: ``signature``, ``returns``, ``raises``, ``calls``,
    ``called_by``, ``side_effects``, ``examples`` (``[{"call", "result"}]``), ``summary``,
    ``steps``, ``dropped`` (``[{"text", "reason"}]``), and the rest of :class:`Facts`."""
    data = facts.as_dict()
    data["examples"] = [{"call": e.call, "result": e.result} for e in examples.items]
    data["examples_note"] = examples.note
    data["summary"] = summary.summary if summary else ""
    data["steps"] = list(summary.steps) if summary else []
    data["dropped"] = [{"text": d.text, "reason": d.reason, "kind": d.kind} for d in summary.dropped] if summary else []
    data["model_note"] = model_note
    return data


def explanation_path(path: str, qualname: str, cache: Path | None = None) -> Path:
    """``<cache>/explanations/<file stem>-<qualname>-<8 hex of the file path>.md``.

    ``cache`` defaults to :func:`lfcode.backends.embedded.cache_dir` (``$XDG_CACHE_HOME/lfcode``).
    """
    if cache is None:
        from lfcode.backends.embedded import cache_dir

        cache = cache_dir()
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:8]
    safe = re.sub(r"[^\w.-]", "_", f"{Path(path).stem}-{qualname}")
    return cache / "explanations" / f"{safe}-{digest}.md"


def write_explanation(path: str, qualname: str, markdown: str, cache: Path | None = None) -> Path:
    """Write ``markdown`` to :func:`explanation_path` and return the path.

    Raises:
        OSError: the cache folder cannot be written.
    """
    target = explanation_path(path, qualname, cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(markdown, encoding="utf-8")
    return target

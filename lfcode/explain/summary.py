"""The only part of an explanation a model writes: a one-sentence summary and the "how it works"
steps, checked sentence by sentence before anything is shown.

The model sees the code and the facts (:mod:`lfcode.explain.facts`, :mod:`lfcode.explain.examples`).
A chat model gets ``prompts/explain_chat.txt`` through its chat template; a base model (the
embedded Gemma 3 270M) the completion prompt ``prompts/explain.txt``, which ends with the start
of the answer (``**Summary.** `name```). Neither has a few-shot example: the embedded model
copied the earlier one into 31% of its answers (``benchmarks/explain.py``). Each sentence of the
answer is then dropped when it:

- is not a whole sentence (a heading, a fragment under :data:`MIN_WORDS` words, cut off);
- repeats the prompt's own text (:func:`prompt_sentences`: a shared run of :data:`COPY_WORDS`
  words the code and facts do not have, or a ``difflib`` ratio of at least :data:`COPY_RATIO`);
- names an identifier (in backticks, or code-like: ``snake_case``, ``camelCase``, ``a.b``,
  ``f()``) or a number in backticks that occurs neither in the code nor in the facts' code spans;
- says what the function returns with a kind of value (a number, a string, a list...) that no
  observed example returned;
- repeats a sentence kept before it (small models loop).

A wrong explanation is worse than none: when nothing survives, the document shows the facts
alone and says so.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field

from lfcode.backends.base import Backend, ChatMessage, GenerationRequest
from lfcode.backends.generation import fit, generate_text
from lfcode.errors import CancelToken
from lfcode.templates import load_template, render

#: Tokens the model may write for one summary.
SUMMARY_MAX_TOKENS = 200
#: Tokens kept free in the context window besides the answer (template overhead, safety).
PROMPT_SLACK = 64
#: A sentence sharing this many consecutive words with one of the prompt's (words the code and
#: facts do not have) is a copy; so is one whose ``difflib`` ratio with it reaches COPY_RATIO.
COPY_WORDS = 5
COPY_RATIO = 0.7
#: A sentence this close (``difflib`` ratio over words) to an earlier kept one repeats it.
REPEAT_RATIO = 0.8
#: Fewer words than this is a fragment, not a sentence.
MIN_WORDS = 4

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE_WORD = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b|\b[A-Za-z_]\w*_\w*\b|\b[a-z]+[A-Z]\w*\b|\b[A-Za-z_]\w*(?=\()")
#: Dotted words that are prose, not code: abbreviations (``e.g.``) and file names (``colorsys.py``).
_NOT_CODE = re.compile(r"^(?:\w\.)+\w$|\.(?:py|pyi|js|ts|tsx|jsx|go|rs|java|c|h|cpp|hpp|rb|md|txt|json|toml|yaml|yml|cfg|ini)$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:e-?\d+)?$")
#: Words naming a kind of returned value, and the Python types they cover.
KINDS = {
    "number": ("int", "float", "complex"), "numbers": ("int", "float", "complex"), "float": ("float",),
    "floats": ("float",), "integer": ("int",), "integers": ("int",), "int": ("int",), "string": ("str",),
    "strings": ("str",), "text": ("str",), "str": ("str",), "list": ("list",), "lists": ("list",), "tuple": ("tuple",),
    "tuples": ("tuple",), "dict": ("dict",), "dictionary": ("dict",), "mapping": ("dict",), "set": ("set", "frozenset"),
    "boolean": ("bool",), "bool": ("bool",), "bytes": ("bytes",),
}
_WORD = re.compile(r"[a-z]+")


#: Why sentences are dropped, in words for the document (which never repeats the sentence).
DROP_KINDS = {
    "fragment": "not a whole sentence", "copied": "copied from the prompt", "unknown": "named something not in the code or the facts",
    "contradicts": "contradicted the examples", "repeat": "repeated an earlier sentence",
}


@dataclass
class Dropped:
    """A sentence of the model's answer that was not shown: its ``text``, the ``kind`` of check it
    failed (a key of :data:`DROP_KINDS`) and the ``reason`` in detail (``"names `x`, which is not
    in the code or the facts"``)."""

    text: str
    reason: str
    kind: str = "unknown"


@dataclass
class Summary:
    """The model's checked text: ``summary`` (one sentence, may be ``""``), ``steps`` (bullets),
    ``dropped`` sentences, and ``raw``, the whole answer before the checks."""

    summary: str = ""
    steps: list[str] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    raw: str = ""

    @property
    def usable(self) -> bool:
        """Whether any of the model's text survived the checks."""
        return bool(self.summary or self.steps)


def facts_block(lines: list[str]) -> str:
    """The ``Facts:`` lines of the prompt (``- Calls: ...``), or ``- none``."""
    return "\n".join(f"- {line}" for line in lines) or "- none"


def prompt_values(backend: Backend, symbol_name: str, signature: str, path: str, language: str, source: str, facts: list[str],
                  max_tokens: int) -> dict[str, str]:
    """Template values for ``explain.txt``/``explain_chat.txt``, the source cut to fit ``n_ctx``."""
    values = {"signature": signature, "path": path, "language": language, "symbol": symbol_name, "source": "",
              "facts": facts_block(facts)}
    overhead = len(backend.tokenize(render("explain.txt", **values)))
    budget = backend.capabilities.n_ctx - max_tokens - overhead - PROMPT_SLACK
    values["source"] = fit(backend, source, budget)
    return values


def example_sentences(name: str = "explain.txt") -> list[str]:
    """The sentences of the prompt template ``name`` itself (see :func:`prompt_sentences`)."""
    return prompt_sentences(load_template(name)[0].template)


def prompt_sentences(template: str) -> list[str]:
    """The sentences of a prompt ``template``'s own text (its instructions and any example,
    without code fences, the placeholders left out): what an answer that copies its prompt
    would repeat."""
    lines = [line for line in template.split("\n") if not line.startswith("```") and line.strip() not in ("$source", "$facts")]
    text = re.sub(r"\$\{?\w+\}?", "", "\n".join(lines)).replace("``", "")
    return [" ".join(s.split()) for s in split_sentences(text.replace("**Summary.**", "").replace("**How it works.**", "")) if len(s.split()) >= 3]


def split_sentences(text: str) -> list[str]:
    """Bullets and sentences of ``text``: a bullet starts a new sentence, other lines continue
    the one before (small models wrap their lines), and a sentence ends at ``. `` before a
    capital or a backtick."""
    paragraphs: list[str] = []
    joined = True
    for line in text.split("\n"):
        bullet = re.match(r"^\s*(?:[-*+]|\d+[.)])\s+", line)
        stripped = line[bullet.end():].strip() if bullet else line.strip()
        if not stripped:
            joined = False
        elif bullet or not joined or not paragraphs:
            paragraphs.append(stripped)
            joined = True
        else:
            paragraphs[-1] += " " + stripped
    parts: list[str] = []
    for paragraph in paragraphs:
        parts += [p.strip() for p in re.split(r"(?<=[.!?])\s+(?=[A-Z`])", paragraph) if p.strip()]
    return parts


def vocabulary(code: str, facts_text: str) -> set[str]:
    """What a sentence may name: the identifiers of the code, and those inside the facts' code
    spans (not the facts' own words such as ``builtin``)."""
    spans = " ".join(re.findall(r"`([^`]+)`", facts_text))
    return set(_IDENT.findall(code)) | set(_IDENT.findall(spans))


def named_identifiers(sentence: str) -> tuple[list[str], list[str]]:
    """``(identifiers, numbers)`` a sentence names: every identifier inside backticks, numbers
    alone in backticks, and code-like words outside them (dotted, ``snake_case``, ``camelCase``,
    followed by ``(``)."""
    identifiers: list[str] = []
    numbers: list[str] = []
    outside = sentence
    for span in re.findall(r"`([^`]+)`", sentence):
        outside = outside.replace(f"`{span}`", " ")
        if _NUMBER.match(span.strip()):
            numbers.append(span.strip())
        else:
            without_strings = re.sub(r"'[^']*'|\"[^\"]*\"", " ", span)
            identifiers += [w for w in _IDENT.findall(without_strings) if not re.match(r"^\d", w)]
    for word in _CODE_WORD.findall(re.sub(r"\*\*[^*]+\*\*", " ", outside)):
        if not _NOT_CODE.search(word):
            identifiers += _IDENT.findall(word)
    return identifiers, numbers


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def copied(sentence: str, examples: list[str], allowed_text: str) -> bool:
    """Whether ``sentence`` repeats one of the prompt's sentences ``examples``: a run of :data:`COPY_WORDS`
    words in common that ``allowed_text`` (code and facts) does not contain, or a ``difflib``
    ratio of at least :data:`COPY_RATIO` over the words."""
    words = _words(sentence)
    allowed = " ".join(_words(allowed_text))
    for example in examples:
        other = _words(example)
        if difflib.SequenceMatcher(None, words, other, autojunk=False).ratio() >= COPY_RATIO:
            return True
        shingles = {" ".join(other[i : i + COPY_WORDS]) for i in range(len(other) - COPY_WORDS + 1)}
        for i in range(len(words) - COPY_WORDS + 1):
            run = " ".join(words[i : i + COPY_WORDS])
            if run in shingles and run not in allowed:
                return True
    return False


def observed_kinds(results: list[str]) -> set[str]:
    """Python type names of the example results that are literals (``"(0.0, 0.5, 1.0)"`` → ``tuple``)."""
    kinds = set()
    for result in results:
        try:
            kinds.add(type(ast.literal_eval(result)).__name__)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return kinds


def contradicts(sentence: str, kinds: set[str]) -> bool:
    """Whether ``sentence`` says the function returns a kind of value (``"returns a number"``)
    that none of the observed ``kinds`` is; False when nothing was observed."""
    if not kinds:
        return False
    words = _words(re.sub(r"`[^`]*`", " ", sentence))
    if not any(w in ("return", "returns", "returning", "gives", "produces") for w in words):
        return False
    after = words[next(i for i, w in enumerate(words) if w in ("return", "returns", "returning", "gives", "produces")):]
    claimed = {t for w in after[:6] for t in KINDS.get(w, ())}
    if "bool" in kinds:
        kinds = kinds | {"int"}
    return bool(claimed) and not (claimed & kinds)


def check(text: str, vocabulary_: set[str], allowed_text: str, examples: list[str], kinds: set[str],
          seen: list[str] = ()) -> tuple[list[str], list[Dropped]]:
    """The sentences of ``text`` that pass, and the dropped ones with their reason (see the
    module docstring); ``allowed_text`` is the code and the facts as text; ``seen`` sentences
    already kept (a sentence repeating one of them is dropped)."""
    kept: list[str] = []
    dropped: list[Dropped] = []
    for sentence in split_sentences(text):
        identifiers, numbers = named_identifiers(sentence)
        unknown = [i for i in identifiers if i not in vocabulary_]
        unknown += [n for n in numbers if n not in allowed_text]
        if "**" in sentence or len(_words(sentence)) < MIN_WORDS or not re.search(r"[.!?)`]$", sentence):
            dropped.append(Dropped(sentence, "not a whole sentence", "fragment"))
        elif copied(sentence, examples, allowed_text):
            dropped.append(Dropped(sentence, "copied from the prompt", "copied"))
        elif unknown:
            dropped.append(Dropped(sentence, f"names `{unknown[0]}`, which is not in the code or the facts", "unknown"))
        elif contradicts(sentence, kinds):
            dropped.append(Dropped(sentence, "contradicts the examples' results", "contradicts"))
        elif any(difflib.SequenceMatcher(None, _words(sentence), _words(k), autojunk=False).ratio() >= REPEAT_RATIO for k in (*seen, *kept)):
            dropped.append(Dropped(sentence, "repeats an earlier sentence", "repeat"))
        else:
            kept.append(sentence)
    return kept, dropped


def parse_answer(text: str) -> tuple[str, str]:
    """``(summary part, steps part)`` of an answer in the prompt's format."""
    text = text.replace("**Summary.**", "", 1)
    summary, _, steps = text.partition("**How it works.**")
    steps = re.split(r"\n\s*\*\*(?:Returns|Example|Calls|Facts)", steps)[0]
    return summary.strip(), steps.strip()


def _enough(text: str) -> bool:
    """Stop a base model once its step list has ended (a blank line after a bullet) or it repeats itself."""
    lines = [line.strip() for line in text.split("\n") if len(line.strip()) >= 8]
    if len(lines) != len(set(lines)):
        return True
    steps = text.find("**How it works.**")
    return steps >= 0 and bool(re.search(r"\n\s*[-*\d][^\n]*\n\s*\n", text[steps:]))


def summarise(backend: Backend, values: dict[str, str], code: str, facts_text: str, results: list[str], cancel: CancelToken,
              max_tokens: int = SUMMARY_MAX_TOKENS) -> Summary:
    """Ask the model for the summary and steps of the symbol in ``values`` (see :func:`prompt_values`)
    and check every sentence against ``code``, ``facts_text`` and the example ``results``.

    Raises:
        lfcode.errors.Cancelled: ``cancel`` was set.
        lfcode.errors.BackendError: the model failed.
    """
    request = GenerationRequest(prompt="", max_tokens=max_tokens, temperature=0.0, stop=["\n## ", "\n# ", "\nFacts:", "\n**Returns"],
                                feature="explain")
    symbol = values["symbol"]
    if backend.capabilities.chat_template:
        messages = [ChatMessage(role="user", content=render("explain_chat.txt", **values))]
        raw = generate_text(backend, messages, request, cancel, _enough)
        examples = example_sentences("explain_chat.txt")
    else:
        start = f"**Summary.** `{symbol}`"
        raw = start + generate_text(backend, render("explain.txt", **values).rstrip("\n"), request, cancel, _enough)
        examples = example_sentences()
    return checked(raw, symbol, code, facts_text, results, examples)


def checked(raw: str, symbol: str, code: str, facts_text: str, results: list[str], prompt: list[str]) -> Summary:
    """The :class:`Summary` of the model's answer ``raw`` about ``symbol``: its sentences checked
    against the ``code``, the ``facts_text``, the example ``results`` and the ``prompt``'s own
    sentences (:func:`prompt_sentences`)."""
    summary_text, steps_text = parse_answer(raw)
    vocab = vocabulary(code, facts_text) | {symbol}
    allowed = code + "\n" + facts_text
    kinds = observed_kinds(results)
    kept_summary, dropped = check(summary_text, vocab, allowed, prompt, kinds)
    kept_steps, dropped_steps = check(steps_text, vocab, allowed, prompt, kinds, kept_summary)
    if len(kept_summary) == 1 and kept_summary[0].strip(" .`") == symbol:
        kept_summary = []
    return Summary(summary=" ".join(kept_summary[:2]), steps=kept_steps[:8], dropped=dropped + dropped_steps, raw=raw)

"""Generate unit tests for a symbol, one test at a time, and plan where they are written.

A base model (no chat template) gets the few-shot prompt ``prompts/tests_<framework>.txt``
followed by the test file as it would start: the existing test file (if any), the imports, the
tests accepted so far and the opening of the next test (``def test_dedent``). The model
continues one test; lfcode keeps it when it parses (tree-sitter, plus :func:`ast.parse` for
Python), asserts something, mentions the symbol and is not a repeat, then asks for the next one
(greedy while that works, then sampled). A chat model gets ``prompts/tests_chat.txt`` once and
its fenced code block is checked the same way.

The result (:class:`GeneratedTests`) is the text to insert and where: at the end of the test
file, or, for an existing JUnit file, before the class's closing brace. Existing content is never
replaced. Frameworks: :mod:`lfcode.testgen.frameworks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lfcode.backends.base import Backend, ChatMessage, GenerationRequest
from lfcode.backends.generation import fit, generate_text
from lfcode.context.symbols import Symbol, find_symbol, imports
from lfcode.errors import CancelToken, LfcodeError
from lfcode.templates import render
from lfcode.testgen.frameworks import Framework, parses, pascal, read_existing, snake  # noqa: F401 - re-exported
from lfcode.testgen.scaffold import HEADERS, SPECS, Spec

#: Tokens the model may write for one test.
TEST_MAX_TOKENS = 160
#: Tests asked for by default.
DEFAULT_TESTS = 4
#: Name endings that steer successive tests apart (a small model otherwise repeats itself).
HINTS = ("", "_empty", "_edge_case", "_second_case", "_invalid_input", "_large_input")
#: Longest part of an existing test file shown in the prompt, characters.
EXISTING_TAIL_CHARS = 1200


class TestgenError(LfcodeError, ValueError):
    """No usable test came out of the model, or the tests cannot be placed; shown to the user."""

    __test__ = False


@dataclass
class TestPlan:
    """Everything needed to write tests for ``symbol``: its file (``source_path``, absolute, and
    ``source_text`` as the editor has it), the project ``root``, the ``framework`` and the test
    file's current text (``existing``, ``None`` when the file does not exist yet)."""

    symbol: Symbol
    source_path: Path
    source_text: str
    root: Path
    framework: Framework
    existing: str | None = None
    __test__ = False


@dataclass
class GeneratedTests:
    """Tests ready to insert: ``code`` goes at code-point ``offset`` of the test file's current
    text (``""`` for a new file); ``tests`` names them; ``result`` is the whole file afterwards."""

    code: str
    tests: list[str]
    offset: int
    result: str
    create: bool
    framework: Framework
    skipped: int = 0
    blocks: list[str] = field(default_factory=list)
    header: str = ""
    closer: str = ""
    covered: dict[str, tuple[int, ...]] = field(default_factory=dict)
    statements: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)

    def coverage_summary(self, name: str) -> str | None:
        """``"N tests, M% line coverage of `name`"`` for tests from observed behaviour (the share
        of the target's statement lines its tests run), ``None`` otherwise."""
        if not self.statements:
            return None
        lines = {line for test in self.tests for line in self.covered.get(test, ())}
        share = 100 * len(lines & set(self.statements)) / len(self.statements)
        return f"{len(self.tests)} test{'s' if len(self.tests) != 1 else ''}, {share:.0f}% line coverage of `{name}`"


def doctest_calls(docstring: str, name: str, limit: int = 2) -> list[str]:
    """Up to ``limit`` one-line ``>>>`` examples of ``docstring`` that call ``name``."""
    calls = re.findall(rf"^\s*>>> ({re.escape(name)}\(.*\))\s*$", docstring, re.M)
    return list(dict.fromkeys(calls))[:limit]


def _call(symbol: Symbol) -> str | None:
    """How a test calls ``symbol`` (``f``, ``Owner().method``), or ``None`` for a class."""
    if symbol.kind == "function":
        return symbol.name
    if symbol.kind == "method" and symbol.container and not symbol.name.startswith("_"):
        return f"{symbol.container}().{symbol.name}"
    return None


def _opening(symbol: Symbol) -> str:
    """The first character of the first argument, from its Python annotation (``[`` for a list,
    ``"`` for a string, ``{`` for a dict); ``""`` when unknown."""
    params = re.search(r"\((.*)\)", symbol.signature)
    names = [p.strip() for p in (params.group(1).split(",") if params else []) if p.strip()]
    names = [p for p in names if p.split(":")[0].strip() not in ("self", "cls")]
    annotation = names[0].split(":", 1)[1].split("=")[0].strip().lower() if names and ":" in names[0] else ""
    for prefix, opening in (("list", "["), ("str", '"'), ("dict", "{"), ("tuple", "(")):
        if annotation.startswith(prefix):
            return opening
    return ""


def _starts(plan: TestPlan, spec: Spec, attempt: int) -> str:
    """The opening of attempt ``attempt``.

    Python tests start with the call to finish: first the docstring's ``>>>`` examples (the model
    writes the expected value), then a call with a name hint (``def test_f_empty():`` then
    ``assert f(``). Other frameworks get the test's opening with a name hint.
    """
    symbol, name = plan.symbol, plan.framework.name
    examples = doctest_calls(symbol.docstring, symbol.name) if name in ("pytest", "unittest") else []
    hint = HINTS[(attempt - len(examples)) % len(HINTS)] if attempt >= len(examples) else f"_example_{attempt + 1}"
    head = f"test_{snake(symbol.name)}{hint}"
    call = examples[attempt] if attempt < len(examples) else (f"{_call(symbol)}({_opening(symbol)}" if _call(symbol) else None)
    if name == "pytest" and call:
        return f"def {head}():\n    assert {call}" + (" == " if attempt < len(examples) else "")
    if name == "unittest" and call:
        return f"    def {head}(self):\n        self.assertEqual({call}" + (", " if attempt < len(examples) else "")
    return spec.start.format(snake=snake(symbol.name) + hint, pascal=pascal(symbol.name + hint), name=symbol.name + hint.replace("_", " "))


def _import_name(plan: TestPlan) -> str:
    return plan.symbol.qualname.split(".")[0]


def header_and_closer(plan: TestPlan) -> tuple[str, str]:
    """The text that opens the generated block (imports, a class or module) and the one that
    closes it, without the lines the existing test file already has.

    Raises:
        TestgenError: no header is known for the plan's framework (see :data:`lfcode.testgen.scaffold.HEADERS`).
    """
    make = HEADERS.get(plan.framework.name)
    if make is None:
        raise TestgenError(f"unknown test framework {plan.framework.name!r}")
    existing = plan.existing or ""
    header, closer = make(plan.framework, plan.symbol.name, _import_name(plan), plan.existing)
    present = set(existing.split("\n"))
    kept = "\n".join(line for line in header.split("\n") if not line.strip() or line.rstrip() not in present or line.startswith(("class ", "mod ")))
    return (kept.lstrip("\n") if kept.strip() else ""), closer


def insert_offset(plan: TestPlan) -> int:
    """Where the block goes in the existing text: its end, or before a JUnit class's last ``}``."""
    existing = plan.existing or ""
    if plan.framework.name == "junit" and plan.existing is not None and "}" in existing:
        return existing.rindex("}")
    return len(existing)


def _separator(plan: TestPlan, offset: int) -> str:
    before = (plan.existing or "")[:offset]
    if not before.strip():
        return ""
    lead = "" if before.endswith("\n") else "\n"
    return lead + ("\n\n" if plan.framework.language == "python" else "\n")


def _source_excerpt(plan: TestPlan) -> str:
    lines = plan.source_text.split("\n")
    symbol = plan.symbol
    own = "\n".join(lines[symbol.start_line : symbol.end_line + 1])
    container = find_symbol(plan.source_text, symbol.qualname.rsplit(".", 1)[0], str(plan.source_path)) if symbol.container else None
    if container is None:
        return own
    if container.end_line - container.start_line <= 80:
        return "\n".join(lines[container.start_line : container.end_line + 1])
    return "\n".join([lines[container.start_line], "    ...", own])


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def base_prompt(backend: Backend, plan: TestPlan, reserve: int) -> tuple[dict[str, str], str]:
    """``(template values, existing-file tail)`` with the source cut so that the prompt leaves
    ``reserve`` tokens for the tests."""
    fw = plan.framework
    existing = plan.existing or ""
    tail = existing[: insert_offset(plan)][-EXISTING_TAIL_CHARS:]
    if len(tail) < len(existing[: insert_offset(plan)]):
        tail = tail[tail.find("\n") + 1 :]
    example = ""
    if fw.example and plan.existing is None and fw.example_path:
        example = f"### File: {_relative(Path(fw.example_path), plan.root)}\n{fw.example.rstrip()}\n\n"
    context = "\n".join(imports(plan.source_text, str(plan.source_path))[:15])
    values = {
        "example": example,
        "source_path": _relative(plan.source_path, plan.root),
        "context": context + "\n\n" if context else "",
        "source": "",
        "test_path": _relative(fw.test_path, plan.root),
    }
    budget = backend.capabilities.n_ctx - reserve - len(backend.tokenize(render(SPECS[fw.name].template, **values) + tail)) - 64
    if budget < 200 and example:
        values["example"] = ""
        budget += len(backend.tokenize(example))
    values["source"] = fit(backend, _source_excerpt(plan), budget)
    return values, tail


def _accept(candidate: str, plan: TestPlan, spec: Spec, header: str, closer: str, accepted: list[str], taken: set[str]) -> str | None:
    """The candidate test (renamed if its name is taken), or ``None`` when it is not usable."""
    text = candidate.rstrip()
    found = re.search(spec.name, text, re.M)
    if found is None or not re.search(spec.asserts, text):
        return None
    mentions = {plan.symbol.name, _import_name(plan)}
    if not any(re.search(rf"\b{re.escape(m)}\b", text[found.end() :]) for m in mentions):
        return None
    body = re.sub(r"\s+", "", text[found.end() :])
    if any(re.sub(r"\s+", "", a[m.end() :] if (m := re.search(spec.name, a, re.M)) else a) == body for a in accepted):
        return None
    name = found.group(1)
    if name in taken and name[:1] not in "'\"`":
        n = 2
        while f"{name}_{n}" in taken:
            n += 1
        text = text[: found.start(1)] + f"{name}_{n}" + text[found.end(1) :]
    wrap = "class __LfcodeCheck {\n" if plan.framework.name == "junit" and plan.existing is not None else ""
    block = wrap + header + spec.joiner.join([*accepted, text]) + "\n" + ("}\n" if wrap else closer)
    return text if parses(block, _language(plan)) else None


def _language(plan: TestPlan) -> str:
    return "tsx" if plan.framework.test_path.suffix == ".tsx" else plan.framework.language


def _chat_tests(backend: Backend, plan: TestPlan, values: dict[str, str], header: str, cancel: CancelToken) -> list[str]:
    spec = SPECS[plan.framework.name]
    content = render("tests_chat.txt", framework=plan.framework.name, symbol=plan.symbol.qualname, header=header.strip(), **values)
    request = GenerationRequest(prompt="", max_tokens=TEST_MAX_TOKENS * DEFAULT_TESTS, temperature=0.0, feature="testgen")
    answer = generate_text(backend, [ChatMessage(role="user", content=content)], request, cancel)
    block = re.search(r"```[\w+-]*\n(.*?)(```|$)", answer, re.S)
    code = block.group(1) if block else answer
    lines = [line for line in code.split("\n") if line.rstrip() not in header.split("\n") or not line.strip()]
    starts = [i for i, line in enumerate(lines) if re.search(spec.name, line)]
    starts = [i - 1 if i > 0 and lines[i - 1].strip() in ("#[test]", "@Test") else i for i in starts]
    return ["\n".join(lines[a:b]).rstrip() for a, b in zip(starts, [*starts[1:], len(lines)])]


def generate_tests(
    backend: Backend,
    plan: TestPlan,
    cancel: CancelToken,
    n_tests: int = DEFAULT_TESTS,
    max_tokens: int = TEST_MAX_TOKENS,
    progress: Callable[[str], None] | None = None,
) -> GeneratedTests:
    """Ask the model for up to ``n_tests`` tests of ``plan.symbol`` and keep the usable ones.

    ``progress`` (optional) receives short status texts from the calling thread.

    Raises:
        GenerationCancelled: ``cancel`` was set (nothing is returned, so nothing is written).
        BackendError: the model failed.
        TestgenError: no generated test was usable.
    """
    spec = SPECS.get(plan.framework.name)
    if spec is None:
        raise TestgenError(f"unknown test framework {plan.framework.name!r}")
    header, closer = header_and_closer(plan)
    values, tail = base_prompt(backend, plan, n_tests * max_tokens)
    taken = set(re.findall(spec.name, plan.existing or "", re.M))
    accepted: list[str] = []
    attempts, skipped = 0, 0
    if backend.capabilities.chat_template:
        candidates = _chat_tests(backend, plan, values, header, cancel)
        for candidate in candidates:
            test = _accept(candidate, plan, spec, header, closer, accepted, taken)
            if test is not None:
                accepted.append(test)
                taken.add(re.search(spec.name, test, re.M).group(1))
        skipped = len(candidates) - len(accepted)
    prompt = render(spec.template, **values) + tail + _separator(plan, insert_offset(plan)) + header
    greedy = True
    while not backend.capabilities.chat_template and len(accepted) < n_tests and attempts < n_tests + 2:
        request = GenerationRequest(prompt="", max_tokens=max_tokens, temperature=0.0 if greedy else 0.8, seed=attempts, stop=list(spec.stops),
                                    feature="testgen")
        so_far = spec.joiner.join(accepted) + (spec.joiner if accepted else "")
        start = _starts(plan, spec, attempts)
        text = generate_text(backend, prompt + so_far + start, request, cancel)
        attempts += 1
        test = _accept(start + text, plan, spec, header, closer, accepted, taken)
        greedy = test is not None
        if test is None:
            skipped += 1
        else:
            accepted.append(test)
            taken.add(re.search(spec.name, test, re.M).group(1))
        if progress is not None:
            progress(f"{len(accepted)} test{'s' if len(accepted) != 1 else ''} written")
    if not accepted:
        raise TestgenError(f"the model wrote no usable test for `{plan.symbol.qualname}` ({skipped} tried)")
    return assemble(plan, header, closer, accepted, skipped)


def assemble(plan: TestPlan, header: str, closer: str, tests: list[str], skipped: int = 0) -> GeneratedTests:
    """Join ``tests`` under ``header`` into the block to insert and check that it parses.

    Raises:
        TestgenError: the block does not parse (it is then never written).
    """
    spec = SPECS[plan.framework.name]
    offset = insert_offset(plan)
    body = header + spec.joiner.join(tests) + "\n" + closer
    code = _separator(plan, offset) + body
    existing = plan.existing or ""
    result = existing[:offset] + code + existing[offset:]
    check = ("class __LfcodeCheck {\n" + body + "}\n") if plan.framework.name == "junit" and plan.existing is not None else body
    if not parses(check, _language(plan)):
        raise TestgenError("the generated tests do not parse; nothing was written")
    names = [m.group(1) for t in tests if (m := re.search(spec.name, t, re.M))]
    return GeneratedTests(
        code=code, tests=names, offset=offset, result=result, create=plan.existing is None, framework=plan.framework,
        skipped=skipped, blocks=list(tests), header=header, closer=closer,
    )


def keep_only(plan: TestPlan, generated: GeneratedTests, names: list[str]) -> GeneratedTests | None:
    """``generated`` reduced to the tests called ``names`` (``None`` when none is left)."""
    spec = SPECS[plan.framework.name]
    kept = [b for b, n in zip(generated.blocks, generated.tests) if n in names]
    if not kept or not spec:
        return None
    reduced = assemble(plan, generated.header, generated.closer, kept, generated.skipped + len(generated.blocks) - len(kept))
    reduced.covered = {n: lines for n, lines in generated.covered.items() if n in reduced.tests}
    reduced.statements, reduced.notes = generated.statements, list(generated.notes)
    return reduced


def write_tests(generated: GeneratedTests, expected: str | None) -> Path:
    """Insert ``generated`` into its test file on disk (the CLI's ``--write``); returns the path.

    ``expected`` is the text the tests were planned against (``None``: the file did not exist).
    Existing content is kept as it is; the folder is created when needed.

    Raises:
        TestgenError: the file changed since it was read.
        OSError: it cannot be written.
    """
    path = generated.framework.test_path
    if read_existing(generated.framework) != expected:
        raise TestgenError(f"{path} changed while the tests were generated; nothing was written")
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = expected or ""
    path.write_text(existing[: generated.offset] + generated.code + existing[generated.offset :], encoding="utf-8")
    return path


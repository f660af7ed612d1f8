"""Context parts under a token budget, in stable-first order, through core.prompt.build_prompt."""

from __future__ import annotations

from pathlib import Path

from lfcode.backends.base import Capabilities, FimTokens
from lfcode.backends.fake import FakeBackend
from lfcode.context.builder import PARTS, ContextSources
from lfcode.context.documents import DocumentStore
from lfcode.context.languages import get_language
from lfcode.context.ring import Chunk, RingBuffer
from lfcode.context.index import SymbolIndex
from lfcode.completion.prompt import build_prompt

BIG = (
    "import os\nfrom typing import List\n\n\nclass Store:\n    def load(self, names: List[str]) -> int:\n"
    + "".join(f"        value_{i} = os.getcwd()\n" for i in range(300))
    + "        total = "
)


def prompt_for(text: str, budget: int = 600, language: str | None = "python", sources: ContextSources | None = None, path: str = "/ws/pkg/store.py", backend=None):
    backend = backend or FakeBackend()
    tree = get_language(language).parser().parse(text.encode()) if language else None
    return build_prompt(backend, text, "", budget, None, path, language=language, tree=tree, sources=sources or ContextSources(root=Path("/ws"), parts=frozenset(PARTS)))


def test_header_imports_and_scopes_come_before_the_window() -> None:
    prompt = prompt_for(BIG)
    parts = prompt.parts
    assert parts.header == "# pkg/store.py (python)\n"
    assert parts.imports == "import os\nfrom typing import List\n"
    assert parts.scopes == "class Store:\n    def load(self, names: List[str]) -> int:\n"
    assert BIG.endswith(parts.window) and parts.window.startswith("        value_")
    assert prompt.text == parts.header + parts.imports + parts.scopes + parts.window
    assert prompt.tokens <= 600


def test_small_files_need_no_imports_or_scopes() -> None:
    text = "import os\n\ndef f():\n    return "
    parts = prompt_for(text).parts
    assert parts.window == text
    assert parts.imports == parts.scopes == ""


def test_the_header_is_off_by_default() -> None:
    prompt = build_prompt(FakeBackend(), "x = ", "", 100, None, "/ws/m.py", language="python", sources=ContextSources())
    assert prompt.text == "x = "


def test_parts_can_be_switched_off() -> None:
    sources = ContextSources(root=Path("/ws"), parts=frozenset({"scopes"}))
    parts = prompt_for(BIG, sources=sources).parts
    assert parts.header == "" and parts.imports == ""
    assert parts.scopes.startswith("class Store:")


def test_unknown_language_gets_only_the_window() -> None:
    text = "".join(f"line {i}\n" for i in range(300)) + "last "
    prompt = prompt_for(text, language=None, path="/ws/notes.txt")
    assert prompt.text == prompt.parts.window and text.endswith(prompt.text)


def test_symbols_used_near_the_cursor_are_given_as_comments(tmp_path: Path) -> None:
    (tmp_path / "geometry.py").write_text('def area(width: float, height: float) -> float:\n    """Rectangle area."""\n    return width * height\n')
    index = SymbolIndex()
    index.start(tmp_path)
    assert index.wait_idle()
    text = "from geometry import area\n\n" + "".join(f"x{i} = area({i}, 2)\n" for i in range(20)) + "y = "
    parts = prompt_for(text, budget=400, sources=ContextSources(index=index, root=tmp_path), path=str(tmp_path / "main.py")).parts
    # The header as written, then the docstring as the one symbol model cleans it.
    assert parts.symbols == '# geometry.py:\n# def area(width: float, height: float) -> float:\n# Rectangle area.\n'


def test_the_symbols_part_holds_while_typing_and_is_rebuilt_after_a_pause(tmp_path: Path) -> None:
    (tmp_path / "geometry.py").write_text(
        'def area(width: float, height: float) -> float:\n    return width * height\n\n'
        "def volume(side: float) -> float:\n    return side ** 3\n\n__all__ = ['area', 'volume']\n"
    )
    index = SymbolIndex()
    index.start(tmp_path)
    assert index.wait_idle()
    main = str(tmp_path / "main.py")
    # ``__all__`` is named near the cursor too: every module has one, so it is never a symbol.
    head = "from geometry import area\n__all__ = ['f']\n\n" + "".join(f"x{i} = area({i}, 2)\n" for i in range(20))
    typing = ContextSources(index=index, root=tmp_path, refresh_symbols=False)
    first = prompt_for(head + "y = ", budget=400, sources=typing, path=main).parts.symbols
    assert "def area" in first and "volume" not in first and "__all__" not in first
    # Typed on past the next grid line, where ``volume`` is named: the part stays as it was (a
    # new one would change the prompt's start and cost a re-evaluation of the whole prompt).
    typed = head + "".join(f"z{i} = volume({i})\n" for i in range(16)) + "y = "
    assert prompt_for(typed, budget=400, sources=typing, path=main).parts.symbols == first
    # After a pause (or a prefill) it is rebuilt.
    paused = ContextSources(index=index, root=tmp_path, symbols_cache=typing.symbols_cache, refresh_symbols=True)
    assert "def volume" in prompt_for(typed, budget=400, sources=paused, path=main).parts.symbols


def test_ring_chunks_from_other_files_are_commented_and_capped() -> None:
    ring = RingBuffer()
    ring.pick(Chunk("/ws/a.py", 0, tuple(f"a{i} = {i}" for i in range(10))))
    ring.pick(Chunk("/ws/b.py", 0, tuple(f"b{i} = {i}" for i in range(400))))
    ring.flush()
    prompt = prompt_for("def f():\n    return ", budget=400, sources=ContextSources(ring=ring, root=Path("/ws")))
    ring_text = prompt.parts.ring
    assert ring_text.startswith("# a.py:\n# a0 = 0\n")
    assert "b.py" not in ring_text  # too large for the ring's share of the budget
    assert prompt.text.index(ring_text) < prompt.text.index("def f():")


def test_typing_on_the_cursor_line_keeps_the_prompt_start_stable() -> None:
    store = DocumentStore()
    text = BIG
    snap = store.open("u", text, "python", "/ws/pkg/store.py")
    first = build_prompt(FakeBackend(), snap.text, "", 200, None, snap.path, language="python", tree=snap.tree, sources=ContextSources(root=Path("/ws")))
    snap = store.change("u", [(((text.count("\n"), 16), (text.count("\n"), 16)), "value_1 +")], 2)
    second = build_prompt(FakeBackend(), snap.text, "", 200, None, snap.path, language="python", tree=snap.tree, sources=ContextSources(root=Path("/ws")))
    assert second.text.startswith(first.text)


def test_fim_models_get_the_context_in_the_prefix_and_the_suffix_head() -> None:
    fim = FimTokens(family="qwen", prefix="<|fim_prefix|>", suffix="<|fim_suffix|>", middle="<|fim_middle|>", file_sep="<|file_sep|>", repo_name="<|repo_name|>")
    backend = FakeBackend(capabilities=Capabilities(fim=fim))
    text = "import os\n\ndef f():\n    return "
    prompt = build_prompt(backend, text, "\n\nprint(f())\n", 100, None, "/ws/m.py", language="python", sources=ContextSources(root=Path("/ws"), parts=frozenset(PARTS)))
    assert prompt.text == "<|file_sep|>m.py\n<|fim_prefix|># m.py (python)\n" + text + "<|fim_suffix|>\n\nprint(f())\n<|fim_middle|>"

"""Which test framework a project uses, and where a symbol's tests conventionally live.

Detection reads only local files:

- Python: pytest or unittest, from the configuration (``pytest.ini``, ``conftest.py``,
  ``[tool.pytest.ini_options]`` in ``pyproject.toml``, ``[tool:pytest]`` in ``setup.cfg``,
  ``[pytest]`` in ``tox.ini``), then the existing tests' imports, then the declared
  dependencies; pytest when nothing says otherwise. Tests go to an existing ``test_<module>.py``
  (or ``<module>_test.py``), else ``tests/test_<module>.py`` (or ``test/``), else next to the module.
- JavaScript/TypeScript: vitest or jest from ``package.json`` and ``vitest.config.*`` /
  ``jest.config.*`` (jest by default); ``<name>.test.<ext>`` next to the file or in ``__tests__``.
- Go: ``go test``; ``<name>_test.go`` in the same package.
- Rust: ``cargo test``; a ``#[cfg(test)]`` module appended to the source file itself (Rust's
  convention for unit tests).
- Java: JUnit 5 (JUnit 4 when the build names ``junit:junit`` without ``junit-jupiter``);
  ``src/test/java/.../<Name>Test.java`` for a Maven/Gradle layout, else next to the class.

C and C++ have no conventional framework: :func:`detect_framework` raises :class:`FrameworkError`.
Also here: the test naming helpers (:func:`snake`, :func:`pascal`), :func:`parses` (the check
that generated code parses before it is ever written) and :func:`read_existing`.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from lfcode.context.files import ROOT_MARKERS, project_root, walk  # noqa: F401 (ROOT_MARKERS: re-exported)
from lfcode.context.languages import get_language, language_name
from lfcode.errors import LfcodeError

#: Longest example test file put in a prompt, characters.
MAX_EXAMPLE_CHARS = 1500


class FrameworkError(LfcodeError, ValueError):
    """No test framework is known for this language; the message says which."""


class Framework(BaseModel):
    """A project's test framework and the test file for one source file.

    ``name`` is ``pytest``, ``unittest``, ``jest``, ``vitest``, ``go``, ``cargo`` or ``junit``;
    ``variant`` is ``junit4``/``junit5`` for JUnit and ``esm``/``cjs`` for JavaScript;
    ``test_path`` is absolute and ``exists`` tells whether it is already there; ``module`` is how
    the test refers to the code (Python dotted module, JS relative import, Go/Java package, Rust
    ``super``); ``example`` is an existing test file of the project for style (``""`` if none)
    and ``reason`` says what the detection was based on.
    """

    name: str
    language: str
    test_path: Path
    exists: bool
    module: str
    variant: str = ""
    example: str = ""
    example_path: str = ""
    reason: str = ""



def _read(path: Path, limit: int = 200_000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:limit]
    except OSError:
        return ""


def _files(root: Path, pattern: re.Pattern[str], limit: int = 2000) -> list[Path]:
    """Files under ``root`` whose name matches ``pattern`` (hidden and build folders skipped)."""
    found, seen = [], 0
    for folder, files in walk(root):
        for name in files:
            seen += 1
            if pattern.fullmatch(name):
                found.append(folder / name)
        if seen > limit:
            break
    return found


def _python_framework(root: Path, tests: list[Path]) -> tuple[str, str]:
    if (root / "pytest.ini").exists() or (root / "conftest.py").exists() or (root / "tests" / "conftest.py").exists():
        return "pytest", "pytest configuration file"
    if "[tool.pytest" in _read(root / "pyproject.toml") or "[tool:pytest]" in _read(root / "setup.cfg") or "[pytest]" in _read(root / "tox.ini"):
        return "pytest", "pytest section in the project configuration"
    texts = [_read(t, 20_000) for t in tests[:50]]
    if any(re.search(r"^\s*(import pytest|from pytest\b)|@pytest\.", t, re.M) for t in texts):
        return "pytest", "existing tests import pytest"
    if any(re.search(r"unittest\.TestCase|\(TestCase\)", t) for t in texts):
        return "unittest", "existing tests subclass unittest.TestCase"
    declared = "".join(_read(root / f) for f in ("pyproject.toml", "setup.cfg", "setup.py", "requirements-dev.txt", "requirements.txt", "requirements-test.txt"))
    if re.search(r"\bpytest\b", declared):
        return "pytest", "pytest is a declared dependency"
    return "pytest", "default for Python"


def _python_module(source: Path, root: Path) -> str:
    try:
        parts = list(source.resolve().relative_to(root.resolve()).with_suffix("").parts)
    except ValueError:
        parts = [source.stem]
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    if not all(p.isidentifier() for p in parts):
        return source.stem
    return ".".join(parts)


def _python(source: Path, root: Path) -> Framework:
    tests = _files(root, re.compile(r"test_.*\.py|.*_test\.py"))
    name, reason = _python_framework(root, tests)
    stem = source.stem if source.stem != "__init__" else source.parent.name
    own = [t for t in tests if t.name in (f"test_{stem}.py", f"{stem}_test.py")]
    if own:
        target = own[0]
    elif (root / "tests").is_dir():
        target = root / "tests" / f"test_{stem}.py"
    elif (root / "test").is_dir():
        target = root / "test" / f"test_{stem}.py"
    else:
        target = source.parent / f"test_{stem}.py"
    examples = own or [t for t in tests if t.resolve() != source.resolve()]
    return _framework(name, "python", target, _python_module(source, root), examples, reason)


def _framework(name: str, language: str, target: Path, module: str, examples: list[Path], reason: str, variant: str = "") -> Framework:
    example = examples[0] if examples else None
    return Framework(
        name=name,
        language=language,
        test_path=target,
        exists=target.exists(),
        module=module,
        variant=variant,
        example=_read(example)[:MAX_EXAMPLE_CHARS] if example else "",
        example_path=str(example) if example else "",
        reason=reason,
    )


def _javascript(source: Path, root: Path, language: str) -> Framework:
    package = _read(root / "package.json")
    configs = {p.name.split(".")[0] for p in root.glob("*.config.*")}
    if re.search(r'"vitest"', package) or "vitest" in configs:
        name, reason = "vitest", "vitest in package.json or vitest.config"
    elif re.search(r'"jest"', package) or "jest" in configs:
        name, reason = "jest", "jest in package.json or jest.config"
    else:
        name, reason = "jest", "default for JavaScript"
    esm = language != "javascript" or '"type": "module"' in package or name == "vitest" or source.suffix == ".mjs"
    stem, ext = source.name.split(".")[0], source.suffix
    near = [source.parent / f"{stem}.test{ext}", source.parent / f"{stem}.spec{ext}", source.parent / "__tests__" / f"{stem}.test{ext}"]
    existing = [p for p in near if p.exists()]
    target = existing[0] if existing else (near[2] if (source.parent / "__tests__").is_dir() else near[0])
    relative = os.path.relpath(source.with_suffix(""), target.parent).replace(os.sep, "/")
    module = relative if relative.startswith(".") else "./" + relative
    examples = existing or _files(root, re.compile(r".*\.(test|spec)\.[cm]?[jt]sx?"))
    return _framework(name, language, target, module, examples, reason, "esm" if esm else "cjs")


def detect_framework(source: Path, root: Path | None = None, language: str | None = None) -> Framework:
    """The test framework and test file for ``source`` in the project at ``root``.

    Args:
        source: the file holding the code under test (it need not exist on disk).
        root: the project folder (default: :func:`lfcode.context.files.project_root`).
        language: grammar name (``python``, ``javascript``, ``typescript``, ``tsx``, ``go``,
            ``rust``, ``java``); derived from the extension when ``None``.

    Raises:
        FrameworkError: C, C++ or an unknown language, or a test file that is a symbolic link or
            lies outside ``root`` (a cloned repository could point it at ``~/.bashrc``).
    """
    root = (root or project_root(source)).resolve()
    framework = _detect(source.resolve(), root, language)
    target = framework.test_path
    if target.resolve() != target or not target.is_relative_to(root):
        raise FrameworkError(f"the test file {target} is a symbolic link or lies outside the project {root}; lfcode writes no tests there")
    return framework


def _go(source: Path, root: Path, language: str) -> Framework:
    package = re.search(r"^package\s+(\w+)", _read(source), re.M)
    target = source.with_name(f"{source.stem}_test.go")
    examples = [target] if target.exists() else _files(root, re.compile(r".*_test\.go"))
    reason = "go.mod" if (root / "go.mod").exists() else "default for Go"
    return _framework("go", "go", target, package.group(1) if package else "main", examples, reason)


def _rust(source: Path, root: Path, language: str) -> Framework:
    reason = "Cargo.toml" if (root / "Cargo.toml").exists() else "default for Rust"
    return _framework("cargo", "rust", source, "super", [], reason)


def _java(source: Path, root: Path, language: str) -> Framework:
    build = _read(root / "pom.xml") + _read(root / "build.gradle") + _read(root / "build.gradle.kts")
    junit4 = bool(re.search(r"junit:junit|<artifactId>junit</artifactId>", build)) and "junit-jupiter" not in build
    parts = list(source.parts)
    if "src" in parts and parts[parts.index("src") + 1 : parts.index("src") + 2] == ["main"]:
        index = parts.index("src") + 1
        parts[index] = "test"
    target = Path(*parts).with_name(f"{source.stem}Test.java")
    package = re.search(r"^\s*package\s+([\w.]+)\s*;", _read(source), re.M)
    examples = [target] if target.exists() else _files(root, re.compile(r".*Test\.java"))
    reason = "JUnit 4 in the build file" if junit4 else ("JUnit in the build file" if "junit" in build else "default for Java")
    return _framework("junit", "java", target, package.group(1) if package else "", examples, reason, "junit4" if junit4 else "junit5")


#: ``detect(source, root, language) -> Framework`` for a resolved source file and project root.
Detector = Callable[[Path, Path, str], Framework]

#: The framework detector per grammar name. Adding a language's tests means one detector here
#: (plus its ``prompts/tests_<framework>.txt`` and its header in :mod:`lfcode.testgen.generate`).
DETECTORS: dict[str, Detector] = {
    "python": lambda source, root, language: _python(source, root),
    "javascript": _javascript,
    "typescript": _javascript,
    "tsx": _javascript,
    "go": _go,
    "rust": _rust,
    "java": _java,
}


def _detect(source: Path, root: Path, language: str | None) -> Framework:
    language = language or language_name(str(source))
    detector = DETECTORS.get(language or "")
    if detector is None:
        raise FrameworkError(f"no test framework is known for {language or source.suffix or 'this file'} (lfcode generates tests for Python, JavaScript/TypeScript, Go, Rust and Java)")
    return detector(source, root, language)


def read_existing(framework: Framework) -> str | None:
    """The test file's current text from disk, or ``None`` when it does not exist."""
    try:
        return framework.test_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def snake(name: str) -> str:
    """``TextWrapper`` → ``text_wrapper``; ``dedent`` stays ``dedent``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower().strip("_")


def pascal(name: str) -> str:
    """``text_wrapper`` or ``textWrapper`` → ``TextWrapper``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"_+", name) if part) or "X"


def parses(code: str, language: str) -> bool:
    """True when ``code`` parses without error in ``language`` (tree-sitter; Python also ``ast``)."""
    if language == "python":
        try:
            ast.parse(code)
        except (SyntaxError, ValueError):
            return False
    spec = get_language(language)
    if spec is None:
        return False
    return not spec.parser().parse(code.encode("utf-8")).root_node.has_error

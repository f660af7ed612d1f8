"""Test generation, as one service shared by ``lfcode tests`` and the ``lfcode.generateTests``
LSP command: plan → generate → verify in the sandbox (or mark the tests not run) → result.

Each phase is a blocking function, so a front end runs it where it belongs: :func:`plan_tests`
walks the project (a worker thread in the LSP), :func:`generate` runs the model (the inference
worker), :func:`verify` runs pytest in the sandbox (a worker thread). The front ends only decide
how to show the outcome (stderr and an exit code, or ``window/showMessage`` and an edit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lfcode.backends.base import Backend
from lfcode.context.symbols import Symbol
from lfcode.errors import CancelToken
from lfcode.testgen.frameworks import Framework, detect_framework, read_existing
from lfcode.testgen.generate import DEFAULT_TESTS, TEST_MAX_TOKENS, GeneratedTests, TestPlan, generate_tests
from lfcode.testgen.verify import SandboxUnavailable, VerifyResult, mark_not_run, verify_generated


def plan_tests(
    path: Path,
    text: str,
    symbol: Symbol,
    root: Path,
    read_test_file: Callable[[Framework], str | None] = read_existing,
) -> TestPlan:
    """Choose the framework and the test file for ``symbol`` of ``path`` (text ``text``).

    Args:
        path: the source file.
        text: its text (the editor's, which may be unsaved).
        symbol: the function, method or class to test.
        root: the project folder.
        read_test_file: returns the test file's current text, or ``None`` when it does not
            exist (default: from disk; the LSP prefers the open document).

    Blocking: walks the project for existing tests and reads configuration files.

    Raises:
        lfcode.testgen.frameworks.FrameworkError: no framework for this language, or a test file
            outside the project.
    """
    framework = detect_framework(path, root, symbol.language)
    existing = read_test_file(framework)
    return TestPlan(symbol=symbol, source_path=path.resolve(), source_text=text, root=root, framework=framework, existing=existing)


def generate(
    backend: Backend,
    plan: TestPlan,
    cancel: CancelToken,
    n_tests: int = DEFAULT_TESTS,
    max_tokens: int = TEST_MAX_TOKENS,
    progress: Callable[[str], None] | None = None,
) -> GeneratedTests:
    """The model's tests for ``plan`` (see :func:`lfcode.testgen.generate.generate_tests`).

    Raises:
        lfcode.errors.Cancelled, lfcode.errors.BackendError, lfcode.testgen.generate.TestgenError.
    """
    return generate_tests(backend, plan, cancel, n_tests, max_tokens, progress)


def observe(plan: TestPlan, cancel: CancelToken | None = None, sandbox: Literal["required", "off"] = "required") -> GeneratedTests | None:
    """Tests from observed behaviour (:func:`lfcode.testgen.observed.observed_tests`): Python
    and pytest only; ``None`` when that path does not apply, cannot run here (no OS sandbox and
    ``sandbox="required"``: the model path then says so) or found nothing to assert.

    Blocking: copies the project and runs the calls in the sandbox (seconds).

    Raises:
        lfcode.testgen.generate.TestgenError: the module cannot be imported in the sandbox.
        lfcode.errors.Cancelled: ``cancel`` was set.
    """
    from lfcode.execution.sandbox import SandboxUnavailable as NoSandbox
    from lfcode.testgen.observed import observed_tests

    try:
        return observed_tests(plan, cancel, sandbox)
    except NoSandbox:
        return None


@dataclass
class Verification:
    """What came of running the generated tests.

    Attributes:
        generated: what to write: the passing tests, or every test marked "not run" when there
            is no sandbox (``None`` when the tests ran and none passed).
        result: the run's result, ``None`` when nothing ran.
        sandbox_problem: why nothing ran (no OS sandbox and ``sandbox = "required"``), else ``None``.
    """

    generated: GeneratedTests | None
    result: VerifyResult | None = None
    sandbox_problem: str | None = None

    @property
    def ran(self) -> bool:
        """True when the tests were run."""
        return self.result is not None


def verify(
    plan: TestPlan,
    generated: GeneratedTests,
    cancel: CancelToken | None = None,
    sandbox: Literal["required", "off"] = "required",
) -> Verification:
    """Run ``generated`` in the sandbox and keep the passing tests; without a sandbox, mark them
    not run (they are still offered, commented as such).

    Blocking: copies the project and runs pytest (up to :data:`lfcode.testgen.verify.RUN_SECONDS`).

    Raises:
        lfcode.testgen.verify.VerifyError: the tests could not be run at all.
        lfcode.errors.Cancelled: ``cancel`` was set (also an ``InterruptedError``).
    """
    try:
        kept, result = verify_generated(plan, generated, cancel, sandbox=sandbox)
    except SandboxUnavailable as exc:
        return Verification(generated=mark_not_run(generated), sandbox_problem=str(exc))
    return Verification(generated=kept, result=result)


__all__ = ["Verification", "generate", "observe", "plan_tests", "verify"]

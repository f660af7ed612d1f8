"""Test generation, as one service shared by ``lfcode tests`` and the ``lfcode.generateTests``
LSP command: plan → generate → verify in the sandbox (or mark the tests not run) → result.

Each phase is a blocking function, so a front end runs it where it belongs: :func:`plan_tests`
walks the project (a worker thread in the LSP), :func:`generate` runs the model (the inference
worker), :func:`verify` runs pytest in the sandbox (a worker thread). The front ends only decide
how to show the outcome (stderr and an exit code, or ``window/showMessage`` and an edit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lfcode.backends.base import Backend
from lfcode.context.symbols import Symbol
from lfcode.errors import CancelToken

if TYPE_CHECKING:
    from lfcode.testgen.search import Proposer
from lfcode.testgen.frameworks import Framework, detect_framework, read_existing
from lfcode.testgen.generate import DEFAULT_TESTS, TEST_MAX_TOKENS, GeneratedTests, TestPlan, generate_tests
from lfcode.testgen.observed import BUDGET_SECONDS
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


def observe(
    plan: TestPlan,
    cancel: CancelToken | None = None,
    sandbox: Literal["required", "off"] = "required",
    propose_more: Proposer | None = None,
    progress: Callable[[str], None] | None = None,
    budget_seconds: float = BUDGET_SECONDS,
) -> GeneratedTests | None:
    """Tests from observed behaviour (:func:`lfcode.testgen.search.observed_tests`): Python
    and pytest only; ``None`` when that path does not apply, cannot run here (no OS sandbox and
    ``sandbox="required"``: the model path then says so) or found nothing to assert.
    ``propose_more`` asks the model for calls reaching uncovered lines (see
    :func:`model_proposer`); ``progress`` receives status texts; ``budget_seconds`` bounds the
    search (s).

    Blocking: copies the project and runs the calls in the sandbox (seconds).

    Raises:
        lfcode.testgen.generate.TestgenError: the module cannot be imported in the sandbox, or
            no call could run there.
        lfcode.errors.Cancelled: ``cancel`` was set.
    """
    from lfcode.execution.sandbox import SandboxUnavailable as NoSandbox
    from lfcode.testgen.search import observed_tests

    try:
        return observed_tests(plan, cancel, sandbox, propose_more, budget_seconds, progress)
    except NoSandbox:
        return None


def model_proposer(
    get_backend: Callable[[], Backend | None],
    plan: TestPlan,
    cancel: CancelToken,
    run: Callable[..., list[str]] | None = None,
) -> Proposer:
    """A :data:`lfcode.testgen.search.Proposer` asking the model
    (:func:`lfcode.testgen.model_calls.model_calls`) for calls. ``get_backend`` is called on the
    first request only (so a search that covers everything without the model never loads it);
    when it gives ``None`` or the model fails, the proposer proposes nothing from then on.
    ``run(fn, *args)`` runs the model call where the front end wants it (the LSP's inference
    worker); default: here."""
    from lfcode.errors import BackendError
    from lfcode.testgen.model_calls import model_calls

    state: dict[str, Backend | None | bool] = {"failed": False}
    path = str(plan.source_path.relative_to(plan.root)) if plan.source_path.is_relative_to(plan.root) else plan.source_path.name

    def propose(marked: str, callee: str, examples: Sequence[str], attempt: int) -> list[str]:
        if state["failed"]:
            return []
        if "backend" not in state:
            state["backend"] = get_backend()
        backend = state["backend"]
        if backend is None:
            state["failed"] = True
            return []
        try:
            return (run or (lambda fn, *args: fn(*args)))(model_calls, backend, path, cancel, marked, callee, list(examples), attempt)
        except BackendError:
            state["failed"] = True
            return []

    return propose


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


__all__ = ["Verification", "generate", "model_proposer", "observe", "plan_tests", "verify"]

"""Running untrusted code (generated tests, later project calls) in an OS-level sandbox.

See :mod:`lfcode.execution.sandbox`: :class:`Sandbox` runs one command in bubblewrap with a
writable work folder, a read-only system, no network, no host processes and no secrets;
:func:`sandbox_available` / :func:`check` say whether that works on this machine.
"""

from lfcode.execution.sandbox import (
    INSTALL_HINT,
    Limits,
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
    check,
    interpreter_paths,
    sandbox_available,
    sandbox_status,
)

__all__ = [
    "INSTALL_HINT",
    "Limits",
    "Sandbox",
    "SandboxResult",
    "SandboxUnavailable",
    "check",
    "interpreter_paths",
    "sandbox_available",
    "sandbox_status",
]

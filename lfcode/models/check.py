"""A trial load of a GGUF file in llama.cpp, for ``lfcode models --check``.

Each file is loaded by ``llama_cpp.Llama(path, n_ctx=256, verbose=False)`` in a child Python
process, so that a file that makes llama.cpp abort (some do, on an assertion) marks only that
file, and its memory is returned at once. The load is a real one: ``vocab_only=True`` reads only
the vocabulary and hyper-parameters, and a file lacking a tensor llama.cpp needs still passes it
(measured on a tiny GGUF without ``output_norm.weight``: the vocabulary-only load succeeds, the
real one fails with ``check_tensor_dims: tensor 'output_norm.weight' not found``). The weights
are memory-mapped, so a load touches little more than the tensor index. The reason given for a
failure is llama.cpp's own error lines, which llama-cpp-python's exception leaves out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

__all__ = ["LOAD_TIMEOUT_S", "LoadResult", "trial_load"]

#: Longest a trial load may take before the file is marked not loadable, s.
LOAD_TIMEOUT_S = 300.0

#: The child's program: load ``sys.argv[1]`` and print one JSON line ``{"ok", "reason"}``. It
#: imports only llama_cpp, so it works whichever lfcode the interpreter would import.
_CHILD = r"""
import ctypes, json, sys
import llama_cpp
errors = []
@llama_cpp.llama_log_callback
def log(level, text, user_data):
    if level == 4:  # GGML_LOG_LEVEL_ERROR
        errors.append((text or b"").decode("utf-8", "replace").strip())
llama_cpp.llama_log_set(log, ctypes.c_void_p(0))
try:
    llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_batch=32, n_ubatch=32, n_threads=1, verbose=False)
    llm.close()
    result = {"ok": True, "reason": None}
except Exception as exc:
    useful = [e for e in errors if e and not e.endswith("failed to load model")]
    result = {"ok": False, "reason": "; ".join(useful) or f"{type(exc).__name__}: {exc}"}
sys.stdout.write("\n" + json.dumps(result) + "\n")
"""


class LoadResult(BaseModel):
    """The outcome of :func:`trial_load`: ``loadable``, and ``reason`` (llama.cpp's error) when not."""

    loadable: bool
    reason: str | None = None


def trial_load(path: Path, timeout_s: float = LOAD_TIMEOUT_S) -> LoadResult:
    """Load ``path`` in llama.cpp in a child process (module docstring) and say whether it worked.

    Args:
        path: a GGUF file.
        timeout_s: the child is killed after this long, in seconds, and the file marked not
            loadable.

    Returns:
        A :class:`LoadResult`; never raises for a bad file (a crash, a timeout or a missing
        llama-cpp-python is a ``reason``).
    """
    try:
        run = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=timeout_s,
            stdin=subprocess.DEVNULL, check=False,
        )
    except subprocess.TimeoutExpired:
        return LoadResult(loadable=False, reason=f"the trial load took over {timeout_s:g} s")
    except OSError as exc:
        return LoadResult(loadable=False, reason=f"could not start the trial load: {exc}")
    for line in reversed(run.stdout.splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
                return LoadResult(loadable=bool(data["ok"]), reason=data.get("reason"))
            except (ValueError, KeyError, TypeError):
                break
    tail = (run.stderr.strip().splitlines() or [""])[-1]
    how = f"signal {-run.returncode}" if run.returncode < 0 else f"exit code {run.returncode}"
    return LoadResult(loadable=False, reason=f"llama.cpp stopped the process ({how}){': ' + tail if tail else ''}")

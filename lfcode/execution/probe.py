"""The script :mod:`lfcode.execution.engine` runs inside the sandbox: import a module, evaluate
call expressions against it, and report what each did. Standard library only (plus coverage.py
when it can be imported); it is copied into the run's state folder and run by the project's
interpreter, never imported by lfcode itself.

Request (JSON on stdin): ``{"file": path, "module": dotted name, "paths": [sys.path entries first],
"fallback_paths": [sys.path entries last],
"calls": [expression, ...], "constructor": expression or null, "call_seconds": float,
"results": path}``. With a ``constructor``, each call is evaluated with ``obj`` bound to a fresh
instance built by it (``obj.method(1)``). Results (JSON lines appended to ``results``, one per
event, flushed at once so that a crash keeps what was done): ``{"import_error": "Type:
message"}`` or ``{"imported": true}``, then per call ``{"call", "repr", "type", "literal",
"exception": {"type", "message"} | null, "stdout", "lines", "arcs", "ms", "stable",
"timed_out", "constructor_error"?, "attributes"?, "items"?, "state"?}`` (``attributes``: for a value that is not a
literal, its public attributes whose ``repr`` is one, ``{name: repr}``) (``constructor_error`` when building ``obj`` failed: the call
itself was not tried). With ``"details": true`` in the request, a generator a call returns is run
for its first ``ITEMS`` items (``items``: their list's ``repr``; an exception while it runs is the
call's), and with a ``constructor``, ``state`` is ``obj``'s public literal attributes after the
call (a method that changes its object and returns ``None`` still shows what it did). ``literal``: ``ast.literal_eval(repr) == value``; ``lines``/``arcs``: executed
lines and branch arcs of ``file`` during the call (coverage.py, ``null`` without it); ``stable``:
a second evaluation in a fresh namespace gave the same ``repr`` (for a value that is not a literal:
the same type and attributes) or exception.
"""

import ast
import contextlib
import importlib
import importlib.util
import inspect
import io
import itertools
import json
import os
import signal
import sys
import time

REPR_CHARS = 2000
STDOUT_CHARS = 4000
MESSAGE_CHARS = 500
ATTRIBUTES = 8
ITEMS = 50


class CallTimeout(BaseException):
    """A call ran past ``call_seconds`` (raised by SIGALRM; a BaseException so that a bare
    ``except Exception`` in project code does not swallow it)."""


def _alarm(signum, frame):
    raise CallTimeout()


def _qualified(kind):
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__qualname__", getattr(kind, "__name__", "?"))
    return name if module == "builtins" else module + "." + name


def _import(request):
    path = os.path.abspath(request["file"])
    name = request["module"]
    try:
        module = importlib.import_module(name)
        if os.path.abspath(getattr(module, "__file__", "") or "") == path:
            return module
    except Exception:  # noqa: BLE001 - fall back to loading the file by path
        pass
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _evaluate(module, request, call, coverage_module):
    """One evaluation of ``call``: (outcome dict without ``stable``, comparable key)."""
    namespace = dict(vars(module))
    sink = io.StringIO()
    cov = None
    if coverage_module is not None:
        cov = coverage_module.Coverage(data_file=None, branch=True, include=[os.path.abspath(request["file"])], config_file=False)
    outcome = {"call": call, "repr": None, "type": None, "literal": False, "exception": None, "stdout": "",
               "lines": None, "arcs": None, "ms": 0.0, "timed_out": False}
    signal.setitimer(signal.ITIMER_REAL, float(request.get("call_seconds", 2.0)))
    began = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sink):
            if request.get("constructor"):
                try:
                    namespace["obj"] = eval(compile(request["constructor"], "<constructor>", "eval"), namespace)
                except CallTimeout:
                    raise
                except BaseException as exc:  # noqa: BLE001 - the call cannot be tried
                    outcome["constructor_error"] = "%s: %s" % (_qualified(type(exc)), str(exc)[:MESSAGE_CHARS])
                    raise
            code = compile(call, "<call>", "eval")
            if cov is not None:
                cov.start()
            try:
                value = eval(code, namespace)
                if request.get("details") and inspect.isgenerator(value):
                    outcome["items"] = repr(list(itertools.islice(value, ITEMS)))[:REPR_CHARS]
            finally:
                if cov is not None:
                    cov.stop()
    except CallTimeout:
        outcome["timed_out"] = True
        outcome["exception"] = {"type": "TimeoutError", "message": "the call ran past %s s" % request.get("call_seconds", 2.0)}
    except BaseException as exc:  # noqa: BLE001 - every failure of project code is an observation
        outcome["exception"] = {"type": _qualified(type(exc)), "message": str(exc)[:MESSAGE_CHARS]}
    else:
        try:
            text = repr(value)
        except BaseException as exc:  # noqa: BLE001
            text = "<repr failed: %s>" % type(exc).__name__
        outcome["repr"] = text[:REPR_CHARS]
        outcome["type"] = _qualified(type(value))
        outcome["literal"] = _literal(text, value)
        if not outcome["literal"]:
            outcome["attributes"] = _attributes(value)
        if request.get("details") and "obj" in namespace:
            outcome["state"] = _attributes(namespace["obj"], ATTRIBUTES * 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    outcome["ms"] = round((time.perf_counter() - began) * 1000, 3)
    outcome["stdout"] = sink.getvalue()[:STDOUT_CHARS]
    if cov is not None:
        data = cov.get_data()
        path = os.path.abspath(request["file"])
        outcome["lines"] = sorted(data.lines(path) or [])
        outcome["arcs"] = sorted(list(arc) for arc in (data.arcs(path) or []))
    # A value that is not a literal is compared by its type and public attributes: its repr may
    # hold an address that differs between two runs.
    shown = outcome["repr"] if outcome["literal"] or outcome["repr"] is None else [outcome["type"], outcome.get("attributes")]
    shown = [shown, outcome.get("items"), outcome.get("state")]
    key = (json.dumps(shown, sort_keys=True), json.dumps(outcome["exception"], sort_keys=True))
    return outcome, key


def _literal(text, value):
    """Whether ``ast.literal_eval(text)`` gives ``value`` back."""
    try:
        return len(text) <= REPR_CHARS and ast.literal_eval(text) == value
    except BaseException:  # noqa: BLE001 - not a literal
        return False


def _attributes(value, limit=ATTRIBUTES):
    """The public instance attributes of ``value`` whose repr is a literal (at most
    ``limit``), as ``{name: repr}``."""
    try:
        items = sorted(vars(value).items())
    except BaseException:  # noqa: BLE001 - no __dict__ (slots, builtins)
        return {}
    found = {}
    for name, item in items:
        if name.startswith("_") or len(found) >= limit:
            continue
        try:
            text = repr(item)
        except BaseException:  # noqa: BLE001
            continue
        if _literal(text, item):
            found[name] = text
    return found


def main():
    request = json.load(sys.stdin)
    results = open(request["results"], "a", encoding="utf-8")

    def emit(record):
        results.write(json.dumps(record) + "\n")
        results.flush()

    sys.path[:0] = request.get("paths", [])
    sys.path.extend(request.get("fallback_paths", []))  # after the interpreter's own packages
    signal.signal(signal.SIGALRM, _alarm)
    try:
        import coverage as coverage_module
    except Exception:  # noqa: BLE001 - no coverage.py for this interpreter: no lines reported
        coverage_module = None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            signal.setitimer(signal.ITIMER_REAL, float(request.get("call_seconds", 2.0)) * 5)
            try:
                module = _import(request)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except CallTimeout:
        emit({"import_error": "TimeoutError: importing the module took too long"})
        return
    except BaseException as exc:  # noqa: BLE001 - reported to the user as is
        emit({"import_error": "%s: %s" % (_qualified(type(exc)), str(exc)[:MESSAGE_CHARS])})
        return
    emit({"imported": True})
    for call in request["calls"]:
        outcome, key = _evaluate(module, request, call, coverage_module)
        if outcome["timed_out"]:
            outcome["stable"] = False
        else:
            again, second = _evaluate(module, request, call, None)
            outcome["stable"] = key == second and not again["timed_out"]
        emit(outcome)


if __name__ == "__main__":
    main()

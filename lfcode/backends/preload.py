"""Loading the model while the language server starts, to shorten the cold start.

``lfcode serve`` needs about 0.7 s of imports before it can answer ``initialize``, and the
llama.cpp model takes about 0.5 s more to load, which used to start only at ``initialize`` (the
editor's user settings, sent in ``initializationOptions``, may choose another model). Most of the
load runs in C with the GIL released, so :class:`Preload` starts it in a thread at process start
with the settings already known then (the user's config file and ``LFCODE_*`` variables;
measured on 2 cores: model ready 1.03–1.08 s after start instead of 1.29–1.46 s). The server's
backend factory is :meth:`Preload.factory`: it hands over the preloaded backend when the settings
resolved at ``initialize`` agree on every key the backend is built from, and otherwise closes it
and builds the one asked for. While the early load runs, Python switches threads every 0.5 ms
instead of 5 ms (:data:`STARTUP_SWITCH_INTERVAL_S`).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lfcode.backends.base import Backend
    from lfcode.settings import Settings

log = logging.getLogger(__name__)

#: Backends worth loading early: the others connect or read a script, which is quick.
PRELOADED = ("llama-cpp",)

#: Python's thread switch interval while the early load runs, s (the default is 0.005). Both
#: threads import modules, and llama.cpp calls back into Python for every log line it writes
#: while loading (hundreds); each time a thread wants the GIL it may wait a whole interval.
#: Measured, cold start on 2 cores, 6 interleaved runs each: median 1710 ms at 0.005, 1602 ms at
#: 0.0005 (before the vocabulary scan kept the GIL, 1473–1736 ms against 1248–1301 ms).
STARTUP_SWITCH_INTERVAL_S = 0.0005


class Preload:
    """A backend being built in a background thread from the settings known at process start.

    Args:
        env: the environment the settings are read from (``LFCODE_*``; the user config's path).
            Project files are not read: the workspace is not known yet.

    The thread never raises: a failed early load is logged at debug level and the factory then
    builds the backend again, so the user sees the error from the normal load.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._settings: Settings | None = None
        self._backend: Backend | None = None
        self._lock = threading.Lock()
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(STARTUP_SWITCH_INTERVAL_S)
        self._thread = threading.Thread(target=self._work, name="lfcode-preload", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            self._load()
        finally:
            sys.setswitchinterval(self._interval)

    def _load(self) -> None:
        try:
            # Imported here, in the thread: the point is to overlap them with the server's.
            from lfcode.backends import make_backend
            from lfcode.settings import load_settings

            settings = load_settings(None, self._env).settings
            if settings.backend not in PRELOADED:
                return
            backend = make_backend(settings)
        except Exception as exc:  # noqa: BLE001 - the normal load reports the error to the user
            log.debug("early model load failed: %s", exc)
            return
        with self._lock:
            self._settings, self._backend = settings, backend

    def factory(self, settings: Settings) -> Backend:
        """:func:`lfcode.backends.make_backend` for ``settings``, handing over the preloaded
        backend (once) when it was built from the same values of the backend's reload keys
        (:func:`lfcode.backends.registry.reload_keys`), the completion role's model in place of
        ``model`` on both sides (the early load is the completion backend). Waits for the early load to finish.

        Raises:
            BackendError: as ``make_backend`` (missing or corrupt model, ...).
        """
        from lfcode.backends import make_backend
        from lfcode.backends.registry import reload_keys

        self._thread.join()
        with self._lock:
            backend, early = self._backend, self._settings
            self._backend = self._settings = None
        if backend is not None and early is not None:
            wanted, loaded = settings.for_role("completion"), early.for_role("completion")
            if all(getattr(wanted, key) == getattr(loaded, key) for key in reload_keys()):
                log.debug("using the model loaded at start")
                return backend
            log.debug("the settings at initialize chose another model; the early one is closed")
            backend.close()
        return make_backend(settings)

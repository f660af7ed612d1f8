"""Compatibility shim: the server class now lives in :mod:`lfcode.lsp.state` and its factory in
:mod:`lfcode.lsp.app`. Kept so that ``from lfcode.lsp.server import create_server`` (scripts,
editors' launchers, older tests) still works; new code imports from those two modules."""

from lfcode.lsp.app import create_server
from lfcode.lsp.state import STATUS_NOTIFICATION, LfcodeServer, unwrap_settings

__all__ = ["STATUS_NOTIFICATION", "LfcodeServer", "create_server", "unwrap_settings"]

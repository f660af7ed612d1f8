"""Where a project starts and which of its files to look at: the one project-root finder and
the one workspace walk, used by the CLI (settings), the language server, test generation,
Explain and the symbol index.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

#: Files and folders that mark a project's root folder (the nearest one above a file wins).
ROOT_MARKERS = (
    ".git", "lfcode.toml", "pyproject.toml", "setup.py", "setup.cfg", "package.json", "go.mod",
    "Cargo.toml", "pom.xml", "build.gradle", "build.gradle.kts",
)
#: Dependency and build folders never walked (hidden folders are skipped too).
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "build", "dist", "target", "site-packages", "vendor"})


def project_root(path: Path) -> Path:
    """The nearest folder above the file ``path`` holding one of :data:`ROOT_MARKERS` (else the
    file's own folder); absolute and resolved. Settings are read and tests generated there."""
    start = Path(path).resolve().parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    return start


def walk(root: Path) -> Iterator[tuple[Path, list[str]]]:
    """``(folder, file names)`` under ``root``, top-down, folders and names sorted; hidden and
    :data:`SKIP_DIRS` folders are not entered."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        yield Path(folder), sorted(names)


def files_with_suffix(root: Path, suffixes: set[str] | frozenset[str] | dict[str, object], limit: int) -> list[Path]:
    """Files under ``root`` (walked by :func:`walk`) whose lower-cased suffix is in ``suffixes``
    (``".py"``, ...); at most ``limit``, in walk order."""
    found: list[Path] = []
    for folder, names in walk(root):
        for name in names:
            if Path(name).suffix.lower() in suffixes:
                found.append(folder / name)
                if len(found) >= limit:
                    return found
    return found

"""``lfcode models``: the GGUF files on this machine, what each is, and the roles it suits.

:func:`list_models` finds the files (:mod:`lfcode.models.stores`), reads each header once
(:mod:`lfcode.models.facts`; a blob two Ollama names share is read once) and, when asked, tries
to load each in llama.cpp (:mod:`lfcode.models.check`). :mod:`lfcode.models.report` renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from lfcode.models.check import LoadResult, trial_load
from lfcode.models.facts import GgufError, ModelFacts, describe
from lfcode.models.stores import Found, Problem, Source, discover

__all__ = ["ModelEntry", "ModelList", "list_models"]


class ModelEntry(ModelFacts):
    """One file: where it was found (``source``, ``name``, ``reference``, ``path``, ``size_bytes``
    in bytes, as in :class:`~lfcode.models.stores.Found`) and its header facts (the fields of
    :class:`~lfcode.models.facts.ModelFacts`, left at their defaults when ``error`` is set).

    Attributes:
        error: why the header could not be read (not a GGUF file, truncated, unreadable), else ``None``.
        loadable: the trial load's outcome under ``--check``; ``None`` when not tried.
        load_error: llama.cpp's reason when ``loadable`` is false.
    """

    source: Source
    name: str
    reference: str
    path: str
    size_bytes: int | None = None
    error: str | None = None
    loadable: bool | None = None
    load_error: str | None = None


class ModelList(BaseModel):
    """The answer of :func:`list_models`: ``models`` in store order, the ``problems`` met and the
    folders ``searched``."""

    models: list[ModelEntry] = []
    problems: list[Problem] = []
    searched: list[str] = []


def _entry(found: Found, cache: dict[Path, ModelFacts | str]) -> ModelEntry:
    try:
        key = found.path.resolve()
    except OSError:
        key = found.path
    if key not in cache:
        try:
            cache[key] = describe(found.path)
        except GgufError as exc:
            cache[key] = f"not a valid GGUF file: {exc}"
        except OSError as exc:
            cache[key] = f"cannot read the file: {exc.strerror or exc}"
    facts = cache[key]
    where = found.model_dump(mode="json")
    if isinstance(facts, str):
        return ModelEntry(**where, error=facts)
    return ModelEntry(**facts.model_dump(), **where)


def list_models(
    paths: Sequence[Path] = (),
    *,
    check: bool = False,
    env: Mapping[str, str] | None = None,
    loader: Callable[[Path], LoadResult] = trial_load,
) -> ModelList:
    """Every GGUF file found, with its header facts.

    Args:
        paths: extra folders to search (recursively).
        check: also try to load each readable file in llama.cpp (one child process per
            distinct file; seconds per file).
        env: the environment the stores are found from (``os.environ`` when ``None``).
        loader: the trial load (tests pass a stand-in).

    Returns:
        A :class:`ModelList`. Never raises for a bad file or folder: they become an entry's
        ``error`` or a problem.
    """
    scan = discover(paths, env)
    cache: dict[Path, ModelFacts | str] = {}
    models = [_entry(found, cache) for found in scan.files]
    if check:
        loads: dict[str, LoadResult] = {}
        for model in models:
            if model.error is None:
                if model.path not in loads:
                    loads[model.path] = loader(Path(model.path))
                model.loadable, model.load_error = loads[model.path].loadable, loads[model.path].reason
    return ModelList(models=models, problems=scan.problems, searched=scan.searched)

"""The review analyzer registry: every analyzer by id, in the order they run.

Adding an analyzer means one new module in :mod:`lfcode.review.analyzers` (a class following
:class:`~lfcode.review.analyzers.base.Analyzer`) plus one :func:`register` call below.
:func:`lfcode.review.service.review_changes` runs :func:`select`'s choice (all by default) and the
SARIF report takes its ``tool.driver.rules`` from :func:`rules`.
"""

from __future__ import annotations

from collections.abc import Iterable

from lfcode.review.analyzers.base import Analyzer, Rule
from lfcode.review.analyzers.behaviour import BEHAVIOUR
from lfcode.review.analyzers.coroutines import COROUTINES
from lfcode.review.analyzers.ruff import RUFF
from lfcode.review.analyzers.rules import RULES
from lfcode.review.analyzers.secrets import SECRETS
from lfcode.review.diff import ReviewError
from lfcode.review.model import MODEL

__all__ = ["ANALYZERS", "register", "rules", "select"]

#: Every analyzer by id, in registration (and run) order.
ANALYZERS: dict[str, Analyzer] = {}


def register(analyzer: Analyzer) -> Analyzer:
    """Add ``analyzer`` to :data:`ANALYZERS` under its ``id`` (a later one with the same id
    replaces it) and return it."""
    ANALYZERS[analyzer.id] = analyzer
    return analyzer


def select(ids: Iterable[str] | None = None) -> list[Analyzer]:
    """The analyzers named by ``ids`` (in registry order), or all of them when ``ids`` is ``None``.

    Raises:
        ReviewError: an id is not registered.
    """
    if ids is None:
        return list(ANALYZERS.values())
    wanted = list(ids)
    unknown = [i for i in wanted if i not in ANALYZERS]
    if unknown:
        raise ReviewError(f"unknown review analyzer(s) {', '.join(unknown)}; known: {', '.join(ANALYZERS)}")
    return [a for i, a in ANALYZERS.items() if i in wanted]


def rules() -> list[Rule]:
    """Every registered analyzer's rules, the first one of each id only, in registry order."""
    out: dict[str, Rule] = {}
    for analyzer in ANALYZERS.values():
        for rule in analyzer.rules:
            out.setdefault(rule.id, rule)
    return list(out.values())


register(SECRETS)
register(RUFF)
register(BEHAVIOUR)
register(COROUTINES)
register(RULES)
register(MODEL)

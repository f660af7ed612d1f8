"""Review analyzers: each looks at the collected diff and returns findings.

:mod:`~lfcode.review.analyzers.base` holds the interface (:class:`~.base.Analyzer`, the
:class:`~.base.DiffContext` it is given, the :class:`~.base.Analysis` it returns, the SARIF
:class:`~.base.Rule` records it declares) and :func:`~.base.run_analyzers`, which collects the
diff once and merges what the analyzers found. :mod:`~lfcode.review.analyzers.registry` lists
them by id; :func:`lfcode.review.service.review_changes` runs the registered ones (all by
default), in this order: ``secrets`` (credentials on added lines; required: the review fails
closed without it), ``ruff`` (Python lint, what the change adds), ``behaviour`` (old and new
versions of each changed Python function run on the same calls in the sandbox), ``coroutines``
(an ``async def`` of the same file called without ``await``), ``rules``
(cross-language tree-sitter queries kept as data files in :mod:`lfcode.review.rules`) and
``model`` (:mod:`lfcode.review.model`, held to quoted evidence).

Adding an analyzer: one module here with a class following :class:`~.base.Analyzer`, plus one
:func:`~.registry.register` call in :mod:`~lfcode.review.analyzers.registry`.
"""

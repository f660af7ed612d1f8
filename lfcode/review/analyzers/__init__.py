"""Review analyzers: each looks at the collected diff and returns findings.

:mod:`~lfcode.review.analyzers.base` holds the interface (:class:`~.base.Analyzer`, the
:class:`~.base.DiffContext` it is given, the :class:`~.base.Analysis` it returns, the SARIF
:class:`~.base.Rule` records it declares) and :func:`~.base.run_analyzers`, which collects the
diff once and merges what the analyzers found. :mod:`~lfcode.review.analyzers.registry` lists
them by id; :func:`lfcode.review.service.review_changes` runs the registered ones (all by
default). Today the one analyzer is the model, ``model`` (:mod:`lfcode.review.model`).

Adding an analyzer: one module here with a class following :class:`~.base.Analyzer`, plus one
:func:`~.registry.register` call in :mod:`~lfcode.review.analyzers.registry`.
"""

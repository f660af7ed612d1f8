"""Unit-test generation: framework detection (:mod:`.frameworks`), generation (:mod:`.generate`), sandboxed verification (:mod:`.verify`) and the shared service (:mod:`.service`)."""

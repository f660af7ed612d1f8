"""Inline completion: the engine (:mod:`.engine`), its prompt, stopping rules and post-processing."""

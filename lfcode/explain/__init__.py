"""Explain a symbol: context, generation and rendering (:mod:`.generate`), and the service the CLI and the LSP share (:mod:`.service`)."""

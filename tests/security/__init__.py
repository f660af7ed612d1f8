"""Attacks from a hostile repository, and the sandbox, tried for real."""

"""A tiny module for the code-action tests."""


def add(a, b):
    """Return the sum of a and b."""
    return a + b


def mean(values):
    """The arithmetic mean of a non-empty list."""
    return add(sum(values), 0) / len(values)


class Counter:
    """Counts calls."""

    def __init__(self):
        self.count = 0

    def tick(self):
        self.count = add(self.count, 1)
        return self.count

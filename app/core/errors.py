"""Errors raised by the domain core for impossible or missing input."""
from __future__ import annotations


class InputError(ValueError):
    """A missing or impossible input value.

    ``key`` names the offending input key (dotted path, e.g. ``points[2].q_m3h``)
    so that every front end can report it on one line.
    """

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message

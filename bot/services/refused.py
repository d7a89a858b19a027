"""Refused: the one exception a use case raises when it will not do what a person asked."""

from __future__ import annotations


class Refused(Exception):
    """The request cannot be done; the message tells the person what was wrong."""

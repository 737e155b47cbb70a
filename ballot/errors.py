"""Errors raised by the ``ballot`` package.

::

    BallotError
    ├── InvalidQuestion (also ValueError)  a question's method, options, budget or max_choices
    └── InvalidChoice (also ValueError)    a choice that the question's method does not allow
"""

from __future__ import annotations

__all__ = ["BallotError", "InvalidChoice", "InvalidQuestion"]


class BallotError(Exception):
    """Base of every error raised by the ballot package."""


class InvalidQuestion(BallotError, ValueError):
    """The fields of a ``question`` record break DESIGN §10 "Questions"."""


class InvalidChoice(BallotError, ValueError):
    """A ``choice`` does not have the shape its question's method requires (DESIGN §6)."""

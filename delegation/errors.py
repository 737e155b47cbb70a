"""Errors raised by the ``delegation`` package.

::

    DelegationError
    ├── InvalidScope (also ValueError)        not {"assembly"|"topic"|"question": id}
    ├── InvalidDelegation (also ValueError)   refused by DESIGN §10 "Delegation validity"
    └── NotInElectorate (also LookupError)    a pseudonym outside the question's electorate
"""

from __future__ import annotations

__all__ = ["DelegationError", "InvalidDelegation", "InvalidScope", "NotInElectorate"]


class DelegationError(Exception):
    """Base of every error raised by the delegation package."""


class InvalidScope(DelegationError, ValueError):
    """A delegation scope has the wrong shape, kind or identifier."""


class InvalidDelegation(DelegationError, ValueError):
    """A delegation the board would have refused: to oneself, or out of its own assembly."""


class NotInElectorate(DelegationError, LookupError):
    """The pseudonym is not in the electorate of the question being resolved."""

"""Errors raised by the ``audit`` package: the board's rules and its replay.

::

    AuditError
    ├── RecordRefused            a record the board's rules do not allow here (status = HTTP code)
    │   ├── Malformed  (also ValueError)   400: shape, encoding, choice, declaration
    │   ├── Forbidden                      403: bad signature or credential, signer not entitled
    │   ├── NotFound                       404: unknown assembly, topic, question, lobby, initiative
    │   └── Conflict                       409: closed question, seq, duplicate id or key, ...
    └── VerificationFailed       the replay of a whole board found a lie (leaf index and reason)
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "Conflict",
    "Forbidden",
    "Malformed",
    "NotFound",
    "RecordRefused",
    "VerificationFailed",
]


class AuditError(Exception):
    """Base of every error raised by the audit package."""


class RecordRefused(AuditError):
    """The board's rules refuse this record at this position."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Malformed(RecordRefused, ValueError):
    """400: the content is malformed or invalid."""

    status = 400


class Forbidden(RecordRefused):
    """403: a bad signature or credential, or a signer not entitled to this record."""

    status = 403


class NotFound(RecordRefused):
    """404: the record names something that does not exist on the board."""

    status = 404


class Conflict(RecordRefused):
    """409: the record conflicts with the board (closed question, seq, duplicate id or key)."""

    status = 409


class VerificationFailed(AuditError):
    """A board replay failed at ``leaf`` (an index) for ``reason``."""

    def __init__(self, leaf: int, reason: str) -> None:
        super().__init__(f"FAIL leaf {leaf}: {reason}")
        self.leaf = leaf
        self.reason = reason

"""Errors raised by the service's persistence layer, key storage and registrar.

The routers map each to its status code (docs/PROTOCOL.md §10 "Status codes")::

    ServiceError
    ├── ConfigurationError (also ValueError)   bad or missing settings: the server refuses to start
    ├── OutOfRange (also ValueError)           400  a leaf index or tree size the log does not have
    ├── InvalidLeaf (also ValueError)          (bug) appending bytes that are not an envelope
    ├── DuplicateLeaf                          (bug) appending bytes already on the board
    ├── MissingKey (also LookupError)          404  no sealed key of that name (e.g. no issuer key)
    ├── DuplicateKey                           409  creating a sealed key that already exists
    └── RegistrarError
        ├── InvalidRoll (also ValueError)              400  refs that are not 1-200 char strings
        ├── InvalidBlindedMessage (also ValueError)    400  not the modulus length, or not below n
        ├── Unauthorized                               401  unknown enrollment code
        ├── CodeUsed                                   409  a used code with another blinded message
        ├── EnrollmentClosed                           409  adding to a purged roll
        └── RateLimited                                429  too many failed codes from one client
"""

from __future__ import annotations

__all__ = [
    "CodeUsed",
    "ConfigurationError",
    "DuplicateKey",
    "DuplicateLeaf",
    "EnrollmentClosed",
    "InvalidBlindedMessage",
    "InvalidLeaf",
    "InvalidRoll",
    "MissingKey",
    "OutOfRange",
    "RateLimited",
    "RegistrarError",
    "ServiceError",
    "Unauthorized",
]


class ServiceError(Exception):
    """Base of every error raised by the service's own modules."""


class ConfigurationError(ServiceError, ValueError):
    """The settings are missing or invalid; the server must not start."""


class OutOfRange(ServiceError, ValueError):
    """A leaf index or tree size outside the current log."""


class InvalidLeaf(ServiceError, ValueError):
    """Bytes that are not a board envelope (the board validates them before appending)."""


class DuplicateLeaf(ServiceError):
    """The exact leaf bytes are already on the board (callers look them up first)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"these leaf bytes are already leaf {index}")
        self.index = index


class MissingKey(ServiceError, LookupError):
    """No sealed key is stored under that name."""


class DuplicateKey(ServiceError):
    """A sealed key of that name already exists."""


class RegistrarError(ServiceError):
    """Base of the registrar's refusals."""


class InvalidRoll(RegistrarError, ValueError):
    """A roll request whose refs are not acceptable."""


class InvalidBlindedMessage(RegistrarError, ValueError):
    """A blinded message that is not the modulus length or not below the modulus."""


class Unauthorized(RegistrarError):
    """The enrollment code is not on this assembly's roll."""


class CodeUsed(RegistrarError):
    """The enrollment code was already used with a different blinded message."""


class EnrollmentClosed(RegistrarError):
    """The assembly's roll was purged: enrollment is over."""


class RateLimited(RegistrarError):
    """Too many failed enrollment codes from one client; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; retry in {retry_after} s")
        self.retry_after = retry_after

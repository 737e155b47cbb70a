"""Errors raised by the ``client`` package (the citizen, lobby and admin SDK).

::

    ClientError                          .diagnostics(): one line for a person to read
    ├── UsageError (also ValueError)     the caller's own input is unusable (id, scope, file, token)
    ├── WalletError                      a wallet or key file that cannot be created, read, written
    │   └── WrongPassphrase              the passphrase does not open it (or the file was altered)
    ├── NetworkError                     the server could not be reached or did not answer in time
    ├── MalformedResponse (also ValueError)  an answer not in the shape DESIGN §5 promises
    ├── ServerRefused                    a 4xx answer, with .status and the server's .detail
    │   ├── BadRequest                   400 malformed or invalid content
    │   ├── Unauthorized                 401 missing or wrong admin token, unknown enrollment code
    │   ├── Forbidden                    403 bad signature or credential, signer not entitled
    │   ├── NotFound                     404 unknown assembly, topic, question, lobby, initiative
    │   ├── Conflict                     409 closed question, seq, duplicate, used code
    │   │   └── EnrollmentCodeUsed       409 on a credential request: someone used this code
    │   ├── PayloadTooLarge              413 a body over 64 KiB
    │   └── TooManyRequests              429 rate limited
    ├── ServerFailed                     a 5xx answer, with .status and .detail
    ├── VerificationError                a server answer fails a cryptographic check
    └── PendingActionRefused             the action left pending by an earlier run was refused
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

__all__ = [
    "BadRequest",
    "ClientError",
    "Conflict",
    "EnrollmentCodeUsed",
    "Forbidden",
    "MalformedResponse",
    "NetworkError",
    "NotFound",
    "PayloadTooLarge",
    "PendingActionRefused",
    "ServerFailed",
    "ServerRefused",
    "TooManyRequests",
    "Unauthorized",
    "UsageError",
    "VerificationError",
    "WalletError",
    "WrongPassphrase",
    "refusal_for",
]


class ClientError(Exception):
    """Base of every error raised by the client package."""

    def diagnostics(self) -> str:
        """The message a command-line tool prints."""
        return str(self)


class UsageError(ClientError, ValueError):
    """The caller's input cannot be used (an identifier, a scope, a file, a missing token)."""


class WalletError(ClientError):
    """A wallet or lobby key file cannot be created, read or written."""


class WrongPassphrase(WalletError):
    """The passphrase does not open the sealed file, or the file was altered."""


class NetworkError(ClientError):
    """The server could not be reached, or did not answer in time."""


class MalformedResponse(ClientError, ValueError):
    """The server answered, but not in the shape the protocol promises."""


class ServerRefused(ClientError):
    """The server refused the request (4xx); ``detail`` is its explanation."""

    status_code: ClassVar[int | None] = None

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the server refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail


class BadRequest(ServerRefused):
    """400: malformed or invalid content."""

    status_code = 400


class Unauthorized(ServerRefused):
    """401: a missing or wrong admin token, or an unknown enrollment code."""

    status_code = 401


class Forbidden(ServerRefused):
    """403: a bad signature or credential, or a signer not entitled to act."""

    status_code = 403


class NotFound(ServerRefused):
    """404: the assembly, topic, question, lobby or initiative does not exist."""

    status_code = 404


class Conflict(ServerRefused):
    """409: the request conflicts with the board (closed question, seq, duplicate)."""

    status_code = 409


class EnrollmentCodeUsed(Conflict):
    """409 on a credential request: the code already bought a credential for another request."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail)
        # DESIGN §2: the client says plainly what a used code means.
        self.args = (
            "this enrollment code has already been used to obtain a credential, and not by this "
            "wallet: someone may have enrolled in your name. Do not try other codes; contact the "
            f"registrar and report it (server said: {detail})",
        )


class PayloadTooLarge(ServerRefused):
    """413: the request body is over 64 KiB."""

    status_code = 413


class TooManyRequests(ServerRefused):
    """429: too many attempts; wait before trying again."""

    status_code = 429


class ServerFailed(ClientError):
    """The server failed (5xx); the request may or may not have taken effect."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the server failed ({status}): {detail}")
        self.status = status
        self.detail = detail


class VerificationError(ClientError):
    """A server answer fails a cryptographic check: a signature, a proof, a key, a hash."""


class PendingActionRefused(ClientError):
    """An action saved as pending by an earlier run was refused when sent again; it is dropped."""

    def __init__(self, record_type: str, refusal: ServerRefused) -> None:
        super().__init__(
            f"the {record_type} left pending by an earlier run was refused and is dropped: "
            f"{refusal.detail} ({refusal.status}); nothing else was sent, run the command again"
        )
        self.record_type = record_type
        self.refusal = refusal


_BY_STATUS: Mapping[int, type[ServerRefused]] = {
    cls.status_code: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge,
                TooManyRequests)
    if cls.status_code is not None
}


def refusal_for(status: int, detail: str) -> ServerRefused:
    """The typed refusal for a 4xx status (``ServerRefused`` itself for the others)."""
    return _BY_STATUS.get(status, ServerRefused)(status, detail)

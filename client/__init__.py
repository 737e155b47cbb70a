"""The isegoria SDK for citizens, lobbies and admins (DESIGN §5), over ``httpx``.

The SDK trusts the server for nothing it can check: keys come from the signed board, receipts and
tree heads are verified (RFC 9162), credentials are blind (RFC 9474). The command-line apps are in
:mod:`client.cli`.
"""

from __future__ import annotations

from client._client import DEFAULT_URL, Client
from client.board import (
    Assembly,
    fetch_assembly,
    fetch_authority_key,
    find_question,
    verify_receipt,
    verify_receipt_against,
    verify_tree_head,
)
from client.citizen import STANCES, Citizen, parse_scope
from client.errors import (
    BadRequest,
    ClientError,
    Conflict,
    EnrollmentCodeUsed,
    Forbidden,
    MalformedResponse,
    NetworkError,
    NotFound,
    PayloadTooLarge,
    PendingActionRefused,
    ServerFailed,
    ServerRefused,
    TooManyRequests,
    Unauthorized,
    UsageError,
    VerificationError,
    WalletError,
    WrongPassphrase,
)
from client.lobby import LobbyAgent
from client.models import Published, Receipt, TreeHead
from client.wallet import (
    KdfLimits,
    LobbyKeyFile,
    StoredReceipt,
    Wallet,
    read_sealed_json,
    write_sealed_json,
)

__all__ = [
    "DEFAULT_URL",
    "STANCES",
    "Assembly",
    "BadRequest",
    "Citizen",
    "Client",
    "ClientError",
    "Conflict",
    "EnrollmentCodeUsed",
    "Forbidden",
    "KdfLimits",
    "LobbyAgent",
    "LobbyKeyFile",
    "MalformedResponse",
    "NetworkError",
    "NotFound",
    "PayloadTooLarge",
    "PendingActionRefused",
    "Published",
    "Receipt",
    "ServerFailed",
    "ServerRefused",
    "StoredReceipt",
    "TooManyRequests",
    "TreeHead",
    "Unauthorized",
    "UsageError",
    "VerificationError",
    "Wallet",
    "WalletError",
    "WrongPassphrase",
    "fetch_assembly",
    "fetch_authority_key",
    "find_question",
    "parse_scope",
    "read_sealed_json",
    "verify_receipt",
    "verify_receipt_against",
    "verify_tree_head",
    "write_sealed_json",
]

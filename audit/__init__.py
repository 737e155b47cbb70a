"""The board's rules, its tallies, its public reads and its replay (pure: no I/O).

The server and the auditor run this same code: ``BoardState.apply`` decides whether a leaf is
legal where it stands, ``audit.tally`` computes every published result, ``audit.views`` every
public read, and ``audit.replay`` verifies a whole exported board against its signed tree head.
"""

from __future__ import annotations

from audit._leaf import plain_envelope, read_leaf
from audit.errors import (
    AuditError,
    Conflict,
    Forbidden,
    Malformed,
    NotFound,
    RecordRefused,
    VerificationFailed,
)
from audit.records import Envelope, Record, parse_envelope
from audit.replay import Replay, Report, TreeHead, verify_board
from audit.state import BoardState, signature_ok
from audit.tally import tally_result

__all__ = [
    "AuditError",
    "BoardState",
    "Conflict",
    "Envelope",
    "Forbidden",
    "Malformed",
    "NotFound",
    "Record",
    "RecordRefused",
    "Replay",
    "Report",
    "TreeHead",
    "VerificationFailed",
    "parse_envelope",
    "plain_envelope",
    "read_leaf",
    "signature_ok",
    "tally_result",
    "verify_board",
]

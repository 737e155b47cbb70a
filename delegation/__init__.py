"""Liquid delegation: per-scope, revocable, transitive delegation and its resolution (pure).

DESIGN §4 (``delegation`` and ``revocation`` records, ``scope``), §5 (the ``trace`` and
``delegates`` reads), §6 (electorate, effective delegation, resolution, ``carriers``, ``stats``),
§6b and §10 ("Delegation validity", "Initiatives").
"""

from __future__ import annotations

from delegation.errors import DelegationError, InvalidDelegation, InvalidScope, NotInElectorate
from delegation.graph import DelegationGraph, Scope, ScopeKind
from delegation.resolve import Outcome, Resolution, Trace, TraceEnd, resolve, trace

__all__ = [
    "DelegationError",
    "DelegationGraph",
    "InvalidDelegation",
    "InvalidScope",
    "NotInElectorate",
    "Outcome",
    "Resolution",
    "Scope",
    "ScopeKind",
    "Trace",
    "TraceEnd",
    "resolve",
    "trace",
]

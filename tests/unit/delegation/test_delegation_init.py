"""The public API of ``delegation`` and its error tree."""

from __future__ import annotations

import delegation
from delegation import DelegationError, InvalidDelegation, InvalidScope, NotInElectorate


def test_all_is_the_sorted_public_api() -> None:
    assert delegation.__all__ == [
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
    for name in delegation.__all__:
        assert getattr(delegation, name) is not None


def test_error_tree() -> None:
    for error, builtin in (
        (InvalidScope, ValueError),
        (InvalidDelegation, ValueError),
        (NotInElectorate, LookupError),
    ):
        assert issubclass(error, DelegationError)
        assert issubclass(error, builtin)
    assert issubclass(DelegationError, Exception)
    assert not issubclass(NotInElectorate, ValueError)

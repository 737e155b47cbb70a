"""Per-scope delegation state, replayed from the board (DESIGN §4, §5 "delegates", §6, §10).

A pseudonym's delegations are kept as one small dict ``(kind, id) -> delegate | None`` for the
scopes it has touched; a later ``delegation`` at a scope replaces the earlier one, a
``revocation`` deletes that scope's entry only, so the broader scope applies again. ``None`` is
the explicit "no delegation here", which hides the broader scopes (§6 "Effective delegation").

The state is grouped by assembly because a topic id is unique only within its assembly (§10
"Identifiers") and a pseudonym acts only in the assembly it registered in. The board state
machine validates records (signature, ``seq``, membership, closed questions) before replaying
them here; this module only refuses what would corrupt the state itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from delegation.errors import InvalidDelegation, InvalidScope

__all__ = ["DelegationGraph", "Scope", "ScopeKind"]

ScopeKind = Literal["assembly", "topic", "question"]

_KINDS: Mapping[str, ScopeKind] = {"assembly": "assembly", "topic": "topic", "question": "question"}
_IDENTIFIER = re.compile(r"[a-z0-9-]{1,64}")

# The internal key of a scope: a plain tuple hashes in C, a dataclass would hash in Python on
# every lookup of a tally over a million pseudonyms.
_Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Scope:
    """A delegation scope: ``Scope("assembly" | "topic" | "question", id)``."""

    kind: ScopeKind
    id: str

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise InvalidScope(f"unknown scope kind {self.kind!r}")
        if not isinstance(self.id, str) or _IDENTIFIER.fullmatch(self.id) is None:
            raise InvalidScope(f"scope id must be 1-64 chars of [a-z0-9-], got {self.id!r}")

    @classmethod
    def from_json(cls, obj: object) -> Scope:
        """Parse ``{"assembly": id}``, ``{"topic": id}`` or ``{"question": id}``."""
        if not isinstance(obj, dict) or len(obj) != 1:
            raise InvalidScope("a scope is an object with exactly one member")
        ((name, ident),) = obj.items()
        kind = _KINDS.get(name) if isinstance(name, str) else None
        if kind is None:
            raise InvalidScope(f"unknown scope kind {name!r}")
        if not isinstance(ident, str):
            raise InvalidScope(f"scope id must be a string, got {type(ident).__name__}")
        return cls(kind, ident)

    def to_json(self) -> dict[str, str]:
        return {self.kind: self.id}

    def to_key(self) -> str:
        """The key used by the ``delegates`` read: ``"topic:<id>"`` and so on."""
        return f"{self.kind}:{self.id}"


class DelegationGraph:
    """Every pseudonym's current delegation per scope, fed in board order."""

    __slots__ = ("_assemblies",)

    def __init__(self) -> None:
        # assembly id -> pseudonym -> scope key -> delegate (None: "no delegation here").
        self._assemblies: dict[str, dict[str, dict[_Key, str | None]]] = {}

    def delegate(
        self, pseudonym: str, scope: Scope, delegate: str | None, *, assembly: str
    ) -> None:
        """Record ``pseudonym``'s delegation at ``scope``, replacing any earlier one there."""
        if delegate == pseudonym:
            raise InvalidDelegation("a pseudonym cannot delegate to itself")
        if scope.kind == "assembly" and scope.id != assembly:
            raise InvalidDelegation(f"scope {scope.to_key()} is not assembly {assembly!r}")
        members = self._assemblies.setdefault(assembly, {})
        members.setdefault(pseudonym, {})[scope.kind, scope.id] = delegate

    def revoke(self, pseudonym: str, scope: Scope, *, assembly: str) -> None:
        """Remove ``pseudonym``'s delegation at ``scope`` only; revoking nothing is accepted."""
        members = self._assemblies.get(assembly)
        entries = None if members is None else members.get(pseudonym)
        if members is None or entries is None:
            return
        entries.pop((scope.kind, scope.id), None)
        if not entries:
            del members[pseudonym]

    def effective(
        self,
        pseudonym: str,
        *,
        assembly: str,
        topic: str | None = None,
        question: str | None = None,
    ) -> str | None:
        """The delegate at the most specific scope with an entry: question, topic, assembly."""
        entries = self._assemblies.get(assembly, {}).get(pseudonym)
        if entries is None:
            return None
        return _effective(entries, _scope_keys(assembly, topic, question))

    def delegate_map(
        self, *, assembly: str, topic: str | None = None, question: str | None = None
    ) -> dict[str, str]:
        """Each pseudonym of ``assembly`` with a non-null effective delegate -> that delegate.

        The ``delegate_of`` argument of ``resolve`` and ``trace``: pass ``question`` for a
        tally, only ``topic`` for an initiative's ``supports_with_delegation`` (§10).
        """
        keys = _scope_keys(assembly, topic, question)
        out: dict[str, str] = {}
        for pseudonym, entries in self._assemblies.get(assembly, {}).items():
            target = _effective(entries, keys)
            if target is not None:
                out[pseudonym] = target
        return out

    def incoming(self, assembly: str) -> dict[str, dict[str, int]]:
        """Delegate -> scope key -> how many pseudonyms' current delegation there names it.

        Null entries name nobody and are not counted. Sorted by delegate, then scope key.
        """
        counts: dict[str, dict[str, int]] = {}
        for entries in self._assemblies.get(assembly, {}).values():
            for (kind, ident), target in entries.items():
                if target is not None:
                    per_scope = counts.setdefault(target, {})
                    key = f"{kind}:{ident}"
                    per_scope[key] = per_scope.get(key, 0) + 1
        return {d: dict(sorted(counts[d].items())) for d in sorted(counts)}

    def scopes(self, pseudonym: str, *, assembly: str) -> dict[Scope, str | None]:
        """``pseudonym``'s current entries, by scope (a fresh dict)."""
        entries = self._assemblies.get(assembly, {}).get(pseudonym, {})
        return {Scope(_KINDS[kind], ident): target for (kind, ident), target in entries.items()}

    def snapshot(self) -> DelegationGraph:
        """An independent copy: later calls on either graph leave the other unchanged."""
        copy = DelegationGraph()
        copy._assemblies = {
            assembly: {p: dict(entries) for p, entries in members.items()}
            for assembly, members in self._assemblies.items()
        }
        return copy


def _scope_keys(assembly: str, topic: str | None, question: str | None) -> tuple[_Key, ...]:
    keys: list[_Key] = []
    if question is not None:
        keys.append(("question", question))
    if topic is not None:
        keys.append(("topic", topic))
    keys.append(("assembly", assembly))
    return tuple(keys)


def _effective(entries: Mapping[_Key, str | None], keys: tuple[_Key, ...]) -> str | None:
    for key in keys:
        if key in entries:
            return entries[key]
    return None

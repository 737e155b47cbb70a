"""What the board has established so far: assemblies, questions, pseudonyms, lobbies, initiatives.

These are the facts a replay accumulates (``audit.state.BoardState`` owns them); the reads of
docs/PROTOCOL.md §5 and the tallies of §6 are computed from them and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ballot import QuestionSpec
from crypto.blind_rsa import PublicKey
from crypto.encoding import JSONValue
from delegation import DelegationGraph

__all__ = [
    "AssemblyState",
    "ClosedQuestion",
    "InitiativeState",
    "LobbyState",
    "QuestionState",
]


@dataclass(slots=True)
class AssemblyState:
    assembly_id: str
    title: str
    issuer: PublicKey
    threshold: int
    index: int
    topics: dict[str, int] = field(default_factory=dict)  # topic id -> leaf index
    pseudonyms: dict[str, int] = field(default_factory=dict)  # pseudonym -> leaf index
    profiles: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (name, statement)
    delegations: DelegationGraph = field(default_factory=DelegationGraph)
    roll_size: int = 0
    credentials_issued: int = 0
    questions: list[str] = field(default_factory=list)
    initiatives: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClosedQuestion:
    """The board prefix's verdict at ``question_closed``, kept for traces after the close."""

    index: int
    electorate: frozenset[str]
    delegate_of: dict[str, str]
    result: dict[str, JSONValue]


@dataclass(slots=True)
class QuestionState:
    question_id: str
    assembly_id: str
    topic_id: str
    title: str
    spec: QuestionSpec
    index: int
    initiative_id: str | None
    ballots: dict[str, JSONValue] = field(default_factory=dict)  # pseudonym -> latest choice
    positions: dict[str, JSONValue] = field(default_factory=dict)  # lobby id -> latest choice
    # (leaf index, pseudonym, stance, text), in board order
    opinions: list[tuple[int, str, str, str]] = field(default_factory=list)
    stances: dict[str, str] = field(default_factory=dict)  # pseudonym -> latest stance
    closed: ClosedQuestion | None = None


@dataclass(slots=True)
class LobbyState:
    lobby_id: str
    lobby_key: str
    registered_index: int
    active: bool = True
    declarations: list[tuple[int, dict[str, JSONValue]]] = field(default_factory=list)
    suspensions: list[tuple[int, str]] = field(default_factory=list)
    positions: list[tuple[int, str, int, JSONValue, str]] = field(default_factory=list)


@dataclass(slots=True)
class InitiativeState:
    initiative_id: str
    assembly_id: str
    topic_id: str
    pseudonym: str
    title: str
    text: str
    index: int
    supports: dict[str, bool] = field(default_factory=dict)  # pseudonym -> live (not withdrawn)
    admitted_index: int | None = None
    question_id: str | None = None

    def direct_supports(self) -> int:
        return sum(self.supports.values())

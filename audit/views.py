"""The public reads of docs/PROTOCOL.md §5, computed from the board's state alone.

The server answers these from its ``BoardState``; an auditor who replayed the board gets the
same answers from its own, which is what "recomputable by anyone from the board" means.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from audit.errors import NotFound
from audit.model import QuestionState
from audit.state import BoardState
from crypto.encoding import JSONValue
from delegation import DelegationGraph, NotInElectorate, trace
from lobby import csv_export

__all__ = [
    "assembly_view",
    "delegates_view",
    "initiatives_view",
    "lobbies_csv",
    "lobbies_view",
    "lobby_view",
    "opinions_view",
    "question_view",
    "tally_view",
    "trace_view",
]


class _Effective(Mapping[str, str]):
    """A question's effective delegations, computed only for the pseudonyms a trace visits."""

    def __init__(self, graph: DelegationGraph, question: QuestionState) -> None:
        self._graph, self._q = graph, question

    def __getitem__(self, pseudonym: str) -> str:
        target = self._graph.effective(
            pseudonym,
            assembly=self._q.assembly_id,
            topic=self._q.topic_id,
            question=self._q.question_id,
        )
        if target is None:
            raise KeyError(pseudonym)
        return target

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - traces only look up
        raise TypeError("effective delegations are looked up, not listed")

    def __len__(self) -> int:  # pragma: no cover - traces only look up
        raise TypeError("effective delegations are looked up, not listed")


def _question(state: BoardState, question_id: str) -> QuestionState:
    return state.question(question_id)


def assembly_view(state: BoardState, assembly_id: str) -> dict[str, JSONValue]:
    """Where an assembly's record is (its leaf index), and its questions' ids in board order:
    what a client needs to fetch and check single leaves instead of the whole board."""
    assembly = state.assembly(assembly_id)
    return {
        "assembly_id": assembly_id,
        "index": assembly.index,
        "questions": list(assembly.questions),
    }


def question_view(state: BoardState, question_id: str) -> dict[str, JSONValue]:
    """Where a question's record is: its leaf index (a client fetches that leaf and checks it
    with an inclusion proof, instead of reading the whole board) and whether it is closed."""
    question = _question(state, question_id)
    return {
        "question_id": question_id,
        "index": question.index,
        "closed": question.closed is not None,
    }


def tally_view(state: BoardState, question_id: str) -> JSONValue:
    """The published tally result; 404 until the question is closed."""
    question = _question(state, question_id)
    if question.closed is None:
        raise NotFound(f"question {question_id!r} is not closed yet")
    return question.closed.result


def trace_view(state: BoardState, question_id: str, pseudonym: str) -> dict[str, JSONValue]:
    """Where ``pseudonym``'s voice goes on ``question_id`` (at the close, once closed)."""
    question = _question(state, question_id)
    assembly = state.assemblies[question.assembly_id]
    closed = question.closed
    voters = question.ballots.keys()
    try:
        if closed is not None:
            found = trace(pseudonym, closed.delegate_of, voters, closed.electorate)
        else:
            effective = _Effective(assembly.delegations, question)
            found = trace(pseudonym, effective, voters, assembly.pseudonyms.keys())
    except NotInElectorate as exc:
        raise NotFound("this pseudonym is not in the question's electorate") from exc
    choice: JSONValue = None
    if closed is not None and found.end == "ballot":
        choice = question.ballots[found.chain[-1]]
    return {
        "question_id": question_id,
        "pseudonym": pseudonym,
        "chain": list(found.chain),
        "end": found.end,
        "closed": closed is not None,
        "choice": choice,
    }


def delegates_view(state: BoardState, assembly_id: str) -> dict[str, JSONValue]:
    """Every pseudonym with a profile or incoming delegations, with its incoming counts."""
    assembly = state.assembly(assembly_id)
    incoming = assembly.delegations.incoming(assembly_id)
    delegates: list[JSONValue] = []
    for pseudonym in sorted(set(incoming) | set(assembly.profiles)):
        name, statement = assembly.profiles.get(pseudonym, (None, None))
        counts: dict[str, JSONValue] = dict(incoming.get(pseudonym, {}))
        delegates.append(
            {
                "pseudonym": pseudonym,
                "display_name": name,
                "statement": statement,
                "incoming": counts,
            }
        )
    return {"assembly_id": assembly_id, "delegates": delegates}


def lobbies_view(state: BoardState) -> dict[str, JSONValue]:
    """The public register: every approved lobby, its latest declaration and status."""
    lobbies: list[JSONValue] = [
        {
            "lobby_id": lobby.lobby_id,
            "lobby_key": lobby.lobby_key,
            "status": "active" if lobby.active else "suspended",
            "declaration": lobby.declarations[-1][1],
            "registered_index": lobby.registered_index,
        }
        for lobby in sorted(state.lobbies.values(), key=lambda item: item.lobby_id)
    ]
    return {"lobbies": lobbies}


def lobby_view(state: BoardState, lobby_id: str) -> dict[str, JSONValue]:
    """One lobby's full history: declarations, suspensions and positions, in board order."""
    lobby = state.lobbies.get(lobby_id)
    if lobby is None:
        raise NotFound(f"unknown lobby {lobby_id!r}")
    return {
        "lobby_id": lobby.lobby_id,
        "lobby_key": lobby.lobby_key,
        "status": "active" if lobby.active else "suspended",
        "declarations": [{"index": i, "declaration": d} for i, d in lobby.declarations],
        "suspensions": [{"index": i, "reason": reason} for i, reason in lobby.suspensions],
        "positions": [
            {"index": i, "question_id": q, "seq": seq, "choice": choice, "statement": statement}
            for i, q, seq, choice, statement in lobby.positions
        ],
    }


def lobbies_csv(state: BoardState) -> str:
    """The register as RFC 4180 CSV (one row per listed lobby)."""
    rows = lobbies_view(state)["lobbies"]
    assert isinstance(rows, list)
    return csv_export(row for row in rows if isinstance(row, dict))


def initiatives_view(state: BoardState, assembly_id: str) -> dict[str, JSONValue]:
    """An assembly's initiatives with their live support counts."""
    assembly = state.assembly(assembly_id)
    items: list[JSONValue] = []
    for initiative_id in sorted(assembly.initiatives):
        initiative = state.initiatives[initiative_id]
        items.append(
            {
                "initiative_id": initiative_id,
                "topic_id": initiative.topic_id,
                "title": initiative.title,
                "text": initiative.text,
                "pseudonym": initiative.pseudonym,
                "supports": initiative.direct_supports(),
                "supports_with_delegation": state.supports_with_delegation(initiative),
                "threshold": assembly.threshold,
                "admitted": initiative.admitted_index is not None,
                "admitted_index": initiative.admitted_index,
                "question_id": initiative.question_id,
                "index": initiative.index,
            }
        )
    return {"initiatives": items}


def opinions_view(state: BoardState, question_id: str) -> dict[str, JSONValue]:
    """Every opinion on a question, grouped by stance, with counts of latest stances."""
    question = _question(state, question_id)
    stances = ("for", "against", "neutral")
    grouped: dict[str, list[JSONValue]] = {stance: [] for stance in stances}
    for index, pseudonym, stance, text in question.opinions:
        grouped[stance].append({"pseudonym": pseudonym, "text": text, "index": index})
    latest = list(question.stances.values())
    counts: dict[str, JSONValue] = {stance: latest.count(stance) for stance in stances}
    opinions: dict[str, JSONValue] = dict(grouped.items())
    return {"question_id": question_id, "counts": counts, "opinions": opinions}

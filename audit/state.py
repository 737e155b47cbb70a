"""The board's rules as a deterministic fold over its leaves (docs/PROTOCOL.md §4, §6, §10).

``BoardState.apply`` takes the next envelope and either refuses it with the HTTP status the
protocol names (``RecordRefused``) or accepts it and updates the state. The server applies every
envelope it appends; the auditor applies every leaf it reads: one set of rules, so a board the
server wrote is a board the auditor accepts, and a lie is found at its first leaf.

Checks run in the protocol's precedence order: 400 (shape and content), 403 (signature,
entitlement), 404 (unknown names), 409 (conflicts). ``apply`` validates completely before it
changes anything. After some records the protocol fixes the very next leaf (the ``tally`` after
``question_closed``, ``initiative_admitted`` after the support that reaches the threshold):
``required_next`` gives it, and any other leaf is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from audit import _citizen
from audit.errors import Conflict, Forbidden, Malformed, NotFound
from audit.model import (
    AssemblyState,
    ClosedQuestion,
    InitiativeState,
    LobbyState,
    QuestionState,
)
from audit.records import AUTHORITY_TYPES, Envelope
from audit.tally import tally_result
from ballot import ABSENT, question_spec
from crypto.blind_rsa import PublicKey
from crypto.ed25519 import RECORD_DOMAIN, verify_object
from crypto.encoding import JSONValue, b64u_decode, canonical_json
from crypto.errors import CryptoError, EncodingError
from delegation import resolve
from lobby import InvalidDeclaration, validate_declaration

__all__ = ["BoardState"]

_ALLOWED_ISSUER_BITS = (2048, 3072, 4096)


class BoardState:
    """Everything the board establishes, leaf by leaf."""

    def __init__(
        self, *, initiative_policy: Callable[[BoardState, Envelope], None] | None = None
    ) -> None:
        # A server's own limits on new initiatives (not board rules: an auditor has none),
        # consulted after the board's rules accept an initiative and before it is recorded.
        self.initiative_policy = initiative_policy
        self.size = 0
        self.authority_key: str | None = None
        self.keys: dict[str, str] = {}  # base64url key -> "authority" | "pseudonym" | "lobby"
        self.pseudonym_assembly: dict[str, str] = {}
        self.seqs: dict[str, int] = {}
        self.assemblies: dict[str, AssemblyState] = {}
        self.questions: dict[str, QuestionState] = {}
        self.lobbies: dict[str, LobbyState] = {}
        self.lobby_by_key: dict[str, str] = {}
        self.initiatives: dict[str, InitiativeState] = {}
        self._required: dict[str, JSONValue] | None = None

    # -- the fold ---------------------------------------------------------------------------

    def required_next(self) -> dict[str, JSONValue] | None:
        """The authority record the protocol requires as the very next leaf, if any."""
        return self._required

    def apply(
        self, envelope: Envelope, *, trusted: bool = False, signature_valid: bool | None = None
    ) -> None:
        """Validate ``envelope`` as leaf ``self.size`` and apply it, or raise ``RecordRefused``.

        ``trusted`` skips signature and credential checks (a server replaying its own store);
        ``signature_valid`` passes in an Ed25519 check made earlier, outside a lock.
        """
        kind = envelope.record.type
        # The rules call check_signature() where the signature's 403 comes in their order; a
        # verdict known already needs no closure (this runs for every leaf of a board).
        check_signature: Callable[[], None]
        if trusted or signature_valid:
            check_signature = _signature_passes
        elif signature_valid is None:
            check_signature = functools.partial(_check_signature_of, envelope)
        else:
            check_signature = _signature_fails
        if self._required is not None:
            self._apply_required(envelope, check_signature)
        elif self.size == 0:
            self._genesis(envelope, check_signature)
        elif (rule := _citizen.RULES.get(kind)) is not None:  # the commonest records first
            rule(self, envelope, check_signature)
        elif kind == "genesis":
            raise Conflict("genesis is leaf 0 only")
        elif kind in AUTHORITY_TYPES:
            handler = _AUTHORITY_HANDLERS.get(kind)
            if handler is None:
                raise Conflict(f"a {kind} record only follows the record that requires it")
            handler(self, envelope, check_signature)
        else:
            _citizen.apply(self, envelope, check_signature, trusted=trusted)
        self.size += 1

    # -- shared checks ----------------------------------------------------------------------

    def check_authority(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        check_signature()
        if envelope.signer != self.authority_key:
            raise Forbidden(f"a {envelope.record.type} record must be signed by the authority")

    def assembly(self, assembly_id: str) -> AssemblyState:
        found = self.assemblies.get(assembly_id)
        if found is None:
            raise NotFound(f"unknown assembly {assembly_id!r}")
        return found

    def question(self, question_id: str) -> QuestionState:
        found = self.questions.get(question_id)
        if found is None:
            raise NotFound(f"unknown question {question_id!r}")
        return found

    def check_seq(self, signer: str, seq: int) -> None:
        last = self.seqs.get(signer, 0)
        if seq <= last:
            raise Conflict(f"seq must be above the signer's last ({last})")

    # -- authority records ------------------------------------------------------------------

    def _genesis(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        record = envelope.record
        if record.type != "genesis":
            raise Conflict("leaf 0 must be the genesis record")
        check_signature()
        if envelope.signer != record.s("authority_key"):
            raise Forbidden("genesis must be signed by its authority_key")
        self.authority_key = envelope.signer
        self.keys[envelope.signer] = "authority"

    def _apply_required(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        required = self._required
        assert required is not None
        if canonical_json(envelope.record.data) != canonical_json(required):
            raise Conflict(f"this leaf must be the {required['type']} record the board requires")
        self.check_authority(envelope, check_signature)
        if required["type"] == "initiative_admitted":
            initiative = self.initiatives[str(required["initiative_id"])]
            initiative.admitted_index = self.size
        else:  # tally: the result was stored with the close
            pass
        self._required = None

    def _assembly(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        r = envelope.record
        try:
            issuer = PublicKey.from_spki(b64u_decode(r.s("issuer_key")))
        except (EncodingError, CryptoError, ValueError) as exc:
            raise Malformed(f"issuer_key is not an RSASSA-PSS issuer key: {exc}") from exc
        if issuer.modulus_len * 8 not in _ALLOWED_ISSUER_BITS:
            raise Malformed("issuer_key must have 2048, 3072 or 4096 bits")
        self.check_authority(envelope, check_signature)
        assembly_id = r.s("assembly_id")
        if assembly_id in self.assemblies:
            raise Conflict(f"assembly {assembly_id!r} already exists")
        self.assemblies[assembly_id] = AssemblyState(
            assembly_id, r.s("title"), issuer, r.i("initiative_threshold"), self.size
        )

    def _topic(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        r = envelope.record
        self.check_authority(envelope, check_signature)
        assembly = self.assembly(r.s("assembly_id"))
        if r.s("topic_id") in assembly.topics:
            raise Conflict(f"topic {r.s('topic_id')!r} already exists in this assembly")
        assembly.topics[r.s("topic_id")] = self.size

    def _question(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        r = envelope.record
        optional = {k: r.data[k] for k in ("budget", "max_choices") if r.has(k)}
        try:
            spec = question_spec(
                r.data["method"],
                r.data["options"],
                optional.get("budget", ABSENT),
                optional.get("max_choices", ABSENT),
            )
        except ValueError as exc:
            raise Malformed(str(exc)) from exc
        initiative = None
        if r.has("initiative_id"):
            initiative = self.initiatives.get(r.s("initiative_id"))
            if initiative is not None and (
                initiative.assembly_id != r.s("assembly_id")
                or initiative.topic_id != r.s("topic_id")
            ):
                raise Malformed("a question from an initiative must be in its assembly and topic")
        self.check_authority(envelope, check_signature)
        assembly = self.assembly(r.s("assembly_id"))
        if r.s("topic_id") not in assembly.topics:
            raise NotFound(f"unknown topic {r.s('topic_id')!r} in this assembly")
        if r.has("initiative_id") and initiative is None:
            raise NotFound(f"unknown initiative {r.s('initiative_id')!r}")
        question_id = r.s("question_id")
        if question_id in self.questions:
            raise Conflict(f"question {question_id!r} already exists")
        if initiative is not None:
            if initiative.admitted_index is None:
                raise Conflict("the initiative has not been admitted")
            if initiative.question_id is not None:
                raise Conflict(f"the initiative already became {initiative.question_id!r}")
            initiative.question_id = question_id
        self.questions[question_id] = QuestionState(
            question_id,
            assembly.assembly_id,
            r.s("topic_id"),
            r.s("title"),
            spec,
            self.size,
            initiative.initiative_id if initiative else None,
        )
        assembly.questions.append(question_id)

    def _question_closed(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        r = envelope.record
        self.check_authority(envelope, check_signature)
        question = self.question(r.s("question_id"))
        if question.closed is not None:
            raise Conflict(f"question {question.question_id!r} is already closed")
        assembly = self.assemblies[question.assembly_id]
        roll, issued = r.i("roll_size"), r.i("credentials_issued")
        if roll < assembly.roll_size or issued < assembly.credentials_issued:
            raise Conflict("roll_size and credentials_issued never decrease")
        electorate = len(assembly.pseudonyms)
        if not electorate <= issued <= roll:
            raise Conflict(
                f"electorate ({electorate}) <= credentials_issued ({issued}) <= roll_size "
                f"({roll}) does not hold"
            )
        delegate_of = assembly.delegations.delegate_map(
            assembly=assembly.assembly_id, topic=question.topic_id, question=question.question_id
        )
        positions = {
            lobby_id: choice
            for lobby_id, choice in question.positions.items()
            if self.lobbies[lobby_id].active
        }
        members = frozenset(assembly.pseudonyms)
        result = tally_result(question.spec, members, delegate_of, question.ballots, positions)
        assembly.roll_size, assembly.credentials_issued = roll, issued
        question.closed = ClosedQuestion(self.size, members, delegate_of, result)
        self._required = {"type": "tally", "question_id": question.question_id, "result": result}

    def _lobby_registered(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        r = envelope.record
        declaration = r.data["declaration"]
        try:
            validate_declaration(declaration)
        except InvalidDeclaration as exc:
            raise Malformed(str(exc)) from exc
        assert isinstance(declaration, dict)
        self.check_authority(envelope, check_signature)
        lobby_id, lobby_key = r.s("lobby_id"), r.s("lobby_key")
        lobby = self.lobbies.get(lobby_id)
        if lobby is None:
            if lobby_key in self.keys:
                raise Conflict("lobby_key is already used on the board")
            self.lobbies[lobby_id] = lobby = LobbyState(lobby_id, lobby_key, self.size)
            self.lobby_by_key[lobby_key] = lobby_id
            self.keys[lobby_key] = "lobby"
        else:
            if lobby.lobby_key != lobby_key:
                raise Conflict("a lobby re-declares with its registered key")
            if not lobby.active:
                raise Conflict("a suspended lobby cannot be registered again")
            if canonical_json(lobby.declarations[-1][1]) == canonical_json(declaration):
                raise Conflict("the declaration is identical to the active one")
        lobby.declarations.append((self.size, declaration))

    def _lobby_suspended(self, envelope: Envelope, check_signature: Callable[[], None]) -> None:
        r = envelope.record
        self.check_authority(envelope, check_signature)
        lobby = self.lobbies.get(r.s("lobby_id"))
        if lobby is None:
            raise NotFound(f"unknown lobby {r.s('lobby_id')!r}")
        if not lobby.active:
            raise Conflict("the lobby is already suspended")
        lobby.active = False
        lobby.suspensions.append((self.size, r.s("reason")))

    # -- obligations raised by citizens' records ---------------------------------------------

    def supports_with_delegation(self, initiative: InitiativeState) -> int:
        """Live supports including delegated weight (topic, then assembly scope), §10."""
        assembly = self.assemblies[initiative.assembly_id]
        resolution = resolve(
            assembly.pseudonyms,
            assembly.delegations.delegate_map(
                assembly=assembly.assembly_id, topic=initiative.topic_id
            ),
            {p for p, live in initiative.supports.items() if live},
            stoppers={p for p, live in initiative.supports.items() if not live},
        )
        return resolution.ballots_direct + resolution.weight_delegated

    def require_admission(self, initiative: InitiativeState) -> None:
        """Called when ``initiative``'s direct supports reach the threshold."""
        self._required = {
            "type": "initiative_admitted",
            "initiative_id": initiative.initiative_id,
            "supports": initiative.direct_supports(),
            "supports_with_delegation": self.supports_with_delegation(initiative),
            "threshold": self.assemblies[initiative.assembly_id].threshold,
        }


def _signature_passes() -> None:
    """The signature check of an envelope known to be signed, or trusted."""


def _signature_fails() -> None:
    raise Forbidden("the envelope's signature does not verify")


def _check_signature_of(envelope: Envelope) -> None:
    if not _signature_ok(envelope):
        _signature_fails()


def _signature_ok(envelope: Envelope) -> bool:
    """Ed25519 over RECORD_DOMAIN || JCS(record) by the envelope's signer."""
    try:
        verify_object(envelope.signer, RECORD_DOMAIN, envelope.record.data, envelope.sig)
    except CryptoError:
        return False
    return True


def signature_ok(envelope: Envelope) -> bool:
    """The envelope's signature check alone (no state), for callers that check before a lock."""
    return _signature_ok(envelope)


_Handler = Callable[[BoardState, Envelope, Callable[[], None]], None]
_AUTHORITY_HANDLERS: dict[str, _Handler] = {
    "assembly": BoardState._assembly,
    "topic": BoardState._topic,
    "question": BoardState._question,
    "question_closed": BoardState._question_closed,
    "lobby_registered": BoardState._lobby_registered,
    "lobby_suspended": BoardState._lobby_suspended,
}

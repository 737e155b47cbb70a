"""Rules for records signed by pseudonyms and lobby keys (docs/PROTOCOL.md §4, §6b, §7, §10).

Each rule checks in the protocol's precedence order (400, 403, 404, 409) and changes the state
only after every check has passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from audit.errors import Conflict, Forbidden, Malformed, NotFound
from audit.model import AssemblyState, InitiativeState, QuestionState
from audit.records import Envelope, Record
from audit.records import scope as parse_scope
from ballot import InvalidChoice, validate_choice
from crypto.blind_rsa import credential_message
from crypto.encoding import b64u_decode
from crypto.errors import CryptoError
from delegation import Scope

if TYPE_CHECKING:
    from audit.state import BoardState

__all__ = ["RULES", "apply"]

_Check = Callable[[], None]


def apply(state: BoardState, envelope: Envelope, check_signature: _Check, *, trusted: bool) -> None:
    """Apply a record signed by a pseudonym or a lobby key."""
    kind = envelope.record.type
    if kind == "pseudonym":
        _pseudonym(state, envelope, check_signature, trusted)
    else:
        RULES[kind](state, envelope, check_signature)


def _signer(state: BoardState, envelope: Envelope, check_signature: _Check) -> str:
    """403 checks common to every pseudonym-signed record; returns the signer's assembly."""
    check_signature()
    signer = envelope.signer
    if envelope.record.s("pseudonym") != signer:
        raise Forbidden("the signer must be the record's pseudonym")
    kind = state.keys.get(signer)
    if kind == "lobby":
        raise Forbidden("a lobby key cannot act as a citizen")
    if kind != "pseudonym":
        raise Forbidden("the signer is not a registered pseudonym")
    return state.pseudonym_assembly[signer]


def _in_assembly(signer_assembly: str, target_assembly: str) -> None:
    if signer_assembly != target_assembly:
        raise Forbidden("a pseudonym acts only in the assembly it registered in")


def _seq(state: BoardState, envelope: Envelope) -> int:
    """The record's seq, checked against the signer's last (409); ``_record_seq`` keeps it."""
    seq = envelope.record.i("seq")
    state.check_seq(envelope.signer, seq)
    return seq


def _record_seq(state: BoardState, envelope: Envelope, seq: int) -> None:
    state.seqs[envelope.signer] = seq


def _open(question: QuestionState) -> None:
    if question.closed is not None:
        raise Conflict(f"question {question.question_id!r} is closed")


def _pseudonym(
    state: BoardState, envelope: Envelope, check_signature: _Check, trusted: bool
) -> None:
    r = envelope.record
    assembly = state.assemblies.get(r.s("assembly_id"))
    credential = b64u_decode(r.s("credential"))
    if assembly is not None and len(credential) != assembly.issuer.modulus_len:
        raise Malformed("credential must be exactly the issuer modulus length")
    check_signature()
    if r.s("pseudonym") != envelope.signer:
        raise Forbidden("a pseudonym record is signed by the pseudonym it registers")
    kind = state.keys.get(envelope.signer)
    if kind in ("lobby", "authority"):
        raise Forbidden(f"an {kind} key cannot register as a pseudonym")
    if assembly is not None and not trusted:
        message = credential_message(assembly.assembly_id, b64u_decode(r.s("pseudonym")))
        try:
            assembly.issuer.verify(b64u_decode(r.s("msg_prefix")) + message, credential)
        except CryptoError as exc:
            raise Forbidden("the credential does not verify under the issuer key") from exc
    if assembly is None:
        raise NotFound(f"unknown assembly {r.s('assembly_id')!r}")
    if kind == "pseudonym":
        raise Conflict("this pseudonym key is already registered")
    state.keys[envelope.signer] = "pseudonym"
    state.pseudonym_assembly[envelope.signer] = assembly.assembly_id
    assembly.pseudonyms[envelope.signer] = state.size


def _ballot(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    question_id = r.s("question_id")
    question = state.questions.get(question_id)
    choice = r.data["choice"]
    if question is not None:
        try:
            validate_choice(question.spec, choice)
        except InvalidChoice as exc:
            raise Malformed(str(exc)) from exc
    home = _signer(state, envelope, check_signature)
    if question is None:
        question = state.question(question_id)  # 404
    _in_assembly(home, question.assembly_id)
    _open(question)
    seq = _seq(state, envelope)
    question.ballots[envelope.signer] = choice
    _record_seq(state, envelope, seq)


def _scope(
    state: BoardState, r: Record, assembly_id: str
) -> tuple[Scope, QuestionState | None, AssemblyState | None]:
    """400 checks of a delegation scope; the 404 and 409 ones come later, from ``_scope_exists``."""
    kind, ident = parse_scope(r.data["scope"])
    if kind == "assembly" and ident != assembly_id:
        raise Malformed("an assembly scope names the record's assembly")
    question = state.questions.get(ident) if kind == "question" else None
    if question is not None and question.assembly_id != assembly_id:
        raise Malformed("the scope's question belongs to another assembly")
    return Scope(kind, ident), question, state.assemblies.get(assembly_id)


def _scope_exists(state: BoardState, scope: Scope, assembly: AssemblyState) -> None:
    if scope.kind == "topic" and scope.id not in assembly.topics:
        raise NotFound(f"unknown topic {scope.id!r} in this assembly")
    if scope.kind == "question":
        _open(state.question(scope.id))


def _delegation(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    assembly_id = r.s("assembly_id")
    scope, _question, assembly = _scope(state, r, assembly_id)
    delegate = r.data["delegate"]
    if delegate is not None:
        if delegate == envelope.signer or delegate == r.s("pseudonym"):
            raise Malformed("a pseudonym cannot delegate to itself")
        if assembly is None or delegate not in assembly.pseudonyms:
            raise Malformed("the delegate is not a pseudonym registered in this assembly")
    home = _signer(state, envelope, check_signature)
    _in_assembly(home, assembly_id)
    assembly = state.assembly(assembly_id)
    _scope_exists(state, scope, assembly)
    seq = _seq(state, envelope)
    assert delegate is None or isinstance(delegate, str)
    assembly.delegations.delegate(envelope.signer, scope, delegate, assembly=assembly.assembly_id)
    _record_seq(state, envelope, seq)


def _revocation(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    assembly_id = r.s("assembly_id")
    scope, _question, _assembly = _scope(state, r, assembly_id)
    home = _signer(state, envelope, check_signature)
    _in_assembly(home, assembly_id)
    assembly = state.assembly(assembly_id)
    _scope_exists(state, scope, assembly)
    seq = _seq(state, envelope)
    assembly.delegations.revoke(envelope.signer, scope, assembly=assembly.assembly_id)
    _record_seq(state, envelope, seq)


def _delegate_profile(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    home = _signer(state, envelope, check_signature)
    _in_assembly(home, r.s("assembly_id"))
    assembly = state.assembly(r.s("assembly_id"))
    seq = _seq(state, envelope)
    assembly.profiles[envelope.signer] = (r.s("display_name"), r.s("statement"))
    _record_seq(state, envelope, seq)


def _opinion(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    question = state.questions.get(r.s("question_id"))
    home = _signer(state, envelope, check_signature)
    if question is not None:
        _in_assembly(home, question.assembly_id)
    question = state.question(r.s("question_id"))
    _open(question)
    seq = _seq(state, envelope)
    question.opinions.append((state.size, envelope.signer, r.s("stance"), r.s("text")))
    question.stances[envelope.signer] = r.s("stance")
    _record_seq(state, envelope, seq)


def _initiative(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    home = _signer(state, envelope, check_signature)
    _in_assembly(home, r.s("assembly_id"))
    assembly = state.assembly(r.s("assembly_id"))
    if r.s("topic_id") not in assembly.topics:
        raise NotFound(f"unknown topic {r.s('topic_id')!r} in this assembly")
    initiative_id = r.s("initiative_id")
    if initiative_id in state.initiatives:
        raise Conflict(f"initiative {initiative_id!r} already exists")
    seq = _seq(state, envelope)
    if state.initiative_policy is not None:
        state.initiative_policy(state, envelope)
    state.initiatives[initiative_id] = InitiativeState(
        initiative_id,
        assembly.assembly_id,
        r.s("topic_id"),
        envelope.signer,
        r.s("title"),
        r.s("text"),
        state.size,
    )
    assembly.initiatives.append(initiative_id)
    _record_seq(state, envelope, seq)


def _support(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    initiative = state.initiatives.get(r.s("initiative_id"))
    home = _signer(state, envelope, check_signature)
    if initiative is not None:
        _in_assembly(home, initiative.assembly_id)
    if initiative is None:
        raise NotFound(f"unknown initiative {r.s('initiative_id')!r}")
    seq = _seq(state, envelope)
    initiative.supports[envelope.signer] = not r.data["withdrawn"]
    _record_seq(state, envelope, seq)
    threshold = state.assemblies[initiative.assembly_id].threshold
    if initiative.admitted_index is None and initiative.direct_supports() >= threshold:
        state.require_admission(initiative)


def _lobby_position(state: BoardState, envelope: Envelope, check_signature: _Check) -> None:
    r = envelope.record
    question = state.questions.get(r.s("question_id"))
    if question is not None:
        try:
            validate_choice(question.spec, r.data["choice"])
        except InvalidChoice as exc:
            raise Malformed(str(exc)) from exc
    check_signature()
    lobby_id = state.lobby_by_key.get(envelope.signer)
    if lobby_id is None:
        raise Forbidden("the signer is not a registered lobby key")
    if lobby_id != r.s("lobby_id"):
        raise Forbidden("a lobby signs only its own positions")
    lobby = state.lobbies[lobby_id]
    if not lobby.active:
        raise Forbidden("a suspended lobby cannot take positions")
    question = state.question(r.s("question_id"))
    _open(question)
    seq = _seq(state, envelope)
    question.positions[lobby_id] = r.data["choice"]
    lobby.positions.append(
        (state.size, question.question_id, seq, r.data["choice"], r.s("statement"))
    )
    _record_seq(state, envelope, seq)


#: The rule of each record type but ``pseudonym`` (which ``apply`` gives ``trusted``).
RULES: dict[str, Callable[[BoardState, Envelope, _Check], None]] = {
    "ballot": _ballot,
    "delegation": _delegation,
    "revocation": _revocation,
    "delegate_profile": _delegate_profile,
    "opinion": _opinion,
    "initiative": _initiative,
    "support": _support,
    "lobby_position": _lobby_position,
}

"""A citizen's actions: enroll with a blind credential (DESIGN §2), then sign records (§4).

Enrollment follows RFC 9474 §4 through :mod:`crypto.blind_rsa`: the issuer key comes from the
authority-signed ``assembly`` record on the board, never from the registrar (§2 defeats per-voter
key tagging only if every client blinds against the one published key). The blinding is sealed
into the wallet before the request, so a retry after a timeout sends the identical
``blinded_msg``, which the registrar answers with the identical ``blind_sig``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from client._actor import Actor
from client._client import Client
from client.board import fetch_assembly
from client.errors import UsageError, VerificationError
from client.models import Receipt
from client.wallet import Wallet
from crypto.blind_rsa import BlindingState, PublicKey, blind, credential_message, finalize, prepare
from crypto.encoding import JSONValue, b64u_decode, b64u_encode
from crypto.errors import CryptoError

__all__ = ["STANCES", "Citizen", "parse_scope"]

STANCES = ("for", "against", "neutral")
_SCOPE_KINDS = ("assembly", "topic", "question")
_IDENTIFIER = re.compile(r"[a-z0-9-]{1,64}")


def _identifier(value: str, what: str) -> str:
    if _IDENTIFIER.fullmatch(value) is None:
        raise UsageError(f"{what} must be 1-64 characters of [a-z0-9-], got {value!r}")
    return value


def parse_scope(text: str) -> dict[str, str]:
    """``assembly:ID``, ``topic:ID`` or ``question:ID`` as a record scope."""
    kind, sep, ident = text.partition(":")
    if not sep or kind not in _SCOPE_KINDS:
        raise UsageError(f"a scope is assembly:ID, topic:ID or question:ID, got {text!r}")
    return {kind: _identifier(ident, f"the {kind} id")}


class Citizen(Actor):
    """A citizen acting with the pseudonym of ``wallet`` through ``client``."""

    def __init__(self, client: Client, wallet: Wallet) -> None:
        super().__init__(client, wallet)
        self._wallet = wallet

    @property
    def wallet(self) -> Wallet:
        return self._wallet

    @property
    def pseudonym(self) -> str:
        return self._wallet.pseudonym

    def _before_new_action(self, fields: Mapping[str, JSONValue]) -> None:
        if fields.get("type") != "pseudonym" and not self._wallet.enrolled:
            raise UsageError("this wallet is not enrolled yet: enroll with your code first")

    # --- enrollment ----------------------------------------------------------------------------

    def _blinding(self, issuer_key: PublicKey, msg: bytes) -> tuple[bytes, bytes, BlindingState]:
        """``(msg_prefix, blinded_msg, state)``: the saved ones, or fresh ones saved first."""
        wallet = self._wallet
        spki = b64u_encode(issuer_key.to_spki())
        saved = wallet.enrollment
        if saved is not None and saved.get("issuer_key") == spki:
            try:
                prefix = b64u_decode(saved.get("msg_prefix"), length=32, what="msg_prefix")
                blinded = b64u_decode(saved.get("blinded_msg"), what="blinded_msg")
                unblinder = b64u_decode(saved.get("unblinder"), what="unblinder")
                state = BlindingState.from_bytes(issuer_key, unblinder)
            except CryptoError as exc:
                raise UsageError("the wallet's saved enrollment state is corrupt") from exc
            return prefix, blinded, state
        prefix, prepared = prepare(msg)
        blinded, state = blind(issuer_key, prepared)
        wallet.enrollment = {
            "issuer_key": spki,
            "msg_prefix": b64u_encode(prefix),
            "blinded_msg": b64u_encode(blinded),
            # Sealed with the wallet until finalize: a retry after an interruption must send
            # this same blinded_msg, or the enrollment code would be spent for nothing.
            "unblinder": b64u_encode(state.to_bytes()),
        }
        wallet.save()  # before the request: a retry must send this same blinded_msg
        return prefix, blinded, state

    def enroll(self, code: str) -> Receipt:
        """Get a credential with the enrollment ``code`` and register the pseudonym (§2)."""
        wallet = self._wallet
        if wallet.enrolled:
            raise UsageError("this wallet is already enrolled")
        pending = wallet.pending
        if pending is not None:
            record = pending.get("record")
            if isinstance(record, dict) and record.get("type") == "pseudonym":
                receipt = self.resume()  # the credential was already obtained and spent here
                assert receipt is not None
                return receipt
        assembly = fetch_assembly(self.client, wallet.assembly_id, pinned=wallet.authority_key)
        if wallet.authority_key is None:
            wallet.authority_key = assembly.authority_key
        issuer_key = assembly.issuer_key
        msg = credential_message(wallet.assembly_id, wallet.signing_key.public_key)
        prefix, blinded, state = self._blinding(issuer_key, msg)
        blind_sig = self.client.request_credential(wallet.assembly_id, code, blinded)
        try:
            credential = finalize(issuer_key, prefix + msg, blind_sig, state)
        except CryptoError as exc:
            raise VerificationError(
                "the registrar's blind signature does not verify under the assembly's issuer key"
            ) from exc
        wallet.enrollment = None  # saved with the pending envelope, in one write
        return self._publish(
            {
                "type": "pseudonym",
                "assembly_id": wallet.assembly_id,
                "pseudonym": self.pseudonym,
                "msg_prefix": b64u_encode(prefix),
                "credential": b64u_encode(credential),
            },
            sequenced=False,
        )

    # --- records -------------------------------------------------------------------------------

    def vote(self, question_id: str, choice: JSONValue) -> Receipt:
        """Cast (or replace) a ballot; ``choice`` has the shape of the question's method (§6)."""
        return self._publish(
            {
                "type": "ballot",
                "question_id": _identifier(question_id, "question id"),
                "pseudonym": self.pseudonym,
                "choice": choice,
            }
        )

    def _scope(self, scope: Mapping[str, str]) -> dict[str, JSONValue]:
        if len(scope) != 1:
            raise UsageError('a scope is {"assembly"|"topic"|"question": id}')
        ((kind, ident),) = scope.items()
        if kind not in _SCOPE_KINDS:
            raise UsageError('a scope is {"assembly"|"topic"|"question": id}')
        _identifier(ident, f"the {kind} id")
        if kind == "assembly" and ident != self._wallet.assembly_id:
            raise UsageError(f"this wallet acts in assembly {self._wallet.assembly_id!r} only")
        return {kind: ident}

    def delegate(self, scope: Mapping[str, str], delegate: str | None) -> Receipt:
        """Delegate at ``scope`` to another pseudonym, or ``None``: "no delegation here"."""
        if delegate is not None:
            try:
                b64u_decode(delegate, length=32, what="the delegate")
            except CryptoError as exc:
                raise UsageError(f"{exc}: a delegate is a pseudonym (base64url key)") from exc
            if delegate == self.pseudonym:
                raise UsageError("a pseudonym cannot delegate to itself")
        return self._publish(
            {
                "type": "delegation",
                "assembly_id": self._wallet.assembly_id,
                "pseudonym": self.pseudonym,
                "delegate": delegate,
                "scope": self._scope(scope),
            }
        )

    def revoke(self, scope: Mapping[str, str]) -> Receipt:
        """Take back the delegation at ``scope`` (the broader one applies again)."""
        return self._publish(
            {
                "type": "revocation",
                "assembly_id": self._wallet.assembly_id,
                "pseudonym": self.pseudonym,
                "scope": self._scope(scope),
            }
        )

    def profile(self, display_name: str, statement: str) -> Receipt:
        """Publish a delegate profile, so that others can find and trust this pseudonym."""
        return self._publish(
            {
                "type": "delegate_profile",
                "assembly_id": self._wallet.assembly_id,
                "pseudonym": self.pseudonym,
                "display_name": display_name,
                "statement": statement,
            }
        )

    def opine(self, question_id: str, stance: str, text: str) -> Receipt:
        """Publish an argued opinion on a question (counted per stance, never as a vote)."""
        if stance not in STANCES:
            raise UsageError(f"the stance is one of {', '.join(STANCES)}, got {stance!r}")
        return self._publish(
            {
                "type": "opinion",
                "question_id": _identifier(question_id, "question id"),
                "pseudonym": self.pseudonym,
                "stance": stance,
                "text": text,
            }
        )

    def propose(self, topic_id: str, initiative_id: str, title: str, text: str) -> Receipt:
        """Put an initiative on the agenda of a topic (§6b)."""
        return self._publish(
            {
                "type": "initiative",
                "assembly_id": self._wallet.assembly_id,
                "topic_id": _identifier(topic_id, "topic id"),
                "initiative_id": _identifier(initiative_id, "initiative id"),
                "pseudonym": self.pseudonym,
                "title": title,
                "text": text,
            }
        )

    def support(self, initiative_id: str, withdrawn: bool = False) -> Receipt:
        """Sign an initiative, or withdraw that signature."""
        return self._publish(
            {
                "type": "support",
                "initiative_id": _identifier(initiative_id, "initiative id"),
                "pseudonym": self.pseudonym,
                "withdrawn": withdrawn,
            }
        )

    def trace(self, question_id: str) -> dict[str, JSONValue]:
        """Where this pseudonym's voice goes on a question (the server's reading of the board)."""
        return self.client.trace(_identifier(question_id, "question id"), self.pseudonym)

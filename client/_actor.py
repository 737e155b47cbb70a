"""What a citizen and a lobby share: sign a record, keep it pending, append, check the receipt.

The order of a publication is what makes retries safe (DESIGN §10 "Retries"): the envelope is
sealed into the signer's file as *pending* before it is sent; only a verified receipt clears it.
A network failure leaves it pending, and the next run sends the identical bytes again, which the
server answers with the original receipt. A refusal (4xx) means nothing was appended, so the
pending envelope is dropped; a receipt that fails verification keeps it pending.
"""

from __future__ import annotations

from collections.abc import Mapping

from client._client import Client
from client.board import (
    fetch_authority_key,
    verify_receipt,
    verify_receipt_against,
    verify_tree_head,
)
from client.errors import PendingActionRefused, ServerRefused
from client.models import Receipt, TreeHead
from client.wallet import SealedSigner, StoredReceipt
from crypto.ed25519 import RECORD_DOMAIN, sign_object
from crypto.encoding import JSONValue

__all__ = ["Actor"]


def _unsequenced(record: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    return {k: v for k, v in record.items() if k != "seq"}


class Actor:
    """A signer that publishes records on the board from a sealed state file."""

    def __init__(self, client: Client, state: SealedSigner) -> None:
        self._client = client
        self._state = state

    @property
    def client(self) -> Client:
        return self._client

    def authority_key(self) -> str:
        """The board's authority key, pinned in the state file at first contact."""
        if self._state.authority_key is None:
            self._state.authority_key = fetch_authority_key(self._client)
            self._state.save()
        return self._state.authority_key

    def _before_new_action(self, fields: Mapping[str, JSONValue]) -> None:
        """Refuse a new action early (a citizen must be enrolled first)."""
        del fields

    def sign(self, record: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
        """The envelope ``{record, signer, sig}``, signed over ``RECORD_DOMAIN || JCS(record)``."""
        key = self._state.signing_key
        return {
            "record": dict(record),
            "signer": key.public_key_b64u,
            "sig": sign_object(key, RECORD_DOMAIN, record),
        }

    def _publish(self, fields: Mapping[str, JSONValue], *, sequenced: bool = True) -> Receipt:
        """Sign ``fields`` (with the next ``seq`` when ``sequenced``) and append them."""
        state = self._state
        if state.pending is not None:
            pending_record = state.pending.get("record")
            if isinstance(pending_record, dict) and _unsequenced(pending_record) == dict(fields):
                receipt = self.resume()  # the same action: never a second seq for it
                assert receipt is not None
                return receipt
            kind = pending_record.get("type") if isinstance(pending_record, dict) else None
            try:
                self.resume()
            except ServerRefused as exc:
                raise PendingActionRefused(str(kind), exc) from exc
        self._before_new_action(fields)
        record = dict(fields)
        if sequenced:
            state.seq += 1
            record["seq"] = state.seq
        state.pending = self.sign(record)
        state.save()  # before sending: a crash from here on is retried with these bytes
        receipt = self.resume()
        assert receipt is not None
        return receipt

    def resume(self) -> Receipt | None:
        """Send the pending envelope again (the identical bytes), if there is one."""
        state = self._state
        envelope = state.pending
        if envelope is None:
            return None
        authority = self.authority_key()
        try:
            receipt = self._client.append(envelope)
        except ServerRefused:
            state.pending = None
            state.save()
            raise
        verify_receipt(receipt, authority, envelope)
        state.receipts.append(StoredReceipt(envelope, receipt))
        state.pending = None
        state.save()
        return receipt

    def check_receipt(
        self, receipt: Receipt, envelope: Mapping[str, JSONValue] | None = None
    ) -> None:
        """Check a receipt against its own signed tree head, and against its envelope.

        Without ``envelope``, the one saved with this receipt (if any) is used.
        """
        if envelope is None:
            envelope = next(
                (s.envelope for s in self._state.receipts if s.receipt == receipt), None
            )
        verify_receipt(receipt, self.authority_key(), envelope)

    def latest_tree_head(self) -> TreeHead:
        """The current signed tree head, verified under the pinned authority key."""
        head = self._client.board_sth()
        verify_tree_head(head, self.authority_key())
        return head

    def check_receipt_now(
        self,
        receipt: Receipt,
        envelope: Mapping[str, JSONValue] | None = None,
        *,
        latest: TreeHead | None = None,
    ) -> None:
        """Check that the board still holds the receipt's leaf under the latest tree head."""
        self.check_receipt(receipt, envelope)
        head = latest if latest is not None else self.latest_tree_head()
        verify_receipt_against(self._client, receipt, head, self.authority_key())

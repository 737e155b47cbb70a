"""A deliberately small, independent protocol client for the API tests: it builds envelopes and
credentials by hand from the protocol text, so the tests do not trust the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from httpx import Client

from crypto import blind_rsa
from crypto.ed25519 import RECORD_DOMAIN, SigningKey, sign_object
from crypto.encoding import b64u_decode, b64u_encode, parse_json

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def envelope(key: SigningKey, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "record": record,
        "signer": key.public_key_b64u,
        "sig": sign_object(key, RECORD_DOMAIN, record),
    }


def board(api: Client) -> list[dict[str, Any]]:
    response = api.get("/v1/board")
    assert response.status_code == 200
    return [parse_json(line) for line in response.content.split(b"\n") if line]  # type: ignore[misc]


def issuer_key(api: Client, assembly_id: str) -> blind_rsa.PublicKey:
    for env in board(api):
        record = env["record"]
        if record["type"] == "assembly" and record["assembly_id"] == assembly_id:
            return blind_rsa.PublicKey.from_spki(b64u_decode(record["issuer_key"]))
    raise AssertionError(f"no assembly {assembly_id}")


@dataclass
class Citizen:
    assembly_id: str
    key: SigningKey = field(default_factory=SigningKey.generate)
    seq: int = 0

    @property
    def pk(self) -> str:
        return self.key.public_key_b64u

    def credential(self, api: Client, code: str) -> tuple[bytes, bytes]:
        pk = issuer_key(api, self.assembly_id)
        msg = blind_rsa.credential_message(self.assembly_id, self.key.public_key)
        prefix, prepared = blind_rsa.prepare(msg)
        blinded, state = blind_rsa.blind(pk, prepared)
        response = api.post(
            f"/v1/assemblies/{self.assembly_id}/credentials",
            json={"blinded_msg": b64u_encode(blinded)},
            headers={"Authorization": f"Bearer {code}"},
        )
        assert response.status_code == 200, response.text
        sig = blind_rsa.finalize(pk, prepared, b64u_decode(response.json()["blind_sig"]), state)
        return prefix, sig

    def enroll(self, api: Client, code: str) -> dict[str, Any]:
        prefix, sig = self.credential(api, code)
        return self.pseudonym_record(prefix, sig)

    def pseudonym_record(self, prefix: bytes, sig: bytes) -> dict[str, Any]:
        return envelope(
            self.key,
            {
                "type": "pseudonym",
                "assembly_id": self.assembly_id,
                "pseudonym": self.pk,
                "msg_prefix": b64u_encode(prefix),
                "credential": b64u_encode(sig),
            },
        )

    def sign(self, record: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return envelope(self.key, {**record, "pseudonym": self.pk, "seq": self.seq})

    def ballot(self, question_id: str, choice: Any) -> dict[str, Any]:
        return self.sign({"type": "ballot", "question_id": question_id, "choice": choice})

    def delegation(self, scope: dict[str, str], delegate: str | None) -> dict[str, Any]:
        return self.sign(
            {
                "type": "delegation",
                "assembly_id": self.assembly_id,
                "delegate": delegate,
                "scope": scope,
            }
        )

    def revocation(self, scope: dict[str, str]) -> dict[str, Any]:
        return self.sign({"type": "revocation", "assembly_id": self.assembly_id, "scope": scope})

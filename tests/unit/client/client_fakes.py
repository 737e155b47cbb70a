"""A fake isegoria server for the client tests: a real signed Merkle board behind MockTransport.

It implements just enough of DESIGN §5 to exercise the SDK (board, proofs, credentials with a
real RFC 9474 issuer key, admin creations) and records every request. Tampering switches let a
test make it lie (forged tree heads, foreign-signed records, dropped answers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx

from client import KdfLimits
from crypto.blind_rsa import PrivateKey
from crypto.ed25519 import RECORD_DOMAIN, STH_DOMAIN, SigningKey, sign_object, verify_object
from crypto.encoding import b64u_decode, b64u_encode, canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.merkle import MemoryTree, leaf_hash

ADMIN_TOKEN = "admin-token-0123456789"
TINY = KdfLimits(opslimit=1, memlimit=8192)
PASSPHRASE = b"correct horse battery staple"


def json_response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=canonical_json(body),
                          headers={"Content-Type": "application/json"})


def refuse(status: int, detail: str) -> httpx.Response:
    return json_response(status, {"detail": detail})


class FakeServer:
    """A board with a genesis leaf, signed tree heads for every size, and a few routes."""

    def __init__(self, issuer: PrivateKey) -> None:
        self.authority = SigningKey(bytes(range(32)))
        self.issuer = issuer
        self.tree = MemoryTree()
        self.leaves: list[bytes] = []
        self.index_of: dict[bytes, int] = {}
        self.heads: list[dict[str, Any]] = []
        self.seqs: dict[str, int] = {}
        self.codes: dict[str, bytes | None] = {"code-alice": None, "code-bob": None}
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        # Tampering switches.
        self.fail_before: int = 0  # raise ConnectError before handling the next N requests
        self.drop_after: set[str] = set()  # handle, then raise ReadTimeout, for these paths
        self.forge_sth = False  # sign the served tree head with another key
        self.bad_receipt_proof = False  # flip a byte of the inclusion proof in receipts
        self.served_leaves: Callable[[list[bytes]], list[bytes]] | None = None
        self.overrides: dict[tuple[str, str], httpx.Response] = {}
        self.tally_result: dict[str, Any] = {"citizens": {"method": "single"}}
        self.add(self.envelope(self.authority, {
            "type": "genesis", "protocol": "isegoria/v1",
            "authority_key": self.authority.public_key_b64u,
        }))

    # --- the board -----------------------------------------------------------------------------

    @staticmethod
    def envelope(key: SigningKey, record: dict[str, Any]) -> dict[str, Any]:
        return {"record": record, "signer": key.public_key_b64u,
                "sig": sign_object(key, RECORD_DOMAIN, record)}

    def add(self, envelope: dict[str, Any]) -> int:
        leaf = canonical_json(envelope)
        index = self.tree.append(leaf)
        self.leaves.append(leaf)
        self.index_of[leaf] = index
        self.heads.append(self.head(index + 1, self.authority))
        return index

    def head(self, size: int, key: SigningKey) -> dict[str, Any]:
        signed = {"tree_size": size, "root_hash": b64u_encode(self.tree.root(size)),
                  "timestamp": 1_700_000_000_000 + size}
        return {**signed, "sig": sign_object(key, STH_DOMAIN, signed),
                "authority_key": self.authority.public_key_b64u}

    def receipt(self, index: int) -> dict[str, Any]:
        proof = self.tree.inclusion_proof(index, index + 1)
        if self.bad_receipt_proof and proof:
            proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
        return {"index": index, "leaf_hash": b64u_encode(leaf_hash(self.leaves[index])),
                "sth": self.heads[index], "inclusion_proof": [b64u_encode(p) for p in proof]}

    def open_assembly(self, assembly_id: str, key: SigningKey | None = None) -> int:
        return self.add(self.envelope(key or self.authority, {
            "type": "assembly", "assembly_id": assembly_id, "title": "City",
            "issuer_key": b64u_encode(self.issuer.public_key().to_spki()),
            "variant": "RSABSSA-SHA384-PSS-Randomized", "initiative_threshold": 100,
        }))

    def ask(self, question_id: str, method: str = "single",
            options: tuple[str, ...] = ("yes", "no")) -> int:
        return self.add(self.envelope(self.authority, {
            "type": "question", "assembly_id": "city", "topic_id": "parks",
            "question_id": question_id, "title": "Q?", "method": method,
            "options": [{"id": o, "title": o.title()} for o in options],
        }))

    def records(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in map(json.loads, self.leaves) if e["record"]["type"] == kind]

    # --- routes --------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.content)
        if self.fail_before:
            self.fail_before -= 1
            raise httpx.ConnectError("connection refused", request=request)
        response = self.route(request)
        if request.url.path in self.drop_after:
            self.drop_after.discard(request.url.path)
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    def route(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        if (method, path) in self.overrides:
            return self.overrides[(method, path)]
        query = {k: int(v[0]) for k, v in parse_qs(request.url.query.decode()).items()}
        if (method, path) == ("GET", "/v1/board/sth"):
            key = SigningKey(bytes(32)) if self.forge_sth else self.authority
            return json_response(200, self.head(len(self.leaves), key))
        if (method, path) == ("GET", "/v1/board"):
            leaves = self.leaves[query.get("start", 0):query.get("end", len(self.leaves))]
            if self.served_leaves is not None:
                leaves = self.served_leaves(leaves)
            return httpx.Response(200, content=b"".join(leaf + b"\n" for leaf in leaves))
        if (method, path) == ("POST", "/v1/board"):
            return self.append(request.content)
        if path == "/v1/board/proof/inclusion":
            size = query.get("tree_size", len(self.leaves))
            proof = self.tree.inclusion_proof(query["index"], size)
            return json_response(200, {"inclusion_proof": [b64u_encode(p) for p in proof]})
        if path == "/v1/board/proof/consistency":
            size = query.get("second", len(self.leaves))
            proof = self.tree.consistency_proof(query["first"], size)
            return json_response(200, {"consistency_proof": [b64u_encode(p) for p in proof]})
        if path.endswith("/credentials"):
            return self.credential(request)
        for kind, prefix, extra in (("assembly", "/v1/assemblies/", {"questions": []}),
                                    ("question", "/v1/questions/", {"closed": False})):
            if path.startswith(prefix) and path.count("/") == 3:
                return self.locate(kind, path.rsplit("/", 1)[1], extra)
        if path.startswith("/v1/questions/") and path.endswith("/tally"):
            return json_response(200, self.tally_result)
        if path.startswith("/v1/questions/") and path.endswith("/close"):
            if request.headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
                return refuse(401, "missing or wrong admin token")
            return json_response(200, self.tally_result)
        if "/trace/" in path:
            pseudonym = path.rsplit("/", 1)[1]
            return json_response(200, {"question_id": "q1", "pseudonym": pseudonym,
                                       "chain": [pseudonym], "end": "ballot", "closed": False,
                                       "choice": None})
        return refuse(404, f"no route {method} {path}")

    def locate(self, kind: str, ident: str, extra: dict[str, Any]) -> httpx.Response:
        """``GET /v1/assemblies/{a}`` or ``/v1/questions/{q}``: the record's leaf index."""
        for index, leaf in enumerate(self.leaves):
            record = json.loads(leaf)["record"]
            if record["type"] == kind and record[f"{kind}_id"] == ident:
                return json_response(200, {f"{kind}_id": ident, "index": index, **extra})
        return refuse(404, f"unknown {kind} {ident!r}")

    def append(self, body: bytes) -> httpx.Response:
        if body in self.index_of:
            return json_response(200, self.receipt(self.index_of[body]))
        envelope = parse_json(body)
        assert isinstance(envelope, dict)
        record, signer = envelope["record"], envelope["signer"]
        try:
            verify_object(signer, RECORD_DOMAIN, record, envelope["sig"])
        except CryptoError:
            return refuse(403, "bad signature")
        if "seq" in record:
            if record["seq"] <= self.seqs.get(signer, 0):
                return refuse(409, "seq is not above the signer's last")
            self.seqs[signer] = record["seq"]
        if record.get("question_id") == "closed":
            return refuse(409, "the question is closed")
        return json_response(201, self.receipt(self.add(envelope)))

    def credential(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("Authorization", "")
        code = auth.removeprefix("Bearer ")
        if code not in self.codes:
            return refuse(401, "unknown enrollment code")
        blinded = b64u_decode(json.loads(request.content)["blinded_msg"])
        issued = self.codes[code]
        if issued is not None and issued != blinded:
            return refuse(409, "enrollment code already used")
        self.codes[code] = blinded
        return json_response(200, {"blind_sig": b64u_encode(self.issuer.blind_sign(blinded))})



"""Valid isegoria boards made without a server, for the auditor's tests and benchmark.

``BoardBuilder(seed)`` signs every record itself and appends it through ``audit.BoardState``, so a
board it makes is valid by construction: a record the rules refuse raises at once. Records the
protocol requires next (the ``tally`` after ``question_closed``, ``initiative_admitted`` after the
support that reaches the threshold) are taken from ``BoardState.required_next()`` and appended,
signed by the authority, right away.

Everything is derived from the seed, so the same seed gives the same bytes: Ed25519 is
deterministic, issuer keys come from seeded primes, and credential issuance (RFC 9474 prepare,
blind, blind_sign, finalize) takes its prefix, salt and blinding factor from the seeded RNG.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import gmpy2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from audit import BoardState, parse_envelope, read_leaf
from audit.records import OWED_TYPES
from crypto.blind_rsa import (
    PUBLIC_EXPONENT,
    PrivateKey,
    Variant,
    _blind_with,  # the seeded form of blind(): same RFC 9474 §4.2 steps, chosen randomness
    credential_message,
    finalize,
)
from crypto.ed25519 import RECORD_DOMAIN, STH_DOMAIN, SigningKey, sign_object
from crypto.encoding import JSONValue, b64u_encode
from crypto.merkle import MemoryTree, leaf_hash

__all__ = ["BoardBuilder", "issuer_key", "lobby_declaration", "random_board"]

Json = dict[str, JSONValue]
_VARIANT = Variant.SHA384_PSS_RANDOMIZED
_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the first tree head's timestamp


@functools.cache
def issuer_key(label: str, bits: int = 2048) -> PrivateKey:
    """A deterministic RSA issuer key, made once per process from seeded primes (test use only)."""
    rng = random.Random(f"issuer:{label}:{bits}")
    half = bits // 2

    def prime() -> int:
        while True:
            # Top two bits set so that p·q has exactly ``bits`` bits; e must be invertible.
            start = rng.getrandbits(half) | (3 << (half - 2)) | 1
            p = int(gmpy2.next_prime(start))
            if p.bit_length() == half and gmpy2.gcd(PUBLIC_EXPONENT, p - 1) == 1:
                return p

    p, q = prime(), prime()
    while q == p:  # pragma: no cover - astronomically unlikely
        q = prime()
    d = rsa.rsa_recover_private_exponent(PUBLIC_EXPONENT, p, q)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q),
    )
    der = numbers.private_key().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return PrivateKey.from_bytes(der)


def lobby_declaration(name: str, revision: int = 0) -> Json:
    """A valid declaration (DESIGN §7); ``revision`` changes it for a re-declaration."""
    return {
        "legal_name": f"{name} SAS",
        "registration_id": hashlib.sha256(name.encode()).hexdigest()[:9],
        "id_type": "SIREN",
        "category": "company",
        "address": "1 place de l'Hôtel de Ville, Paris",
        "staff_count": 2 + revision,
        "clients": [],
        "interests": ["urbanisme"],
        "spend_band": {"min_eur": 0, "max_eur": 10_000 * (revision + 1)},
        "fiscal_year": {"start": "2025-01-01", "end": "2025-12-31"},
        "targets": [],
    }


@dataclass
class _Signer:
    key: SigningKey
    seq: int = 0

    @property
    def pk(self) -> str:
        return self.key.public_key_b64u

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass
class _Citizen(_Signer):
    assembly_id: str = ""


@dataclass
class _Lobby(_Signer):
    revision: int = 0
    active: bool = True


@dataclass
class _Assembly:
    issuer: PrivateKey
    roll_size: int = 0
    credentials_issued: int = 0
    topics: list[str] = field(default_factory=list)


_DEFAULT_OPTIONS: dict[str, list[Json]] = {
    "single": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
    "approval": [{"id": i, "title": i.upper()} for i in ("a", "b", "c")],
    "ranked": [{"id": i, "title": i.upper()} for i in ("a", "b", "c")],
    "budget": [
        {"id": "park", "title": "Park", "cost": 400},
        {"id": "pool", "title": "Pool", "cost": 700},
        {"id": "bike", "title": "Bike lanes", "cost": 300},
    ],
}


class BoardBuilder:
    """Signs records, appends them through a ``BoardState`` and keeps the Merkle tree.

    ``check_signatures=False`` applies records as trusted (the rules still run, signatures and
    credentials are not re-verified): the fast path for large benchmark boards.
    """

    def __init__(self, seed: int = 0, *, check_signatures: bool = True) -> None:
        self.rng = random.Random(seed)
        self.authority = self._new_key()
        self.state = BoardState()
        self.tree = MemoryTree()
        self.check_signatures = check_signatures
        self.citizens: dict[str, _Citizen] = {}
        self.lobbies: dict[str, _Lobby] = {}
        self.assemblies: dict[str, _Assembly] = {}
        self._leaves: list[bytes] = []
        self.genesis()

    # -- plumbing -------------------------------------------------------------------------------

    def _new_key(self) -> SigningKey:
        return SigningKey(self.rng.randbytes(32))

    @staticmethod
    def envelope(key: SigningKey, record: Json) -> Json:
        """``record`` signed by ``key`` (DESIGN §4), not appended."""
        return {
            "record": record,
            "signer": key.public_key_b64u,
            "sig": sign_object(key, RECORD_DOMAIN, record),
        }

    def append(self, envelope: Json) -> int:
        """Apply ``envelope`` as the next leaf (raising if the rules refuse it); its index.

        Records the protocol then requires are appended right after it, signed by the authority.
        """
        index = self._apply(envelope)
        while (required := self.state.required_next()) is not None:
            self._apply(self.envelope(self.authority, dict(required)))
        return index

    def _apply(self, envelope: Json) -> int:
        parsed = parse_envelope(envelope)
        self.state.apply(parsed, trusted=not self.check_signatures)
        leaf = parsed.leaf_bytes()
        self._leaves.append(leaf)
        return self.tree.append(leaf)

    def _authority(self, record: Json) -> int:
        return self.append(self.envelope(self.authority, record))

    def leaves(self) -> list[bytes]:
        """The board's leaf bytes (a copy)."""
        return list(self._leaves)

    def __len__(self) -> int:
        return len(self._leaves)

    def timestamp(self, size: int) -> int:
        """The tree head timestamp of ``size`` leaves: one second per leaf, never decreasing."""
        return _EPOCH_MS + 1000 * size

    def sth(self, size: int | None = None, *, key: SigningKey | None = None) -> Json:
        """The tree head of the first ``size`` leaves (default: all), as GET /v1/board/sth."""
        size = len(self._leaves) if size is None else size
        signed: Json = {
            "tree_size": size,
            "root_hash": b64u_encode(self.tree.root(size)),
            "timestamp": self.timestamp(size),
        }
        signer = key or self.authority
        return signed | {
            "sig": sign_object(signer, STH_DOMAIN, signed),
            "authority_key": self.authority.public_key_b64u,
        }

    def receipt(self, index: int) -> Json:
        """The POST /v1/board answer for leaf ``index``: the tree head of size ``index + 1``,
        or after the records its append owed (PROTOCOL §5.4.3)."""
        size = index + 1
        while size < len(self._leaves) and read_leaf(self._leaves[size]).record.type in OWED_TYPES:
            size += 1
        return {
            "index": index,
            "leaf_hash": b64u_encode(leaf_hash(self._leaves[index])),
            "sth": self.sth(size),
            "inclusion_proof": [b64u_encode(h) for h in self.tree.inclusion_proof(index, size)],
        }

    # -- authority records ----------------------------------------------------------------------

    def genesis(self) -> int:
        return self._authority(
            {
                "type": "genesis",
                "protocol": "isegoria/v1",
                "authority_key": self.authority.public_key_b64u,
            }
        )

    def assembly(
        self, assembly_id: str, *, threshold: int = 3, bits: int = 2048, issuer: str | None = None
    ) -> int:
        """An assembly whose issuer key is ``issuer_key(issuer or assembly_id, bits)``."""
        issuer_private = issuer_key(issuer or assembly_id, bits)
        self.assemblies[assembly_id] = _Assembly(issuer_private)
        return self._authority(
            {
                "type": "assembly",
                "assembly_id": assembly_id,
                "title": f"Assembly {assembly_id}",
                "issuer_key": b64u_encode(issuer_private.public_key().to_spki()),
                "variant": _VARIANT.name_string,
                "initiative_threshold": threshold,
            }
        )

    def topic(self, assembly_id: str, topic_id: str) -> int:
        self.assemblies[assembly_id].topics.append(topic_id)
        return self._authority(
            {
                "type": "topic",
                "assembly_id": assembly_id,
                "topic_id": topic_id,
                "title": f"Topic {topic_id}",
            }
        )

    def question(
        self,
        assembly_id: str,
        topic_id: str,
        question_id: str,
        method: str = "single",
        options: Sequence[Json] | None = None,
        *,
        budget: int | None = None,
        max_choices: int | None = None,
        initiative_id: str | None = None,
    ) -> int:
        record: Json = {
            "type": "question",
            "assembly_id": assembly_id,
            "topic_id": topic_id,
            "question_id": question_id,
            "title": f"Question {question_id}",
            "method": method,
            "options": list(options if options is not None else _DEFAULT_OPTIONS[method]),
        }
        if method == "budget":
            record["budget"] = 1000 if budget is None else budget
        if max_choices is not None:
            record["max_choices"] = max_choices
        if initiative_id is not None:
            record["initiative_id"] = initiative_id
        return self._authority(record)

    def close(self, question_id: str, *, unenrolled: int = 2) -> int:
        """``question_closed`` with plausible counters, then (automatically) its ``tally``.

        ``roll_size`` counts ``unenrolled`` more codes than credentials were issued.
        """
        assembly = self.assemblies[self.state.questions[question_id].assembly_id]
        assembly.roll_size = max(assembly.roll_size, assembly.credentials_issued + unenrolled)
        return self._authority(
            {
                "type": "question_closed",
                "question_id": question_id,
                "roll_size": assembly.roll_size,
                "credentials_issued": assembly.credentials_issued,
            }
        )

    def lobby_registered(self, lobby_id: str) -> int:
        """Register a new lobby, or re-declare an active one (a changed declaration)."""
        lobby = self.lobbies.get(lobby_id)
        if lobby is None:
            lobby = self.lobbies[lobby_id] = _Lobby(self._new_key())
        else:
            lobby.revision += 1
        return self._authority(
            {
                "type": "lobby_registered",
                "lobby_id": lobby_id,
                "lobby_key": lobby.pk,
                "declaration": lobby_declaration(lobby_id, lobby.revision),
            }
        )

    def lobby_suspended(self, lobby_id: str, reason: str = "false declaration") -> int:
        self.lobbies[lobby_id].active = False
        return self._authority({"type": "lobby_suspended", "lobby_id": lobby_id, "reason": reason})

    # -- citizens -------------------------------------------------------------------------------

    def credential(self, assembly_id: str, pseudonym: bytes) -> tuple[bytes, bytes]:
        """Real RFC 9474 issuance with seeded randomness: ``(msg_prefix, credential)``."""
        issuer = self.assemblies[assembly_id].issuer
        pk = issuer.public_key()
        prefix = self.rng.randbytes(32)  # prepare(): the 32-byte random prefix
        prepared = prefix + credential_message(assembly_id, pseudonym)
        salt = self.rng.randbytes(_VARIANT.salt_len)
        while True:
            r = self.rng.randrange(2, pk.n - 1)
            if gmpy2.gcd(r, pk.n) == 1:
                break
        blinded, blinding = _blind_with(pk, prepared, salt, pow(r, -1, pk.n), _VARIANT)
        blind_sig = issuer.blind_sign(blinded)
        return prefix, finalize(pk, prepared, blind_sig, blinding, _VARIANT)

    def enroll(self, assembly_id: str) -> str:
        """A new citizen: enrollment code, credential, then its ``pseudonym`` record."""
        citizen = _Citizen(self._new_key(), assembly_id=assembly_id)
        assembly = self.assemblies[assembly_id]
        prefix, credential = self.credential(assembly_id, citizen.key.public_key)
        assembly.credentials_issued += 1
        assembly.roll_size = max(assembly.roll_size, assembly.credentials_issued)
        self.citizens[citizen.pk] = citizen
        self.append(
            self.envelope(
                citizen.key,
                {
                    "type": "pseudonym",
                    "assembly_id": assembly_id,
                    "pseudonym": citizen.pk,
                    "msg_prefix": b64u_encode(prefix),
                    "credential": b64u_encode(credential),
                },
            )
        )
        return citizen.pk

    def _citizen(self, pseudonym: str, record: Json) -> int:
        citizen = self.citizens[pseudonym]
        signed: Json = {"pseudonym": pseudonym, "seq": citizen.next_seq()}
        return self.append(self.envelope(citizen.key, signed | record))

    def random_choice(self, question_id: str) -> JSONValue:
        spec = self.state.questions[question_id].spec
        ids = list(spec.option_ids())
        if spec.method == "single":
            return self.rng.choice(ids)
        low = 1 if spec.method == "ranked" else 0
        high = len(ids) if spec.max_choices is None else min(len(ids), spec.max_choices)
        picked: list[JSONValue] = list(self.rng.sample(ids, self.rng.randint(low, high)))
        return picked

    def ballot(self, pseudonym: str, question_id: str, choice: JSONValue = None) -> int:
        if choice is None:
            choice = self.random_choice(question_id)
        return self._citizen(
            pseudonym, {"type": "ballot", "question_id": question_id, "choice": choice}
        )

    def _scope(self, pseudonym: str, scope: tuple[str, str] | None) -> Json:
        if scope is None:
            return {"assembly": self.citizens[pseudonym].assembly_id}
        return {scope[0]: scope[1]}

    def delegation(
        self, pseudonym: str, delegate: str | None, scope: tuple[str, str] | None = None
    ) -> int:
        """Delegate at ``scope`` (default: the assembly); ``delegate=None`` blocks broader ones."""
        return self._citizen(
            pseudonym,
            {
                "type": "delegation",
                "assembly_id": self.citizens[pseudonym].assembly_id,
                "delegate": delegate,
                "scope": self._scope(pseudonym, scope),
            },
        )

    def revocation(self, pseudonym: str, scope: tuple[str, str] | None = None) -> int:
        return self._citizen(
            pseudonym,
            {
                "type": "revocation",
                "assembly_id": self.citizens[pseudonym].assembly_id,
                "scope": self._scope(pseudonym, scope),
            },
        )

    def delegate_profile(self, pseudonym: str, display_name: str = "Camille") -> int:
        return self._citizen(
            pseudonym,
            {
                "type": "delegate_profile",
                "assembly_id": self.citizens[pseudonym].assembly_id,
                "display_name": display_name,
                "statement": "I read every proposal.",
            },
        )

    def opinion(self, pseudonym: str, question_id: str, stance: str = "for") -> int:
        return self._citizen(
            pseudonym,
            {
                "type": "opinion",
                "question_id": question_id,
                "stance": stance,
                "text": f"I am {stance} it.",
            },
        )

    def initiative(self, pseudonym: str, topic_id: str, initiative_id: str) -> int:
        return self._citizen(
            pseudonym,
            {
                "type": "initiative",
                "assembly_id": self.citizens[pseudonym].assembly_id,
                "topic_id": topic_id,
                "initiative_id": initiative_id,
                "title": f"Initiative {initiative_id}",
                "text": "Let us plant trees.",
            },
        )

    def support(self, pseudonym: str, initiative_id: str, *, withdrawn: bool = False) -> int:
        """A support (or its withdrawal); reaching the threshold appends ``initiative_admitted``."""
        return self._citizen(
            pseudonym,
            {"type": "support", "initiative_id": initiative_id, "withdrawn": withdrawn},
        )

    def lobby_position(
        self, lobby_id: str, question_id: str, choice: JSONValue = None
    ) -> int:
        lobby = self.lobbies[lobby_id]
        if choice is None:
            choice = self.random_choice(question_id)
        record: Json = {
            "type": "lobby_position",
            "question_id": question_id,
            "lobby_id": lobby_id,
            "seq": lobby.next_seq(),
            "choice": choice,
            "statement": "Our members care.",
        }
        return self.append(self.envelope(lobby.key, record))


# -- random boards ------------------------------------------------------------------------------


def _open_questions(b: BoardBuilder, assembly_id: str) -> list[str]:
    return [
        q.question_id
        for q in b.state.questions.values()
        if q.assembly_id == assembly_id and q.closed is None
    ]


def random_board(rng: random.Random, size_hint: int = 60, *, citizens: int = 6) -> BoardBuilder:
    """A valid board of about ``size_hint`` leaves that holds every record type.

    A fixed prologue puts each record type on the board at least once; random actions (legal
    where they stand) fill up to ``size_hint``; every question is closed at the end but one.
    """
    b = BoardBuilder(rng.randrange(2**32))
    b.assembly("city", threshold=2)
    b.topic("city", "parks")
    b.topic("city", "roads")
    methods = ("single", "approval", "ranked", "budget")
    for n, method in enumerate(methods):
        b.question("city", "parks", f"q-{method}", method, max_choices=2 if n % 2 else None)
    people = [b.enroll("city") for _ in range(citizens)]
    b.lobby_registered("bakers")
    b.lobby_registered("builders")
    # Prologue: every citizen- and lobby-signed record type at least once.
    b.delegate_profile(people[0])
    b.delegation(people[1], people[0])
    b.delegation(people[2], people[1], ("topic", "parks"))
    b.delegation(people[3], None, ("question", "q-single"))
    b.revocation(people[3], ("question", "q-single"))
    b.ballot(people[0], "q-single")
    b.opinion(people[4], "q-single", "against")
    b.initiative(people[5], "roads", "i-trees")
    b.support(people[5], "i-trees")
    b.support(people[4], "i-trees")  # threshold 2: initiative_admitted follows
    b.question("city", "roads", "q-trees", "single", initiative_id="i-trees")
    b.lobby_position("bakers", "q-single")
    b.lobby_registered("bakers")  # re-declaration
    b.lobby_suspended("builders")
    # Random fill.
    n_initiatives = 0
    while len(b) < size_hint:
        open_q = _open_questions(b, "city")
        who = rng.choice(people)
        kind = rng.choice(
            ["ballot"] * 5
            + ["delegation"] * 3
            + ["revocation", "opinion", "profile", "support", "position", "close", "question"]
        )
        if kind == "ballot" and open_q:
            b.ballot(who, rng.choice(open_q))
        elif kind == "delegation":
            others = [p for p in people if p != who]
            target = rng.choice([*others, None])
            scope = rng.choice(
                [None, ("topic", rng.choice(["parks", "roads"]))]
                + [("question", q) for q in open_q]
            )
            b.delegation(who, target, scope)
        elif kind == "revocation":
            b.revocation(who, rng.choice([None, ("topic", "parks")]))
        elif kind == "opinion" and open_q:
            b.opinion(who, rng.choice(open_q), rng.choice(["for", "against", "neutral"]))
        elif kind == "profile":
            b.delegate_profile(who, f"Delegate {who[:4]}")
        elif kind == "support":
            if rng.random() < 0.3:
                n_initiatives += 1
                b.initiative(who, "parks", f"i-{n_initiatives}")
            else:
                initiative = rng.choice(list(b.state.initiatives))
                b.support(who, initiative, withdrawn=rng.random() < 0.2)
        elif kind == "position" and open_q:
            b.lobby_position("bakers", rng.choice(open_q))
        elif kind == "close" and len(open_q) > 1:
            b.close(rng.choice(open_q))
        elif kind == "question":
            method = rng.choice(methods)
            b.question("city", "parks", f"q-{len(b.state.questions)}", method)
    for question_id in _open_questions(b, "city")[1:]:
        b.close(question_id)
    return b


"""An independent reading of isegoria's protocol, for checking its own vectors (docs/VECTORS.md).

Written from docs/PROTOCOL.md alone, with the standard library, PyNaCl (Ed25519) and
``cryptography`` (RSASSA-PSS), never with the project's code: JCS is ``json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` (§3), base64url is checked strictly (§3.1), Merkle
trees and proofs follow the recursive definitions and the checking algorithms of §4.3, the issuer
key is read by hand from its DER (§3.5), delegation is resolved as §6.2–§6.3 say, and the methods
are counted as §6.4 says (single, approval, Schulze with winning votes, Method of Equal Shares
with the Add1 completion and utilitarian greedy, on exact fractions). Used by
``tests/unit/test_isegoria_vectors.py``; the vectors' generator (``generate.py``) uses the
project's code instead, which is what makes the comparison a check.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RECORD_DOMAIN = b"isegoria/v1/record\x00"
STH_DOMAIN = b"isegoria/v1/sth\x00"
LOBBY_DOMAIN = b"isegoria/v1/lobby-application\x00"
CREDENTIAL_DOMAIN = b"isegoria/v1/credential\x00"
# §3.5: the one AlgorithmIdentifier isegoria writes (id-RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48).
PSS_ALG_ID = bytes.fromhex(
    "303d06092a864886f70d01010a3030a00d300b0609608648016503040202a11a301806092a864886f70d0101"
    "08300b0609608648016503040202a203020130"
)
AUTHORITY_TYPES = {
    "genesis", "assembly", "topic", "question", "question_closed", "tally",
    "lobby_registered", "lobby_suspended", "initiative_admitted",
}  # fmt: skip
CITIZEN_TYPES = {
    "pseudonym", "ballot", "delegation", "revocation", "delegate_profile", "opinion",
    "initiative", "support",
}  # fmt: skip
ALL_TYPES = AUTHORITY_TYPES | CITIZEN_TYPES | {"lobby_position"}
Trace = tuple[list[str], str]  # (chain, end), as the trace read of §5.5.2


def jcs(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64u(text: str, size: int | None = None) -> bytes:
    """Strict unpadded base64url (§3.1): the text must be the encoding of what it decodes to."""
    assert re.fullmatch(r"[A-Za-z0-9_-]*", text) and len(text) % 4 != 1, text
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    assert enc(raw) == text and (size is None or len(raw) == size), text
    return raw


def enc(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return sha(b"\x01" + left + right)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(h: list[bytes]) -> bytes:
    """MTH over leaf hashes (§4.3)."""
    if not h:
        return sha(b"")
    if len(h) == 1:
        return h[0]
    k = _split(len(h))
    return node(mth(h[:k]), mth(h[k:]))


def path(m: int, h: list[bytes]) -> list[bytes]:
    if len(h) == 1:
        return []
    k = _split(len(h))
    return [*path(m, h[:k]), mth(h[k:])] if m < k else [*path(m - k, h[k:]), mth(h[:k])]


def subproof(m: int, h: list[bytes], whole: bool) -> list[bytes]:
    if m == len(h):
        return [] if whole else [mth(h)]
    k = _split(len(h))
    if m <= k:
        return [*subproof(m, h[:k], whole), mth(h[k:])]
    return [*subproof(m - k, h[k:], False), mth(h[:k])]


class Refused(Exception):
    """A vector, proof or leaf that this reading does not accept."""


def check_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    if any(len(x) != 32 for x in (leaf, root, *proof)) or not 0 <= index < size:
        raise Refused("bad lengths or index")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Refused("proof too long")
        if fn % 2 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn or r != root:
        raise Refused("proof too short or wrong root")


def check_consistency(s1: int, s2: int, proof: list[bytes], r1: bytes, r2: bytes) -> None:
    if any(len(x) != 32 for x in (r1, r2, *proof)) or not 0 < s1 <= s2:
        raise Refused("bad lengths or sizes")
    if s1 == s2:
        if proof or r1 != r2:
            raise Refused("equal sizes")
        return
    if not proof:
        raise Refused("empty proof")
    p = [r1, *proof] if s1 & (s1 - 1) == 0 else list(proof)
    fn, sn = s1 - 1, s2 - 1
    while fn % 2:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = p[0]
    for c in p[1:]:
        if sn == 0:
            raise Refused("proof too long")
        if fn % 2 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn % 2 == 0 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn or fr != r1 or sr != r2:
        raise Refused("wrong roots")


def ed25519(key: str, message: bytes, sig: str) -> None:
    try:
        nacl.signing.VerifyKey(b64u(key, 32)).verify(message, b64u(sig, 64))
    except nacl.exceptions.CryptoError as exc:
        raise Refused("Ed25519 signature does not verify") from exc


def _der(data: bytes, at: int, tag: int) -> tuple[bytes, int]:
    """One DER TLV with ``tag`` at ``at``: its content and the offset after it."""
    assert data[at] == tag
    size, at = data[at + 1], at + 2
    if size & 0x80:
        count = size & 0x7F
        size, at = int.from_bytes(data[at : at + count], "big"), at + count
    return data[at : at + size], at + size


def issuer_key(spki: bytes) -> rsa.RSAPublicKey:
    """§3.5 read by hand: SEQUENCE { the PSS AlgorithmIdentifier, BIT STRING { RSAPublicKey } }."""
    body, end = _der(spki, 0, 0x30)
    assert end == len(spki) and body.startswith(PSS_ALG_ID)
    bits, end = _der(body, len(PSS_ALG_ID), 0x03)
    assert end == len(body) and bits[0] == 0
    seq, _ = _der(bits, 1, 0x30)
    n, at = _der(seq, 0, 0x02)
    e, at = _der(seq, at, 0x02)
    assert at == len(seq) and int.from_bytes(e, "big") == 65537
    return rsa.RSAPublicNumbers(65537, int.from_bytes(n, "big")).public_key()


def check_credential(
    key: rsa.RSAPublicKey, assembly_id: str, pk: bytes, prefix: bytes, sig: bytes
) -> None:
    """RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48) over ``prefix ‖ msg`` (§2.1, §2.4)."""
    msg = CREDENTIAL_DOMAIN + assembly_id.encode() + b"\x00" + pk
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
    if len(sig) != key.key_size // 8 or len(prefix) != 32:
        raise Refused("credential length")
    try:
        key.verify(sig, prefix + msg, pss, hashes.SHA384())
    except InvalidSignature as exc:
        raise Refused("credential does not verify") from exc


# -- resolution and counting (§6.2–§6.4) --------------------------------------------------------


def resolve(
    electorate: list[str],
    eff: Callable[[str], str | None],
    voters: set[str],
    stoppers: frozenset[str] = frozenset(),
) -> tuple[Counter[str], dict[str, int], Counter[int], dict[str, Trace]]:
    """Classes, weight per voter, hops, and each member's trace (chain, end)."""
    members = set(electorate)
    classes: Counter[str] = Counter()
    weights = {v: 1 for v in electorate if v in voters}
    hops: Counter[int] = Counter()
    traces: dict[str, Trace] = {}
    for p in electorate:
        chain, end = [p], "abstained"
        if p in voters:
            end = "ballot"
        elif p not in stoppers and eff(p) is not None:
            while True:
                d = eff(chain[-1])
                assert d is not None
                chain.append(d)
                if d in chain[:-1]:
                    end = "cycle"
                elif d not in members or d in stoppers:
                    end = "dead_end"
                elif d in voters:
                    end = "ballot"
                    weights[d] += 1
                    hops[len(chain) - 1] += 1
                elif eff(d) is None:
                    end = "dead_end"
                else:
                    continue
                break
        carried = "ballots_direct" if len(chain) == 1 else "weight_delegated"
        classes[carried if end == "ballot" else end] += 1
        traces[p] = (chain, end)
    return classes, weights, hops, traces


def count(question: dict[str, Any], weighted: list[tuple[Any, int]]) -> dict[str, Any]:
    """``counts`` and ``ranking`` (plus the method's extra members) for weighted choices."""
    method, ids = question["method"], [o["id"] for o in question["options"]]
    counts = dict.fromkeys(ids, 0)
    for choice, w in weighted:
        for o in [choice] if method == "single" else choice[:1] if method == "ranked" else choice:
            counts[o] += w
    out: dict[str, Any] = {"counts": counts}
    out["ranking"] = sorted(ids, key=lambda o: (-counts[o], ids.index(o)))
    if method == "ranked":
        out |= schulze(ids, weighted)
    if method == "budget":
        cost = {o["id"]: o["cost"] for o in question["options"]}
        out["selected"] = equal_shares(ids, cost, question["budget"], weighted, counts)
    return out


def schulze(ids: list[str], weighted: list[tuple[Any, int]]) -> dict[str, Any]:
    d = {a: dict.fromkeys([b for b in ids if b != a], 0) for a in ids}
    for choice, w in weighted:
        for a in choice:
            for b in d[a]:
                if b not in choice or choice.index(b) > choice.index(a):
                    d[a][b] += w
    p = {a: {b: d[a][b] if d[a][b] > d[b][a] else 0 for b in d[a]} for a in ids}
    for i in ids:
        for j in ids:
            if j != i and p[j][i] > 0:
                for k in ids:
                    if k not in (i, j):
                        p[j][k] = max(p[j][k], min(p[j][i], p[i][k]))
    beats = {a: sum(p[a][b] > p[b][a] for b in p[a]) for a in ids}
    ranking = sorted(ids, key=lambda a: (-beats[a], ids.index(a)))
    return {"pairwise": d, "strongest_paths": p, "ranking": ranking}


def _mes(
    ids: list[str], cost: dict[str, int], groups: list[tuple[Any, int]], share: Fraction
) -> list[str]:
    """One run of the Method of Equal Shares, every voter starting with ``share`` (§6.4)."""
    held = [share] * len(groups)
    chosen: list[str] = []
    while True:
        best: tuple[Fraction, str, Fraction] | None = None
        for c in ids:
            sup = sorted((i for i, (ch, _) in enumerate(groups) if c in ch), key=lambda i: held[i])
            if c in chosen or not sup or sum(groups[i][1] * held[i] for i in sup) < cost[c]:
                continue
            left, people = Fraction(cost[c]), sum(groups[i][1] for i in sup)
            for i in sup:  # water-filling: the least ρ with Σ min(b_i, ρ) = cost
                if held[i] * people >= left:
                    rho = left / people
                    break
                left, people = left - groups[i][1] * held[i], people - groups[i][1]
            if best is None or rho / cost[c] < best[0]:
                best = (rho / cost[c], c, rho)
        if best is None:
            return chosen
        _, c, rho = best
        held = [h - min(h, rho) if c in groups[i][0] else h for i, h in enumerate(held)]
        chosen.append(c)


def equal_shares(
    ids: list[str], cost: dict[str, int], budget: int, weighted: list[tuple[Any, int]],
    approvals: dict[str, int],
) -> list[str]:  # fmt: skip
    w = sum(x for _, x in weighted)
    a = [o for o in ids if approvals[o] > 0]
    if w == 0:
        return []
    if sum(cost[o] for o in a) <= budget:
        return a
    d, t, kept = max(1, budget // (1000 * w)), budget, []
    while t <= budget * (w + 1):
        x = _mes(a, cost, weighted, Fraction(t, w))
        spent = sum(cost[o] for o in x)
        if spent > budget:
            break
        kept = x
        if all(cost[o] > budget - spent for o in ids if o not in x):
            break
        t += w * d
    left = budget - sum(cost[o] for o in kept)
    for o in sorted(a, key=lambda o: (-approvals[o], ids.index(o))):
        if o not in kept and cost[o] <= left:
            kept, left = [*kept, o], left - cost[o]
    return [o for o in ids if o in kept]

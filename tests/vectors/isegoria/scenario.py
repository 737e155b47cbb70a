"""The scenario behind isegoria's own vectors: one small board, and tampered copies of it.

``build()`` drives ``tests.boardgen.BoardBuilder(SEED)``, which signs every record and appends it
through ``audit.BoardState``: the board is valid by construction, and the same seed gives the same
bytes. It has two assemblies, a question of every method (docs/PROTOCOL.md §6.4), every record type
of §4, every end of a delegation chain (§6.3: chain, ``null`` block, revocation, cycle, dead end),
lobbies with a re-declaration and a suspension, and an initiative that becomes a question. Names
A … N (city) and P … S (harbour) stand for the pseudonyms; ``tests/vectors/isegoria/README.md``
tells who does what. ``tampered()`` makes copies that an auditor must refuse at a known leaf.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from audit import VerificationFailed, verify_board
from crypto.ed25519 import RECORD_DOMAIN, STH_DOMAIN, SigningKey, sign_object
from crypto.encoding import JSONValue, b64u_decode, b64u_encode, canonical_json, parse_json
from tests.boardgen import BoardBuilder, Json

__all__ = ["SEED", "Scenario", "apply_edits", "build", "flip_bit", "resign", "tampered"]

SEED = 9162
CITY = [chr(c) for c in range(ord("A"), ord("M") + 1)]  # A … M; N enrolls late
YES_NO: list[Json] = [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]
# Text that exercises every JCS string rule (§3.3): escapes, controls, U+007F, U+2028, non-ASCII.
TRICKY_NAME = 'Zoé "Z" Ｚ 😀'
TRICKY_STATEMENT = "Line one\nLine two\u2028tab\there, back\\slash, ctl\u0001 del\u007f €"


@dataclass
class Scenario:
    """The board and what the vectors need to name in it."""

    b: BoardBuilder
    names: dict[str, str] = field(default_factory=dict)  # "A" -> pseudonym (b64u)
    marks: dict[str, int] = field(default_factory=dict)  # label -> leaf index

    def say(self, name: str, record: Json, mark: str | None = None) -> int:
        """Append ``record`` signed by citizen ``name``, with its next ``seq``."""
        pk = self.names[name]
        citizen = self.b.citizens[pk]
        body: Json = {"pseudonym": pk, "seq": citizen.next_seq()}
        index = self.b.append(self.b.envelope(citizen.key, body | record))
        if mark is not None:
            self.marks[mark] = index
        return index

    def delegate(self, who: str, to: str | None, scope: Json, mark: str | None = None) -> int:
        target = None if to is None else self.names[to]
        assembly = self.b.citizens[self.names[who]].assembly_id
        record: Json = {
            "type": "delegation", "assembly_id": assembly, "delegate": target, "scope": scope,
        }  # fmt: skip
        return self.say(who, record, mark)

    def vote(self, who: str, question_id: str, choice: JSONValue, mark: str | None = None) -> int:
        record: Json = {"type": "ballot", "question_id": question_id, "choice": choice}
        return self.say(who, record, mark)

    def close(self, question_id: str) -> None:
        self.marks[f"closed:{question_id}"] = self.b.close(question_id)


def build() -> Scenario:
    """The vector board: 2 assemblies, every method, every record type, every delegation end."""
    s = Scenario(BoardBuilder(SEED))
    b, m = s.b, s.marks
    m["assembly"] = b.assembly("city", threshold=3)
    m["topic"] = b.topic("city", "mobility")
    b.topic("city", "parks")
    b.assembly("harbour", threshold=2)
    b.topic("harbour", "docks")
    m["question:single"] = b.question("city", "mobility", "tram-line", "single", YES_NO)
    transport: list[Json] = [{"id": i, "title": i.title()} for i in ("tram", "bus", "bike")]
    m["question:ranked"] = b.question("city", "mobility", "transport", "ranked", transport)
    works: list[Json] = [{"id": i, "title": f"Works {i.upper()}"} for i in ("a", "b", "c")]
    m["question:approval"] = b.question(
        "city", "parks", "park-works", "approval", works, max_choices=2
    )
    projects = [("park", 600), ("pool", 500), ("lanes", 300), ("library", 200)]
    costs: list[Json] = [{"id": i, "title": i.title(), "cost": c} for i, c in projects]
    m["question:budget"] = b.question(
        "city", "parks", "budget-2026", "budget", costs, budget=1000
    )
    crossing: list[Json] = [{"id": i, "title": i.title()} for i in ("ferry", "bridge", "tunnel")]
    m["question:ranked:tie"] = b.question("harbour", "docks", "crossing", "ranked", crossing)
    for name in CITY:
        s.names[name] = b.enroll("city")
    m["pseudonym"] = len(b) - len(CITY)
    for name in "PQRS":
        s.names[name] = b.enroll("harbour")
    for lobby in ("cyclists", "bus-makers", "car-club"):
        m[f"lobby:{lobby}"] = b.lobby_registered(lobby)
    profile: Json = {
        "type": "delegate_profile", "assembly_id": "city",
        "display_name": TRICKY_NAME, "statement": TRICKY_STATEMENT,
    }  # fmt: skip
    s.say("A", profile, "delegate_profile")
    # Delegations: the §12.6 pattern (chain, null block, cycle, dead end, revocation), plus
    # question scopes on the parks questions and A's topic scope for the initiative.
    city: Json = {"assembly": "city"}
    mobility: Json = {"topic": "mobility"}
    parks: Json = {"topic": "parks"}
    s.delegate("D", "A", city, "delegation")
    s.delegate("E", "D", mobility)
    s.delegate("F", "A", city)
    s.delegate("F", None, {"question": "transport"}, "delegation:null")
    s.delegate("G", "H", mobility)
    s.delegate("H", "G", city)
    s.delegate("I", "J", city)
    s.delegate("K", "C", city)
    s.delegate("K", "B", mobility)
    s.delegate("M", "C", city)
    s.delegate("M", "B", {"question": "transport"})
    revoke: Json = {"type": "revocation", "assembly_id": "city", "scope": {"question": "transport"}}
    s.say("M", revoke, "revocation")
    s.delegate("L", "E", {"question": "park-works"})
    s.delegate("L", "B", {"question": "budget-2026"})
    s.delegate("A", "E", parks)
    s.delegate("Q", "P", {"assembly": "harbour"})
    s.delegate("S", "R", {"assembly": "harbour"})
    # Ballots; A changes its mind on tram-line (the later ballot counts).
    s.vote("A", "tram-line", "no", "ballot:single")
    for who, choice in (("B", "no"), ("C", "yes"), ("J", "no"), ("L", "yes"), ("A", "yes")):
        s.vote(who, "tram-line", choice)
    s.vote("A", "transport", ["tram", "bus", "bike"], "ballot:ranked")
    s.vote("B", "transport", ["bus", "bike", "tram"], "ballot:ranked:B")
    s.vote("C", "transport", ["bike", "tram", "bus"])
    s.vote("A", "park-works", ["a", "b"], "ballot:approval")
    s.vote("C", "park-works", ["b"])
    s.vote("J", "park-works", [], "ballot:approval:empty")
    s.vote("B", "park-works", ["c", "a"])
    s.vote("E", "park-works", ["a"])
    s.vote("A", "budget-2026", ["park", "library"], "ballot:budget")  # the §12.7 ballots
    s.vote("B", "budget-2026", ["pool", "lanes"])
    s.vote("E", "budget-2026", ["lanes", "library"])
    s.vote("H", "budget-2026", ["park"])
    s.vote("P", "crossing", ["ferry", "bridge"])  # ferry and bridge tie 2–2 (§6.4: no link)
    s.vote("R", "crossing", ["bridge", "ferry"])
    for who, question_id, stance in (
        ("D", "tram-line", "for"), ("G", "tram-line", "neutral"),
        ("D", "tram-line", "against"), ("K", "transport", "against"),
    ):  # fmt: skip
        text = f"{who} is {stance}: « voilà »."
        s.say(who, {"type": "opinion", "question_id": question_id, "stance": stance, "text": text})
    positions: list[tuple[str, str, JSONValue]] = [
        ("cyclists", "tram-line", "yes"), ("cyclists", "transport", ["bike"]),
        ("bus-makers", "transport", ["bus", "tram"]), ("car-club", "tram-line", "no"),
        ("car-club", "transport", ["tram"]), ("cyclists", "budget-2026", ["lanes"]),
        ("bus-makers", "park-works", ["a", "c"]),
    ]  # fmt: skip
    for lobby, question_id, position in positions:
        b.lobby_position(lobby, question_id, position)
    m["lobby:cyclists:redeclared"] = b.lobby_registered("cyclists")
    # An initiative: L proposes; A supports then withdraws (A is a stopper: D's and F's chains
    # end there, §6b.2); H's support makes 3 live supports and the admission is owed.
    initiative: Json = {
        "type": "initiative", "assembly_id": "city", "topic_id": "parks",
        "initiative_id": "i-trees", "title": "Plant trees", "text": "Plant 1000 trees by 2030.",
    }  # fmt: skip
    s.say("L", initiative, "initiative")
    for who, withdrawn in (("L", False), ("A", False), ("A", True), ("E", False), ("H", False)):
        support: Json = {"type": "support", "initiative_id": "i-trees", "withdrawn": withdrawn}
        s.say(who, support, "support:admits")
    m["initiative_admitted"] = m["support:admits"] + 1
    s.close("tram-line")
    m["lobby_suspended"] = b.lobby_suspended("car-club", "undeclared client")
    s.close("transport")  # car-club, suspended before this close, is left out of this tally
    s.close("park-works")
    s.close("budget-2026")
    s.names["N"] = b.enroll("city")
    m["pseudonym:N"] = len(b) - 1
    s.delegate("C", "H", parks)  # after the closes: changes trees, not the published tallies
    m["question:initiative"] = b.question(
        "city", "parks", "trees", "single", YES_NO, initiative_id="i-trees"
    )
    for who, choice in (("E", "yes"), ("B", "no"), ("H", "yes"), ("N", "no")):
        s.vote(who, "trees", choice)
    trees: Json = {"type": "opinion", "question_id": "trees", "stance": "for", "text": "Arbres 🌳"}
    s.say("N", trees, "opinion:non-ascii")
    s.say("K", {"type": "support", "initiative_id": "i-trees", "withdrawn": False})
    s.close("trees")
    s.close("crossing")
    return s


def flip_bit(h: str) -> str:
    """``h`` (base64url) with the lowest bit of its first byte flipped."""
    raw = bytearray(b64u_decode(h))
    raw[0] ^= 1
    return b64u_encode(bytes(raw))


# -- board.tampered.json ------------------------------------------------------------------------


def resign(key: SigningKey, record: Json) -> str:
    """The leaf (JCS text) of ``record`` signed by ``key``."""
    sig = sign_object(key, RECORD_DOMAIN, record)
    return canonical_json({"record": record, "signer": key.public_key_b64u, "sig": sig}).decode()


def _record(leaf: bytes) -> Json:
    value = parse_json(leaf)
    assert isinstance(value, dict) and isinstance(value["record"], dict)
    return dict(value["record"])


def tampered(s: Scenario) -> Json:
    """Copies of the board with one lie each, and the first leaf an auditor must name."""
    b, m, leaves = s.b, s.marks, s.b.leaves()
    n = len(leaves)
    key_of = {pk: c.key for pk, c in b.citizens.items()}

    def replace(index: int, leaf: str) -> list[Json]:
        return [{"op": "replace", "index": index, "leaf": leaf}]

    flip_at = m["ballot:budget"]
    flipped = json.loads(leaves[flip_at])
    flipped["sig"] = flip_bit(flipped["sig"])
    tally_at = m["closed:tram-line"] + 1
    tally = _record(leaves[tally_at])
    result = json.loads(json.dumps(tally["result"]))
    result["citizens"]["counts"]["yes"] += 1
    stale_at = m["ballot:ranked:B"]
    stale = _record(leaves[stale_at])
    assert isinstance(stale["seq"], int) and stale["seq"] > 1
    stale_leaf = resign(key_of[s.names["B"]], stale | {"seq": stale["seq"] - 1})
    late_at, late = m["pseudonym:N"], s.names["N"]
    _, wrong = b.credential("harbour", b64u_decode(late))  # issued under harbour's key
    forged = resign(key_of[late], _record(leaves[late_at]) | {"credential": b64u_encode(wrong)})
    topic_at, admits = m["topic"], m["support:admits"]
    cases: list[tuple[str, str, list[Json], Json | None, int]] = [
        ("not-canonical", "a topic leaf re-serialised with spaces (not its JCS)",
         replace(topic_at, json.dumps(json.loads(leaves[topic_at]))), None, topic_at),
        ("flipped-signature", "one bit of a ballot's signature flipped",
         replace(flip_at, canonical_json(flipped).decode()), None, flip_at),
        ("wrong-tally", "tram-line's tally with one more yes, signed by the authority",
         replace(tally_at, resign(b.authority, tally | {"result": result})), None, tally_at),
        ("missing-tally", "the board cut right after tram-line's question_closed",
         [{"op": "truncate", "size": tally_at}], None, tally_at - 1),
        ("stale-seq", "B's transport ballot re-signed with the seq of B's previous record",
         replace(stale_at, stale_leaf), None, stale_at),
        ("credential-wrong-issuer", "N's pseudonym record, its credential from harbour's issuer",
         replace(late_at, forged), None, late_at),
        ("reordered-admission", "initiative_admitted swapped with the support that requires it",
         [{"op": "swap", "index": admits, "with": admits + 1}], None, admits),
        ("sth-wrong-root", "the whole board against a tree head signed over another root",
         [], _wrong_root_sth(s), n - 1),
        ("sth-other-key", "the whole board against a tree head signed by a lobby key",
         [], b.sth(key=b.lobbies["cyclists"].key), n - 1),
    ]  # fmt: skip
    out: list[JSONValue] = []
    for name, why, edits, sth, fail_leaf in cases:
        board = apply_edits(leaves, edits)
        try:
            verify_board(board, sth=sth)
        except VerificationFailed as exc:
            assert exc.leaf == fail_leaf, (name, exc.leaf, exc.reason)
            reason = exc.reason
        else:  # pragma: no cover - the generator's own guard
            raise AssertionError(f"tampered case {name} passes the verifier")
        out.append({"name": name, "why": why, "edits": list(edits), "sth": sth,
                    "fail_leaf": fail_leaf, "reason": reason})  # fmt: skip
    return {
        "description": "tampered copies of board.ndjson and the first failing leaf (README.md)",
        "generator": "tests/vectors/isegoria/generate.py",
        "board": "board.ndjson",
        "cases": out,
    }


def _wrong_root_sth(s: Scenario) -> Json:
    n = len(s.b)
    signed: Json = {
        "tree_size": n,
        "root_hash": b64u_encode(s.b.tree.root(n - 1)),
        "timestamp": s.b.timestamp(n),
    }
    sig = sign_object(s.b.authority, STH_DOMAIN, signed)
    return signed | {"sig": sig, "authority_key": s.b.authority.public_key_b64u}


def apply_edits(leaves: Sequence[bytes], edits: Sequence[Json]) -> list[bytes]:
    """Apply ``board.tampered.json`` edits (replace, swap, truncate) to a list of leaves."""
    board = list(leaves)
    for edit in edits:
        if edit["op"] == "replace":
            board[int(str(edit["index"]))] = str(edit["leaf"]).encode()
        elif edit["op"] == "swap":
            i, j = int(str(edit["index"])), int(str(edit["with"]))
            board[i], board[j] = board[j], board[i]
        elif edit["op"] == "truncate":
            del board[int(str(edit["size"])) :]
        else:  # pragma: no cover
            raise ValueError(f"unknown edit {edit['op']!r}")
    return board

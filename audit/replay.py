"""Replay of a whole exported board against its signed tree head (docs/PROTOCOL.md §4, §8, §10).

``verify_board`` folds the leaves, in order, through ``audit.state.BoardState`` (the rules the
server itself applies): each leaf must be strict JSON whose canonical form (RFC 8785 JCS) is the
leaf's exact bytes, a well-formed envelope, correctly signed, and legal where it stands; every
``tally`` must be the very next leaf after its ``question_closed`` and equal the recomputed one.
The leaves are hashed into an RFC 9162 §2.1 tree whose root must match the signed tree head
(``STH_DOMAIN`` over JCS({tree_size, root_hash, timestamp}), by genesis's authority key), and
each earlier tree head the auditor kept must be a prefix of it (§2.1.4 consistency).

The first lie raises ``VerificationFailed(leaf, reason)``: the offending leaf's index, or
``tree_size − 1`` for a root or tree-head mismatch. Ed25519 checks are independent per leaf, so
``leaf_signature_ok`` can run elsewhere (a process pool) and its verdicts be passed in. Reading
one leaf's bytes (its envelope by the fast and the exact paths, its signature) is
``audit._leaf``'s; ``leaf_signature_ok`` and ``check_signatures`` are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from audit._leaf import check_signatures, exact_envelope, leaf_signature_ok, plain_envelope
from audit.errors import Conflict, RecordRefused, VerificationFailed
from audit.records import binary, exact_members, integer, key
from audit.state import BoardState
from crypto.ed25519 import STH_DOMAIN, verify_object
from crypto.encoding import JSONValue, b64u_encode, canonical_json
from crypto.errors import CryptoError, EncodingError, InvalidSignature
from crypto.merkle import EMPTY_ROOT, HASH_SIZE, RootAccumulator

__all__ = [
    "PROGRESS_EVERY",
    "Replay",
    "Report",
    "TreeHead",
    "check_signatures",
    "leaf_signature_ok",
    "verify_board",
]

#: ``verify_board`` reports progress every this many leaves.
PROGRESS_EVERY = 10_000


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A signed tree head, as ``GET /v1/board/sth`` and receipts carry it (§4, §5)."""

    tree_size: int
    root_hash: bytes
    timestamp: int
    sig: str
    authority_key: str | None = None

    @classmethod
    def from_json(cls, obj: object, what: str = "tree head") -> TreeHead:
        """Parse a tree head's shape; ``authority_key`` is optional. Raises ``Malformed``."""
        data = exact_members(
            obj,
            frozenset({"tree_size", "root_hash", "timestamp", "sig"}),
            frozenset({"authority_key"}),
            what,
        )
        authority = data.get("authority_key")
        if "authority_key" in data:
            key(authority, f"{what} authority_key")
        binary(data["sig"], f"{what} sig", 64)
        assert isinstance(data["sig"], str)
        return cls(
            tree_size=integer(data["tree_size"], f"{what} tree_size"),
            root_hash=binary(data["root_hash"], f"{what} root_hash", HASH_SIZE),
            timestamp=integer(data["timestamp"], f"{what} timestamp"),
            sig=data["sig"],
            authority_key=authority if isinstance(authority, str) else None,
        )

    def signed_object(self) -> dict[str, JSONValue]:
        """What the authority signs: ``{tree_size, root_hash, timestamp}``."""
        return {
            "tree_size": self.tree_size,
            "root_hash": b64u_encode(self.root_hash),
            "timestamp": self.timestamp,
        }

    def to_json(self) -> dict[str, JSONValue]:
        extra: dict[str, JSONValue] = {"sig": self.sig}
        if self.authority_key is not None:
            extra["authority_key"] = self.authority_key
        return self.signed_object() | extra

    def verify(self, authority_key: str) -> None:
        """Check the signature by ``authority_key`` (and the named key); raise InvalidSignature."""
        if self.authority_key is not None and self.authority_key != authority_key:
            raise InvalidSignature("the tree head names another authority key than the board's")
        try:
            verify_object(authority_key, STH_DOMAIN, self.signed_object(), self.sig)
        except EncodingError as exc:
            raise InvalidSignature(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Report:
    """What a successful replay checked, and the board's final state (for reads)."""

    tree_size: int
    root_hash: bytes
    assemblies: int
    questions: int
    tallies: int
    pseudonyms: int
    lobbies: int
    root_checked: bool
    known_sths: int
    state: BoardState = field(repr=False, compare=False)


def _first_difference(published: JSONValue, expected: JSONValue, path: str = "result") -> str:
    """Where two JSON values first differ, for a readable tally mismatch."""
    if isinstance(published, dict) and isinstance(expected, dict):
        for name in sorted(set(published) | set(expected)):
            if name not in published:
                return f"{path}.{name} is missing"
            if name not in expected:
                return f"{path}.{name} should not be there"
            if canonical_json(published[name]) != canonical_json(expected[name]):
                return _first_difference(published[name], expected[name], f"{path}.{name}")
    if (
        isinstance(published, list)
        and isinstance(expected, list)
        and len(published) == len(expected)
    ):
        for n, (a, b) in enumerate(zip(published, expected, strict=True)):
            if canonical_json(a) != canonical_json(b):
                return _first_difference(a, b, f"{path}[{n}]")
    shown = [canonical_json(v).decode()[:80] for v in (published, expected)]
    return f"{path} is {shown[0]}, recomputed {shown[1]}"


def _refusal_reason(
    kind: str,
    record: Mapping[str, JSONValue],
    required: Mapping[str, JSONValue] | None,
    exc: RecordRefused,
) -> str:
    if required is None or not isinstance(exc, Conflict):
        return f"{kind} record refused: {exc.detail}"
    # While a record is required, the only Conflict is "this leaf is not that record".
    need = str(required["type"])
    ident = "question_id" if need == "tally" else "initiative_id"
    what = f"the {need} for {required[ident]!r}"
    if kind == need and record.get(ident) == required[ident]:
        where = _first_difference(dict(record), dict(required), "record")
        return f"the published {what} differs from the one recomputed from the board: {where}"
    return f"this leaf must be {what}, which the protocol requires right here; found a {kind}"


class Replay:
    """The fold behind ``verify_board``, one leaf at a time (for callers that stream).

    Memory is bounded by the board's state, not by the board: the Merkle root is accumulated
    along the right edge of the tree (O(log n) hashes), and the root at each earlier tree head's
    size (``known_sizes``) is kept as the fold passes that size.
    """

    def __init__(self, known_sizes: Iterable[int] = ()) -> None:
        self.state = BoardState()
        self.tree = RootAccumulator()
        self.tallies = 0
        self._wanted = set(known_sizes)
        self._roots: dict[int, bytes] = {}

    @property
    def size(self) -> int:
        return self.tree.size

    def feed(self, leaf: bytes, signature_valid: bool | None = None) -> None:
        """Check and apply leaf number ``size``; ``signature_valid`` from ``leaf_signature_ok``."""
        envelope = plain_envelope(leaf)
        if envelope is None:  # the exact path, which names the first fault
            envelope = exact_envelope(leaf, self.tree.size)
        if signature_valid is None:
            signature_valid = leaf_signature_ok(leaf)
        state, tree = self.state, self.tree
        required = state.required_next()
        kind = envelope.record.type
        try:
            state.apply(envelope, signature_valid=signature_valid)
        except RecordRefused as exc:
            reason = _refusal_reason(kind, envelope.record.data, required, exc)
            raise VerificationFailed(tree.size, reason) from exc
        except CryptoError as exc:  # e.g. a published value JCS cannot represent
            raise VerificationFailed(tree.size, f"{kind} record refused: {exc}") from exc
        tree.append(leaf)
        if tree.size in self._wanted:
            self._roots[tree.size] = tree.root()
        if kind == "tally":
            self.tallies += 1

    def finish(self, *, sth: TreeHead | None = None, known_sths: Sequence[TreeHead] = ()) -> Report:
        """End-of-board checks: nothing still required, the signed root, earlier tree heads."""
        n = self.tree.size
        if n == 0:
            raise VerificationFailed(0, "the board is empty: leaf 0 must be the genesis record")
        last = n - 1
        required = self.state.required_next()
        if required is not None:
            kind = str(required["type"])
            ident = required.get("question_id", required.get("initiative_id"))
            raise VerificationFailed(
                last, f"the board ends without the {kind} for {ident!r}, required as the next leaf"
            )
        authority = self.state.authority_key
        assert authority is not None  # leaf 0 was a genesis
        root = self.tree.root()
        if sth is not None:
            self._check_head(sth, authority, "the signed tree head")
            if sth.tree_size != n:
                raise VerificationFailed(
                    last, f"the signed tree head covers {sth.tree_size} leaves, the board has {n}"
                )
            if sth.root_hash != root:
                raise VerificationFailed(
                    last,
                    f"the Merkle root of the {n} leaves is {b64u_encode(root)}, the signed tree "
                    f"head says {b64u_encode(sth.root_hash)}",
                )
        for head in known_sths:
            self._check_known(head, authority, sth)
        return Report(
            tree_size=n,
            root_hash=root,
            assemblies=len(self.state.assemblies),
            questions=len(self.state.questions),
            tallies=self.tallies,
            pseudonyms=len(self.state.pseudonym_assembly),
            lobbies=len(self.state.lobbies),
            root_checked=sth is not None,
            known_sths=len(known_sths),
            state=self.state,
        )

    def _check_head(self, head: TreeHead, authority: str, what: str) -> None:
        try:
            head.verify(authority)
        except InvalidSignature as exc:
            raise VerificationFailed(
                self.tree.size - 1, f"{what} (size {head.tree_size}) fails: {exc}"
            ) from exc

    def _check_known(self, head: TreeHead, authority: str, sth: TreeHead | None) -> None:
        n, last, size = self.tree.size, self.tree.size - 1, head.tree_size
        what = f"the earlier tree head of size {size}"
        self._check_head(head, authority, what)
        if size > n:
            raise VerificationFailed(last, f"{what} is beyond the board's {n} leaves")
        if sth is not None and size <= sth.tree_size and head.timestamp > sth.timestamp:
            raise VerificationFailed(last, f"{what} is dated after the signed tree head")
        expected = self._roots.get(size, EMPTY_ROOT) if size else EMPTY_ROOT
        if size and size not in self._roots:  # pragma: no cover - Replay(known_sizes) misuse
            raise ValueError(f"Replay was not told to keep the root at size {size}")
        if head.root_hash != expected:
            raise VerificationFailed(
                last, f"the board is not consistent with {what}: its first {size} leaves hash "
                f"to {b64u_encode(expected)}, not {b64u_encode(head.root_hash)}",
            )  # fmt: skip


def _pairs(
    leaves: Iterable[bytes], signatures: Iterable[bool] | None
) -> Iterator[tuple[bytes, bool | None]]:
    if signatures is None:
        return ((leaf, None) for leaf in leaves)
    return zip(leaves, signatures, strict=True)


def verify_board(
    leaves: Iterable[bytes],
    *,
    sth: Mapping[str, JSONValue] | None = None,
    known_sths: Sequence[Mapping[str, JSONValue]] = (),
    progress: Callable[[int], None] | None = None,
    signatures: Iterable[bool] | None = None,
) -> Report:
    """Replay ``leaves`` (leaf 0 first) and check them against ``sth`` and ``known_sths``.

    The tree heads' shapes are checked before any leaf is read (``Malformed``). ``signatures``,
    when given, holds one ``leaf_signature_ok`` verdict per leaf, in order. ``progress`` gets the
    number of leaves verified every ``PROGRESS_EVERY``. Raises ``VerificationFailed``.
    """
    head = None if sth is None else TreeHead.from_json(sth, "the signed tree head")
    known = [TreeHead.from_json(k, f"earlier tree head #{i + 1}") for i, k in enumerate(known_sths)]
    replay = Replay(head.tree_size for head in known)
    for leaf, ok in _pairs(leaves, signatures):
        replay.feed(leaf, ok)
        if progress is not None and replay.size % PROGRESS_EVERY == 0:
            progress(replay.size)
    return replay.finish(sth=head, known_sths=known)

"""RFC 9162 Merkle log: MemoryTree appends and proofs, against raw SHA-256 in the same run.

Run: ``.venv/bin/python -m bench.merkle [--quick] [--leaves N] [--proofs P]``

Prints appends/s into ``crypto.merkle.MemoryTree`` for N leaves (default 1,000,000; ``--quick``
10,000), the raw ``hashlib.sha256`` rate on the very hashes an append does (one leaf hash of the
same leaf bytes, and one node hash: an append costs two hashes amortised), the ratio, the
resident memory the tree added, then µs per root, inclusion proof and consistency proof (each
generated from the stored nodes, plus the ``*_needs`` part alone and verification). Times are CPU
seconds (``time.process_time``), so other load on the machine matters little.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import time
from collections.abc import Callable

from crypto.merkle import (
    MemoryTree,
    consistency_needs,
    inclusion_needs,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

LEAF_BYTES = 300  # about the size of a JCS ballot envelope


def _leaf(i: int, base: bytes = b"x" * (LEAF_BYTES - 8)) -> bytes:
    return base + i.to_bytes(8, "big")


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _per_call_us(op: Callable[[int], object], count: int) -> float:
    op(0)
    start = time.process_time()
    for i in range(count):
        op(i)
    return (time.process_time() - start) / count * 1e6


def raw_hash_rate(count: int) -> float:
    """SHA-256 calls per CPU second on an append's two inputs: 0x00‖leaf and 0x01‖left‖right."""
    left, right = bytes(32), bytes(range(32))
    start = time.process_time()
    for i in range(count):
        hashlib.sha256(b"\x00" + _leaf(i)).digest()
        hashlib.sha256(b"\x01" + left + right).digest()
    return 2 * count / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 leaves, few proofs")
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    args = parser.parse_args()
    leaves, proofs = (10_000, 2_000) if args.quick else (args.leaves, args.proofs)
    rng = random.Random(9162)

    hashes_per_s = raw_hash_rate(min(leaves, 1_000_000))

    rss_before = _rss_bytes()
    tree = MemoryTree()
    start = time.process_time()
    for i in range(leaves):
        tree.append(_leaf(i))
    append_s = time.process_time() - start
    rss_added = _rss_bytes() - rss_before
    appends_per_s = leaves / append_s

    us_per_append = 1e6 / appends_per_s
    print(f"leaves                      {leaves:>12,}  ({LEAF_BYTES}-byte leaves)")
    print(f"raw sha256 (append inputs)  {hashes_per_s:>12,.0f} hashes/s")
    print(f"MemoryTree.append           {appends_per_s:>12,.0f} appends/s ({us_per_append:.2f} µs)")
    print(f"  append cost in raw hashes {hashes_per_s / appends_per_s:>12.2f}")
    ratio = appends_per_s / (hashes_per_s / 2)
    mib, per_leaf = rss_added / 2**20, rss_added / leaves
    print(f"  ratio to 2 raw hashes     {ratio:>12.2f} (1.0 = hashing only)")
    print(f"  resident memory added     {mib:>12,.0f} MiB ({per_leaf:.0f} B/leaf)")

    n = tree.size
    top = tree.root()
    indices = [rng.randrange(n) for _ in range(proofs)]
    sizes1 = [rng.randint(1, n) for _ in range(proofs)]
    incl = [tree.inclusion_proof(i) for i in indices[:1000]]
    cons = [tree.consistency_proof(s) for s in sizes1[:1000]]
    roots1 = [tree.root(s) for s in sizes1[:1000]]
    rows = [
        ("root", _per_call_us(lambda _: tree.root(), proofs)),
        ("root (random size)", _per_call_us(lambda k: tree.root(sizes1[k]), proofs)),
        ("inclusion_needs", _per_call_us(lambda k: inclusion_needs(indices[k], n), proofs)),
        ("inclusion_proof", _per_call_us(lambda k: tree.inclusion_proof(indices[k]), proofs)),
        (
            "verify_inclusion",
            _per_call_us(
                lambda k: verify_inclusion(
                    leaf_hash(_leaf(indices[k])), indices[k], n, incl[k], top
                ),
                len(incl),
            ),
        ),
        ("consistency_needs", _per_call_us(lambda k: consistency_needs(sizes1[k], n), proofs)),
        ("consistency_proof", _per_call_us(lambda k: tree.consistency_proof(sizes1[k]), proofs)),
        (
            "verify_consistency",
            _per_call_us(
                lambda k: verify_consistency(sizes1[k], n, cons[k], roots1[k], top), len(cons)
            ),
        ),
    ]
    raw_us = 1e6 / hashes_per_s
    print(f"at {n:,} leaves (raw sha256: {raw_us:.2f} µs per hash):")
    for name, us in rows:
        print(f"  {name:<22} {us:>9.2f} µs  ({us / raw_us:>6.1f} raw hashes)")
    mean_incl = sum(len(p) for p in incl) / len(incl)
    mean_cons = sum(len(p) for p in cons) / len(cons)
    print(f"  mean proof length: inclusion {mean_incl:.1f}, consistency {mean_cons:.1f} hashes")


if __name__ == "__main__":
    main()

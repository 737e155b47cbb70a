"""RFC 9474 BlindSign throughput against raw RSA signing, measured in the same run.

Run: ``.venv/bin/python -m bench.blind_rsa [--quick] [--seconds S] [--sizes 2048 3072 ...]``

For each modulus size it prints BlindSign/s (crypto.blind_rsa: length and range checks, base
blinding, two ``gmpy2.powmod_sec`` CRT halves, the s^e = m fault check), the raw CRT
``powmod_sec`` pair alone (the ceiling of this design), ``openssl speed`` sign/s and
``cryptography``'s RSASSA-PSS sign/s, and the ratios. All figures are single-threaded, per CPU
second (as ``openssl speed`` counts by default: user time), and the best of interleaved rounds, so
other load on the machine skews the ratios little.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import time
from collections.abc import Callable

import gmpy2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from crypto.blind_rsa import PrivateKey, blind, prepare

GOAL_3072 = 0.6


def rate(op: Callable[[int], object], seconds: float) -> float:
    """Operations per CPU second of ``op(i)``, run for ``seconds`` of CPU time (after a warm-up).

    CPU time, like ``openssl speed`` (user time unless ``-elapsed``), so that other load on the
    machine does not skew the ratio.
    """
    op(0)
    count = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(8):
            op(count)
            count += 1
        now = time.process_time()
        if now >= deadline:
            return count / (now - start)


def operations(bits: int) -> dict[str, Callable[[int], object]]:
    """The three timed operations for one fresh key of ``bits`` bits."""
    sk = PrivateKey.generate(bits)
    pk = sk.public_key()
    blinded = [blind(pk, prepare(bytes([j]))[1])[0] for j in range(16)]

    def blind_sign(j: int) -> object:
        return sk.blind_sign(blinded[j % 16])

    # The same private-key numbers, used bare: just the two constant-time half exponentiations.
    key = serialization.load_der_private_key(sk.to_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    p, q = gmpy2.mpz(numbers.p), gmpy2.mpz(numbers.q)
    dp, dq = gmpy2.mpz(numbers.dmp1), gmpy2.mpz(numbers.dmq1)
    ms = [gmpy2.mpz.from_bytes(b, "big") for b in blinded]

    def crt_pair(j: int) -> object:
        m = ms[j % 16]
        return gmpy2.powmod_sec(m % p, dp, p), gmpy2.powmod_sec(m % q, dq, q)

    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)

    def cryptography_sign(j: int) -> object:
        return key.sign(blinded[j % 16], pss, hashes.SHA384())

    return {"blind_sign": blind_sign, "crt_powmod_sec": crt_pair, "cryptography": cryptography_sign}


def openssl_speed(sizes: list[int], seconds: int) -> tuple[dict[int, float], str]:
    """``openssl speed`` sign/s per size, parsed from its table, and its version line."""
    exe = shutil.which("openssl")
    if exe is None:
        return {}, "openssl not found"
    version = subprocess.run([exe, "version"], capture_output=True, text=True, check=True)
    algs = [f"rsa{bits}" for bits in sizes]
    run = subprocess.run(
        [exe, "speed", "-seconds", str(seconds), *algs], capture_output=True, text=True, check=True
    )
    column: int | None = None
    result: dict[int, float] = {}
    for line in run.stdout.splitlines():
        tokens = line.split()
        if "sign/s" in tokens:
            column = tokens.index("sign/s")
            continue
        row = re.match(r"rsa\s+(\d+)\s+bits\s+(.*)", line.strip())
        if row and column is not None:
            result[int(row.group(1))] = float(row.group(2).split()[column])
    return result, version.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds' smoke run")
    parser.add_argument("--seconds", type=float, help="CPU seconds per Python figure")
    parser.add_argument("--sizes", type=int, nargs="+", help="modulus sizes in bits")
    args = parser.parse_args()
    seconds = args.seconds or (0.3 if args.quick else 2.0)
    sizes = args.sizes or ([2048, 3072] if args.quick else [2048, 3072, 4096])
    rounds = 1 if args.quick else 3

    # Rounds interleave every measurement, and each figure is the best round: noise from other
    # load on the machine only ever slows an operation down.
    ops = {bits: operations(bits) for bits in sizes}
    ours = {bits: dict.fromkeys(ops[bits], 0.0) for bits in sizes}
    reference: dict[int, float] = {}
    version = ""
    for _ in range(rounds):
        for bits in sizes:
            for name, op in ops[bits].items():
                ours[bits][name] = max(ours[bits][name], rate(op, seconds / rounds))
        measured, version = openssl_speed(sizes, 1)
        for bits, value in measured.items():
            reference[bits] = max(reference.get(bits, 0.0), value)

    print(f"RFC 9474 BlindSign vs raw RSA signing (gmpy2 {gmpy2.version()}, {gmpy2.mp_version()};")
    print(f"openssl speed: {version}; best of {rounds} rounds, {seconds:g} CPU s per figure)")
    header = ("bits", "BlindSign/s", "CRT sec/s", "openssl/s", "ratio", "crypt./s", "ratio")
    print("{:>5} {:>12} {:>10} {:>10} {:>6} {:>9} {:>6}".format(*header))
    for bits in sizes:
        row = ours[bits]
        ossl = reference.get(bits)
        ratio = f"{row['blind_sign'] / ossl:.2f}" if ossl else "n/a"
        print(
            f"{bits:>5} {row['blind_sign']:>12.1f} {row['crt_powmod_sec']:>10.1f} "
            f"{ossl or float('nan'):>10.1f} {ratio:>6} {row['cryptography']:>9.1f} "
            f"{row['blind_sign'] / row['cryptography']:>6.2f}"
        )
    if 3072 in sizes and reference.get(3072):
        got = ours[3072]["blind_sign"] / reference[3072]
        ceiling = ours[3072]["crt_powmod_sec"] / reference[3072]
        verdict = "meets" if got >= GOAL_3072 else "misses"
        print(
            f"3072: BlindSign/openssl = {got:.2f} {verdict} the {GOAL_3072} goal; the bare "
            f"powmod_sec CRT pair alone reaches {ceiling:.2f} of openssl sign/s"
        )


if __name__ == "__main__":
    main()

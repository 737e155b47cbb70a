"""``make bench``: every benchmark of bench/, one after another, each in its own process.

Run: ``.venv/bin/python -m bench.all [--quick] [--only NAME ...]``

Each module present among ``MODULES`` runs as ``python -m bench.<name>`` with its default (full)
settings, or with ``--quick``; a header precedes each. A failing benchmark does not stop the
others; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

MODULES = ("blind_rsa", "merkle", "tally", "delegation", "audit", "service")
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run only these")
    args = parser.parse_args()
    failed: list[str] = []
    started = time.perf_counter()
    for name in args.only or MODULES:
        print(f"\n=== bench.{name}{' --quick' if args.quick else ''} ===", flush=True)
        if not (ROOT / "bench" / f"{name}.py").is_file():
            print("(not present: skipped)", flush=True)
            continue
        command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if args.quick else [])]
        start = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        verdict = "ok" if code == 0 else f"FAILED (exit status {code})"
        print(f"--- bench.{name}: {verdict}, {time.perf_counter() - start:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    total = time.perf_counter() - started
    if failed:
        print(f"\n{len(failed)} benchmark(s) failed: {', '.join(failed)} ({total:.0f} s in all)")
        sys.exit(1)
    print(f"\nall benchmarks ran ({total:.0f} s in all)")


if __name__ == "__main__":
    main()

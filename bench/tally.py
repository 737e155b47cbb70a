"""Tallies: ``ballot.count`` per method, against a raw ``collections.Counter`` in the same run.

Run: ``.venv/bin/python -m bench.tally [--quick] [--ballots N] [--repeat R]``

Counts N random valid ballots of weight 1 (default 100,000; ``--quick`` 10,000) for each method
and prints ballots/s, then the ratio of ``count``'s time to a plain Counter over the same choices:
``Counter(choices)`` for single, ``Counter(chain.from_iterable(choices))`` (approvals per option)
for approval and budget, ``Counter(map(tuple, choices))`` (identical rankings merged) for
ranked. Questions: single 5 options; approval 10 options, 0-4 approved; ranked 8 options, 1-8
ranked; budget 15 projects, 0-5 approved, in two sizes: a budget of 1,000,000 (Add1 step
d = 1 = 10% of a share) and of 100,000,000 with costs x100 (d = 1 = 0.1% of a share, so Add1
reruns MES hundreds of times); "budget skew": two dear projects liked by ten voters each, which
only the Add1 skip keeps from some 60,000 reruns. Times are CPU seconds
(``time.process_time``), best of R runs.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable
from itertools import chain
from typing import Any

from ballot import QuestionSpec, count, question_spec, validate_choice

Ballots = list[tuple[Any, int]]
Raw = Callable[[list[Any]], object]


def options_counter(choices: list[Any]) -> object:
    """Counter(choices)"""
    return Counter(choices)


def approvals_counter(choices: list[Any]) -> object:
    """Counter(chain(choices))"""
    return Counter(chain.from_iterable(choices))


def rankings_counter(choices: list[Any]) -> object:
    """Counter(map(tuple, choices))"""
    return Counter(map(tuple, choices))


def _spec(method: str, n: int, rng: random.Random, budget: int = 0, scale: int = 1) -> QuestionSpec:
    options: list[dict[str, object]] = [
        {"id": f"option-{i}", "title": f"Option {i}"} for i in range(n)
    ]
    if method != "budget":
        return question_spec(method, options)
    for option in options:
        option["cost"] = rng.randint(50_000, 400_000) * scale
    return question_spec(method, options, budget=budget)


def _ballots(spec: QuestionSpec, n: int, rng: random.Random, most: int) -> Ballots:
    ids = list(spec.option_ids())
    if spec.method == "single":
        return [(rng.choice(ids), 1) for _ in range(n)]
    low = 1 if spec.method == "ranked" else 0
    return [(rng.sample(ids, rng.randint(low, most)), 1) for _ in range(n)]


def _skewed(n: int, rng: random.Random) -> tuple[QuestionSpec, Ballots]:
    """8 projects of 40,000 liked by nearly all, 2 of 600,000 by ten voters each."""
    cheap = [{"id": f"option-{i}", "title": "Cheap", "cost": 40_000} for i in range(8)]
    dear = [{"id": f"dear-{i}", "title": "Dear", "cost": 600_000} for i in range(2)]
    spec = question_spec("budget", cheap + dear, budget=1_000_000)
    ids = [str(o["id"]) for o in cheap]
    ballots: Ballots = [(rng.sample(ids, 4), 1) for _ in range(n - 20)]
    return spec, ballots + [(["dear-0"], 1)] * 10 + [(["dear-1", "option-1"], 1)] * 10


def _best(repeat: int, op: Callable[..., object], *args: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        op(*args)
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 ballots, one run each")
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, repeat = (10_000, 1) if args.quick else (args.ballots, args.repeat)
    rng = random.Random(1789)

    questions = [
        ("single", _spec("single", 5, rng), 1, options_counter),
        ("approval", _spec("approval", 10, rng), 4, approvals_counter),
        ("ranked", _spec("ranked", 8, rng), 8, rankings_counter),
        ("budget 1e6", _spec("budget", 15, rng, 1_000_000), 5, approvals_counter),
        ("budget 1e8", _spec("budget", 15, rng, 100_000_000, 100), 5, approvals_counter),
    ]
    cases = [(name, spec, _ballots(spec, n, rng, most), raw) for name, spec, most, raw in questions]
    cases.append(("budget skew", *_skewed(n, rng), approvals_counter))
    print(f"ballots per question {n:,}, weight 1, best of {repeat} (CPU time)")
    header = f"{'method':<11} {'count ballots/s':>16} {'raw ballots/s':>14} {'ratio':>8}"
    print(f"{header}  raw primitive")
    for name, spec, ballots, raw in cases:
        for choice, _ in ballots:
            validate_choice(spec, choice)
        choices = [choice for choice, _ in ballots]
        raw_s = _best(repeat, raw, choices)
        count_s = _best(repeat, count, spec, ballots)
        ratio = count_s / raw_s
        print(f"{name:<11} {n / count_s:>16,.0f} {n / raw_s:>14,.0f} {ratio:>8.1f}  {raw.__doc__}")


if __name__ == "__main__":
    main()

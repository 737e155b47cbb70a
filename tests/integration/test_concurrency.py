"""Concurrent writers: two app instances (two in-memory states, as two processes would have)
share one database, so only the database lock keeps the board consistent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from audit import BoardState, parse_envelope
from crypto import merkle
from crypto.encoding import b64u_decode, canonical_json
from tests.integration.raw import ADMIN, Citizen, board


def test_parallel_identical_registrations_make_one_pseudonym(
    api: httpx.Client, second_api: httpx.Client, assembly: str
) -> None:
    codes = api.post("/v1/assemblies/city/roll", json={"voters": ["solo"]}, headers=ADMIN).json()
    citizen = Citizen("city")
    envelope = citizen.enroll(api, codes["codes"]["solo"])
    clients = [api, second_api]

    def submit(i: int) -> tuple[int, Any]:
        response = clients[i % 2].post("/v1/board", json=envelope)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(submit, range(50)))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1
    assert statuses.count(200) == 49
    assert len({body["index"] for _, body in results}) == 1
    pseudonyms = [e for e in board(api) if e["record"]["type"] == "pseudonym"]
    assert len(pseudonyms) == 1


def test_parallel_ballots_get_consecutive_indices_and_a_consistent_tree(
    api: httpx.Client, second_api: httpx.Client, assembly: str
) -> None:
    question = {
        "question_id": "q",
        "topic_id": "parks",
        "title": "Q",
        "method": "single",
        "options": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}],
    }
    assert (
        api.post("/v1/assemblies/city/questions", json=question, headers=ADMIN).status_code == 201
    )
    voters = 20
    refs = [f"v{i}" for i in range(voters)]
    codes = api.post("/v1/assemblies/city/roll", json={"voters": refs}, headers=ADMIN).json()
    citizens = []
    for ref in refs:
        citizen = Citizen("city")
        assert (
            api.post("/v1/board", json=citizen.enroll(api, codes["codes"][ref])).status_code == 201
        )
        citizens.append(citizen)
    # 200 ballots: each citizen re-votes ten times, envelopes made in advance (seq order kept
    # per citizen by sending each citizen's ballots from one thread, in order).
    plans = [[c.ballot("q", "ab"[(i + k) % 2]) for k in range(10)] for i, c in enumerate(citizens)]
    before = api.get("/v1/board/sth").json()["tree_size"]
    clients = [api, second_api]

    def run(i: int) -> list[int]:
        return [clients[i % 2].post("/v1/board", json=env).json()["index"] for env in plans[i]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        indices = sorted(index for batch in pool.map(run, range(voters)) for index in batch)
    assert indices == list(range(before, before + 200))
    leaves = board(api)
    tree = merkle.MemoryTree()
    state = BoardState()
    for leaf in leaves:
        tree.append(canonical_json(leaf))
        state.apply(parse_envelope(leaf))
    for client in clients:
        sth = client.get("/v1/board/sth").json()
        assert sth["tree_size"] == len(leaves)
        assert b64u_decode(sth["root_hash"]) == tree.root()
    result = api.post("/v1/questions/q/close", headers=ADMIN).json()
    # Each citizen's tenth ballot (k = 9) is its latest.
    expected_b = sum(1 for i in range(voters) if (i + 9) % 2 == 1)
    assert result["citizens"]["counts"] == {"a": voters - expected_b, "b": expected_b}

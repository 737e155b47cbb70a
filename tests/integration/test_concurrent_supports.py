"""An initiative's threshold crossed by concurrent supports (docs/PROTOCOL.md §4.6, §6b, §11.3).

Two app instances (two in-memory states, as two processes would have) share one database on
each backend; supports arrive from many threads at once. Exactly one ``initiative_admitted`` must
follow, as the very next leaf after the support that brought the live direct supports to the
threshold, and admission must survive later withdrawals.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from audit import BoardState, parse_envelope
from tests.integration.raw import ADMIN, Citizen, board

THRESHOLD = 5
CITIZENS = 12


@pytest.fixture
def civic(api: httpx.Client) -> list[Citizen]:
    """Assembly ``civic`` (threshold 5) with topic ``parks`` and 12 enrolled citizens."""
    body = {
        "assembly_id": "civic",
        "title": "Civic",
        "key_bits": 2048,
        "initiative_threshold": THRESHOLD,
    }
    assert api.post("/v1/assemblies", json=body, headers=ADMIN).status_code == 201
    topic = {"topic_id": "parks", "title": "Parks"}
    assert api.post("/v1/assemblies/civic/topics", json=topic, headers=ADMIN).status_code == 201
    refs = [f"c{i}" for i in range(CITIZENS)]
    codes = api.post("/v1/assemblies/civic/roll", json={"voters": refs}, headers=ADMIN).json()
    citizens = []
    for ref in refs:
        citizen = Citizen("civic")
        response = api.post("/v1/board", json=citizen.enroll(api, codes["codes"][ref]))
        assert response.status_code == 201, response.text
        citizens.append(citizen)
    return citizens


def initiative(author: Citizen, initiative_id: str) -> dict[str, Any]:
    return author.sign(
        {
            "type": "initiative",
            "assembly_id": "civic",
            "topic_id": "parks",
            "initiative_id": initiative_id,
            "title": f"Initiative {initiative_id}",
            "text": "Plant a tree per child born in the city.",
        }
    )


def support(c: Citizen, initiative_id: str, *, withdrawn: bool = False) -> dict[str, Any]:
    return c.sign({"type": "support", "initiative_id": initiative_id, "withdrawn": withdrawn})


def post_concurrently(
    clients: Sequence[httpx.Client], plans: Sequence[Sequence[dict[str, Any]]]
) -> list[int]:
    """Each plan's envelopes in order from its own thread (its client alternates by plan);
    the plans run at once. Every post must be accepted; returns the indices."""

    def run(i: int) -> list[int]:
        indices = []
        for env in plans[i]:
            response = clients[i % len(clients)].post("/v1/board", json=env)
            assert response.status_code == 201, (env["record"], response.text)
            indices.append(response.json()["index"])
        return indices

    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        return [index for batch in pool.map(run, range(len(plans))) for index in batch]


def check_admissions(leaves: Sequence[dict[str, Any]], threshold: int) -> dict[str, int]:
    """Walk the board: after each support, recount the live direct supports; the admission must
    be the very next leaf exactly when they first reach ``threshold``, and nowhere else.

    Returns each admitted initiative's admission index. The auditor's fold must agree.
    """
    live: dict[str, dict[str, bool]] = {}
    admitted: dict[str, int] = {}
    owed: tuple[str, int] | None = None
    for index, leaf in enumerate(leaves):
        record = leaf["record"]
        if owed is not None:
            initiative_id, supports = owed
            assert record["type"] == "initiative_admitted", (
                f"leaf {index} should be the admission of {initiative_id}, not {record['type']}"
            )
            assert record == {
                "type": "initiative_admitted",
                "initiative_id": initiative_id,
                "supports": supports,
                "supports_with_delegation": supports,  # no delegations on this board
                "threshold": threshold,
            }
            admitted[initiative_id] = index
            owed = None
            continue
        assert record["type"] != "initiative_admitted", f"leaf {index}: an admission not owed"
        if record["type"] == "support":
            initiative_id = record["initiative_id"]
            supporters = live.setdefault(initiative_id, {})
            supporters[record["pseudonym"]] = not record["withdrawn"]
            count = sum(supporters.values())
            if initiative_id not in admitted and count >= threshold:
                assert count == threshold, "supports rise one at a time"
                owed = (initiative_id, count)
    assert owed is None, "the board ends while an admission is owed"
    state = BoardState()
    for leaf in leaves:
        state.apply(parse_envelope(leaf))
    assert state.required_next() is None
    assert {
        i.initiative_id: i.admitted_index
        for i in state.initiatives.values()
        if i.admitted_index is not None
    } == admitted
    return admitted


def listed(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/assemblies/civic/initiatives")
    assert response.status_code == 200, response.text
    return {item["initiative_id"]: item for item in response.json()["initiatives"]}


def test_concurrent_supports_admit_once_right_after_the_threshold(
    api: httpx.Client, second_api: httpx.Client, civic: list[Citizen]
) -> None:
    clients = [api, second_api]
    author = civic[0]
    assert api.post("/v1/board", json=initiative(author, "trees")).status_code == 201
    before = len(board(api))
    indices = post_concurrently(clients, [[support(c, "trees")] for c in civic])
    leaves = board(api)
    admissions = [
        i for i, leaf in enumerate(leaves) if leaf["record"]["type"] == "initiative_admitted"
    ]
    assert len(admissions) == 1, f"expected one initiative_admitted, found {admissions}"
    (admitted_index,) = admissions
    # 12 supports and the admission fill the board after the initiative, without gaps.
    assert len(leaves) == before + CITIZENS + 1
    assert sorted([*indices, admitted_index]) == list(range(before, len(leaves)))
    # The support just before it is the fifth one on the board.
    supports_before = [
        i for i in range(before, admitted_index) if leaves[i]["record"]["type"] == "support"
    ]
    assert len(supports_before) == THRESHOLD
    assert supports_before[-1] == admitted_index - 1
    assert leaves[admitted_index]["record"]["supports"] == THRESHOLD
    assert check_admissions(leaves, THRESHOLD) == {"trees": admitted_index}
    for client in clients:
        item = listed(client)["trees"]
        assert (item["admitted"], item["admitted_index"]) == (True, admitted_index)
        assert (item["supports"], item["supports_with_delegation"]) == (CITIZENS, CITIZENS)
        assert client.get("/v1/board/sth").json()["tree_size"] == len(leaves)
    # Withdrawals after admission, concurrently: admission is permanent, nothing else owed.
    withdrawing = civic[:8]
    post_concurrently(clients, [[support(c, "trees", withdrawn=True)] for c in withdrawing])
    leaves = board(api)
    assert check_admissions(leaves, THRESHOLD) == {"trees": admitted_index}
    for client in clients:
        item = listed(client)["trees"]
        assert (item["admitted"], item["admitted_index"]) == (True, admitted_index)
        assert item["supports"] == CITIZENS - len(withdrawing)
    # Supporting again after that (back above the threshold) admits nothing more.
    post_concurrently(clients, [[support(c, "trees")] for c in withdrawing])
    leaves = board(api)
    assert check_admissions(leaves, THRESHOLD) == {"trees": admitted_index}
    assert listed(api)["trees"]["supports"] == CITIZENS


def test_withdrawals_before_admission_lower_the_live_count(
    api: httpx.Client, second_api: httpx.Client, civic: list[Citizen]
) -> None:
    clients = [api, second_api]
    assert api.post("/v1/board", json=initiative(civic[0], "pool")).status_code == 201
    # Four supports, one withdrawn, one repeated: three live, below the threshold of five.
    for i, c in enumerate(civic[:4]):
        assert clients[i % 2].post("/v1/board", json=support(c, "pool")).status_code == 201
    assert api.post("/v1/board", json=support(civic[0], "pool", withdrawn=True)).status_code == 201
    assert api.post("/v1/board", json=support(civic[1], "pool")).status_code == 201
    # Withdrawing without having supported is accepted and counts nothing.
    assert api.post("/v1/board", json=support(civic[4], "pool", withdrawn=True)).status_code == 201
    for client in clients:
        item = listed(client)["pool"]
        assert (item["supports"], item["admitted"], item["admitted_index"]) == (3, False, None)
    assert check_admissions(board(api), THRESHOLD) == {}
    # Now at once: each of the rest supports; each of the first three supports, withdraws and
    # supports again. Wherever the live count first reaches five, the admission follows it.
    plans = [
        [support(c, "pool"), support(c, "pool", withdrawn=True), support(c, "pool")]
        for c in civic[1:4]
    ] + [[support(c, "pool")] for c in civic[4:]]
    post_concurrently(clients, plans)
    leaves = board(api)
    admitted = check_admissions(leaves, THRESHOLD)
    assert list(admitted) == ["pool"]
    types = [leaf["record"]["type"] for leaf in leaves]
    assert types.count("initiative_admitted") == 1
    assert types[admitted["pool"] - 1] == "support"
    for client in clients:
        item = listed(client)["pool"]
        assert (item["admitted"], item["admitted_index"]) == (True, admitted["pool"])
        assert item["supports"] == CITIZENS - 1  # civic[0] withdrew and stayed withdrawn

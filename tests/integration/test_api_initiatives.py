"""Citizen initiatives, supports, admission, and argued opinions over HTTP."""

from __future__ import annotations

from httpx import Client

from audit import verify_board
from client import Receipt
from client.board import verify_receipt
from tests.integration.raw import ADMIN, Citizen, board


def citizens(api: Client, n: int) -> list[Citizen]:
    refs = [f"r{i}" for i in range(n)]
    codes = api.post("/v1/assemblies/city/roll", json={"voters": refs}, headers=ADMIN).json()
    out = []
    for ref in refs:
        citizen = Citizen("city")
        assert (
            api.post("/v1/board", json=citizen.enroll(api, codes["codes"][ref])).status_code == 201
        )
        out.append(citizen)
    return out


def initiative(c: Citizen, initiative_id: str = "more-trees") -> dict[str, object]:
    return c.sign(
        {
            "type": "initiative",
            "assembly_id": "city",
            "topic_id": "parks",
            "initiative_id": initiative_id,
            "title": "Plant more trees",
            "text": "One tree per child born in the city.",
        }
    )


def support(c: Citizen, withdrawn: bool = False) -> dict[str, object]:
    return c.sign({"type": "support", "initiative_id": "more-trees", "withdrawn": withdrawn})


def test_initiative_rises_to_a_question(api: Client, assembly: str) -> None:
    a, b, c, d = citizens(api, 4)  # threshold is 3 (see the assembly fixture)
    assert api.post("/v1/board", json=initiative(a)).status_code == 201
    assert api.post("/v1/board", json=a.delegation({"topic": "parks"}, b.pk)).status_code == 201
    assert (
        api.post(
            "/v1/board",
            json=support(b),
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/v1/board",
            json=support(c),
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/v1/board",
            json=support(c, withdrawn=True),
        ).status_code
        == 201
    )
    listed = api.get("/v1/assemblies/city/initiatives").json()["initiatives"]
    assert (listed[0]["supports"], listed[0]["supports_with_delegation"]) == (1, 2)
    assert listed[0]["admitted"] is False
    # Premature question from the initiative: not admitted yet.
    question = {
        "question_id": "trees",
        "topic_id": "parks",
        "title": "More trees?",
        "method": "single",
        "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
        "initiative_id": "more-trees",
    }
    assert (
        api.post("/v1/assemblies/city/questions", json=question, headers=ADMIN).status_code == 409
    )
    assert (
        api.post(
            "/v1/board",
            json=support(c),
        ).status_code
        == 201
    )
    admitting = support(d)
    posted = api.post("/v1/board", json=admitting)
    assert posted.status_code == 201
    receipt = posted.json()
    # Its receipt's tree head ends with the initiative_admitted it owed (§5.4.3): no receipt
    # holds a tree head of a board that owes a record, and that prefix verifies on its own.
    assert receipt["sth"]["tree_size"] == receipt["index"] + 2
    authority = receipt["sth"]["authority_key"]
    verify_receipt(Receipt.from_json(receipt), authority, admitting)
    prefix = api.get("/v1/board", params={"end": receipt["index"] + 2}).content.splitlines()
    report = verify_board(prefix, sth=receipt["sth"])
    assert (report.tree_size, report.root_checked) == (receipt["index"] + 2, True)
    retried = api.post("/v1/board", json=admitting)
    assert (retried.status_code, retried.json()) == (200, receipt)
    leaves = board(api)
    admitted = leaves[receipt["index"] + 1]["record"]
    assert admitted == {
        "type": "initiative_admitted",
        "initiative_id": "more-trees",
        "supports": 3,
        "supports_with_delegation": 4,
        "threshold": 3,
    }
    assert len(leaves) == receipt["index"] + 2
    assert (
        api.post("/v1/assemblies/city/questions", json=question, headers=ADMIN).status_code == 201
    )
    listed = api.get("/v1/assemblies/city/initiatives").json()["initiatives"][0]
    assert (listed["admitted"], listed["admitted_index"], listed["question_id"]) == (
        True,
        receipt["index"] + 1,
        "trees",
    )
    # Withdrawal after admission: admission is permanent.
    assert (
        api.post(
            "/v1/board",
            json=support(d, withdrawn=True),
        ).status_code
        == 201
    )
    assert api.get("/v1/assemblies/city/initiatives").json()["initiatives"][0]["admitted"] is True
    again = {**question, "question_id": "trees-2"}
    assert api.post("/v1/assemblies/city/questions", json=again, headers=ADMIN).status_code == 409


def test_opinions_are_counted_by_latest_stance_and_never_voted(api: Client, assembly: str) -> None:
    question = {
        "question_id": "fountain",
        "topic_id": "parks",
        "title": "A fountain?",
        "method": "single",
        "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
    }
    assert (
        api.post("/v1/assemblies/city/questions", json=question, headers=ADMIN).status_code == 201
    )
    a, b = citizens(api, 2)

    def opine(c: Citizen, stance: str, text: str) -> int:
        env = c.sign({"type": "opinion", "question_id": "fountain", "stance": stance, "text": text})
        return api.post("/v1/board", json=env).status_code

    assert opine(a, "for", "Cool in summer.") == 201
    assert opine(a, "against", "Changed my mind: water bills.") == 201
    assert opine(b, "for", "Children love it.") == 201
    assert opine(b, "maybe", "?") == 400
    view = api.get("/v1/questions/fountain/opinions").json()
    assert view["counts"] == {"for": 1, "against": 1, "neutral": 0}
    assert [o["text"] for o in view["opinions"]["for"]] == ["Cool in summer.", "Children love it."]
    result = api.post("/v1/questions/fountain/close", headers=ADMIN).json()
    assert result["citizens"]["counts"] == {"yes": 0, "no": 0}
    assert result["citizens"]["abstained"] == 2
    assert opine(a, "for", "Too late.") == 409


def test_open_initiatives_per_topic_are_bounded_by_server_policy(
    api: Client, assembly: str
) -> None:
    (author,) = citizens(api, 1)
    for number in range(3):  # ISEGORIA_MAX_OPEN_INITIATIVES_PER_TOPIC defaults to 3
        assert api.post("/v1/board", json=initiative(author, f"idea-{number}")).status_code == 201
    size = api.get("/v1/board/sth").json()["tree_size"]
    refused = api.post("/v1/board", json=initiative(author, "idea-3"))
    assert refused.status_code == 409
    assert "open initiatives" in refused.json()["detail"]
    assert api.get("/v1/board/sth").json()["tree_size"] == size
    # The board's own rules come first: an unknown topic is a 404 even at the limit.
    unknown_topic = author.sign(
        {
            "type": "initiative",
            "assembly_id": "city",
            "topic_id": "nowhere",
            "initiative_id": "idea-4",
            "title": "T",
            "text": "X",
        }
    )
    assert api.post("/v1/board", json=unknown_topic).status_code == 404
    # The refusal left the process's state sound: the author can still act.
    assert (
        api.post("/v1/board", json=author.delegation({"assembly": "city"}, None)).status_code == 201
    )

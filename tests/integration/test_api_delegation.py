"""Delegation over HTTP, on SQLite and PostgreSQL (docs/PROTOCOL.md §4, §5.5.2, §5.5.3, §6.2,
§10 "Delegation validity", §11.3): every refusal with its exact status and nothing appended,
scope precedence (a null entry blocks, a revocation falls back), the delegates read and traces.
"""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Client

from crypto.ed25519 import LOBBY_APPLICATION_DOMAIN, SigningKey, sign_object
from crypto.encoding import JSONValue
from tests.boardgen import lobby_declaration
from tests.integration.raw import ADMIN, Citizen, board, envelope

QUESTION = {
    "question_id": "q",
    "topic_id": "parks",
    "title": "A new fountain?",
    "method": "single",
    "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
}


def enroll(api: Client, assembly_id: str, n: int, prefix: str = "v") -> list[Citizen]:
    refs = [f"{prefix}-{i}" for i in range(n)]
    response = api.post(f"/v1/assemblies/{assembly_id}/roll", json={"voters": refs}, headers=ADMIN)
    assert response.status_code == 200, response.text
    codes = response.json()["codes"]
    citizens = []
    for ref in refs:
        citizen = Citizen(assembly_id)
        posted = api.post("/v1/board", json=citizen.enroll(api, codes[ref]))
        assert posted.status_code == 201, posted.text
        citizens.append(citizen)
    return citizens


def post(api: Client, env: dict[str, Any], status: int = 201) -> None:
    response = api.post("/v1/board", json=env)
    assert response.status_code == status, (env["record"], response.text)


def size(api: Client) -> int:
    tree_size: int = api.get("/v1/board/sth").json()["tree_size"]
    return tree_size


def admin(api: Client, path: str, body: dict[str, Any] | None = None, status: int = 201) -> None:
    response = api.post(path, json=body, headers=ADMIN)
    assert response.status_code == status, response.text


def profile(c: Citizen, name: str, statement: str = "", assembly_id: str = "") -> dict[str, Any]:
    return c.sign(
        {
            "type": "delegate_profile",
            "assembly_id": assembly_id or c.assembly_id,
            "display_name": name,
            "statement": statement,
        }
    )


def as_record(c: Citizen, record: dict[str, Any], key: SigningKey | None = None) -> dict[str, Any]:
    """``record`` with ``c``'s pseudonym and next seq, signed by ``key`` (default: ``c``'s)."""
    c.seq += 1
    return envelope(key or c.key, {**record, "pseudonym": c.pk, "seq": c.seq})


def register_lobby(api: Client, key: SigningKey, lobby_id: str = "bakers") -> None:
    body: dict[str, JSONValue] = {
        "lobby_id": lobby_id,
        "lobby_key": key.public_key_b64u,
        "declaration": lobby_declaration(lobby_id),
    }
    application = {**body, "sig": sign_object(key, LOBBY_APPLICATION_DOMAIN, body)}
    response = api.post("/v1/lobbies", json=application)
    assert response.status_code == 202, response.text
    admin(api, f"/v1/lobbies/{lobby_id}/approve")


def trace(api: Client, pseudonym: str, question_id: str = "q") -> dict[str, Any]:
    response = api.get(f"/v1/questions/{question_id}/trace/{pseudonym}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def chain(api: Client, pseudonym: str) -> tuple[list[str], str]:
    found = trace(api, pseudonym)
    return found["chain"], found["end"]


def test_every_refusal_has_its_status_and_appends_nothing(api: Client, assembly: str) -> None:
    admin(api, "/v1/assemblies/city/questions", QUESTION)
    admin(api, "/v1/assemblies/city/questions", {**QUESTION, "question_id": "old"})
    admin(api, "/v1/questions/old/close", status=200)
    admin(
        api,
        "/v1/assemblies",
        {"assembly_id": "town", "title": "Town", "key_bits": 2048, "initiative_threshold": 2},
    )
    admin(api, "/v1/assemblies/town/topics", {"topic_id": "roads", "title": "Roads"})
    admin(
        api, "/v1/assemblies/town/questions", {**QUESTION, "question_id": "tq", "topic_id": "roads"}
    )
    a, b = enroll(api, "city", 2)
    (t,) = enroll(api, "town", 1, prefix="t")
    lobby = SigningKey.generate()
    register_lobby(api, lobby)
    stranger = Citizen("city")  # never registered
    city = {"assembly": "city"}
    ghost_key = SigningKey.generate().public_key_b64u

    def lobby_as_citizen(record: dict[str, Any]) -> dict[str, Any]:
        return envelope(lobby, {**record, "pseudonym": lobby.public_key_b64u, "seq": 1})

    delegation_to_b = {"type": "delegation", "assembly_id": "city", "delegate": b.pk, "scope": city}
    cases: list[tuple[str, dict[str, Any], int]] = [
        # 400: content
        ("delegation to oneself", a.delegation(city, a.pk), 400),
        ("delegation to an unregistered key", a.delegation(city, ghost_key), 400),
        ("delegation to a pseudonym of another assembly", a.delegation(city, t.pk), 400),
        ("delegation to a lobby key", a.delegation(city, lobby.public_key_b64u), 400),
        ("assembly scope naming another assembly", a.delegation({"assembly": "town"}, b.pk), 400),
        ("revocation: assembly scope naming another", a.revocation({"assembly": "town"}), 400),
        ("question scope of another assembly", a.delegation({"question": "tq"}, b.pk), 400),
        ("revocation: question scope of another assembly", a.revocation({"question": "tq"}), 400),
        ("delegation with an empty scope", a.delegation({}, b.pk), 400),
        ("profile with an empty display_name", profile(a, ""), 400),
        ("profile with a display_name over 100", profile(a, "x" * 101), 400),
        # 403: entitlement
        (
            "signer not the record's pseudonym",
            as_record(a, {**delegation_to_b, "delegate": None}, key=b.key),
            403,
        ),
        # ... but naming the signer as delegate is a 400 first (§11.3 delegation row 3).
        ("delegation to the signer", as_record(a, delegation_to_b, key=b.key), 400),
        (
            "revocation signed by another",
            as_record(a, {"type": "revocation", "assembly_id": "city", "scope": city}, key=b.key),
            403,
        ),
        (
            "profile signed by another",
            as_record(
                a,
                {
                    "type": "delegate_profile",
                    "assembly_id": "city",
                    "display_name": "A",
                    "statement": "",
                },
                key=b.key,
            ),
            403,
        ),
        ("unregistered signer", stranger.delegation(city, b.pk), 403),
        ("unregistered signer's revocation", stranger.revocation(city), 403),
        ("unregistered signer's profile", profile(stranger, "Nobody"), 403),
        (
            "acting in another assembly (null)",
            a.sign(
                {
                    **delegation_to_b,
                    "assembly_id": "town",
                    "delegate": None,
                    "scope": {"assembly": "town"},
                }
            ),
            403,
        ),
        (
            "acting in another assembly (to its member)",
            a.sign(
                {
                    **delegation_to_b,
                    "assembly_id": "town",
                    "delegate": t.pk,
                    "scope": {"assembly": "town"},
                }
            ),
            403,
        ),
        (
            "revoking in another assembly",
            a.sign({"type": "revocation", "assembly_id": "town", "scope": {"assembly": "town"}}),
            403,
        ),
        ("profile in another assembly", profile(a, "A", assembly_id="town"), 403),
        ("a lobby key delegating", lobby_as_citizen({**delegation_to_b}), 403),
        (
            "a lobby key revoking",
            lobby_as_citizen({"type": "revocation", "assembly_id": "city", "scope": city}),
            403,
        ),
        (
            "a lobby key publishing a profile",
            lobby_as_citizen(
                {
                    "type": "delegate_profile",
                    "assembly_id": "city",
                    "display_name": "L",
                    "statement": "",
                }
            ),
            403,
        ),
        # 404: unknown names
        ("unknown topic scope", a.delegation({"topic": "nowhere"}, b.pk), 404),
        ("revocation: unknown topic scope", a.revocation({"topic": "nowhere"}), 404),
        ("topic of another assembly", a.delegation({"topic": "roads"}, b.pk), 404),
        ("unknown question scope", a.delegation({"question": "nowhere"}, b.pk), 404),
        ("revocation: unknown question scope", a.revocation({"question": "nowhere"}), 404),
        # 409: conflicts
        ("scope on a closed question", a.delegation({"question": "old"}, b.pk), 409),
        ("null delegation on a closed question", a.delegation({"question": "old"}, None), 409),
        ("revocation on a closed question", a.revocation({"question": "old"}), 409),
    ]
    before = size(api)
    for name, env, status in cases:
        response = api.post("/v1/board", json=env)
        assert response.status_code == status, (name, response.text)
        assert "detail" in response.json(), name
    assert size(api) == before, "a refusal appended a leaf"
    # seq: each refusal above burnt a local seq number only; the board's last seq for a is 0.
    good = a.delegation(city, b.pk)
    post(api, good)
    stale_seq = good["record"]["seq"]
    stale = [
        ("stale delegation", {**good["record"], "delegate": None}),
        (
            "stale revocation",
            {"type": "revocation", "assembly_id": "city", "pseudonym": a.pk, "scope": city},
        ),
        (
            "stale profile",
            {
                "type": "delegate_profile",
                "assembly_id": "city",
                "pseudonym": a.pk,
                "display_name": "A",
                "statement": "",
            },
        ),
    ]
    after = size(api)
    for name, record in stale:
        for seq in (stale_seq, stale_seq - 1):
            response = api.post("/v1/board", json=envelope(a.key, {**record, "seq": seq}))
            assert response.status_code == 409, (name, seq, response.text)
    # Precedence: 404 (unknown topic) before 409 (stale seq); 403 before 404.
    unknown_and_stale = {**good["record"], "scope": {"topic": "nowhere"}}
    assert api.post("/v1/board", json=envelope(a.key, unknown_and_stale)).status_code == 404
    unregistered_unknown = stranger.delegation({"topic": "nowhere"}, None)
    assert api.post("/v1/board", json=unregistered_unknown).status_code == 403
    assert size(api) == after, "a refusal appended a leaf"
    # The refusals left no trace in the delegation state either.
    delegates = {
        "assembly_id": "city",
        "delegates": [
            {
                "pseudonym": b.pk,
                "display_name": None,
                "statement": None,
                "incoming": {"assembly:city": 1},
            }
        ],
    }
    assert api.get("/v1/assemblies/city/delegates").json() == delegates
    # Revoking nothing is accepted (and appended), changing nothing but the signer's last seq.
    post(api, b.revocation({"topic": "parks"}))
    post(api, b.revocation({"question": "q"}))
    post(api, b.revocation(city))
    assert size(api) == after + 3
    assert api.get("/v1/assemblies/city/delegates").json() == delegates
    last = b.seq  # the seq of the revocation at the assembly scope, just appended
    post(api, envelope(b.key, {**b.revocation({"topic": "parks"})["record"], "seq": last}), 409)


def test_scopes_nulls_revocations_delegates_and_traces(api: Client, assembly: str) -> None:
    admin(api, "/v1/assemblies/city/questions", QUESTION)
    a, b, c, d, e, f, g, h, i, j, k, m = enroll(api, "city", 12)
    city, parks, q = {"assembly": "city"}, {"topic": "parks"}, {"question": "q"}
    post(api, b.ballot("q", "yes"))
    post(api, c.ballot("q", "no"))
    post(api, profile(b, "Bea", "first statement"))
    post(api, profile(b, "Bea B.", "I read every proposal."))  # the latest one is shown
    post(api, profile(e, "Eve"))  # a profile without incoming delegations
    # a: assembly -> b, then "none" at the topic blocks it; revoking the topic falls back.
    post(api, a.delegation(city, b.pk))
    post(api, a.delegation(parks, None))
    assert chain(api, a.pk) == ([a.pk], "abstained")
    post(api, a.revocation(parks))
    assert chain(api, a.pk) == ([a.pk, b.pk], "ballot")
    # e: the same, but the null stays.
    post(api, e.delegation(city, b.pk))
    post(api, e.delegation(parks, None))
    # f: topic -> c, blocked by a null at the question.
    post(api, f.delegation(parks, c.pk))
    post(api, f.delegation(q, None))
    # g: assembly -> b, overridden at the question by c.
    post(api, g.delegation(city, b.pk))
    post(api, g.delegation(q, c.pk))
    # h: re-delegation at the same scope: the later seq replaces.
    post(api, h.delegation(city, b.pk))
    post(api, h.delegation(city, c.pk))
    # i <-> j, and k feeds the cycle through the topic.
    post(api, i.delegation(city, j.pk))
    post(api, j.delegation(city, i.pk))
    post(api, k.delegation(parks, j.pk))
    # m -> d, who neither votes nor delegates: a dead end.
    post(api, m.delegation(city, d.pk))
    post(api, profile(d, "Dee", "Ask me."))
    expected_chains = {
        a.pk: ([a.pk, b.pk], "ballot"),
        b.pk: ([b.pk], "ballot"),
        c.pk: ([c.pk], "ballot"),
        d.pk: ([d.pk], "abstained"),
        e.pk: ([e.pk], "abstained"),
        f.pk: ([f.pk], "abstained"),
        g.pk: ([g.pk, c.pk], "ballot"),
        h.pk: ([h.pk, c.pk], "ballot"),
        i.pk: ([i.pk, j.pk, i.pk], "cycle"),
        j.pk: ([j.pk, i.pk, j.pk], "cycle"),
        k.pk: ([k.pk, j.pk, i.pk, j.pk], "cycle"),
        m.pk: ([m.pk, d.pk], "dead_end"),
    }
    for pk, expected in expected_chains.items():
        found = trace(api, pk)
        assert (found["chain"], found["end"]) == expected, pk
        assert (found["question_id"], found["pseudonym"]) == ("q", pk)
        assert (found["closed"], found["choice"]) == (False, None)
    incoming = {
        b.pk: {"assembly:city": 3},  # a, e, g (h moved to c; e's and a's topic nulls not counted)
        c.pk: {"assembly:city": 1, "question:q": 1, "topic:parks": 1},  # h, g, f
        d.pk: {"assembly:city": 1},  # m
        e.pk: {},
        i.pk: {"assembly:city": 1},  # j
        j.pk: {"assembly:city": 1, "topic:parks": 1},  # i, k
    }
    profiles = {
        b.pk: ("Bea B.", "I read every proposal."),
        d.pk: ("Dee", "Ask me."),
        e.pk: ("Eve", ""),
    }

    def expected_delegates() -> dict[str, Any]:
        return {
            "assembly_id": "city",
            "delegates": [
                {
                    "pseudonym": pk,
                    "display_name": profiles.get(pk, (None, None))[0],
                    "statement": profiles.get(pk, (None, None))[1],
                    "incoming": incoming[pk],
                }
                for pk in sorted(incoming)
            ],
        }

    delegates = api.get("/v1/assemblies/city/delegates")
    assert delegates.status_code == 200
    assert delegates.json() == expected_delegates()
    assert [list(d["incoming"]) for d in delegates.json()["delegates"]] == [
        sorted(incoming[pk]) for pk in sorted(incoming)
    ], "incoming keys are sorted"
    # Close: the tally sees the same effective delegations as the traces.
    response = api.post("/v1/questions/q/close", headers=ADMIN)
    assert response.status_code == 200, response.text
    result = response.json()
    citizens = result["citizens"]
    assert {
        key: citizens[key]
        for key in (
            "electorate",
            "ballots_direct",
            "weight_delegated",
            "dead_end",
            "cycle",
            "abstained",
        )
    } == {
        "electorate": 12,
        "ballots_direct": 2,  # b, c
        "weight_delegated": 3,  # a -> b; g, h -> c
        "dead_end": 1,  # m
        "cycle": 3,  # i, j, k
        "abstained": 3,  # d, e (null at the topic), f (null at the question)
    }
    assert citizens["counts"] == {"yes": 2, "no": 3}
    assert citizens["carriers"] == [
        {"pseudonym": c.pk, "weight": 3},
        {"pseudonym": b.pk, "weight": 2},
    ]
    assert result["stats"] == {
        "largest_carrier_weight": 3,
        "carriers": 2,
        "chain_lengths": {"1": 3},
    }
    # After the close, traces read the board as it stood at the close.
    for pk, expected in expected_chains.items():
        found = trace(api, pk)
        assert (found["chain"], found["end"], found["closed"]) == (*expected, True), pk
        voter = found["chain"][-1]
        choice = {b.pk: "yes", c.pk: "no"}.get(voter) if found["end"] == "ballot" else None
        assert found["choice"] == choice, pk
    # Entries at the scope of a closed question still count in the delegates read.
    assert api.get("/v1/assemblies/city/delegates").json() == expected_delegates()
    # Delegations made after the close change neither the tally nor the closed traces.
    post(api, e.revocation(parks))
    assert chain(api, e.pk) == ([e.pk], "abstained")
    assert api.get("/v1/questions/q/tally").json() == result
    # (e's assembly entry to b was counted all along: the read does not change.)
    assert api.get("/v1/assemblies/city/delegates").json() == expected_delegates()
    # The closed question's scope refuses delegations and revocations alike.
    before = size(api)
    post(api, g.revocation(q), status=409)
    post(api, g.delegation(q, b.pk), status=409)
    assert size(api) == before


def test_trace_not_found(api: Client, assembly: str) -> None:
    admin(api, "/v1/assemblies/city/questions", QUESTION)
    admin(
        api,
        "/v1/assemblies",
        {"assembly_id": "town", "title": "Town", "key_bits": 2048, "initiative_threshold": 2},
    )
    (a,) = enroll(api, "city", 1)
    (t,) = enroll(api, "town", 1, prefix="t")
    assert trace(api, a.pk)["chain"] == [a.pk]
    missing = [
        f"/v1/questions/q/trace/{t.pk}",  # a pseudonym of another assembly
        f"/v1/questions/q/trace/{SigningKey.generate().public_key_b64u}",  # nobody
        "/v1/questions/q/trace/not-a-key",
        f"/v1/questions/nowhere/trace/{a.pk}",  # unknown question
    ]
    for path in missing:
        response = api.get(path)
        assert response.status_code == 404, (path, response.text)
    admin(api, "/v1/questions/q/close", status=200)
    # Registered after the close: not in that question's electorate.
    (late,) = enroll(api, "city", 1, prefix="late")
    assert api.get(f"/v1/questions/q/trace/{late.pk}").status_code == 404
    assert trace(api, a.pk)["closed"] is True
    assert api.get("/v1/assemblies/nowhere/delegates").status_code == 404


@pytest.mark.parametrize("scope_kind", ["assembly", "topic", "question"])
def test_a_narrower_null_blocks_and_its_revocation_falls_back_in_the_tally(
    api: Client, assembly: str, scope_kind: str
) -> None:
    """For each broader scope: ``null`` at the question hides it, and revoking restores it."""
    admin(api, "/v1/assemblies/city/questions", QUESTION)
    admin(api, "/v1/assemblies/city/questions", {**QUESTION, "question_id": "q2"})
    voter, blocked, restored = enroll(api, "city", 3)
    post(api, voter.ballot("q", "no"))
    post(api, voter.ballot("q2", "no"))
    broad = {"assembly": {"assembly": "city"}, "topic": {"topic": "parks"}}.get(scope_kind)
    for c in (blocked, restored):
        if broad is not None:
            post(api, c.delegation(broad, voter.pk))
            post(api, c.delegation({"question": "q"}, None))
        else:  # the question scope itself: null, then a delegation replaces it
            post(api, c.delegation({"question": "q"}, None))
    if broad is not None:
        post(api, restored.revocation({"question": "q"}))
    else:
        post(api, restored.delegation({"question": "q"}, voter.pk))
    assert chain(api, blocked.pk) == ([blocked.pk], "abstained")
    assert chain(api, restored.pk) == ([restored.pk, voter.pk], "ballot")
    result = api.post("/v1/questions/q/close", headers=ADMIN).json()["citizens"]
    assert (result["ballots_direct"], result["weight_delegated"], result["abstained"]) == (1, 1, 1)
    assert result["counts"] == {"yes": 0, "no": 2}
    # The null at q does not reach q2: there the broader entry (if any) still applies.
    result2 = api.post("/v1/questions/q2/close", headers=ADMIN).json()["citizens"]
    assert result2["weight_delegated"] == (2 if broad is not None else 0)
    types = [leaf["record"]["type"] for leaf in board(api)]
    assert types[-4:] == ["question_closed", "tally", "question_closed", "tally"]

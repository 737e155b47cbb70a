"""DelegationGraph: effective delegation per scope, revocation, the ``delegates`` counts."""

from __future__ import annotations

import pytest

from delegation import DelegationGraph, InvalidDelegation, Scope

A = Scope("assembly", "city")
T = Scope("topic", "roads")
Q = Scope("question", "bike-lanes")


def _effective(graph: DelegationGraph, p: str, *, question: bool = True) -> str | None:
    return graph.effective(
        p, assembly="city", topic="roads", question="bike-lanes" if question else None
    )


def test_no_record_means_no_delegation() -> None:
    graph = DelegationGraph()
    assert _effective(graph, "ana") is None
    assert graph.delegate_map(assembly="city") == {}
    assert graph.incoming("city") == {}


def test_question_beats_topic_beats_assembly() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", A, "ben", assembly="city")
    assert _effective(graph, "ana") == "ben"
    graph.delegate("ana", T, "cy", assembly="city")
    assert _effective(graph, "ana") == "cy"
    graph.delegate("ana", Q, "dee", assembly="city")
    assert _effective(graph, "ana") == "dee"
    # Other questions and topics still see the broader scopes.
    assert graph.effective("ana", assembly="city", topic="roads", question="other") == "cy"
    assert graph.effective("ana", assembly="city", topic="parks", question="other") == "ben"
    assert graph.effective("ana", assembly="city") == "ben"


def test_order_of_records_across_scopes_does_not_matter() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", Q, "dee", assembly="city")
    graph.delegate("ana", A, "ben", assembly="city")
    assert _effective(graph, "ana") == "dee"


def test_null_delegation_blocks_broader_scopes() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", A, "ben", assembly="city")
    graph.delegate("ana", T, None, assembly="city")
    assert _effective(graph, "ana") is None
    assert graph.effective("ana", assembly="city", topic="parks") == "ben"
    graph.delegate("ana", Q, "cy", assembly="city")  # a narrower delegation still applies
    assert _effective(graph, "ana") == "cy"
    assert _effective(graph, "ana", question=False) is None


def test_revocation_falls_back_to_the_broader_scope() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", A, "ben", assembly="city")
    graph.delegate("ana", T, "cy", assembly="city")
    graph.delegate("ana", Q, None, assembly="city")
    assert _effective(graph, "ana") is None
    graph.revoke("ana", Q, assembly="city")
    assert _effective(graph, "ana") == "cy"
    graph.revoke("ana", T, assembly="city")
    assert _effective(graph, "ana") == "ben"
    graph.revoke("ana", A, assembly="city")
    assert _effective(graph, "ana") is None


def test_revoking_nothing_is_accepted() -> None:
    graph = DelegationGraph()
    graph.revoke("ana", T, assembly="city")  # unknown assembly and pseudonym
    graph.delegate("ana", A, "ben", assembly="city")
    graph.revoke("ana", T, assembly="city")  # known pseudonym, empty scope
    graph.revoke("ben", A, assembly="city")  # known assembly, unknown pseudonym
    assert _effective(graph, "ana") == "ben"
    assert graph.scopes("ana", assembly="city") == {A: "ben"}


def test_redelegation_replaces_at_the_same_scope() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", T, "ben", assembly="city")
    graph.delegate("ana", T, "cy", assembly="city")
    assert _effective(graph, "ana") == "cy"
    assert graph.incoming("city") == {"cy": {"topic:roads": 1}}
    # A revocation removes the scope entirely: the replaced delegation does not come back.
    graph.revoke("ana", T, assembly="city")
    assert _effective(graph, "ana") is None


def test_incoming_counts_current_non_null_delegations_per_scope() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", A, "dee", assembly="city")
    graph.delegate("ben", A, "dee", assembly="city")
    graph.delegate("cy", T, "dee", assembly="city")
    graph.delegate("cy", A, "ana", assembly="city")
    graph.delegate("eve", Q, None, assembly="city")
    graph.delegate("fay", Q, "dee", assembly="city")
    graph.delegate("fay", Q, "ana", assembly="city")
    graph.delegate("gus", T, "ana", assembly="city")
    graph.revoke("gus", T, assembly="city")
    assert graph.incoming("city") == {
        "ana": {"assembly:city": 1, "question:bike-lanes": 1},
        "dee": {"assembly:city": 2, "topic:roads": 1},
    }
    assert list(graph.incoming("city")) == ["ana", "dee"]
    assert list(graph.incoming("city")["ana"]) == ["assembly:city", "question:bike-lanes"]


def test_assemblies_are_kept_apart() -> None:
    # Topic ids are unique only within an assembly: "roads" exists in both.
    graph = DelegationGraph()
    graph.delegate("ana", T, "ben", assembly="city")
    graph.delegate("zed", T, "yan", assembly="region")
    graph.delegate("zed", Scope("assembly", "region"), "xia", assembly="region")
    assert graph.incoming("city") == {"ben": {"topic:roads": 1}}
    assert graph.incoming("region") == {"xia": {"assembly:region": 1}, "yan": {"topic:roads": 1}}
    assert graph.effective("ana", assembly="region", topic="roads") is None
    assert graph.effective("zed", assembly="region", topic="roads") == "yan"
    assert graph.delegate_map(assembly="region", topic="parks") == {"zed": "xia"}


def test_delegate_map_gives_each_non_null_effective_delegate() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", A, "ben", assembly="city")
    graph.delegate("ben", A, "cy", assembly="city")
    graph.delegate("ben", Q, None, assembly="city")
    graph.delegate("cy", T, "dee", assembly="city")
    assert graph.delegate_map(assembly="city", topic="roads", question="bike-lanes") == {
        "ana": "ben",
        "cy": "dee",
    }
    # An initiative resolves with the topic then the assembly scope only (DESIGN §10).
    assert graph.delegate_map(assembly="city", topic="roads") == {
        "ana": "ben",
        "ben": "cy",
        "cy": "dee",
    }
    assert graph.delegate_map(assembly="city") == {"ana": "ben", "ben": "cy"}


def test_snapshot_is_independent() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", A, "ben", assembly="city")
    frozen = graph.snapshot()
    graph.delegate("ana", A, "cy", assembly="city")
    graph.delegate("dee", T, "cy", assembly="city")
    frozen.revoke("ana", A, assembly="city")
    assert _effective(graph, "ana") == "cy"
    assert _effective(frozen, "ana") is None
    assert frozen.incoming("city") == {}
    assert graph.incoming("city") == {"cy": {"assembly:city": 1, "topic:roads": 1}}


def test_scopes_lists_current_entries_including_nulls() -> None:
    graph = DelegationGraph()
    graph.delegate("ana", A, "ben", assembly="city")
    graph.delegate("ana", Q, None, assembly="city")
    assert graph.scopes("ana", assembly="city") == {A: "ben", Q: None}
    assert graph.scopes("ben", assembly="city") == {}


def test_refuses_self_delegation() -> None:
    graph = DelegationGraph()
    with pytest.raises(InvalidDelegation, match="itself"):
        graph.delegate("ana", T, "ana", assembly="city")
    assert graph.scopes("ana", assembly="city") == {}


def test_refuses_another_assemblys_scope() -> None:
    graph = DelegationGraph()
    with pytest.raises(InvalidDelegation):
        graph.delegate("ana", Scope("assembly", "region"), "ben", assembly="city")
    with pytest.raises(ValueError):  # InvalidDelegation is also a ValueError
        graph.delegate("ana", Scope("assembly", "region"), None, assembly="city")
    assert graph.delegate_map(assembly="city") == {}

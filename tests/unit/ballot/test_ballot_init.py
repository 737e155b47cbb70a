"""The ballot package's public API and error tree."""

from __future__ import annotations

import ballot
from ballot import BallotError, InvalidChoice, InvalidQuestion


def test_public_api_is_pinned() -> None:
    assert ballot.__all__ == [
        "ABSENT",
        "BallotError",
        "InvalidChoice",
        "InvalidQuestion",
        "Method",
        "Option",
        "QuestionSpec",
        "count",
        "question_spec",
        "validate_choice",
    ]
    for name in ballot.__all__:
        assert hasattr(ballot, name)


def test_error_tree() -> None:
    for error in (InvalidQuestion, InvalidChoice):
        assert issubclass(error, BallotError)
        assert issubclass(error, ValueError)
    assert not issubclass(BallotError, ValueError)
    assert not issubclass(InvalidQuestion, InvalidChoice)


def test_absent_is_not_none() -> None:
    assert ballot.ABSENT is not None
    assert repr(ballot.ABSENT) == "ABSENT"

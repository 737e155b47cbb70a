"""Questions, choices and tallies for isegoria: pure, no I/O (DESIGN §6 and §10 "Questions").

- ``question_spec`` validates the method and options of a ``question`` record.
- ``validate_choice`` checks a ballot's ``choice`` against its question.
- ``count`` tallies ``(choice, weight)`` pairs: single, approval, ranked (Schulze), budget (the
  Method of Equal Shares).
"""

from __future__ import annotations

from ballot.choice import validate_choice
from ballot.errors import BallotError, InvalidChoice, InvalidQuestion
from ballot.question import ABSENT, Method, Option, QuestionSpec, question_spec
from ballot.tally import count

__all__ = [
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

"""What a unit owes after publication (a remediation plan, or next year's breakthrough work): required by a
publication, received when the unit's document is recorded, waived when a corrected publication no longer
requires it. The row is born required (`require` on a new unit); these are the moves after."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from cchc.states import guards as g
from cchc.states.machine import Move, StateMachine


class FollowUpState(StrEnum):
    required = "required"
    received = "received"
    waived = "waived"


F = FollowUpState

TRANSITIONS: tuple[Move, ...] = (
    Move(
        "require",
        (F.required, F.waived),
        F.required,
        (g.is_authority_or_system,),
        "the current publication requires it: again after a waiver, or with other reasons",
    ),
    Move(
        "waive",
        (F.required,),
        F.waived,
        (g.is_authority_or_system,),
        "a corrected publication no longer requires it",
    ),
    Move(
        "receive",
        (F.required, F.received),
        F.received,
        (g.is_unit_member_or_coordinator,),
        "the unit's document is recorded (a later one replaces it); a waived one is owed no more",
    ),
)


@lru_cache(maxsize=1)
def follow_up_machine() -> StateMachine:
    return StateMachine(FollowUpState, TRANSITIONS)

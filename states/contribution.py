"""Sub-criteria a unit gives to one of its teams or communes: assigned (again, when the criteria or the
internal deadline change), supplied once the contributor's rows cover every one of them. The row is born
assigned; these are the moves after."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from cchc.states import guards as g
from cchc.states.machine import Move, StateMachine


class ContributionState(StrEnum):
    assigned = "assigned"
    supplied = "supplied"


C = ContributionState

TRANSITIONS: tuple[Move, ...] = (
    Move(
        "assign",
        (C.assigned, C.supplied),
        C.assigned,
        (g.is_unit_member_or_coordinator,),
        "the unit gives other sub-criteria or another internal deadline: to be supplied again",
    ),
    Move(
        "supplied",
        (C.assigned,),
        C.supplied,
        (),
        "the contributor's rows now cover every sub-criterion assigned (the import that wrote them checked who)",
    ),
)


@lru_cache(maxsize=1)
def contribution_machine() -> StateMachine:
    return StateMachine(ContributionState, TRANSITIONS)

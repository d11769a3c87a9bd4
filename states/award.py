"""An award proposal derived from the published index (or a head's emulation standing), and the
authority's decision on it: approved or rejected, by a decision with its number and date; a later decision
replaces an earlier one."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from cchc.models.i18n import N_
from cchc.states import guards as g
from cchc.states.machine import Move, StateMachine


class AwardState(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"


A = AwardState
DECIDES = g.leadership_only(N_("decides awards"))

TRANSITIONS: tuple[Move, ...] = (
    Move(
        "approve_award",
        (A.proposed, A.approved, A.rejected),
        A.approved,
        (DECIDES,),
        "the authority's head or a deputy approves the proposal, by a decision (its number and date)",
    ),
    Move(
        "reject_award",
        (A.proposed, A.approved, A.rejected),
        A.rejected,
        (DECIDES, g.has_reason),
        "the authority's head or a deputy rejects the proposal, with the reason",
    ),
)


@lru_cache(maxsize=1)
def award_machine() -> StateMachine:
    return StateMachine(AwardState, TRANSITIONS)

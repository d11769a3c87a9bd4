"""The cycle-level machine: the phases of a whole year's cycle."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from cchc.states import guards as g
from cchc.states.machine import Move, StateMachine


class CyclePhase(StrEnum):
    planning = "planning"
    self_assessment = "self_assessment"
    appraisal = "appraisal"
    published = "published"
    awards = "awards"
    remediation = "remediation"
    closed = "closed"


P = CyclePhase

TRANSITIONS: tuple[Move, ...] = (
    Move(
        "begin_self_assessment",
        (P.planning,),
        P.self_assessment,
        (g.is_authority_or_system,),
        "plans are in: units score themselves",
    ),
    Move(
        "begin_appraisal",
        (P.self_assessment,),
        P.appraisal,
        (g.is_authority_or_system, g.is_submission_closed),
        "the submission deadline has passed (or every unit has submitted): appraisal starts",
    ),
    Move(
        "publish",
        (P.appraisal, P.published),
        P.published,
        (g.is_authority, g.has_all_assessments_ready),
        "the authority publishes (again, after a correction)",
    ),
    Move("begin_awards", (P.published,), P.awards, (g.is_authority_or_system,), "award proposals are made"),
    Move(
        "begin_remediation",
        (P.awards,),
        P.remediation,
        (g.is_authority_or_system,),
        "weak units send remediation plans",
    ),
    Move("close", (P.remediation,), P.closed, (g.is_authority_or_system,), "the year is closed"),
)

NEXT_TRIGGER: dict[str, str] = {
    P.planning: "begin_self_assessment",
    P.self_assessment: "begin_appraisal",
    P.appraisal: "publish",
    P.published: "begin_awards",
    P.awards: "begin_remediation",
    P.remediation: "close",
}


@lru_cache(maxsize=1)
def cycle_machine() -> StateMachine:
    return StateMachine(CyclePhase, TRANSITIONS)

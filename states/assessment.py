"""The per-unit assessment machine: plan → self_assess → submitted → appraised → supplemented →
published → awarded, with the moves real cycles need (withdraw, supplements, reopen by correction)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from cchc.states import guards as g
from cchc.states.machine import Move, StateMachine


class AssessmentState(StrEnum):
    plan = "plan"
    self_assess = "self_assess"
    submitted = "submitted"
    appraised = "appraised"
    supplement_requested = "supplement_requested"
    supplemented = "supplemented"
    published = "published"
    awarded = "awarded"


S = AssessmentState

TRANSITIONS: tuple[Move, ...] = (
    Move(
        "begin_self_assessment",
        (S.plan,),
        S.self_assess,
        (g.is_authority_or_system,),
        "the cycle opens self-assessment for the unit",
    ),
    Move(
        "submit",
        (S.self_assess,),
        S.submitted,
        (
            g.is_unit_member_or_coordinator,
            g.has_signed_commitment,
            g.has_all_applicable_scored,
            g.has_scores_within_range,
        ),
        "the unit reports its self-assessment with evidence",
    ),
    Move(
        "withdraw",
        (S.submitted,),
        S.self_assess,
        (g.is_unit_member_or_coordinator, g.is_before_appraisal),
        "the unit takes its submission back to edit it (rút lại), before appraisal starts",
    ),
    Move(
        "appraise",
        (S.submitted,),
        S.appraised,
        (g.is_appraiser, g.is_independent_of_unit, g.is_appraisal_open),
        "an appraiser scores every sub-criterion",
    ),
    Move(
        "reappraise",
        (S.appraised, S.supplemented),
        None,
        (g.is_appraiser, g.is_independent_of_unit, g.is_appraisal_open),
        "appraisal is run again after a correction or a supplement; only changes are recorded",
    ),
    Move(
        "request_supplement",
        (S.appraised,),
        S.supplement_requested,
        (g.is_appraiser, g.is_independent_of_unit, g.has_reason),
        "the appraiser asks for more evidence or an explanation (note required)",
    ),
    Move(
        "submit_supplement",
        (S.supplement_requested,),
        S.supplemented,
        (g.is_unit_member_or_coordinator,),
        "the unit supplies the evidence or explanation asked for",
    ),
    Move(
        "close_supplement",
        (S.supplement_requested,),
        S.supplemented,
        (g.is_authority_staff, g.has_reason),
        "the authority goes on without the supplement that was asked for (reason required)",
    ),
    Move(
        "skip_supplement",
        (S.appraised,),
        S.supplemented,
        (g.is_authority_staff,),
        "no supplement was requested: the appraisal stands",
    ),
    Move("publish", (S.supplemented,), S.published, (g.is_authority,), "the authority publishes the result"),
    Move(
        "reopen",
        (S.published,),
        S.supplemented,
        (g.is_authority_leader, g.has_reason),
        "an authorised correction reopens a published result (reason required, audited)",
    ),
    Move("award", (S.published,), S.awarded, (g.is_authority_or_system,), "award proposals are decided"),
)


@lru_cache(maxsize=1)
def assessment_machine() -> StateMachine:
    """The process's one assessment machine."""
    return StateMachine(AssessmentState, TRANSITIONS)

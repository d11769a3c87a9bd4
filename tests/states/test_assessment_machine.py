"""The per-unit assessment machine (states/assessment.py) and its guards (states/guards.py)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

import people
import pytest
from people import actor, appraiser, coordinator, director

from cchc.models.people import Actor, system_actor
from cchc.states.assessment import TRANSITIONS, AssessmentState, assessment_machine
from cchc.states.guards import AssessmentFacts, Context
from cchc.states.machine import TransitionNotAllowed

S = AssessmentState
AT = datetime(2021, 9, 4, 2, 0, tzinfo=UTC)
UNIT = "PV05"

# The lifecycle of DOMAIN.md, written out by hand: (state, trigger) → the state after (itself when it stays).
LIFECYCLE: dict[tuple[str, str], str] = {
    (S.plan, "begin_self_assessment"): S.self_assess,
    (S.self_assess, "submit"): S.submitted,
    (S.submitted, "withdraw"): S.self_assess,
    (S.submitted, "appraise"): S.appraised,
    (S.appraised, "reappraise"): S.appraised,
    (S.appraised, "request_supplement"): S.supplement_requested,
    (S.appraised, "skip_supplement"): S.supplemented,
    (S.supplement_requested, "submit_supplement"): S.supplemented,
    (S.supplement_requested, "close_supplement"): S.supplemented,
    (S.supplemented, "reappraise"): S.supplemented,
    (S.supplemented, "publish"): S.published,
    (S.published, "reopen"): S.supplemented,
    (S.published, "award"): S.awarded,
}
TRIGGERS = sorted({m.trigger for m in TRANSITIONS})
PAIRS = list(itertools.product([s.value for s in S], TRIGGERS))
LEGAL = [pair for pair in PAIRS if pair in LIFECYCLE]
ILLEGAL = [pair for pair in PAIRS if pair not in LIFECYCLE]


# --- factories ------------------------------------------------------------------------------------


def unit_officer(role: str, unit: str = UNIT) -> Actor:
    return people.unit_officer(role, unit)


def phase_for(trigger: str) -> str:
    """A cycle phase in which the trigger's phase guard passes."""
    return "self_assessment" if trigger == "withdraw" else "appraisal"


def facts(state: str = S.submitted, *, phase: str = "appraisal", **kw: Any) -> AssessmentFacts:
    return AssessmentFacts(
        assessment_id=7,
        unit_code=UNIT,
        unit_name="Phòng Kỹ thuật nghiệp vụ",
        group="ktthc",
        state=state,
        version=3,
        cycle_year=2021,
        cycle_phase=phase,
        **kw,
    )


def context(state: str, trigger: str, *, who: Actor | None = None, reason: str = "x", **kw: Any) -> Context:
    """A context that satisfies every guard of `trigger`, unless told otherwise."""
    kw.setdefault("phase", phase_for(trigger))
    return Context(actor=who or director(), at=AT, facts=facts(state, **kw), reason=reason)


def fire(trigger: str, state: str, **kw: Any) -> str:
    return assessment_machine().fire(trigger, state, context(state, trigger, **kw), subject=UNIT)


def refusal(trigger: str, state: str, **kw: Any) -> TransitionNotAllowed:
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(trigger, state, **kw)
    assert refused.value.trigger == trigger
    assert refused.value.state == state
    return refused.value


# --- the table ------------------------------------------------------------------------------------


def test_the_transition_table_is_the_documented_lifecycle():
    table = {(source, m.trigger): m.dest or source for m in TRANSITIONS for source in m.source}
    assert table == LIFECYCLE


def test_every_state_is_reached_from_plan():
    reached = {S.plan.value}
    for _ in S:
        reached |= {dest for (source, _t), dest in LIFECYCLE.items() if source in reached}
    assert reached == {s.value for s in S}


@pytest.mark.parametrize(("state", "trigger"), LEGAL)
def test_a_move_of_the_table_goes_to_its_destination(state, trigger):
    assert fire(trigger, state) == LIFECYCLE[(state, trigger)]


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_a_trigger_that_is_not_a_move_of_the_state_is_refused_saying_what_is_allowed(state, trigger):
    refused = refusal(trigger, state)
    assert "not a move of this state" in refused.reason
    allowed = sorted(t for (s, t) in LIFECYCLE if s == state)
    if allowed:
        assert f"from {state!r} only {', '.join(allowed)}" in refused.reason
    else:
        assert f"nothing leaves {state!r}" in refused.reason


def test_an_unknown_trigger_is_refused_listing_the_known_ones():
    refused = refusal("approve", S.submitted)
    assert refused.reason.startswith("unknown trigger (known: ")
    assert all(t in refused.reason for t in TRIGGERS)


def test_an_unknown_state_is_refused():
    assert refusal("submit", "draft").reason == "unknown state"


def test_a_refusal_reads_as_a_sentence_about_the_unit():
    refused = refusal("request_supplement", "appraised", reason="")
    assert str(refused) == "PV05: cannot request supplement from state 'appraised': a reason (note) is required"


def test_a_state_given_as_its_enum_member_reads_the_same_in_a_refusal():
    assert str(refusal("request_supplement", S.appraised, reason="")) == str(
        refusal("request_supplement", "appraised", reason="")
    )
    assert "<AssessmentState" not in refusal("publish", S.plan).reason


# --- who may move ---------------------------------------------------------------------------------


def test_submit_with_unscored_sub_criteria_is_refused_listing_them():
    refused = refusal("submit", S.self_assess, unscored=("1.1.1", "3.3.2"))
    assert refused.reason == "2 applicable sub-criteria have no self-score: 1.1.1, 3.3.2"


def test_submit_lists_eight_unscored_codes_and_counts_the_rest():
    codes = tuple(f"1.{i}.1" for i in range(1, 11))
    refused = refusal("submit", S.self_assess, unscored=codes)
    assert refused.reason.startswith("10 applicable sub-criteria have no self-score: 1.1.1, 1.2.1")
    assert refused.reason.endswith("1.8.1 and 2 more")


def test_submit_with_a_score_out_of_range_is_refused_naming_it():
    refused = refusal("submit", S.self_assess, out_of_range=("2.1.3",))
    assert refused.reason == "1 self-scores are outside 0..max: 2.1.3"


@pytest.mark.parametrize("role", ["head", "deputy", "focal"])
def test_the_units_head_deputy_or_focal_officer_submits_it(role):
    assert fire("submit", S.self_assess, who=unit_officer(role)) == S.submitted


def test_a_coordinator_submits_on_behalf_of_a_unit():
    assert fire("submit", S.self_assess, who=coordinator()) == S.submitted


def test_a_person_of_another_unit_cannot_submit():
    refused = refusal("submit", S.self_assess, who=unit_officer("head", "PV11"))
    assert "is neither the head, a deputy or the focal officer of PV05 nor a coordinator" in refused.reason
    assert "pv11.head" in refused.reason


def test_an_appraiser_of_the_unit_without_a_unit_role_cannot_submit():
    refused = refusal("submit", S.self_assess, who=actor("pv05.appr", "appraiser", unit=UNIT, own_units=(UNIT,)))
    assert "nor a coordinator" in refused.reason


def test_appraise_by_someone_who_is_not_an_appraiser_is_refused():
    refused = refusal("appraise", S.submitted, who=coordinator())
    assert refused.reason.endswith("is not an appraiser")


def test_an_appraiser_cannot_appraise_their_own_unit():
    refused = refusal("appraise", S.submitted, who=appraiser("PV05-TH", UNIT))
    assert refused.reason.endswith("belongs to PV05 and cannot appraise their own unit")


@pytest.mark.parametrize("trigger", ["reappraise", "request_supplement"])
def test_an_appraiser_cannot_reappraise_or_question_their_own_unit(trigger):
    refused = refusal(trigger, S.appraised, who=appraiser(UNIT))
    assert "cannot appraise their own unit" in refused.reason


def test_an_appraiser_of_another_unit_appraises():
    assert fire("appraise", S.submitted, who=appraiser()) == S.appraised


@pytest.mark.parametrize("phase", ["planning", "self_assessment"])
def test_appraisal_is_refused_before_the_appraisal_phase(phase):
    refused = refusal("appraise", S.submitted, phase=phase)
    assert refused.reason == f"the 2021 cycle is in phase {phase!r}; appraisal has not started"


@pytest.mark.parametrize("phase", ["appraisal", "published"])
def test_reappraisal_is_allowed_in_the_appraisal_and_published_phases(phase):
    assert fire("reappraise", S.supplemented, phase=phase) == S.supplemented


def test_a_unit_withdraws_its_submission_during_self_assessment():
    assert fire("withdraw", S.submitted, who=unit_officer("focal")) == S.self_assess


@pytest.mark.parametrize("phase", ["appraisal", "published"])
def test_withdraw_is_refused_once_appraisal_has_started(phase):
    refused = refusal("withdraw", S.submitted, phase=phase)
    assert refused.reason == "appraisal of the 2021 cycle has started: the submission can no longer be withdrawn"


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_a_supplement_request_without_a_note_is_refused(reason):
    assert refusal("request_supplement", S.appraised, reason=reason).reason == "a reason (note) is required"


@pytest.mark.parametrize("reason", ["", "  "])
def test_closing_a_supplement_without_a_reason_is_refused(reason):
    assert refusal("close_supplement", S.supplement_requested, reason=reason).reason == "a reason (note) is required"


def test_a_unit_head_cannot_close_its_own_supplement_request():
    refused = refusal("close_supplement", S.supplement_requested, who=unit_officer("head"))
    assert "does not act for the authority" in refused.reason


def test_the_unit_submits_the_supplement_asked_for():
    assert fire("submit_supplement", S.supplement_requested, who=unit_officer("deputy"), reason="") == S.supplemented


@pytest.mark.parametrize(
    "who", [coordinator(), director(), actor("pgd1", "deputy")], ids=["coordinator", "head", "deputy"]
)
def test_the_authority_publishes(who):
    assert fire("publish", S.supplemented, who=who) == S.published


@pytest.mark.parametrize(
    "who",
    [unit_officer("head"), unit_officer("head", "CAH-BMT"), appraiser()],
    ids=["unit head", "district head", "appraiser"],
)
def test_only_the_authority_publishes(who):
    refused = refusal("publish", S.supplemented, who=who)
    assert refused.reason.startswith("only the authority publishes: ")
    assert who.code in refused.reason


@pytest.mark.parametrize("who", [director(), actor("pgd1", "deputy")], ids=["head", "deputy"])
def test_the_authoritys_head_or_a_deputy_reopens_a_publication(who):
    assert fire("reopen", S.published, who=who, reason="sai sót số liệu tiêu chí 3.3.2") == S.supplemented


@pytest.mark.parametrize("who", [coordinator(), unit_officer("head")], ids=["coordinator", "unit head"])
def test_nobody_else_reopens_a_publication(who):
    refused = refusal("reopen", S.published, who=who)
    assert refused.reason.startswith("only the authority's head or a deputy may reopen a publication")


def test_a_head_of_a_department_is_not_the_authoritys_leadership():
    refused = refusal("reopen", S.published, who=actor("pv01.head", "head", unit="PV01", own_units=("PV01",)))
    assert "only the authority's head or a deputy" in refused.reason


def test_reopening_needs_a_reason():
    assert refusal("reopen", S.published, reason=" ").reason == "a reason (note) is required"


@pytest.mark.parametrize(("trigger", "state"), [("begin_self_assessment", S.plan), ("award", S.published)])
def test_the_system_may_open_self_assessment_and_decide_awards(trigger, state):
    assert fire(trigger, state, who=system_actor("sweep")) == LIFECYCLE[(state, trigger)]


def test_the_system_may_not_publish():
    refused = refusal("publish", S.supplemented, who=system_actor("sweep"))
    assert refused.reason.startswith("only the authority publishes: system:sweep")


@pytest.mark.parametrize("trigger", ["submit", "appraise", "skip_supplement", "reopen"])
def test_the_system_acts_only_where_the_table_lets_it(trigger):
    state = next(s for (s, t) in LIFECYCLE if t == trigger)
    assert "system:sweep" in refusal(trigger, state, who=system_actor("sweep")).reason


def test_a_unit_head_cannot_open_self_assessment():
    refused = refusal("begin_self_assessment", S.plan, who=unit_officer("head"))
    assert "pv05.head" in refused.reason
    assert "does not act for the authority" in refused.reason


@pytest.mark.parametrize(("trigger", "state"), [("begin_self_assessment", S.plan), ("award", S.published)])
def test_a_refusal_to_open_self_assessment_or_award_does_not_speak_of_publishing(trigger, state):
    refused = refusal(trigger, state, who=unit_officer("head"))
    assert "publishes" not in refused.reason


# --- the one shared machine -----------------------------------------------------------------------


def test_the_machine_is_shared_by_the_process():
    assert assessment_machine() is assessment_machine()


def test_the_shared_machine_keeps_no_record_after_moves_and_refusals():
    machine = assessment_machine()
    for state, trigger in PAIRS:
        try:
            fire(trigger, state)
        except TransitionNotAllowed:
            pass
        try:
            fire(trigger, state, who=unit_officer("head", "PV11"), reason="")
        except TransitionNotAllowed:
            pass
    # one subject per thread is attached once and reused: the machine never holds a record
    assert len(machine._machine.models) <= 1
    assert all(getattr(m, "ctx", None) is None for m in machine._machine.models)


# --- the diagram ----------------------------------------------------------------------------------

EDGE = re.compile(r"^\s*(\w+) --> (\w+): (.+)$")


def diagram_edges(text: str) -> set[tuple[str, str, str]]:
    """(source, dest, trigger) of every edge; Mermaid joins the triggers of one edge with ' | '."""
    edges = set()
    for line in text.splitlines():
        match = EDGE.match(line)
        if match:
            source, dest, labels = match.groups()
            edges |= {(source, dest, label.strip()) for label in labels.split("|")}
    return edges


def test_the_mermaid_diagram_shows_every_move_of_the_table_and_nothing_else():
    text = assessment_machine().mermaid("Assessment")
    assert diagram_edges(text) == {(source, dest, trigger) for (source, trigger), dest in LIFECYCLE.items()}


def test_the_mermaid_diagram_has_no_styling_and_names_every_state():
    text = assessment_machine().mermaid("Assessment")
    assert "stateDiagram" in text
    assert not [ln for ln in text.splitlines() if ln.strip().startswith("classDef")]
    assert all(f'state "{s.value}"' in text for s in S)
    assert "[*] --> plan" in text

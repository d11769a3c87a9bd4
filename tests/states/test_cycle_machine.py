"""The cycle-level machine (states/cycle.py): the phases of a whole year's cycle."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from people import actor, coordinator, director

from cchc.models.people import Actor, system_actor
from cchc.states.cycle import NEXT_TRIGGER, TRANSITIONS, CyclePhase, cycle_machine
from cchc.states.guards import Context, CycleFacts
from cchc.states.machine import TransitionNotAllowed

P = CyclePhase
DUE = datetime(2021, 8, 30, 17, 0, tzinfo=UTC)  # submission before 31/08/2021, Asia/Ho_Chi_Minh
AFTER = DUE + timedelta(days=5)

PHASES: dict[tuple[str, str], str] = {
    (P.planning, "begin_self_assessment"): P.self_assessment,
    (P.self_assessment, "begin_appraisal"): P.appraisal,
    (P.appraisal, "publish"): P.published,
    (P.published, "publish"): P.published,
    (P.published, "begin_awards"): P.awards,
    (P.awards, "begin_remediation"): P.remediation,
    (P.remediation, "close"): P.closed,
}
TRIGGERS = sorted({m.trigger for m in TRANSITIONS})
PAIRS = list(itertools.product([p.value for p in P], TRIGGERS))
LEGAL = [pair for pair in PAIRS if pair in PHASES]
ILLEGAL = [pair for pair in PAIRS if pair not in PHASES]


# --- factories ------------------------------------------------------------------------------------


def district_head() -> Actor:
    return actor("bmt.head", "head", unit="CAH-BMT", own_units=("CAH-BMT",))


def cycle_facts(phase: str, counts: dict[str, int] | None = None, due: datetime | None = DUE) -> CycleFacts:
    return CycleFacts(
        cycle_id=1,
        year=2021,
        phase=phase,
        version=4,
        counts={"published": 44} if counts is None else counts,
        submission_due=due,
    )


def fire(trigger: str, phase: str, *, who: Actor | None = None, at: datetime = AFTER, **kw: Any) -> str:
    ctx = Context(actor=who or director(), at=at, facts=cycle_facts(phase, **kw), reason="x")
    return cycle_machine().fire(trigger, phase, ctx, subject="cycle 2021")


def refusal(trigger: str, phase: str, **kw: Any) -> TransitionNotAllowed:
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(trigger, phase, **kw)
    assert (refused.value.trigger, refused.value.state, refused.value.subject) == (trigger, phase, "cycle 2021")
    return refused.value


# --- the table ------------------------------------------------------------------------------------


def test_the_transition_table_is_the_documented_year():
    table = {(source, m.trigger): m.dest or source for m in TRANSITIONS for source in m.source}
    assert table == PHASES


def test_the_next_trigger_of_each_phase_is_a_move_of_that_phase():
    assert {(phase, trigger) for phase, trigger in NEXT_TRIGGER.items()} <= set(PHASES)
    assert set(NEXT_TRIGGER) == {p.value for p in P} - {P.closed}


def test_following_the_next_trigger_from_planning_reaches_closed():
    phase: str = P.planning
    seen = [phase]
    while phase in NEXT_TRIGGER:
        phase = fire(NEXT_TRIGGER[phase], phase)
        seen.append(phase)
    assert seen == [p.value for p in P]


@pytest.mark.parametrize(("phase", "trigger"), LEGAL)
def test_a_move_of_the_table_goes_to_its_destination(phase, trigger):
    assert fire(trigger, phase) == PHASES[(phase, trigger)]


@pytest.mark.parametrize(("phase", "trigger"), ILLEGAL)
def test_a_trigger_that_is_not_a_move_of_the_phase_is_refused_saying_what_is_allowed(phase, trigger):
    refused = refusal(trigger, phase)
    assert "not a move of this state" in refused.reason
    allowed = sorted(t for (p, t) in PHASES if p == phase)
    if allowed:
        assert f"from {phase!r} only {', '.join(allowed)}" in refused.reason
    else:
        assert f"nothing leaves {phase!r}" in refused.reason


def test_the_machine_is_shared_by_the_process():
    assert cycle_machine() is cycle_machine()


def test_the_shared_machine_keeps_no_record_after_moves_and_refusals():
    for phase, trigger in PAIRS:
        for who in (director(), district_head()):
            try:
                fire(trigger, phase, who=who, counts={"self_assess": 1, "appraised": 1}, at=DUE - timedelta(1))
            except TransitionNotAllowed:
                pass
    assert len(cycle_machine()._machine.models) <= 1  # one reused subject per thread, never a record


# --- when appraisal may start ---------------------------------------------------------------------


def test_appraisal_does_not_start_while_units_have_not_submitted_before_the_deadline():
    refused = refusal(
        "begin_appraisal",
        P.self_assessment,
        counts={"plan": 1, "self_assess": 2, "submitted": 41},
        at=DUE - timedelta(minutes=1),
    )
    assert refused.reason == "3 units have not submitted and the submission deadline has not passed"


@pytest.mark.parametrize(
    "at", [DUE, DUE + timedelta(seconds=1), AFTER], ids=["at the deadline", "just after", "days after"]
)
def test_appraisal_starts_once_the_submission_deadline_has_passed(at):
    assert fire("begin_appraisal", P.self_assessment, counts={"self_assess": 2, "submitted": 42}, at=at) == P.appraisal


def test_appraisal_starts_before_the_deadline_once_every_unit_has_submitted():
    at = DUE - timedelta(days=3)
    assert fire("begin_appraisal", P.self_assessment, counts={"submitted": 44}, at=at) == P.appraisal


def test_appraisal_does_not_start_without_a_deadline_while_units_have_not_submitted():
    refused = refusal("begin_appraisal", P.self_assessment, counts={"self_assess": 1}, due=None, at=AFTER)
    assert refused.reason.startswith("1 units have not submitted")


def test_the_system_starts_appraisal_after_the_deadline():
    assert (
        fire("begin_appraisal", P.self_assessment, who=system_actor("sweep"), counts={"self_assess": 1}) == P.appraisal
    )


# --- when the cycle may publish -------------------------------------------------------------------


def test_publication_waits_for_every_assessment_to_be_ready_listing_how_many_are_not():
    refused = refusal("publish", P.appraisal, counts={"supplemented": 40, "appraised": 3, "supplement_requested": 1})
    assert refused.reason == "not every assessment is ready to publish (3 appraised, 1 supplement_requested)"


@pytest.mark.parametrize("state", ["plan", "self_assess", "submitted", "appraised", "supplement_requested"])
def test_one_assessment_not_ready_holds_the_publication(state):
    refused = refusal("publish", P.appraisal, counts={"supplemented": 43, state: 1})
    assert f"1 {state}" in refused.reason


def test_publication_goes_ahead_when_every_assessment_is_supplemented_published_or_awarded():
    counts = {"supplemented": 40, "published": 3, "awarded": 1, "appraised": 0}
    assert fire("publish", P.appraisal, counts=counts) == P.published


def test_a_correction_is_published_again():
    assert fire("publish", P.published, counts={"supplemented": 1, "published": 43}) == P.published


@pytest.mark.parametrize("who", [coordinator(), director()], ids=["coordinator", "director"])
def test_the_authority_publishes_the_cycle(who):
    assert fire("publish", P.appraisal, who=who) == P.published


@pytest.mark.parametrize("who", [district_head(), system_actor("sweep")], ids=["district head", "system"])
def test_nobody_but_the_authority_publishes_the_cycle(who):
    assert refusal("publish", P.appraisal, who=who).reason.startswith("only the authority publishes")


@pytest.mark.parametrize(("phase", "trigger"), [pair for pair in LEGAL if pair[1] != "publish"])
def test_the_system_moves_every_phase_but_publication(phase, trigger):
    assert fire(trigger, phase, who=system_actor("sweep")) == PHASES[(phase, trigger)]


@pytest.mark.parametrize(("phase", "trigger"), LEGAL)
def test_a_unit_head_moves_no_phase(phase, trigger):
    assert "bmt.head" in refusal(trigger, phase, who=district_head()).reason


# --- the diagram ----------------------------------------------------------------------------------

EDGE = re.compile(r"^\s*(\w+) --> (\w+): (.+)$")


def test_the_mermaid_diagram_shows_every_move_of_the_table_and_nothing_else():
    text = cycle_machine().mermaid("Cycle")
    edges = set()
    for line in text.splitlines():
        match = EDGE.match(line)
        if match:
            source, dest, labels = match.groups()
            edges |= {(source, dest, label.strip()) for label in labels.split("|")}
    assert edges == {(source, dest, trigger) for (source, trigger), dest in PHASES.items()}
    assert not [ln for ln in text.splitlines() if ln.strip().startswith("classDef")]

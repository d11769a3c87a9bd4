"""The machines of the records that are not assessments: a unit's follow-ups after publication, a
contributor's assignment, an award proposal; and the permissions of the actions that are not moves."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from people import actor, coordinator, director, unit_officer

from cchc.models.people import Actor, system_actor
from cchc.states import award, contribution, followup
from cchc.states.guards import AwardFacts, Context, ContributionFacts, FollowUpFacts, RecordFacts
from cchc.states.machine import Move, StateMachine, TransitionNotAllowed
from cchc.states.permissions import PERMISSIONS, Action, ActionNotAllowed, authorize, refusal

AT = datetime(2022, 4, 5, 2, 0, tzinfo=UTC)
UNIT = "CAH-BHO"
F, C, A = followup.FollowUpState, contribution.ContributionState, award.AwardState

# The lifecycles written out by hand: (state, trigger) → the state after.
FOLLOW_UP = {
    (F.required, "require"): F.required,
    (F.waived, "require"): F.required,
    (F.required, "waive"): F.waived,
    (F.required, "receive"): F.received,
    (F.received, "receive"): F.received,
}
CONTRIBUTION = {
    (C.assigned, "assign"): C.assigned,
    (C.supplied, "assign"): C.assigned,
    (C.assigned, "supplied"): C.supplied,
}
AWARD = {
    (state, trigger): dest
    for state in A
    for trigger, dest in (("approve_award", A.approved), ("reject_award", A.rejected))
}


def follow_up_facts(state: str) -> FollowUpFacts:
    return FollowUpFacts(3, UNIT, "remediation", state, 2)


def contribution_facts(state: str) -> ContributionFacts:
    return ContributionFacts(4, UNIT, "CAH-BHO-X-EAKAR", state)


def award_facts(state: str) -> AwardFacts:
    return AwardFacts(5, UNIT, "group_leader", state)


MACHINES = [
    ("follow-up", followup.TRANSITIONS, followup.follow_up_machine(), FOLLOW_UP, follow_up_facts, F),
    (
        "contribution",
        contribution.TRANSITIONS,
        contribution.contribution_machine(),
        CONTRIBUTION,
        contribution_facts,
        C,
    ),
    ("award", award.TRANSITIONS, award.award_machine(), AWARD, award_facts, A),
]


def fire(machine: StateMachine, trigger: str, facts: RecordFacts, who: Actor, reason: str = "x") -> str:
    return machine.fire(trigger, facts.state, Context(actor=who, at=AT, facts=facts, reason=reason), subject=UNIT)


@pytest.mark.parametrize(("name", "table", "lifecycle"), [pytest.param(m[0], m[1], m[3], id=m[0]) for m in MACHINES])
def test_each_transition_table_is_its_documented_lifecycle(name: str, table: tuple[Move, ...], lifecycle: dict) -> None:
    moves = {(source, m.trigger): m.dest or source for m in table for source in m.source}
    assert moves == lifecycle


CASES = [
    pytest.param(name, machine, facts, state.value, trigger, id=f"{name}-{state.value}-{trigger}")
    for name, table, machine, lifecycle, facts, states in MACHINES
    for state, trigger in itertools.product(states, sorted({m.trigger for m in table}))
]


@pytest.mark.parametrize(("name", "machine", "facts", "state", "trigger"), CASES)
def test_a_move_goes_to_its_destination_and_any_other_trigger_is_refused(
    name: str, machine: StateMachine, facts, state: str, trigger: str
) -> None:
    lifecycle = {"follow-up": FOLLOW_UP, "contribution": CONTRIBUTION, "award": AWARD}[name]
    if (state, trigger) in lifecycle:
        assert fire(machine, trigger, facts(state), director()) == lifecycle[(state, trigger)]
    else:
        with pytest.raises(TransitionNotAllowed):
            fire(machine, trigger, facts(state), director())


def test_a_unit_records_its_own_document_and_nobody_else_s() -> None:
    machine = followup.follow_up_machine()
    assert fire(machine, "receive", follow_up_facts(F.required), unit_officer("focal", UNIT)) == F.received
    assert fire(machine, "receive", follow_up_facts(F.required), coordinator()) == F.received
    with pytest.raises(TransitionNotAllowed, match="is neither the head, a deputy or the focal officer of CAH-BHO"):
        fire(machine, "receive", follow_up_facts(F.required), unit_officer("focal", "CAH-CMG"))


def test_a_document_waived_by_a_corrected_publication_is_owed_no_more() -> None:
    with pytest.raises(TransitionNotAllowed, match="cannot receive from state 'waived'"):
        fire(followup.follow_up_machine(), "receive", follow_up_facts(F.waived), coordinator())


def test_only_the_authority_or_the_system_requires_and_waives() -> None:
    machine = followup.follow_up_machine()
    assert fire(machine, "waive", follow_up_facts(F.required), system_actor("remediation")) == F.waived
    with pytest.raises(TransitionNotAllowed, match="does not act for the authority"):
        fire(machine, "require", follow_up_facts(F.waived), unit_officer("head", UNIT))


def test_the_unit_reassigns_its_contributors_and_another_unit_cannot() -> None:
    machine = contribution.contribution_machine()
    assert fire(machine, "assign", contribution_facts(C.supplied), unit_officer("focal", UNIT)) == C.assigned
    with pytest.raises(TransitionNotAllowed, match="nor a coordinator"):
        fire(machine, "assign", contribution_facts(C.assigned), unit_officer("focal", "CAH-CMG"))


def test_only_the_authority_s_leadership_decides_awards_and_a_rejection_says_why() -> None:
    machine = award.award_machine()
    assert fire(machine, "approve_award", award_facts(A.proposed), director(), reason="") == A.approved
    with pytest.raises(TransitionNotAllowed, match="only the authority's head or a deputy decides awards, not"):
        fire(machine, "approve_award", award_facts(A.proposed), coordinator())
    with pytest.raises(TransitionNotAllowed, match="a reason"):
        fire(machine, "reject_award", award_facts(A.approved), director(), reason=" ")


# --- the actions that are not moves ---------------------------------------------------------------------

WHO_MAY = {  # who may take each action: the system, a coordinator, the Director, an appraiser, a unit's head
    Action.open_cycle: (True, True, True, False, False),
    Action.prepare_commitments: (True, True, True, False, False),
    Action.grant_extension: (False, True, True, False, False),
    Action.import_results: (False, True, True, False, False),
    Action.run_sweep: (False, True, False, False, False),
    Action.adjust: (False, True, True, True, False),
    Action.require_follow_ups: (False, True, True, False, False),
    Action.invite_people: (False, True, False, False, False),
}
PEOPLE = (
    system_actor("sweep"),
    coordinator(),
    actor("gd", "head"),
    actor("px05.appr1", "appraiser", unit="PX05"),
    unit_officer("head", UNIT),
)


def test_every_action_has_its_permission() -> None:
    assert set(PERMISSIONS) == set(Action) == set(WHO_MAY)


@pytest.mark.parametrize("action", list(Action))
def test_each_action_is_taken_by_whom_its_guards_let_and_refused_to_the_others_saying_who_may(action: Action) -> None:
    for person, may in zip(PEOPLE, WHO_MAY[action], strict=True):
        if may:
            authorize(action, person, AT)
        else:
            with pytest.raises(ActionNotAllowed) as refused:
                authorize(action, person, AT)
            assert person.label() in str(refused.value) and refusal(action, person, AT) == str(refused.value)

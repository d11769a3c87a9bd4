"""The reminder and escalation ladder of a deadline (models/chasing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cchc.models.calendar import ChasePolicy, EscalationStep
from cchc.models.chasing import days_late, days_left, ladder, steps_due

DUE = datetime(2021, 8, 30, 17, 0, tzinfo=UTC)  # before 31/08/2021, Asia/Ho_Chi_Minh
POLICY = ChasePolicy()


def keys(steps: list) -> list[str]:  # type: ignore[type-arg]
    return [s.key for s in steps]


def test_the_ladder_is_three_reminders_then_three_escalations_in_time_order() -> None:
    steps = ladder(POLICY, DUE)
    assert keys(steps) == ["remind-7", "remind-3", "remind-1", "escalate-1", "escalate-2", "escalate-3"]
    assert [s.due_from for s in steps] == sorted(s.due_from for s in steps)
    assert steps[3].due_from == DUE and steps[4].due_from == DUE + timedelta(days=2)
    assert steps[5].to == ("authority_leadership",)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (DUE - timedelta(days=8), []),
        (DUE - timedelta(days=7), ["remind-7"]),
        (DUE - timedelta(days=5), ["remind-7"]),
        (DUE - timedelta(days=3), ["remind-3"]),
        (DUE - timedelta(hours=1), ["remind-1"]),
        (DUE, ["escalate-1"]),
        (DUE + timedelta(days=1, hours=23), ["escalate-1"]),
        (DUE + timedelta(days=2), ["escalate-1", "escalate-2"]),
        (DUE + timedelta(days=30), ["escalate-1", "escalate-2", "escalate-3"]),
    ],
)
def test_what_is_due_with_nothing_sent_yet(as_of: datetime, expected: list[str]) -> None:
    assert keys(steps_due(POLICY, DUE, as_of, ())) == expected


def test_a_step_already_sent_is_never_due_again() -> None:
    assert steps_due(POLICY, DUE, DUE - timedelta(days=7), {"remind-7"}) == []
    assert keys(steps_due(POLICY, DUE, DUE + timedelta(days=3), {"escalate-1"})) == ["escalate-2"]
    assert steps_due(POLICY, DUE, DUE + timedelta(days=9), {"escalate-1", "escalate-2", "escalate-3"}) == []


def test_a_sweep_that_missed_days_sends_only_the_latest_reminder() -> None:
    assert keys(steps_due(POLICY, DUE, DUE - timedelta(hours=2), ())) == ["remind-1"]


def test_an_earlier_reminder_is_not_sent_after_a_later_one() -> None:
    assert steps_due(POLICY, DUE, DUE - timedelta(days=5), {"remind-3"}) == []


def test_every_escalation_fires_even_when_the_sweep_ran_late() -> None:
    late = steps_due(POLICY, DUE, DUE + timedelta(days=6), ())
    assert keys(late) == ["escalate-1", "escalate-2", "escalate-3"]
    assert [s.number for s in late] == [1, 2, 3]


def test_a_custom_policy() -> None:
    policy = ChasePolicy(reminders=(2,), remind=("focal",), escalation=(EscalationStep(1, 1, ("head",)),))
    assert keys(steps_due(policy, DUE, DUE - timedelta(days=2), ())) == ["remind-2"]
    assert steps_due(policy, DUE, DUE + timedelta(hours=23), ()) == []
    assert keys(steps_due(policy, DUE, DUE + timedelta(days=1), ())) == ["escalate-1"]


def test_days_left_and_late_are_whole_days() -> None:
    assert days_left(DUE, DUE - timedelta(days=2, hours=1)) == 3
    assert days_left(DUE, DUE - timedelta(hours=1)) == 1
    assert days_left(DUE, DUE + timedelta(hours=1)) == 0
    assert days_late(DUE, DUE + timedelta(days=2, hours=5)) == 2
    assert days_late(DUE, DUE - timedelta(days=1)) == 0

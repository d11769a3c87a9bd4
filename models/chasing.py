"""Which reminder or escalation step is due for an item with a deadline, at a given moment. Pure.

Before the deadline only the latest reminder that has come due is sent (a sweep that did not run for
a few days sends one reminder, not three). From the deadline on, every escalation step that has come
due and was not sent yet is sent, in order: a configured escalation always fires, exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cchc.models.calendar import ChasePolicy, EscalationStep, parse_chase

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Step:
    key: str  # remind-7 | escalate-2 …
    kind: str  # reminder | escalation
    due_from: datetime  # the moment the step becomes due
    to: tuple[str, ...]  # recipient roles
    days: int  # days before (reminder) or after (escalation) the deadline
    number: int = 0  # the rung of the escalation ladder


@lru_cache(maxsize=4096)
def ladder(policy: ChasePolicy, due_at: datetime) -> tuple[Step, ...]:
    """Every step of one deadline, in time order (thousands of items share a few deadlines: cached)."""
    steps = [
        Step(f"remind-{days}", "reminder", due_at - days * DAY, policy.remind, days)
        for days in sorted(policy.reminders, reverse=True)
    ]
    steps += [_escalation(e, due_at) for e in policy.escalation]
    return tuple(steps)


def _escalation(step: EscalationStep, due_at: datetime) -> Step:
    return Step(
        f"escalate-{step.number}", "escalation", due_at + step.after_days * DAY, step.to, step.after_days, step.number
    )


def steps_due(policy: ChasePolicy, due_at: datetime, as_of: datetime, done: Collection[str]) -> list[Step]:
    """The steps to send now for a deadline, given the keys of the steps already sent."""
    if as_of < due_at:
        reminders = [s for s in ladder(policy, due_at) if s.kind == "reminder" and s.due_from <= as_of]
        latest = reminders[-1:] if reminders else []
        return [s for s in latest if s.key not in done and not _later_reminder_done(s, done)]
    return [s for s in ladder(policy, due_at) if s.kind == "escalation" and s.due_from <= as_of and s.key not in done]


def _later_reminder_done(step: Step, done: Collection[str]) -> bool:
    """A reminder closer to the deadline was already sent (the policy changed, or time went back)."""
    return any(k.startswith("remind-") and int(k.split("-")[1]) < step.days for k in done)


def days_left(due_at: datetime, as_of: datetime) -> int:
    """Whole days left before a deadline, rounded up (a deadline tomorrow morning is 1 day away)."""
    return max(0, math.ceil((due_at - as_of) / DAY))


def days_late(due_at: datetime, as_of: datetime) -> int:
    return max(0, math.floor((as_of - due_at) / DAY))


def policy_from(data: object) -> ChasePolicy:
    """A stored policy (the cycle's canonical JSON, parsed) back as a ChasePolicy."""
    problems: list[str] = []
    policy = parse_chase(data, problems) if data else ChasePolicy()
    if problems:
        raise ValueError("; ".join(problems))
    return policy

"""Every state, trigger, role and event a person may read has its words in the one vocabulary."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest

from cchc.models.audit import Event
from cchc.models.calendar import Phase, RecipientRole
from cchc.models.org import Role
from cchc.notifications.outbox import MessageStatus
from cchc.states import assessment, award, commitment, contribution, cycle, followup
from cchc.states.labels import (
    AWARD_LABELS,
    COMMITMENT_LABELS,
    CONTRIBUTION_LABELS,
    CYCLE_PHASE_LABELS,
    FOLLOW_UP_LABELS,
    MESSAGE_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
    TASK_PHRASES,
    TRIGGER_LABELS,
    task_label,
    trigger_label,
)

FLOWS = Path(__file__).resolve().parents[2] / "flows"
VOCABULARIES: list[tuple[type[StrEnum], dict[str, str]]] = [
    (assessment.AssessmentState, STATE_LABELS),
    (cycle.CyclePhase, CYCLE_PHASE_LABELS),
    (commitment.CommitmentState, COMMITMENT_LABELS),
    (followup.FollowUpState, FOLLOW_UP_LABELS),
    (contribution.ContributionState, CONTRIBUTION_LABELS),
    (award.AwardState, AWARD_LABELS),
    (Role, ROLE_LABELS),
    (RecipientRole, ROLE_LABELS),
    (MessageStatus, MESSAGE_LABELS),
    (Event, TRIGGER_LABELS),
]
MACHINES = [
    assessment.TRANSITIONS,
    cycle.TRANSITIONS,
    commitment.TRANSITIONS,
    followup.TRANSITIONS,
    contribution.TRANSITIONS,
    award.TRANSITIONS,
]


def said(words: str, code: str) -> bool:
    """Words a person reads: not empty, not the code itself."""
    return bool(words.strip()) and words != code and "_" not in words


@pytest.mark.parametrize(("enum", "labels"), VOCABULARIES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_member_of_each_enum_has_its_words(enum: type[StrEnum], labels: dict[str, str]) -> None:
    missing = [member.value for member in enum if not said(labels.get(member, ""), member.value)]
    assert missing == []
    assert set(labels) - {m.value for e, table in VOCABULARIES if table is labels for m in e} <= {
        t.trigger for moves in MACHINES for t in moves
    }, "a label for nothing"


def test_every_trigger_of_every_machine_has_its_words() -> None:
    missing = [m.trigger for moves in MACHINES for m in moves if not said(trigger_label(m.trigger), m.trigger)]
    assert missing == []


def test_every_deadline_asks_its_task_in_vietnamese_and_in_english() -> None:
    for phase in Phase:
        assert said(TASK_PHRASES[phase]["vi"], phase) and said(TASK_PHRASES[phase]["en"], phase), phase
    assert task_label(Phase.plan) == "Gửi kế hoạch CCHC của đơn vị"


def _strings(value: ast.expr) -> list[ast.Constant]:
    """The string literals a trigger's expression may give (either side of a conditional)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value]
    if isinstance(value, ast.IfExp):
        return _strings(value.body) + _strings(value.orelse)
    return []


def test_the_flows_name_their_events_by_the_enum_never_by_a_bare_string() -> None:
    """So that an event cannot be written without its words: `trigger=Event.extend`, not `trigger="extend"`."""
    bare = []
    for path in FLOWS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "EventDraft"):
                continue
            for value in (k.value for k in node.keywords if k.arg == "trigger"):
                bare += [f"{path.relative_to(FLOWS)}:{c.lineno} {c.value!r}" for c in _strings(value)]
    assert bare == []

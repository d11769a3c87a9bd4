"""Award rules as data, applied to published results only (a unit's self-score can never reach here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cchc.models.datafile import DataFileError, Entry, as_code, as_int, read_yaml

HEAD_OUTCOMES = ("not_considered", "lowered_one_grade")


@dataclass(frozen=True)
class CollectiveRule:
    rule: str
    name: str
    outcome: str
    classes: tuple[str, ...] = ()
    top: int | None = None


@dataclass(frozen=True)
class HeadRule:
    rule: str
    name: str
    classes: tuple[str, ...]
    outcome: str


@dataclass(frozen=True)
class AwardRules:
    collective: tuple[CollectiveRule, ...]
    head: HeadRule | None


@dataclass(frozen=True)
class PublishedUnit:
    """What award rules may read: the published result, nothing else."""

    assessment_id: int
    unit: str
    group: str
    class_code: str
    rank: int


@dataclass(frozen=True)
class Proposal:
    assessment_id: int
    unit: str
    rule: str
    kind: str  # collective | head
    outcome: str


def _codes(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("should be a non-empty list of class codes")
    return tuple(as_code(v) for v in value)


def parse_rules(data: Any, path: str = "<awards>") -> AwardRules:
    problems: list[str] = []
    top = Entry(data, "", problems, ("collective", "head"))
    collective = []
    for i, raw in enumerate(top.items("collective", required=False), 1):
        entry = Entry(raw, f"collective #{i}", problems, ("rule", "name", "classes", "top", "outcome"))
        rule = CollectiveRule(
            rule=entry.get("rule", as_code, default=f"#{i}"),
            name=entry.line("name"),
            outcome=entry.get("outcome", as_code, default=""),
            classes=entry.get("classes", _codes, required=False, default=()),
            top=entry.get("top", as_int, required=False, default=None),
        )
        if bool(rule.classes) == (rule.top is not None):
            entry.problem("give either 'classes' or 'top'")
        if rule.top is not None and rule.top < 1:
            entry.problem("'top' should be 1 or more")
        collective.append(rule)
    head = None
    if "head" in top.data:
        entry = Entry(top.data["head"], "head", problems, ("rule", "name", "classes", "outcome"))
        head = HeadRule(
            rule=entry.get("rule", as_code, default="head"),
            name=entry.line("name"),
            classes=entry.get("classes", _codes, default=()),
            outcome=entry.get("outcome", as_code, default=""),
        )
        if head.outcome not in HEAD_OUTCOMES:
            entry.problem(f"'outcome' should be one of {', '.join(HEAD_OUTCOMES)}")
    if problems:
        raise DataFileError(path, problems)
    return AwardRules(tuple(collective), head)


def load_rules(path: Path) -> AwardRules:
    return parse_rules(read_yaml(path), str(path))


def propose_awards(units: Sequence[PublishedUnit], rules: AwardRules) -> list[Proposal]:
    """Proposals for collectives and the standing of heads, by the rules, from published results."""
    proposals: list[Proposal] = []
    for u in sorted(units, key=lambda x: (x.group, x.rank, x.unit)):
        for rule in rules.collective:
            if (rule.classes and u.class_code in rule.classes) or (rule.top is not None and u.rank <= rule.top):
                proposals.append(Proposal(u.assessment_id, u.unit, rule.rule, "collective", rule.outcome))
        if rules.head is not None and u.class_code in rules.head.classes:
            proposals.append(Proposal(u.assessment_id, u.unit, rules.head.rule, "head", rules.head.outcome))
    return proposals

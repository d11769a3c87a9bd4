"""Who must remediate after publication, by rules kept as data (config/remediation.yaml).

Kế hoạch 003 item 3: a unit rated "Hoàn thành nhiệm vụ" (or lower), or whose sub-index in the fields of
administrative procedure reform or e-government is below 75 % of the field's maximum, sends a remediation
plan by a deadline; every unit registers next year's breakthrough work by the same kind of deadline.
The comparison is exact (points × 100 < threshold × maximum), never on a rounded percentage: 74,996 % is
below 75 % even though it prints as 75,00.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from cchc.models.datafile import DataFileError, Entry, as_bool, as_code, as_decimal, read_yaml
from cchc.models.formats import vn_number
from cchc.models.scoring import pct

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class RemediationRules:
    classes: tuple[str, ...]  # published classes that require a plan
    field_tags: tuple[str, ...]  # framework field tags whose sub-index is checked
    below_pct: Decimal  # a field strictly below this share of its maximum requires a plan
    breakthrough: bool  # every unit registers next year's breakthrough work


@dataclass(frozen=True)
class FieldScore:
    code: str
    name: str
    tags: tuple[str, ...]
    points: Decimal
    max_points: Decimal


def _codes(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("should be a list of codes")
    return tuple(as_code(v) for v in value)


def parse_rules(data: Any, path: str = "<remediation>") -> RemediationRules:
    problems: list[str] = []
    top = Entry(data, "", problems, ("classes", "field_tags", "below_pct", "breakthrough"))
    rules = RemediationRules(
        classes=top.get("classes", _codes, default=()),
        field_tags=top.get("field_tags", _codes, required=False, default=()),
        below_pct=top.get("below_pct", as_decimal, required=bool(top.data.get("field_tags")), default=Decimal(0)),
        breakthrough=top.get("breakthrough", as_bool, required=False, default=False),
    )
    if not Decimal(0) < rules.below_pct <= HUNDRED and rules.field_tags:
        top.problem("'below_pct' should be a percentage above 0 and at most 100")
    if problems:
        raise DataFileError(path, problems)
    return rules


def load_rules(path: Path) -> RemediationRules:
    return parse_rules(read_yaml(path), str(path))


def remediation_reasons(
    class_code: str, class_name: str, fields: Sequence[FieldScore], rules: RemediationRules
) -> list[str]:
    """Why a published unit must send a remediation plan (Vietnamese sentences); empty if it need not."""
    reasons = []
    if class_code in rules.classes:
        reasons.append(f"xếp loại {class_name}")
    for f in fields:
        if f.max_points > 0 and set(f.tags) & set(rules.field_tags):
            if f.points * HUNDRED < rules.below_pct * f.max_points:
                reasons.append(
                    f"lĩnh vực {f.code} ({f.name}) đạt {vn_number(f.points)}/{vn_number(f.max_points)} điểm, "
                    f"{vn_number(pct(f.points, f.max_points))} % — dưới {vn_number(rules.below_pct, 0)} % "
                    "số điểm tối đa"
                )
    return reasons


def fields_of(
    points: Mapping[str, tuple[Decimal, Decimal]], names: Mapping[str, tuple[str, tuple[str, ...]]]
) -> list[FieldScore]:
    """A unit's published fields (code → (points, maximum)) with the framework's names and tags."""
    return [
        FieldScore(code, names.get(code, (code, ()))[0], names.get(code, (code, ()))[1], p, m)
        for code, (p, m) in sorted(points.items())
    ]

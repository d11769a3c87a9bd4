"""The remediation rule: a class, or a tagged field strictly below 75 % of its maximum, compared exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cchc.config.settings import get_settings
from cchc.models.datafile import DataFileError
from cchc.models.remediation import FieldScore, load_rules, parse_rules, remediation_reasons

RULES = load_rules(get_settings().config_dir / "remediation.yaml")


def _tthc(points: str, maximum: str = "100") -> list[FieldScore]:
    return [FieldScore("3", "Cải cách thủ tục hành chính", ("tthc",), Decimal(points), Decimal(maximum))]


def test_the_shipped_rules_are_the_seed_s() -> None:
    assert RULES.classes == ("hoan_thanh", "chua_hoan_thanh")
    assert RULES.field_tags == ("tthc", "e_government") and RULES.below_pct == 75 and RULES.breakthrough


@pytest.mark.parametrize(
    ("points", "maximum", "owed"),
    [
        ("74.99", "100", True),
        ("75.00", "100", False),
        ("75.01", "100", False),
        ("10.49", "14", True),  # 74,93 %
        ("10.50", "14", False),  # 75,00 % exactly
        ("74.999", "100", True),  # prints as 75,00 % but is below: the rule never reads a rounded figure
        ("0", "0", False),  # a field that does not apply at all
    ],
)
def test_a_field_below_75_percent_and_only_below_requires_a_plan(points: str, maximum: str, owed: bool) -> None:
    assert bool(remediation_reasons("tot", "Tốt", _tthc(points, maximum), RULES)) is owed


def test_untagged_fields_and_good_classes_require_nothing() -> None:
    other = [FieldScore("1", "Chỉ đạo điều hành", (), Decimal("10"), Decimal("100"))]
    assert remediation_reasons("xuat_sac", "Xuất sắc", other, RULES) == []
    assert remediation_reasons("hoan_thanh", "Hoàn thành nhiệm vụ", other, RULES) == ["xếp loại Hoàn thành nhiệm vụ"]


def test_every_reason_is_given() -> None:
    fields = _tthc("50", "100") + [FieldScore("7", "Hiện đại hóa", ("e_government",), Decimal("8"), Decimal("17"))]
    reasons = remediation_reasons("chua_hoan_thanh", "Chưa hoàn thành nhiệm vụ", fields, RULES)
    assert len(reasons) == 3 and "8,00/17,00 điểm, 47,06 %" in reasons[2]


def test_a_bad_rules_file_names_each_problem() -> None:
    with pytest.raises(DataFileError) as refused:
        parse_rules({"classes": "hoan_thanh", "field_tags": ["tthc"], "below_pct": "120", "extra": 1}, "r.yaml")
    text = str(refused.value)
    assert "r.yaml" in text and "'classes': should be a list of codes" in text
    assert "unknown key 'extra'" in text and "'below_pct' should be a percentage above 0 and at most 100" in text

"""The scoring rules (DOMAIN.md "Appraised" and "Published") on exact decimals: models/scoring.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import pytest

from cchc.config import CONFIG_DIR
from cchc.models.framework import FrameworkDef, Metric, SubCriterion, framework_path, load_framework
from cchc.models.scoring import (
    UnitTotals,
    apply_adjustments,
    appraise_sub,
    classify,
    competition_ranks,
    group_statistics,
    index_pct,
    is_on_time,
    measured_points,
    outcomes,
    parse_metric,
)

D = Decimal


# --- factories ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def cah_2021() -> FrameworkDef:
    return load_framework(framework_path(CONFIG_DIR, "cah-2021"))


def judged(max_points: str = "1.00", *, evidence: bool = True) -> SubCriterion:
    return SubCriterion(
        code="1.1.1",
        name="Ban hành kế hoạch CCHC năm",
        max_points=D(max_points),
        evidence_required=evidence,
        method="judged",
        field_code="1",
        criterion_code="1.1",
    )


def measured(method: str, max_points: str = "1.00", *, evidence: bool = True, **metric: str) -> SubCriterion:
    kind = "count" if method == "count" else "ratio"
    return SubCriterion(
        code="3.3.2",
        name="Tỷ lệ hồ sơ trả kết quả qua dịch vụ bưu chính công ích",
        max_points=D(max_points),
        evidence_required=evidence,
        method=method,
        field_code="3",
        criterion_code="3.3",
        metric=Metric(kind=kind, label="hồ sơ", **{k: D(v) for k, v in metric.items()}),
    )


def threshold_sub(threshold: str = "0.20", max_points: str = "1.00") -> SubCriterion:
    return measured("threshold", max_points, threshold=threshold)


def proportional_sub(target: str = "1.00", max_points: str = "1.00") -> SubCriterion:
    return measured("proportional", max_points, target=target)


def count_sub(per_item: str = "0.50", max_points: str = "1.00") -> SubCriterion:
    return measured("count", max_points, per_item=per_item)


def totals(
    unit: str,
    group: str = "cah",
    appraised: str = "90.00",
    applicable_max: str = "100.00",
    *,
    bonus: str = "0.00",
    penalty: str = "0.00",
    fields: dict[str, tuple[str, str]] | None = None,
) -> UnitTotals:
    return UnitTotals(
        assessment_id=0,
        unit_code=unit,
        unit_name=f"Đơn vị {unit}",
        group=group,
        self_total=D(appraised),
        appraised_total=D(appraised),
        applicable_max=D(applicable_max),
        bonus=D(bonus),
        penalty=D(penalty),
        on_time=True,
        fields={code: (D(p), D(m)) for code, (p, m) in (fields or {}).items()},
    )


def bands_for(*groups: str) -> dict[str, tuple]:
    return {group: cah_2021().classes for group in groups}


# --- appraise_sub ---------------------------------------------------------------------------------


def test_a_not_applicable_sub_criterion_has_no_points():
    result = appraise_sub(judged(), self_points=D("1.00"), not_applicable=True, evidence="91/KH-CAH", metric=None)
    assert result.points is None
    assert result.rule == "not_applicable"


@pytest.mark.parametrize("evidence", ["", "   ", "\t\n"])
def test_a_sub_criterion_that_requires_evidence_and_has_none_is_appraised_zero(evidence):
    result = appraise_sub(judged(), self_points=D("1.00"), not_applicable=False, evidence=evidence, metric=None)
    assert result.points == D("0.00")
    assert result.rule == "no_evidence"


def test_missing_evidence_scores_zero_even_when_the_appraiser_gave_points():
    result = appraise_sub(
        judged(), self_points=D("1.00"), not_applicable=False, evidence=" ", metric=None, appraiser_points=D("0.75")
    )
    assert result.points == D("0.00")
    assert result.rule == "no_evidence"


def test_missing_evidence_on_a_measured_sub_criterion_scores_zero_whatever_the_metric():
    result = appraise_sub(threshold_sub(), self_points=None, not_applicable=False, evidence="", metric="50/100")
    assert result.points == D("0.00")
    assert result.rule == "no_evidence"


def test_a_sub_criterion_that_does_not_require_evidence_is_accepted_without_it():
    result = appraise_sub(
        judged("0.50", evidence=False), self_points=D("0.50"), not_applicable=False, evidence="", metric=None
    )
    assert result.points == D("0.50")
    assert result.rule == "accepted"


def test_the_appraisers_points_win_over_the_self_score():
    result = appraise_sub(
        judged(),
        self_points=D("1.00"),
        not_applicable=False,
        evidence="91/KH-CAH",
        metric=None,
        appraiser_points=D("0.25"),
    )
    assert result.points == D("0.25")
    assert result.rule == "appraiser"


def test_the_appraisers_points_win_over_a_metric():
    result = appraise_sub(
        threshold_sub(),
        self_points=None,
        not_applicable=False,
        evidence="BC 12/BC",
        metric="50/100",
        appraiser_points=D("0.00"),
    )
    assert result.points == D("0.00")
    assert result.rule == "appraiser"


@pytest.mark.parametrize("metric", [None, "", "   "])
def test_a_measured_sub_criterion_without_a_metric_is_appraised_zero(metric):
    result = appraise_sub(threshold_sub(), self_points=D("1.00"), not_applicable=False, evidence="x", metric=metric)
    assert result.points == D("0.00")
    assert result.rule == "no_metric"


def test_a_measured_sub_criterion_is_appraised_from_its_metric_not_the_self_score():
    result = appraise_sub(threshold_sub(), self_points=D("0.00"), not_applicable=False, evidence="x", metric="20/100")
    assert result.points == D("1.00")
    assert result.rule == "measured"


@pytest.mark.parametrize(
    ("self_points", "expected"),
    [("0.75", "0.75"), ("0.00", "0.00"), ("1.00", "1.00"), ("1.50", "1.00"), ("-0.25", "0.00")],
)
def test_a_judged_self_score_is_accepted_within_zero_and_the_maximum(self_points, expected):
    result = appraise_sub(judged("1.00"), self_points=D(self_points), not_applicable=False, evidence="x", metric=None)
    assert result.points == D(expected)
    assert result.rule == "accepted"


def test_a_judged_sub_criterion_without_a_self_score_is_appraised_zero():
    result = appraise_sub(judged(), self_points=None, not_applicable=False, evidence="x", metric=None)
    assert result.points == D("0.00")
    assert result.rule == "unscored"


def test_appraisal_is_deterministic():
    sub = proportional_sub("0.50", "1.50")
    kwargs = {"self_points": None, "not_applicable": False, "evidence": "x", "metric": "1/3"}
    assert appraise_sub(sub, **kwargs) == appraise_sub(sub, **kwargs)


# --- measured sub-criteria ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("20/100", "1.00"), ("1/5", "1.00"), ("100/100", "1.00"), ("19/100", "0.00"), ("0/100", "0.00")],
)
def test_a_threshold_gives_full_points_from_exactly_the_threshold_and_nothing_below(metric, expected):
    assert measured_points(threshold_sub("0.20"), parse_metric(metric, "ratio")) == D(expected)


@pytest.mark.parametrize(
    ("target", "metric", "expected"),
    [
        ("1.00", "45/100", "0.45"),
        ("1.00", "1/8", "0.13"),  # 0.125 rounds half-up, not to even
        ("1.00", "3/8", "0.38"),
        ("0.50", "25/100", "0.50"),
        ("0.50", "50/100", "1.00"),
        ("0.50", "90/100", "1.00"),  # capped at the maximum
        ("1.00", "0/10", "0.00"),
    ],
)
def test_proportional_points_are_the_share_of_the_target_capped_and_rounded_half_up(target, metric, expected):
    assert measured_points(proportional_sub(target, "1.00"), parse_metric(metric, "ratio")) == D(expected)


def test_proportional_points_of_a_third_round_to_the_nearest_hundredth():
    assert measured_points(proportional_sub("0.50", "1.50"), parse_metric("1/3", "ratio")) == D("1.00")


@pytest.mark.parametrize(
    ("count", "expected"),
    [("0", "0.00"), ("1", "0.50"), ("2", "1.00"), ("3", "1.00"), ("40", "1.00")],
)
def test_count_points_are_per_item_capped_at_the_maximum(count, expected):
    assert measured_points(count_sub("0.50", "1.00"), parse_metric(count, "count")) == D(expected)


def test_count_points_are_rounded_half_up():
    assert measured_points(count_sub("0.125", "2.00"), parse_metric("1", "count")) == D("0.13")
    assert measured_points(count_sub("0.125", "2.00"), parse_metric("3", "count")) == D("0.38")


def test_measured_points_are_exact_two_decimal_decimals():
    points = measured_points(proportional_sub("1.00", "1.00"), parse_metric("2/3", "ratio"))
    assert str(points) == "0.67"


def test_a_ratio_metric_is_parsed_into_its_two_counts():
    metric = parse_metric(" 45/200 ", "ratio")
    assert (metric.numerator, metric.denominator) == (D(45), D(200))
    assert metric.value == D("0.225")
    assert str(metric) == "45/200"


def test_a_count_metric_is_parsed_into_one_number():
    metric = parse_metric("3", "count")
    assert metric.denominator is None
    assert metric.value == D(3)
    assert str(metric) == "3"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("45", "ratio of two counts"),
        ("1/2/3", "ratio of two counts"),
        ("a/b", "not a number"),
        ("5/0", "more than 0"),
        ("5/-2", "more than 0"),
        ("6/5", "between 0 and the total"),
        ("-1/5", "between 0 and the total"),
    ],
)
def test_a_ratio_metric_that_does_not_fit_is_refused_with_a_sentence(text, words):
    with pytest.raises(ValueError, match=words):
        parse_metric(text, "ratio")


@pytest.mark.parametrize(("text", "words"), [("3/4", "single count"), ("-1", "negative"), ("ba", "not a number")])
def test_a_count_metric_that_does_not_fit_is_refused_with_a_sentence(text, words):
    with pytest.raises(ValueError, match=words):
        parse_metric(text, "count")


@pytest.mark.parametrize(("text", "kind"), [("1.5", "count"), ("2,5", "count"), ("4.5/10", "ratio")])
def test_a_metric_counts_whole_things(text, kind):
    """Articles, dossiers and survey forms are counted: "1.5 articles" is a typing error, not a count."""
    with pytest.raises(ValueError):
        parse_metric(text, kind)


# --- index ----------------------------------------------------------------------------------------


def test_the_index_is_the_share_of_the_applicable_maximum_rounded_half_up_to_two_decimals():
    # 100 points, 10 not applicable: 85 of the 90 that apply.
    assert str(index_pct(D("85.00"), D("0.00"), D("0.00"), D("90.00"))) == "94.44"


def test_the_index_counts_bonus_and_penalty():
    assert index_pct(D("85.00"), D("4.00"), D("2.00"), D("100.00")) == D("87.00")


def test_the_index_rounds_half_up():
    # 189.99 of 200 is 94.995 %.
    assert index_pct(D("189.99"), D("0.00"), D("0.00"), D("200.00")) == D("95.00")
    # 2.25 of 8 is 28.125 %.
    assert index_pct(D("2.25"), D("0.00"), D("0.00"), D("8.00")) == D("28.13")


def test_the_index_never_passes_one_hundred():
    assert str(index_pct(D("99.00"), D("4.00"), D("0.00"), D("100.00"))) == "100.00"


def test_the_index_never_falls_below_zero():
    assert str(index_pct(D("1.00"), D("0.00"), D("4.00"), D("100.00"))) == "0.00"


def test_the_index_of_nothing_applicable_is_zero():
    assert str(index_pct(D("0.00"), D("2.00"), D("0.00"), D("0.00"))) == "0.00"


# --- classification -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "band"),
    [
        ("100.00", "xuat_sac"),
        ("95.00", "xuat_sac"),
        ("94.99", "tot"),
        ("80.00", "tot"),
        ("79.99", "kha"),
        ("70", "kha"),
        ("69.99", "hoan_thanh"),
        ("50", "hoan_thanh"),
        ("49.99", "chua_hoan_thanh"),
        ("0", "chua_hoan_thanh"),
    ],
)
def test_an_index_falls_in_the_band_whose_minimum_it_reaches(index, band):
    assert classify(D(index), cah_2021().classes).code == band


def test_the_class_is_decided_on_the_published_rounded_index():
    published = index_pct(D("189.99"), D("0.00"), D("0.00"), D("200.00"))  # 94.995 %
    band = classify(published, cah_2021().classes)
    assert band.code == "xuat_sac"
    assert band.name == "Xuất sắc"


# --- bonus and penalty ----------------------------------------------------------------------------


def test_the_timeliness_bonus_counts_when_reported_on_time():
    result = apply_adjustments(cah_2021().adjustments, ["B1"], on_time=True)
    assert (result.bonus, result.penalty) == (D("2.00"), D("0.00"))
    assert result.applied == ("B1",)
    assert result.withheld == ()


def test_the_timeliness_bonus_is_withheld_when_reported_late():
    result = apply_adjustments(cah_2021().adjustments, ["B1", "B2"], on_time=False)
    assert result.bonus == D("2.00")
    assert result.applied == ("B2",)
    assert [code for code, _ in result.withheld] == ["B1"]
    assert "deadline" in result.withheld[0][1]


@pytest.mark.parametrize("on_time", [True, False])
def test_the_breakthrough_bonus_counts_whenever_granted(on_time):
    assert apply_adjustments(cah_2021().adjustments, ["B2"], on_time=on_time).bonus == D("2.00")


def test_penalties_are_summed_apart_from_bonuses():
    result = apply_adjustments(cah_2021().adjustments, ["P2", "B1", "P1", "B2"], on_time=True)
    assert (result.bonus, result.penalty) == (D("4.00"), D("4.00"))
    assert result.applied == ("B1", "B2", "P1", "P2")


def test_an_item_granted_twice_counts_once():
    assert apply_adjustments(cah_2021().adjustments, ["P1", "P1"], on_time=True).penalty == D("2.00")


def test_an_unknown_item_is_withheld_and_counts_nothing():
    result = apply_adjustments(cah_2021().adjustments, ["B9"], on_time=True)
    assert (result.bonus, result.penalty) == (D("0.00"), D("0.00"))
    assert result.applied == ()
    assert result.withheld == (("B9", "not an item of this framework"),)


DUE = datetime(2021, 8, 30, 17, 0, tzinfo=UTC)  # before 31/08/2021 in Asia/Ho_Chi_Minh


@pytest.mark.parametrize(
    ("submitted", "due", "on_time"),
    [
        (DUE - timedelta(seconds=1), DUE, True),
        (DUE, DUE, False),
        (DUE + timedelta(days=2), DUE, False),
        (None, DUE, False),
        (None, None, False),
        (DUE + timedelta(days=400), None, True),
    ],
)
def test_on_time_means_strictly_before_the_deadline(submitted, due, on_time):
    assert is_on_time(submitted, due) is on_time


# --- ranks, outcomes, statistics ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "ranks"),
    [
        (["90", "95", "95", "80"], [3, 1, 1, 4]),
        (["70", "70", "70"], [1, 1, 1]),
        (["50", "60", "70"], [3, 2, 1]),
        (["88.10"], [1]),
        ([], []),
    ],
)
def test_equal_indexes_share_a_rank_and_the_next_rank_is_skipped(values, ranks):
    assert competition_ranks([D(v) for v in values]) == ranks


def test_units_are_ranked_within_their_own_group():
    result = outcomes(
        [
            totals("CAH-A", "cah", "90.00"),
            totals("TTHC-X", "tthc", "80.00"),
            totals("CAH-B", "cah", "95.00"),
            totals("TTHC-Y", "tthc", "70.00"),
            totals("CAH-C", "cah", "95.00"),
        ],
        bands_for("cah", "tthc"),
    )
    assert [(o.totals.unit_code, o.rank) for o in result] == [
        ("CAH-B", 1),
        ("CAH-C", 1),
        ("CAH-A", 3),
        ("TTHC-X", 1),
        ("TTHC-Y", 2),
    ]


def test_an_outcome_carries_the_index_and_class_after_bonus_and_penalty():
    (outcome,) = outcomes([totals("CAH-A", appraised="93.00", bonus="4.00", penalty="2.00")], bands_for("cah"))
    assert outcome.index == D("95.00")
    assert (outcome.class_code, outcome.class_name) == ("xuat_sac", "Xuất sắc")


def test_an_outcome_of_a_unit_with_not_applicable_criteria_is_a_share_of_what_applies():
    (outcome,) = outcomes([totals("CAH-A", appraised="85.00", applicable_max="90.00")], bands_for("cah"))
    assert outcome.index == D("94.44")
    assert outcome.class_code == "tot"


def test_an_outcome_compares_with_last_year():
    result = outcomes(
        [totals("CAH-A", appraised="90.00"), totals("CAH-B", appraised="95.00"), totals("CAH-C", appraised="80.00")],
        bands_for("cah"),
        previous={"CAH-A": (D("85.50"), 1), "CAH-C": (D("82.25"), 3)},
    )
    by_unit = {o.totals.unit_code: o for o in result}
    assert by_unit["CAH-A"].index_change == D("4.50")
    assert by_unit["CAH-A"].rank_change == -1  # from 1st to 2nd
    assert by_unit["CAH-C"].index_change == D("-2.25")
    assert by_unit["CAH-C"].rank_change == 0
    assert by_unit["CAH-B"].index_change is None
    assert by_unit["CAH-B"].rank_change is None


def test_a_unit_that_moved_up_has_a_positive_rank_change():
    result = outcomes([totals("CAH-A", appraised="99.00"), totals("CAH-B")], bands_for("cah"), {"CAH-A": (D(80), 2)})
    assert result[0].totals.unit_code == "CAH-A"
    assert result[0].rank_change == 1


def group_of_four() -> list:
    return outcomes(
        [
            totals(
                "CAH-A",
                appraised="96.00",
                fields={"1": ("9.50", "10.00"), "2": ("5.00", "5.00"), "3": ("9.00", "10.00"), "4": ("0.00", "0.00")},
            ),
            totals(
                "CAH-B",
                appraised="85.00",
                fields={"1": ("9.00", "10.00"), "2": ("5.00", "5.00"), "3": ("9.00", "10.00"), "4": ("0.00", "0.00")},
            ),
            totals(
                "CAH-C",
                appraised="85.00",
                fields={"1": ("9.20", "10.00"), "2": ("4.50", "5.00"), "3": ("9.00", "10.00"), "4": ("0.00", "0.00")},
            ),
            totals(
                "CAH-D",
                appraised="45.50",
                fields={"1": ("4.00", "10.00"), "2": ("4.60", "5.00"), "3": ("9.00", "10.00"), "4": ("0.00", "0.00")},
            ),
        ],
        bands_for("cah"),
    )


def test_group_statistics_count_the_units_of_each_class():
    stats = group_statistics(group_of_four(), cah_2021().classes)
    assert stats.group == "cah"
    assert stats.count == 4
    assert stats.by_class == {"xuat_sac": 1, "tot": 2, "kha": 0, "hoan_thanh": 0, "chua_hoan_thanh": 1}


def test_group_statistics_average_the_indexes_rounded_half_up():
    # (96 + 85 + 85 + 45.5) / 4 = 77.875
    assert str(group_statistics(group_of_four(), cah_2021().classes).average) == "77.88"


def test_group_statistics_name_the_best_unit():
    stats = group_statistics(group_of_four(), cah_2021().classes)
    assert (stats.best_unit, stats.best_index) == ("CAH-A", D("96.00"))


def test_group_statistics_average_each_field_as_a_share_of_its_maximum():
    stats = group_statistics(group_of_four(), cah_2021().classes)
    # field 1: 95, 90, 92, 40 %; field 2: 100, 100, 90, 92 %; field 3: 90 % each; field 4 has no maximum.
    assert stats.field_averages == {"1": D("79.25"), "2": D("95.50"), "3": D("90.00")}


def test_only_fields_averaging_strictly_over_90_percent_are_counted():
    assert group_statistics(group_of_four(), cah_2021().classes).fields_over_90 == 1

"""Frameworks as versioned data files (models/framework.py) and how data files are read (models/datafile.py)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from cchc.config import CONFIG_DIR
from cchc.models.datafile import DataFileError
from cchc.models.framework import framework_path, load_framework, parse_framework

D = Decimal
SHIPPED = sorted((CONFIG_DIR / "frameworks").glob("*.yaml"))


# --- factories ------------------------------------------------------------------------------------


def sub(code: str, max_points: str = "1.00", **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Tiêu chí thành phần {code}",
        "max": max_points,
        "evidence": True,
        "method": "judged",
        **extra,
    }


def framework_data(**overrides: Any) -> dict[str, Any]:
    """A small framework that adds up: 2 fields, 3 criteria, 5 sub-criteria, 10 points."""
    data: dict[str, Any] = {
        "code": "test-2021",
        "version": 1,
        "year": 2021,
        "group": "cah",
        "title": "Bộ tiêu chí thử",
        "source": "Kế hoạch 91/KH-CAH",
        "illustrative": True,
        "note": "minh họa",
        "total_points": "10",
        "classification": [
            {"code": "xuat_sac", "name": "Xuất sắc", "min": "95"},
            {"code": "tot", "name": "Tốt", "min": "80"},
            {"code": "kha", "name": "Khá", "min": "70"},
            {"code": "hoan_thanh", "name": "Hoàn thành nhiệm vụ", "min": "50"},
            {"code": "chua_hoan_thanh", "name": "Chưa hoàn thành nhiệm vụ", "min": "0"},
        ],
        "adjustments": [
            {"code": "B1", "kind": "bonus", "points": "2", "requires": "on_time", "name": "Báo cáo đúng hạn"},
            {"code": "P1", "kind": "penalty", "points": "2", "name": "Trì trệ"},
        ],
        "fields": [
            {
                "code": "1",
                "name": "Công tác chỉ đạo điều hành CCHC",
                "criteria": [
                    {"code": "1.1", "name": "Kế hoạch", "subcriteria": [sub("1.1.1", "2.00"), sub("1.1.2", "1.50")]},
                    {"code": "1.2", "name": "Báo cáo", "subcriteria": [sub("1.2.1", "1.50")]},
                ],
            },
            {
                "code": "2",
                "name": "Cải cách TTHC",
                "criteria": [
                    {
                        "code": "2.1",
                        "name": "Bưu chính công ích",
                        "subcriteria": [
                            sub("2.1.1", "3.00"),
                            sub(
                                "2.1.2",
                                "2.00",
                                method="threshold",
                                metric={"kind": "ratio", "label": "hồ sơ qua bưu chính", "threshold": "0.20"},
                            ),
                        ],
                    }
                ],
            },
        ],
    }
    data.update(overrides)
    return data


def a_sub(data: dict[str, Any], code: str) -> dict[str, Any]:
    """The sub-criterion `code` of framework data, to change it in place."""
    for field in data["fields"]:
        for criterion in field["criteria"]:
            for s in criterion["subcriteria"]:
                if s["code"] == code:
                    return s
    raise KeyError(code)


def problems_of(data: Any) -> list[str]:
    with pytest.raises(DataFileError) as refused:
        parse_framework(data, path="test.yaml")
    return refused.value.problems


def a_problem(data: Any, *words: str) -> str:
    """The one problem that mentions every word (fails when none does)."""
    problems = problems_of(data)
    matching = [p for p in problems if all(w in p for w in words)]
    assert matching, f"no problem mentions {words}: {problems}"
    return matching[0]


# --- the shipped frameworks -----------------------------------------------------------------------


def test_there_are_shipped_frameworks():
    assert {p.stem for p in SHIPPED} >= {"cah-2021", "cat-tthc-2021", "cat-ktthc-2021"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_framework_loads_and_adds_up_to_its_total(path):
    framework = load_framework(path)
    assert framework.code == path.stem
    assert framework.total_points == D("100")
    assert sum((f.max_points for f in framework.fields), D(0)) == framework.total_points
    assert len(framework.sha256) == 64
    assert framework.illustrative is True


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_framework_has_the_five_classification_bands(path):
    classes = [(b.code, b.min) for b in load_framework(path).classes]
    assert classes == [
        ("xuat_sac", D("95")),
        ("tot", D("80")),
        ("kha", D("70")),
        ("hoan_thanh", D("50")),
        ("chua_hoan_thanh", D("0")),
    ]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_framework_has_the_two_bonus_and_two_penalty_items_of_two_points(path):
    items = [(a.code, a.kind, a.points, a.requires) for a in load_framework(path).adjustments]
    assert items == [
        ("B1", "bonus", D("2"), "on_time"),
        ("B2", "bonus", D("2"), None),
        ("P1", "penalty", D("2"), None),
        ("P2", "penalty", D("2"), None),
    ]


def test_the_district_police_framework_of_2021_has_8_fields_34_criteria_91_sub_criteria():
    framework = load_framework(framework_path(CONFIG_DIR, "cah-2021"))
    assert framework.counts() == (8, 34, 91)
    assert framework.total_points == D("100")
    assert framework.group == "cah"
    assert framework.year == 2021
    assert framework.illustrative is True


def test_the_district_police_framework_has_the_criteria_of_each_field():
    framework = load_framework(framework_path(CONFIG_DIR, "cah-2021"))
    per_field = [(len(f.criteria), sum(len(c.subcriteria) for c in f.criteria)) for f in framework.fields]
    assert per_field == [(6, 17), (4, 11), (3, 10), (5, 13), (4, 10), (5, 8), (3, 10), (4, 12)]


def test_a_shipped_framework_finds_its_sub_criteria_by_code():
    framework = load_framework(framework_path(CONFIG_DIR, "cah-2021"))
    postal = framework.sub("3.3.2")
    assert postal is not None
    assert postal.method == "threshold"
    assert postal.metric is not None and postal.metric.threshold == D("0.20")
    assert framework.sub("9.9.9") is None


def test_a_framework_as_a_document_loads_back_equal():
    framework = load_framework(framework_path(CONFIG_DIR, "cah-2021"))
    again = parse_framework(framework.as_document(), path=framework.path, sha256=framework.sha256)
    assert again == framework


# --- the factory's framework ----------------------------------------------------------------------


def test_a_framework_that_adds_up_is_accepted():
    framework = parse_framework(framework_data())
    assert framework.counts() == (2, 3, 5)
    assert [f.max_points for f in framework.fields] == [D("5.00"), D("5.00")]
    assert framework.sub("2.1.2").measured
    assert framework.adjustment("B1").requires == "on_time"


def test_evidence_is_required_unless_the_file_says_otherwise():
    data = framework_data()
    del a_sub(data, "1.1.1")["evidence"]
    a_sub(data, "1.1.2")["evidence"] = False
    framework = parse_framework(data)
    assert framework.sub("1.1.1").evidence_required is True
    assert framework.sub("1.1.2").evidence_required is False


# --- what is refused ------------------------------------------------------------------------------


def test_points_that_do_not_add_up_to_the_total_are_refused_naming_each_fields_sum():
    problem = a_problem(framework_data(total_points="12"), "total_points")
    assert "add up to 10.00" in problem
    assert "12" in problem
    assert "field 1: 5.00" in problem and "field 2: 5.00" in problem


def test_the_error_names_the_file():
    with pytest.raises(DataFileError) as refused:
        parse_framework(framework_data(total_points="12"), path="cah-2021.yaml")
    assert refused.value.path == "cah-2021.yaml"
    assert str(refused.value).startswith("cah-2021.yaml: ")


def test_a_duplicate_code_is_refused_naming_both_places():
    data = framework_data()
    a_sub(data, "2.1.1")["code"] = "1.1.1"
    problem = a_problem(data, "duplicate code '1.1.1'")
    assert problem.startswith("field 2 › criterion 2.1 › sub-criterion 1.1.1")
    assert "already used by field 1 › criterion 1.1 › sub-criterion 1.1.1" in problem


def test_a_criterion_code_used_by_a_field_is_a_duplicate():
    data = framework_data()
    data["fields"][1]["criteria"][0]["code"] = "1"
    a_problem(data, "criterion 1", "duplicate code '1'", "already used by field 1")


def test_an_unknown_scoring_method_is_refused_naming_the_sub_criterion():
    data = framework_data()
    a_sub(data, "1.1.1")["method"] = "guess"
    problem = a_problem(data, "unknown scoring method 'guess'")
    assert "sub-criterion 1.1.1" in problem


@pytest.mark.parametrize("method", ["threshold", "proportional", "count"])
def test_a_measured_method_without_a_metric_is_refused(method):
    data = framework_data()
    a_sub(data, "1.1.1")["method"] = method
    a_problem(data, "sub-criterion 1.1.1", f"the '{method}' method needs a 'metric'")


def test_a_judged_sub_criterion_with_a_metric_is_refused():
    data = framework_data()
    a_sub(data, "1.1.1")["metric"] = {"kind": "count", "label": "tin bài", "per_item": "0.50"}
    a_problem(data, "sub-criterion 1.1.1", "'judged' sub-criterion has no 'metric'")


def test_a_metric_key_that_does_not_belong_to_the_method_is_refused():
    data = framework_data()
    a_sub(data, "2.1.2")["metric"]["target"] = "0.50"
    a_problem(data, "sub-criterion 2.1.2 › metric", "'target' does not belong to the 'threshold' method")


def test_a_metric_without_the_number_its_method_needs_is_refused():
    data = framework_data()
    del a_sub(data, "2.1.2")["metric"]["threshold"]
    a_problem(data, "sub-criterion 2.1.2 › metric", "'threshold' is missing")


def test_a_count_method_with_a_ratio_metric_is_refused():
    data = framework_data()
    a_sub(data, "2.1.2").update(method="count", metric={"kind": "ratio", "label": "tin bài", "per_item": "0.5"})
    a_problem(data, "sub-criterion 2.1.2 › metric", "needs a metric of kind 'count'")


def test_an_unknown_metric_kind_is_refused():
    data = framework_data()
    a_sub(data, "2.1.2")["metric"]["kind"] = "percent"
    a_problem(data, "sub-criterion 2.1.2 › metric", "unknown metric kind 'percent'")


def test_points_with_more_than_two_decimals_are_refused():
    data = framework_data()
    a_sub(data, "1.1.1")["max"] = "1.995"
    a_problem(data, "sub-criterion 1.1.1", "'max'", "more than two decimals")


@pytest.mark.parametrize("max_points", ["0", "-1.00"])
def test_a_sub_criterion_max_of_zero_or_less_is_refused(max_points):
    data = framework_data()
    a_sub(data, "1.1.1")["max"] = max_points
    a_problem(data, "sub-criterion 1.1.1", "'max'", "should be more than 0")


def test_a_sub_criterion_max_that_is_not_a_number_is_refused():
    data = framework_data()
    a_sub(data, "1.1.1")["max"] = "hai"
    a_problem(data, "sub-criterion 1.1.1", "'max'", "not a number")


def test_a_comma_decimal_is_read_as_a_decimal():
    data = framework_data()
    a_sub(data, "1.1.2")["max"] = "1,50"
    assert parse_framework(data).sub("1.1.2").max_points == D("1.50")


def test_a_typo_in_a_key_is_refused():
    data = framework_data()
    a_sub(data, "1.1.1")["metod"] = a_sub(data, "1.1.1").pop("method")
    a_problem(data, "field 1 › criterion 1.1 › sub-criterion #1", "unknown key 'metod'", "method")
    a_problem(data, "sub-criterion 1.1.1", "'method' is missing")


def test_classification_bands_that_do_not_descend_are_refused():
    data = framework_data()
    data["classification"][2]["min"] = "85"  # kha above tot
    a_problem(data, "classification #3", "'min' 85.00 should be below the band above it (80.00)")


def test_classification_bands_with_an_equal_minimum_are_refused():
    data = framework_data()
    data["classification"][2]["min"] = "80"
    a_problem(data, "classification #3", "should be below the band above it")


def test_the_last_classification_band_must_start_at_zero():
    data = framework_data()
    data["classification"][-1]["min"] = "10"
    a_problem(data, "the last band should start at 0, not 10.00")


def test_a_duplicate_class_code_is_refused():
    data = framework_data()
    data["classification"][1]["code"] = "xuat_sac"
    a_problem(data, "classification #2", "duplicate class code 'xuat_sac'")


def test_a_criterion_declaring_a_max_its_sub_criteria_do_not_add_up_to_is_refused():
    data = framework_data()
    data["fields"][0]["criteria"][0]["max"] = "4.00"
    a_problem(data, "field 1 › criterion 1.1", "declares 4.00 points but its sub-criteria add up to 3.50")


def test_a_criterion_declaring_the_right_max_is_accepted():
    data = framework_data()
    data["fields"][0]["criteria"][0]["max"] = "3.50"
    data["fields"][0]["max"] = "5"
    assert parse_framework(data).fields[0].max_points == D("5.00")


def test_a_field_declaring_a_wrong_max_is_refused():
    data = framework_data()
    data["fields"][1]["max"] = "6"
    a_problem(data, "field 2", "declares 6.00 points but its sub-criteria add up to 5.00")


def test_an_adjustment_of_an_unknown_kind_or_requirement_is_refused():
    data = framework_data()
    data["adjustments"][0]["requires"] = "on_paper"
    data["adjustments"][1]["kind"] = "fine"
    problems = problems_of(data)
    assert any(p.startswith("adjustment B1: unknown requirement 'on_paper'") for p in problems)
    assert any(p.startswith("adjustment P1: unknown kind 'fine'") for p in problems)


@pytest.mark.parametrize("data", [["code", "fields"], "cah-2021", 42, None])
def test_a_document_that_is_not_a_mapping_is_refused(data):
    problem = a_problem(data, "should be a mapping of keys")
    assert type(data).__name__ in problem


def test_a_sub_criterion_that_is_not_a_mapping_is_refused_naming_its_place():
    data = framework_data()
    data["fields"][0]["criteria"][1]["subcriteria"].append("1.2.2")
    a_problem(data, "field 1 › criterion 1.2 › sub-criterion #2", "should be a mapping of keys, not str")


def test_a_missing_required_key_is_refused():
    data = framework_data()
    del data["title"]
    a_problem(data, "'title' is missing")


def test_a_title_on_two_lines_is_refused():
    a_problem(framework_data(title="Bộ tiêu chí\nnăm 2021"), "'title'", "line break")


def test_every_problem_is_reported_at_once():
    data = framework_data(total_points="12")
    a_sub(data, "1.1.1")["method"] = "guess"
    a_sub(data, "1.1.2")["metod"] = "judged"
    with pytest.raises(DataFileError) as refused:
        parse_framework(data, path="test.yaml")
    assert len(refused.value.problems) == 3
    assert str(refused.value).startswith("test.yaml: 3 problems\n  - ")


# --- reading the file -----------------------------------------------------------------------------


def test_a_yaml_syntax_error_is_refused_with_its_line_and_column(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text('code: "broken"\nfields:\n  - code: "1"\n   name: [unclosed\n', encoding="utf-8")
    with pytest.raises(DataFileError) as refused:
        load_framework(path)
    (problem,) = refused.value.problems
    assert "line 4, column" in problem
    assert "not valid YAML" in problem
    assert refused.value.path == str(path)


def test_a_missing_file_is_refused(tmp_path: Path):
    with pytest.raises(DataFileError) as refused:
        load_framework(tmp_path / "cah-2099.yaml")
    assert refused.value.problems == ["no such file"]


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes('title: "Bộ tiêu chí"\nnote: "Đắk Lắk"\n'.encode() + "café".encode("latin-1"))
    with pytest.raises(DataFileError) as refused:
        load_framework(path)
    (problem,) = refused.value.problems
    assert problem.startswith("is not UTF-8 text (byte ")


def test_a_file_with_a_utf8_byte_order_mark_is_read(tmp_path: Path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(framework_data(), allow_unicode=True).encode("utf-8"))
    assert load_framework(path).code == "test-2021"


def test_a_loaded_file_is_identified_by_its_sha256(tmp_path: Path):
    path = tmp_path / "test-2021.yaml"
    path.write_text(yaml.safe_dump(framework_data(), allow_unicode=True), encoding="utf-8")
    framework = load_framework(path)
    assert framework.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert framework.path == str(path)

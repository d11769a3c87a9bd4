"""The Appendix IV workbook as written and read back (models/workbook.py)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from cchc.config import CONFIG_DIR
from cchc.models.framework import framework_path, load_framework
from cchc.models.workbook import (
    RowValues,
    SheetSpec,
    appraisal_workbook,
    cell_text,
    fill_in,
    read_rows,
    self_assessment_workbook,
)

FRAMEWORK = load_framework(framework_path(CONFIG_DIR, "cah-2021"))


def spec(**kw: object) -> SheetSpec:
    return SheetSpec(unit_code="CAH-CMG", unit_name="Công an huyện Cư M'gar", year=2021, framework=FRAMEWORK, **kw)  # type: ignore[arg-type]


def test_the_workbook_lists_every_sub_criterion_under_its_field_and_criterion() -> None:
    data = self_assessment_workbook(spec())
    name, rows = read_rows(data, "x.xlsx")
    table = list(rows)
    assert name == "Tự đánh giá"
    header = table[3][1]
    assert header[:6] == [
        "Mã đơn vị",
        "Mã tiêu chí",
        "Nội dung tiêu chí",
        "Điểm tối đa",
        "Cách chấm",
        "Điểm tự đánh giá",
    ]
    subs = [cells for _, cells in table[4:] if cells[0] == "CAH-CMG"]
    assert [cells[1] for cells in subs] == [s.code for s in FRAMEWORK.subcriteria]
    sections = [cells[1] for _, cells in table[4:] if cells[0] == ""]
    assert sections[:2] == ["1", "1.1"] and len(sections) == 8 + 34


def test_only_the_cells_a_unit_fills_are_unlocked_and_scores_are_validated() -> None:
    book = load_workbook(io.BytesIO(self_assessment_workbook(spec())))
    sheet = book.active
    assert sheet is not None and sheet.protection.sheet
    assert sheet["B7"].value == "1.1.1"  # row 5 is field 1, row 6 criterion 1.1
    assert sheet["F7"].protection.locked is False and sheet["C7"].protection.locked is True
    assert sheet["F6"].protection.locked is True  # a criterion's heading is not filled in
    ranges = {str(v.sqref): (v.type, v.formula1, v.formula2) for v in sheet.data_validations.dataValidation}
    assert any(kind == "decimal" and low == "0" for kind, low, _ in ranges.values())
    assert any("F7" in cells for cells in ranges)


def test_values_and_who_supplied_them_are_written() -> None:
    values = {
        "1.1.1": RowValues(
            score=Decimal("0.75"), evidence="91/KH-CAH ngày 30/6/2021", note="n", explanation="g", supplied_by="X"
        )
    }
    rows = [cells for _, cells in read_rows(self_assessment_workbook(spec(values=values)), "x.xlsx")[1]]
    row = next(r for r in rows if r[1] == "1.1.1")
    assert (row[5], row[8], row[9], row[10], row[11]) == ("0.75", "91/KH-CAH ngày 30/6/2021", "n", "g", "X")


def test_a_contributor_workbook_covers_only_its_sub_criteria() -> None:
    rows = [cells for _, cells in read_rows(self_assessment_workbook(spec(codes=frozenset({"3.3.2"}))), "x.xlsx")[1]][
        4:
    ]
    assert [r[1] for r in rows if r[0] == "CAH-CMG"] == ["3.3.2"]
    assert [r[1] for r in rows if r[0] == ""] == ["3", "3.3"]


def test_the_appraisal_workbook_shows_the_rule_and_leaves_the_appraiser_cells_open() -> None:
    values = {"1.1.1": RowValues(score=Decimal("1"), proposed=Decimal("0"), rule="no_evidence")}
    data = appraisal_workbook(spec(values=values))
    rows = [cells for _, cells in read_rows(data, "x.xlsx")[1]]
    row = next(r for r in rows if r[1] == "1.1.1")
    assert row[10:12] == ["0", "Không có tài liệu kiểm chứng: 0 điểm"]
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None and sheet.cell(row=7, column=13).protection.locked is False


def test_cells_read_as_people_typed_them() -> None:
    assert (cell_text(1.5), cell_text(2.0), cell_text(3), cell_text(None), cell_text("x")) == ("1.5", "2", "3", "", "x")


def test_filling_in_touches_only_the_yellow_cells_of_the_named_rows() -> None:
    filled = fill_in(self_assessment_workbook(spec()), {"1.1.1": {"score": 0.5, "note": "đã ghi"}})
    row = next(cells for _, cells in read_rows(filled, "x.xlsx")[1] if cells[1] == "1.1.1")
    assert (row[5], row[9]) == ("0.5", "đã ghi")
    appraised = fill_in(appraisal_workbook(spec()), {"1.1.1": {"score": 0.25, "note": "thiếu sản phẩm"}})
    row = next(cells for _, cells in read_rows(appraised, "x.xlsx")[1] if cells[1] == "1.1.1")
    assert (row[5], row[12], row[13]) == ("", "0.25", "thiếu sản phẩm")
    with pytest.raises(KeyError, match="'max' is not a column one fills in"):
        fill_in(self_assessment_workbook(spec()), {"1.1.1": {"max": 9}})


@pytest.mark.parametrize("note", ["=1+2", "+84 912 345 678", "-trừ điểm", "@SUM(A1:A9)", '=HYPERLINK("http://x","y")'])
def test_a_note_that_looks_like_a_formula_stays_the_note_and_is_never_a_formula(note: str) -> None:
    """A unit's text is data in its workbook (OWASP: never a live formula), and comes back exactly."""
    values = {"1.1.1": RowValues(score=Decimal("0.5"), note=note, evidence=note, explanation=note)}
    data = self_assessment_workbook(spec(values=values))
    sheet = load_workbook(io.BytesIO(data)).active
    typed = [c for row in sheet.iter_rows() for c in row if c.value == note]
    assert len(typed) == 3 and {c.data_type for c in typed} == {"s"}
    row = next(cells for _, cells in read_rows(data, "x.xlsx")[1] if cells[1] == "1.1.1")
    assert (row[8], row[9], row[10]) == (note, note, note)
    filled = fill_in(self_assessment_workbook(spec()), {"1.1.1": {"note": note}})
    assert next(cells for _, cells in read_rows(filled, "x.xlsx")[1] if cells[1] == "1.1.1")[9] == note


def test_a_control_character_in_a_note_never_stops_the_workbook_being_written() -> None:
    values = {"1.1.1": RowValues(score=Decimal("0.5"), note="chuông\x07 và\x1b thoát")}
    data = self_assessment_workbook(spec(values=values))  # openpyxl would refuse the raw characters
    row = next(cells for _, cells in read_rows(data, "x.xlsx")[1] if cells[1] == "1.1.1")
    assert row[9] == "chuông\\x07 và\\x1b thoát"

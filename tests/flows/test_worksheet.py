"""The grid behind the unit's and the appraiser's pages: the same rules as the workbook import, the state
checked when the row is written, and each save audited under the person's name."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from factories import APPRAISER, at, fingerprint, import_rows, open_2021, rows_for, scalar, submitted_2021

from cchc.flows.contributors import assign
from cchc.flows.params import SubmitParams
from cchc.flows.submission import change_units, submit_flow
from cchc.flows.worksheet import read_grid, save_appraisal_rows, save_rows
from cchc.models.errors import UserError
from cchc.models.i18n import speaking
from cchc.models.scoresheet import SheetError

FOCAL = "cmg.focal"


def entry(code: str, score: str = "", **cells: str) -> dict[str, str]:
    return {"criterion": code, "score": score, **cells}


def test_a_focal_officer_fills_rows_one_by_one_and_each_save_names_them(db_url: str) -> None:
    open_2021(db_url)
    grid = read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("10/08/2021"))
    assert grid.filled == 0 and grid.total > 50 and grid.refusal is None
    first = grid.rows[0]
    assert first.editable and first.max_points > 0 and first.method
    saved = save_rows(
        db_url,
        2021,
        "CAH-CMG",
        [entry(first.code, "0,5", evidence="91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC", explanation="")],
        FOCAL,
        at("10/08/2021"),
    )
    assert saved.added == 1
    again = read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("10/08/2021"))
    row = again.rows[0]
    assert (row.self_points, row.supplied_by, again.filled) == (Decimal("0.50"), "CAH-CMG", 1)
    assert (saved.filled, saved.total) == (again.filled, again.total)  # the save answers the grid's own count
    assert scalar(db_url, "SELECT actor FROM audit_event ORDER BY seq DESC LIMIT 1") == FOCAL
    # the same values again change nothing and record nothing
    events = scalar(db_url, "SELECT count(*) FROM audit_event")
    save_rows(
        db_url,
        2021,
        "CAH-CMG",
        [entry(first.code, "0.50", evidence="91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC")],
        FOCAL,
        at("10/08/2021"),
    )
    assert scalar(db_url, "SELECT count(*) FROM audit_event") == events


def test_a_row_the_import_would_refuse_is_refused_with_the_same_words_and_nothing_is_written(db_url: str) -> None:
    open_2021(db_url)
    code = read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("10/08/2021")).rows[0].code
    before = fingerprint(db_url)
    with pytest.raises(SheetError) as caught:
        save_rows(db_url, 2021, "CAH-CMG", [entry(code, "9")], FOCAL, at("10/08/2021"))
    assert f"Sub-criterion {code}, self-score: 9 is outside" in str(caught.value)
    with speaking("vi"), pytest.raises(SheetError) as in_vietnamese:
        save_rows(db_url, 2021, "CAH-CMG", [entry(code, "9")], FOCAL, at("10/08/2021"))
    assert f"Tiêu chí {code}, điểm tự chấm: 9 nằm ngoài khoảng 0..1.00 của tiêu chí {code}" in str(in_vietnamese.value)
    assert str(in_vietnamese.value).startswith("1 lỗi; chưa ghi gì:")
    with pytest.raises(SheetError, match="marked not applicable; say why"):
        save_rows(db_url, 2021, "CAH-CMG", [entry(code, not_applicable="x")], FOCAL, at("10/08/2021"))
    assert fingerprint(db_url) == before


def test_an_explanation_where_evidence_is_missing_is_kept_and_shown(db_url: str) -> None:
    open_2021(db_url)
    code = read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("10/08/2021")).rows[1].code
    text = "Kế hoạch đã trình, chờ ký ban hành"
    save_rows(db_url, 2021, "CAH-CMG", [entry(code, "0", explanation=text)], FOCAL, at("10/08/2021"))
    row = next(
        r
        for r in read_grid(db_url, 2021, "CAH-CMG", APPRAISER, at("10/08/2021"), appraiser=True).rows
        if r.code == code
    )
    assert row.explanation == text and row.rule_points == Decimal("0") and "tài liệu kiểm chứng" in row.rule.lower()


def test_once_submitted_no_row_can_be_saved_until_the_unit_withdraws(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    import_rows(db_url, tmp_path / "self.csv", rows_for(org, ["CAH-CMG"]))
    grid = read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("20/08/2021"))
    assert grid.moves == {"submit": None}
    submit_flow(SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor=FOCAL, at=at("21/08/2021")))
    code = grid.rows[0].code
    before = fingerprint(db_url)
    with pytest.raises(SheetError, match="withdraw the submission first"):
        save_rows(db_url, 2021, "CAH-CMG", [entry(code, "0")], FOCAL, at("21/08/2021"))
    assert fingerprint(db_url) == before
    assert not any(r.editable for r in read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("21/08/2021")).rows)
    change_units(db_url, 2021, "withdraw", ["CAH-CMG"], FOCAL, at("22/08/2021"))
    save_rows(db_url, 2021, "CAH-CMG", [entry(code, "0")], FOCAL, at("22/08/2021"))


def test_submit_is_offered_with_the_guards_reason_when_rows_are_missing(db_url: str) -> None:
    open_2021(db_url)
    moves = read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("10/08/2021")).moves
    assert moves["submit"] is not None and "91 applicable sub-criteria have no self-score" in moves["submit"]


def test_a_commune_sees_and_fills_only_its_assigned_rows_before_its_internal_deadline(db_url: str) -> None:
    open_2021(db_url)
    assign(
        db_url, 2021, "CAH-CMG", "CAH-CMG-X-EAPOK", ["8.4.2", "3.3.2"], at("20/08/2021"), "cmg.focal", at("01/08/2021")
    )
    commune = "cmg-x-eapok.head"
    grid = read_grid(db_url, 2021, "CAH-CMG", commune, at("10/08/2021"))
    assert [r.code for r in grid.rows] == ["3.3.2", "8.4.2"] and grid.contributor == "CAH-CMG-X-EAPOK"
    saved = save_rows(db_url, 2021, "CAH-CMG", [entry("3.3.2", metric="45/200")], commune, at("10/08/2021"))
    assert (saved.filled, saved.total) == (1, 2)  # the commune's own count: its two rows
    assert scalar(db_url, "SELECT supplied_by FROM score WHERE supplied_by <> ''") == "CAH-CMG-X-EAPOK"
    before = fingerprint(db_url)
    with pytest.raises(SheetError, match="1.1.1 is not open to this import"):
        save_rows(db_url, 2021, "CAH-CMG", [entry("1.1.1", "0")], commune, at("10/08/2021"))
    with pytest.raises(SheetError, match="were due before 20/08/2021"):
        save_rows(db_url, 2021, "CAH-CMG", [entry("8.4.2", "0")], commune, at("21/08/2021"))
    assert fingerprint(db_url) == before
    # the unit sees who supplied the row
    row = next(r for r in read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("10/08/2021")).rows if r.code == "3.3.2")
    assert row.supplied_by == "CAH-CMG-X-EAPOK"


def test_a_person_of_another_unit_cannot_open_the_grid(db_url: str) -> None:
    open_2021(db_url)
    with pytest.raises(UserError, match="không thuộc CAH-CMG"):
        read_grid(db_url, 2021, "CAH-CMG", "bmt.focal", at("10/08/2021"))


def test_an_appraiser_scores_beside_the_rules_but_never_their_own_unit(db_url: str, tmp_path: Path) -> None:
    submitted_2021(db_url, tmp_path)
    grid = read_grid(db_url, 2021, "CAH-CMG", APPRAISER, at("06/09/2021"), appraiser=True)
    judged = next(r for r in grid.rows if not r.measured and r.rule_points)
    assert judged.rule and judged.rule_points == judged.self_points
    with pytest.raises(SheetError, match="say why the appraised score differs"):
        save_appraisal_rows(db_url, 2021, "CAH-CMG", [entry(judged.code, "0")], APPRAISER, at("06/09/2021"))
    saved = save_appraisal_rows(
        db_url, 2021, "CAH-CMG", [entry(judged.code, "0", note="Chưa có sản phẩm")], APPRAISER, at("06/09/2021")
    )
    assert saved.changed == [judged.code]
    assert scalar(db_url, "SELECT trigger FROM audit_event ORDER BY seq DESC LIMIT 1") == "appraiser_scores"
    before = fingerprint(db_url)
    with pytest.raises(UserError, match="own unit|independent|belongs"):
        save_appraisal_rows(db_url, 2021, "PV01", [entry(judged.code, "0", note="x")], APPRAISER, at("06/09/2021"))
    assert fingerprint(db_url) == before


def test_a_vietnamese_refusal_names_the_state_by_its_label_not_its_code(db_url: str) -> None:
    open_2021(db_url)
    code = read_grid(db_url, 2021, "CAH-CMG", FOCAL, at("10/08/2021")).rows[0].code
    with speaking("vi"), pytest.raises(UserError) as refused:
        save_appraisal_rows(db_url, 2021, "CAH-CMG", [entry(code, "0")], APPRAISER, at("10/08/2021"))
    assert "“Đang tự đánh giá”" in str(refused.value) and "self_assess" not in str(refused.value)
    with pytest.raises(UserError, match="is in state 'self_assess', not waiting for appraisal"):  # English: the code
        save_appraisal_rows(db_url, 2021, "CAH-CMG", [entry(code, "0")], APPRAISER, at("10/08/2021"))

"""Importing self-assessments, submitting and withdrawing: everything checked before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import (
    COORDINATOR,
    at,
    event_count,
    import_rows,
    open_2021,
    rows_for,
    scalar,
    submitted_2021,
)

from cchc.flows.params import ImportParams, SubmitParams
from cchc.flows.selfassessment import import_self_assessment_flow
from cchc.flows.submission import change_units, submit_flow
from cchc.models.scoresheet import SheetError

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _import(url: str, path: Path, actor: str = COORDINATOR) -> object:
    return import_self_assessment_flow(
        ImportParams(path=str(path), year=2021, database_url=url, actor=actor, at=at("20/08/2021"))
    )


def test_a_complete_table_is_imported_with_one_event_per_unit(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG", "PC06"])
    summary = import_rows(db_url, tmp_path / "s.csv", rows)
    assert summary.rows == len(rows) == 91 + 80
    assert scalar(db_url, "SELECT count(*) FROM score") == len(rows)
    assert scalar(db_url, "SELECT count(*) FROM audit_event WHERE trigger = 'self_assessment_import'") == 2


def test_importing_the_same_table_again_writes_nothing(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    import_rows(db_url, tmp_path / "s.csv", rows)
    before = event_count(db_url)
    summary = import_rows(db_url, tmp_path / "s.csv", rows)
    assert summary.changed_rows == 0 and event_count(db_url) == before


def test_a_changed_score_is_recorded_with_its_before_and_after(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    import_rows(db_url, tmp_path / "s.csv", rows)
    judged = next(r for r in rows if r[2] not in ("", "KAD"))
    old = judged[2]
    judged[2] = "0.25"
    import_rows(db_url, tmp_path / "s2.csv", [judged])
    payload = json.loads(str(scalar(db_url, "SELECT payload FROM audit_event ORDER BY seq DESC LIMIT 1")))
    assert payload["changed"] == {judged[1]: [f"{float(old):.2f}", "0.25"]}


def test_a_comma_decimal_is_accepted(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    judged = next(r for r in rows if r[2] not in ("", "KAD") and r[1] == "1.1.1")
    judged[2] = "0,5"
    import_rows(db_url, tmp_path / "s.csv", rows)
    assert (
        scalar(
            db_url,
            "SELECT s.self_points FROM score s JOIN criterion c ON c.id = s.criterion_id "
            "JOIN framework f ON f.id = c.framework_id WHERE c.code = '1.1.1' AND f.code = 'cah-2021'",
        )
        == 50
    )


BAD_CELLS = [
    (lambda r: r.__setitem__(0, "CAH-XXX"), "line 2, column unit: 'CAH-XXX' is not a unit of this cycle"),
    (lambda r: r.__setitem__(1, "9.9.9"), "line 2, column criterion: '9.9.9' is not a sub-criterion"),
    (lambda r: r.__setitem__(1, "1.1"), "line 2, column criterion: '1.1' is not a sub-criterion"),
    (lambda r: r.__setitem__(2, "nhiều"), "line 2, column score: 'nhiều' is not a number"),
    (lambda r: r.__setitem__(2, "-1"), "line 2, column score: -1 is outside 0..1.00"),
    (lambda r: r.__setitem__(2, "1.5"), "line 2, column score: 1.5 is outside 0..1.00"),
    (lambda r: r.__setitem__(2, "1e+26"), "line 2, column score: 1e+26 is outside 0..1.00"),  # too big for cents
    (lambda r: r.__setitem__(2, "0.333"), "more than two decimals"),
    (lambda r: r.__setitem__(2, ""), "line 2, column score: 1.1.1 has no score"),
    (lambda r: (r.__setitem__(2, "KAD"), r.__setitem__(4, "")), "line 2, column note: 1.1.1 is marked not applicable"),
]


@pytest.mark.parametrize(("spoil", "message"), BAD_CELLS)
def test_a_bad_cell_is_named_by_line_and_column_and_nothing_is_written(
    db_url: str, tmp_path: Path, spoil: object, message: str
) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    assert rows[0][1] == "1.1.1"
    spoil(rows[0])  # type: ignore[operator]
    before = event_count(db_url)
    with pytest.raises(SheetError) as refused:
        import_rows(db_url, tmp_path / "s.csv", rows)
    assert message in str(refused.value) and "nothing was written" in str(refused.value)
    assert scalar(db_url, "SELECT count(*) FROM score") == 0
    assert event_count(db_url) == before


def test_every_problem_is_reported_not_only_the_first(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    rows[0][2], rows[5][2] = "x", "y"
    rows.append(rows[1][:])
    with pytest.raises(SheetError) as refused:
        import_rows(db_url, tmp_path / "s.csv", rows)
    text = str(refused.value)
    assert "3 problems" in text and "line 2" in text and "line 7" in text and "appears a second time" in text


def test_a_measured_sub_criterion_takes_its_score_from_the_metric(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    postal = next(r for r in rows if r[1] == "3.3.2")  # postal return share, full points at >= 20 %
    postal[2], postal[5] = "", "20/100"
    import_rows(db_url, tmp_path / "s.csv", rows)
    points = scalar(
        db_url,
        "SELECT s.self_points FROM score s JOIN criterion c ON c.id = s.criterion_id "
        "WHERE c.code = '3.3.2' AND c.method = 'threshold'",
    )
    maximum = scalar(db_url, "SELECT max_points FROM criterion WHERE code = '3.3.2' AND method = 'threshold'")
    assert points == maximum
    postal[2], postal[5] = "1", "19/100"
    with pytest.raises(SheetError, match="does not match the metric 19/100, which gives 0.00"):
        import_rows(db_url, tmp_path / "s2.csv", [postal])
    postal[2], postal[5] = "", ""
    with pytest.raises(SheetError, match="column metric: 3.3.2 is measured"):
        import_rows(db_url, tmp_path / "s3.csv", [postal])


def test_files_that_are_not_tables_are_refused_with_one_clear_message(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)
    cases = {
        "latin1.csv": ("unit,criterion,score\nCAH-CMG,1.1.1,0.5,Đắk\n".encode("cp1258", "replace"), "not UTF-8"),
        "empty.csv": (b"", "is empty"),
        "noscore.csv": (b"unit,criterion\nCAH-CMG,1.1.1\n", "no 'score' column"),
        "header.csv": (b"unit,criterion,score\n", "has a header but no rows"),
        "binary.csv": (b"\x00\x01\x02", "not a CSV text file"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(SheetError, match=message):
            _import(db_url, path)
    with pytest.raises(SheetError, match="no such file"):
        _import(db_url, tmp_path / "missing.csv")
    assert scalar(db_url, "SELECT count(*) FROM score") == 0


def test_vietnamese_headers_and_semicolons_are_understood(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    path = tmp_path / "vn.csv"
    lines = ["Đơn vị;Tiêu chí;Điểm tự đánh giá;Tài liệu kiểm chứng;Ghi chú;Số liệu"]
    lines += [";".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    assert _import(db_url, path).rows == 91  # type: ignore[attr-defined]


def test_only_the_units_people_or_a_coordinator_enter_scores(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG", "CAH-BMT"])
    with pytest.raises(SheetError, match="is neither the head, a deputy or the focal officer of CAH-BMT"):
        import_rows(db_url, tmp_path / "s.csv", rows, actor="cmg.focal")
    assert import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"]), actor="cmg.focal").rows == 91


def test_submission_is_refused_while_a_sub_criterion_is_unscored(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"])[:-2])
    summary = submit_flow(
        SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor="cmg.focal", at=at("25/08/2021"))
    )
    assert summary.moved == []
    assert "2 applicable sub-criteria have no self-score: 8.4.2, 8.4.3" in summary.refused[0]
    assert (
        scalar(db_url, "SELECT state FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-CMG'")
        == "self_assess"
    )


def test_a_submission_after_the_deadline_is_marked_late(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG", "CAH-BMT"]))
    early = submit_flow(
        SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor=COORDINATOR, at=at("30/08/2021", "23:59"))
    )
    late = submit_flow(
        SubmitParams(year=2021, units=["CAH-BMT"], database_url=db_url, actor=COORDINATOR, at=at("31/08/2021", "00:00"))
    )
    assert early.late == [] and late.late == ["CAH-BMT"]


def test_a_unit_withdraws_its_submission_only_before_appraisal_starts(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"]))
    submit_flow(SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor="cmg.focal", at=at("25/08/2021")))
    done = change_units(db_url, 2021, "withdraw", ["CAH-CMG"], "cmg.head", at("26/08/2021"), reason="sửa điểm")
    assert done.moved == ["CAH-CMG"]
    with pytest.raises(SheetError, match="is in state 'submitted'"):
        submit_flow(
            SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor="cmg.focal", at=at("27/08/2021"))
        )
        import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"]))


def test_withdrawal_is_refused_once_appraisal_has_started(db_url: str, tmp_path: Path) -> None:
    submitted_2021(db_url, tmp_path)
    refused = change_units(db_url, 2021, "withdraw", ["CAH-CMG"], "cmg.head", at("01/09/2021"))
    assert refused.moved == [] and "appraisal of the 2021 cycle has started" in refused.refused[0]

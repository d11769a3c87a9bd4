"""The Appendix IV workbook in and out: round trip, LibreOffice, problems named by cell; contributors;
the evidence registry; the appraisal workbook."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from factories import (
    APPRAISER,
    COORDINATOR,
    at,
    event_count,
    fill_workbook,
    import_rows,
    open_2021,
    rows_for,
    scalar,
    submitted_2021,
)
from office import convert
from openpyxl import load_workbook

from cchc.flows.appraisal import appraise_flow
from cchc.flows.contributors import assign
from cchc.flows.contributors import status as contributions
from cchc.flows.evidence import add_file, registry
from cchc.flows.params import AppraiseParams, ImportParams, SweepParams
from cchc.flows.selfassessment import import_self_assessment_flow
from cchc.flows.sweep import sweep_flow
from cchc.flows.workbooks import export_appraisal, export_self_assessment
from cchc.models.errors import UserError
from cchc.models.scoresheet import SheetError

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _import(url: str, path: Path, actor: str = COORDINATOR, when: str = "20/08/2021"):  # type: ignore[no-untyped-def]
    return import_self_assessment_flow(
        ImportParams(path=str(path), year=2021, database_url=url, actor=actor, at=at(when))
    )


def test_export_fill_import_export_loses_nothing(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = {r[1]: r for r in rows_for(org, ["CAH-CMG"], not_applicable=0.05)}
    blank = export_self_assessment(db_url, 2021, "CAH-CMG", tmp_path / "blank.xlsx")
    assert blank.rows == 91
    with pytest.raises(UserError, match="it has not reported its self-assessment yet"):
        export_appraisal(db_url, 2021, "CAH-CMG", tmp_path / "early.xlsx")
    summary = _import(db_url, fill_workbook(blank.path, rows, tmp_path / "filled.xlsx"))
    assert summary.rows == 91 and summary.changed_rows == 91
    again = export_self_assessment(db_url, 2021, "CAH-CMG", tmp_path / "again.xlsx")
    sheet = load_workbook(again.path).active
    assert sheet is not None
    seen = {}
    for row in sheet.iter_rows(min_row=5, values_only=True):
        if row[0] == "CAH-CMG":
            seen[row[1]] = row
    for code, (_, _, score, evidence, note, metric) in rows.items():
        got = seen[code]
        if score == "KAD":
            assert got[7] == "x" and got[9] == note
        elif metric:
            assert got[6] == metric
        else:
            assert Decimal(str(got[5])) == Decimal(score)
        assert (got[8] or "") == evidence and got[11] == "CAH-CMG"
    assert _import(db_url, again.path).changed_rows == 0  # the workbook as exported changes nothing


def test_the_exported_workbook_opens_in_libreoffice(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"]))
    exported = export_self_assessment(db_url, 2021, "CAH-CMG", tmp_path / "cmg.xlsx")
    convert(exported.path, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path)
    table = list(csv.reader(io.StringIO((tmp_path / "cmg.csv").read_text(encoding="utf-8"))))
    assert table[3][:6] == [
        "Mã đơn vị",
        "Mã tiêu chí",
        "Nội dung tiêu chí",
        "Điểm tối đa",
        "Cách chấm",
        "Điểm tự đánh giá",
    ]
    first = next(r for r in table if r[1] == "1.1.1")
    assert first[0] == "CAH-CMG" and first[3] == "1"
    stored = scalar(
        db_url,
        "SELECT s.self_points FROM score s JOIN criterion c ON c.id = s.criterion_id "
        "JOIN framework f ON f.id = c.framework_id WHERE c.code = '1.1.1' AND f.code = 'cah-2021'",
    )
    assert Decimal(first[5]) == Decimal(int(str(stored))) / 100
    assert "Ea Pốk" not in " ".join(first) and "Kế hoạch" in (tmp_path / "cmg.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (5, 9.5, "Tự đánh giá!F7: 9.5 is outside 0..1.00 for 1.1.1"),
        (5, "nhiều", "Tự đánh giá!F7: 'nhiều' is not a number"),
        (8, "Kế hoạch năm", "Tự đánh giá!I7: 'Kế hoạch năm' is not a document reference"),
        (8, "9/KH-CAH ngày 05/09/2021", "Tự đánh giá!I7: 9/KH-CAH is dated 05/09/2021, outside the cycle's evidence"),
        (7, "x", "Tự đánh giá!J7: 1.1.1 is marked not applicable; say why"),
    ],
)
def test_a_bad_cell_of_the_workbook_is_named_and_nothing_is_written(
    db_url: str, tmp_path: Path, column: int, value: object, message: str
) -> None:
    org = open_2021(db_url)
    rows = {r[1]: r for r in rows_for(org, ["CAH-CMG"])}
    filled = fill_workbook(
        export_self_assessment(db_url, 2021, "CAH-CMG", tmp_path / "b.xlsx").path, rows, tmp_path / "f.xlsx"
    )
    book = load_workbook(filled)
    sheet = book.active
    assert sheet is not None and sheet.cell(row=7, column=2).value == "1.1.1"
    sheet.cell(row=7, column=column + 1).value = value
    if column == 7:
        sheet.cell(row=7, column=10).value = None
    book.save(filled)
    before = event_count(db_url)
    with pytest.raises(SheetError) as refused:
        _import(db_url, filled)
    assert message in str(refused.value)
    assert scalar(db_url, "SELECT count(*) FROM score") == 0 and event_count(db_url) == before


def test_a_workbook_that_lost_rows_is_refused(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = {r[1]: r for r in rows_for(org, ["CAH-CMG"])}
    filled = fill_workbook(
        export_self_assessment(db_url, 2021, "CAH-CMG", tmp_path / "b.xlsx").path, rows, tmp_path / "f.xlsx"
    )
    book = load_workbook(filled)
    sheet = book.active
    assert sheet is not None
    sheet.protection.sheet = False
    sheet.delete_rows(8, 2)  # 1.1.2 and 1.1.3
    book.save(filled)
    with pytest.raises(SheetError, match=r"the rows of CAH-CMG 1.1.2, 1.1.3 are missing"):
        _import(db_url, filled)


def test_a_file_that_is_not_a_workbook_is_refused_in_one_line(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)
    fake = tmp_path / "not.xlsx"
    fake.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(SheetError, match="is not an Excel workbook"):
        _import(db_url, fake)


def test_contributors_supply_their_criteria_and_are_chased(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    with pytest.raises(UserError, match="before CAH-CMG's own"):
        assign(db_url, 2021, "CAH-CMG", "CAH-CMG-X-EAPOK", ["3.3.2"], at("01/09/2021"), "cmg.focal")
    with pytest.raises(UserError, match="is not a team or commune of this unit"):
        assign(db_url, 2021, "CAH-CMG", "CAH-BMT-TH", ["3.3.2"], at("20/08/2021"), "cmg.focal")
    with pytest.raises(UserError, match="neither the head"):
        assign(db_url, 2021, "CAH-CMG", "CAH-CMG-X-EAPOK", ["3.3.2"], at("20/08/2021"), "bmt.focal")
    line = assign(
        db_url, 2021, "CAH-CMG", "CAH-CMG-X-EAPOK", ["8.4.2", "3.3.2"], at("20/08/2021"), "cmg.focal", at("01/08/2021")
    )
    assert line.criteria == ["3.3.2", "8.4.2"] and line.state == "assigned"
    mine = export_self_assessment(db_url, 2021, "CAH-CMG-X-EAPOK", tmp_path / "eapok.xlsx")
    assert mine.rows == 2
    rows = {r[1]: r for r in rows_for(org, ["CAH-CMG"])}
    summary = _import(
        db_url, fill_workbook(mine.path, rows, tmp_path / "eapok-f.xlsx"), actor="cmg-x-eapok.head", when="15/08/2021"
    )
    assert summary.rows == 2
    supplied = scalar(db_url, "SELECT count(*) FROM score WHERE supplied_by = 'CAH-CMG-X-EAPOK'")
    assert supplied == 2
    (done,) = contributions(db_url, 2021, "CAH-CMG")
    assert done.state == "supplied" and done.supplied == 2
    # a contributor cannot touch what was not assigned to it
    with pytest.raises(SheetError, match="is not open to this import for CAH-CMG"):
        import_rows(db_url, tmp_path / "x.csv", [rows["1.1.1"]], actor="cmg-x-eapok.head", when="15/08/2021")
    # nor enter its own rows once its internal deadline has passed: the unit enters late rows itself
    with pytest.raises(SheetError, match="rows for CAH-CMG were due before 20/08/2021 09:00"):
        import_rows(db_url, tmp_path / "x.csv", [rows["3.3.2"]], actor="cmg-x-eapok.head", when="20/08/2021")
    # the unit's workbook shows who supplied what
    unit_book = load_workbook(export_self_assessment(db_url, 2021, "CAH-CMG", tmp_path / "cmg.xlsx").path).active
    assert unit_book is not None
    by = {r[1]: r[11] for r in unit_book.iter_rows(min_row=5, values_only=True) if r[0] == "CAH-CMG"}
    assert by["3.3.2"] == by["8.4.2"] == "CAH-CMG-X-EAPOK" and by["1.1.1"] is None


def test_an_unsupplied_contribution_is_chased_up_to_the_unit_head(db_url: str) -> None:
    open_2021(db_url)
    assign(db_url, 2021, "CAH-CMG", "CAH-CMG-TH", ["1.1.1"], at("20/08/2021", "00:00"), "cmg.focal", at("01/08/2021"))
    steps = {}
    for day in ("13/08/2021", "17/08/2021", "19/08/2021", "20/08/2021", "22/08/2021"):
        summary = sweep_flow(SweepParams(year=2021, database_url=db_url, at=at(day, "08:00")))
        steps[day] = [(x.step, x.to) for x in summary.lines if x.phase == "contribution"]
    head = str(
        scalar(
            db_url,
            "SELECT p.code FROM person p JOIN unit u ON u.id = p.unit_id JOIN person_role r "
            "ON r.person_id = p.id WHERE u.code = 'CAH-CMG-TH' AND r.role = 'head'",
        )
    )
    assert steps["13/08/2021"] == [("remind-7", [head])]
    assert steps["20/08/2021"] == [("escalate-1", [head])]
    assert steps["22/08/2021"] == [("escalate-2", ["cmg.head", "pv01.coord1", "pv01.coord2"])]


def test_the_evidence_registry_keeps_every_version_of_a_file(db_url: str, tmp_path: Path, file_store: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    rows[0][3] = "91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC năm 2021"
    import_rows(db_url, tmp_path / "s.csv", rows)
    listed = {line.symbol: line for line in registry(db_url, 2021, "CAH-CMG")}
    assert listed["91/KH-CAH"].title == "Kế hoạch CCHC năm 2021" and listed["91/KH-CAH"].files == []
    scan = tmp_path / "evil name.pdf"  # kept under its hash: the name is only remembered
    scan.write_bytes(b"%PDF-1.4 v1")
    first = add_file(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", scan, "cmg.focal")
    assert first.new and first.version == 1
    assert not add_file(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", scan, "cmg.focal").new
    scan.write_bytes(b"%PDF-1.4 v2 signed")
    second = add_file(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", scan, "cmg.focal")
    assert second.version == 2 and second.sha256 != first.sha256
    kept = sorted(p.name for p in file_store.rglob("*.pdf"))
    assert kept == sorted([f"{first.sha256}.pdf", f"{second.sha256}.pdf"])
    files = registry(db_url, 2021, "CAH-CMG")
    assert [f[0] for f in next(x for x in files if x.symbol == "91/KH-CAH").files] == ["evil name.pdf"] * 2
    with pytest.raises(UserError, match="not a document or scan"):
        add_file(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", tmp_path / "x.exe", "cmg.focal")
    with pytest.raises(UserError, match="outside the cycle's evidence window"):
        add_file(db_url, 2021, "CAH-CMG", "92/KH-CAH ngày 30/9/2021", scan, "cmg.focal")
    with pytest.raises(UserError, match="neither belongs to CAH-CMG"):
        add_file(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", scan, "bmt.focal")


def test_the_appraisal_workbook_shows_the_rules_and_takes_the_appraisers_scores(db_url: str, tmp_path: Path) -> None:
    org = submitted_2021(db_url, tmp_path)
    del org
    with pytest.raises(UserError, match="not a unit of the 2021 cycle: NONE"):
        export_appraisal(db_url, 2021, "NONE", tmp_path / "x.xlsx")
    # a sub-criterion without evidence shows its rule
    sheet_path = export_appraisal(db_url, 2021, "CAH-CMG", tmp_path / "tham-dinh.xlsx").path
    book = load_workbook(sheet_path)
    sheet = book.active
    assert sheet is not None
    row = next(r for r in sheet.iter_rows(min_row=5) if r[1].value == "1.1.2")
    assert row[10].value is not None and row[11].value == "Chấp nhận điểm tự đánh giá"
    row[12].value, row[13].value = 0.25, "Kế hoạch chưa nêu rõ sản phẩm"
    book.save(sheet_path)
    summary = appraise_flow(
        AppraiseParams(
            year=2021,
            units=["CAH-CMG"],
            scores_path=str(sheet_path),
            database_url=db_url,
            actor=APPRAISER,
            at=at("04/09/2021"),
        )
    )
    assert summary.appraised == ["CAH-CMG"]
    payload = json.loads(str(scalar(db_url, "SELECT payload FROM audit_event WHERE trigger = 'appraise'")))
    assert payload["changed"]["1.1.2"]["appraised"] == "0.25" and payload["changed"]["1.1.2"]["rule"] == "appraiser"
    again = export_appraisal(db_url, 2021, "CAH-CMG", tmp_path / "again.xlsx").path
    row2 = next(r for r in load_workbook(again).active.iter_rows(min_row=5, values_only=True) if r[1] == "1.1.2")  # type: ignore[union-attr]
    assert (row2[12], row2[13]) == (0.25, "Kế hoạch chưa nêu rõ sản phẩm")

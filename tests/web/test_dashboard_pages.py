"""The dashboard's pages: who sees what, the overview against the cycle's status, a unit's scores,
evidence and timeline, the published ranking, the audit search, and their CSV and Excel exports."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import Clock, give_login, log_in, mixed_2021, rows_of
from factories import (
    APPRAISER,
    COORDINATOR,
    appraised_2021,
    published_2021,
    scalar,
)
from openpyxl import load_workbook

from cchc.flows.auditlog import unit_timeline
from cchc.flows.evidence import registry
from cchc.flows.lookup import cycle_of
from cchc.flows.publication import gather_totals
from cchc.flows.ranking import read_ranking
from cchc.flows.status import cycle_status
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.formats import vn_number
from cchc.states.assessment import AssessmentState
from cchc.states.labels import STATE_LABELS

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.usefixtures("prefect_harness")
Browser = Callable[[], "TestClient"]


def test_a_unit_head_sees_their_own_unit_and_no_other(db_url: str, dashboard: Browser, tmp_path: Path) -> None:
    mixed_2021(db_url, tmp_path)
    give_login(db_url, "pv05.head", COORDINATOR)
    head = dashboard()
    assert log_in(head, "pv05.head").status_code == 303
    home = head.get("/")  # the first page is what they owe, with their unit's page a click away
    assert home.status_code == 200 and 'id="tasks-page"' in home.text and 'href="/cycles/2021/units/PV05"' in home.text
    assert head.get("/cycles/2021").headers["location"] == "/cycles/2021/units/PV05"
    assert head.get("/units/PV05?year=2021").headers["location"] == "/cycles/2021/units/PV05"  # the e-mails' link
    own = head.get("/cycles/2021/units/PV05")
    assert own.status_code == 200 and 'id="unit-page"' in own.text and 'data-unit="PV05"' in own.text
    assert 'id="timeline"' in own.text and STATE_LABELS["submitted"] in own.text
    assert 'id="supplement-form"' not in own.text and 'id="reappraise-form"' not in own.text  # no actions
    other = head.get("/cycles/2021/units/PV11")
    assert other.status_code == 403 and 'id="forbidden"' in other.text
    assert "chỉ xem được trang của đơn vị mình (PV05)" in other.text and "PV11" in other.text
    assert head.get("/cycles/2021/units/PV11?format=csv&table=fields").status_code == 403  # nor its exports
    assert head.get("/audit").status_code == 403
    unpublished = head.get("/cycles/2021/ranking")  # published results are for all, once published
    assert unpublished.status_code == 404 and "Kỳ 2021 không có kết quả công bố." in unpublished.text
    coordinator = dashboard()
    log_in(coordinator, COORDINATOR)
    assert coordinator.get("/cycles/2021/units/PV11").status_code == 200
    assert coordinator.get("/cycles/2021/units/NOWHERE").status_code == 404


def test_the_overview_counts_are_the_cycle_status(
    db_url: str, dashboard: Browser, clock: Clock, tmp_path: Path
) -> None:
    mixed_2021(db_url, tmp_path)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    log_in(browser, COORDINATOR)
    page = browser.get("/cycles/2021")
    assert page.status_code == 200 and 'id="overview"' in page.text and "<svg" in page.text
    status = cycle_status(db_url, 2021, clock())
    states = [s.value for s in AssessmentState]
    table = rows_of(browser.get("/cycles/2021?format=csv&table=states"))
    assert table[0] == ["Nhóm", *(STATE_LABELS[s] for s in states), "Tổng"]
    expected = [
        [status.groups[g], *(str(status.counts[g][s]) for s in states), str(sum(status.counts[g].values()))]
        for g in status.counts
    ]
    assert table[1:-1] == expected
    assert table[-1][0] == "Tổng cộng" and table[-1][-1] == str(status.total) == "44"
    assert table[-1][1 + states.index("submitted")] == "2"
    overdue = rows_of(browser.get("/cycles/2021?format=csv&table=overdue"))
    assert overdue[0][:5] == ["Mã đơn vị", "Tên đơn vị", "Việc phải làm", "Hạn (trước)", "Số ngày quá hạn"]
    late = {(row[0], row[2]) for row in overdue[1:]}
    assert {u for u, task in late if task.startswith("Báo cáo")} == set(status.overdue)
    assert all(row[5] == "0" and row[6] == "Chưa đôn đốc" for row in overdue[1:])  # nothing chased yet
    assert "31/08/2021 00:00" in {row[3] for row in overdue[1:]}
    deadlines = rows_of(browser.get("/cycles/2021?format=csv&table=deadlines"))
    assert [row[1] for row in deadlines[1:]] == ["08/09/2021 00:00", *[r[1] for r in deadlines[2:]]]
    assert deadlines[1][2] == "3"  # days left before the supplement deadline
    workbook = load_workbook(io.BytesIO(browser.get("/cycles/2021?format=xlsx").content))
    assert workbook.sheetnames[0] == "Số đơn vị theo trạng thái, từng nhóm"[:31]
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == table[0]
    assert [[str(c.value) for c in row] for row in sheet.iter_rows(min_row=2)] == table[1:]
    overdue_sheet = workbook.worksheets[2]
    assert overdue_sheet.max_row == len(overdue) and overdue_sheet["D2"].number_format == "dd/mm/yyyy hh:mm"


def test_a_unit_page_has_its_points_per_field_its_evidence_and_its_timeline(
    db_url: str, dashboard: Browser, tmp_path: Path
) -> None:
    appraised_2021(db_url, tmp_path)
    give_login(db_url, "cmg.head")
    browser = dashboard()
    log_in(browser, "cmg.head")
    page = browser.get("/cycles/2021/units/CAH-CMG")
    assert page.status_code == 200 and STATE_LABELS["appraised"] in page.text
    fields = rows_of(browser.get("/cycles/2021/units/CAH-CMG?format=csv&table=fields"))
    with read_session(get_engine(db_url)) as session:
        totals = next(t for t in gather_totals(session, cycle_of(session, 2021)) if t.unit_code == "CAH-CMG")
    total = fields[-1]
    assert total[:5] == [
        "Tổng",
        "",
        vn_number(totals.applicable_max),
        vn_number(totals.self_total),
        vn_number(totals.appraised_total),
    ]
    assert [row[0] for row in fields[1:-1]] == sorted(totals.fields, key=lambda c: int(c))
    for row in fields[1:-1]:
        appraised, maximum = totals.fields[row[0]]
        assert row[2] == vn_number(maximum) and row[4] == vn_number(appraised) and row[1]  # named
    evidence = rows_of(browser.get("/cycles/2021/units/CAH-CMG?format=csv&table=evidence"))
    documents = registry(db_url, 2021, "CAH-CMG")
    assert len(evidence) - 1 == len(documents) > 0
    assert evidence[1][:2] == [documents[0].symbol, documents[0].issued_on.strftime("%d/%m/%Y")]
    timeline = rows_of(browser.get("/cycles/2021/units/CAH-CMG?format=csv&table=timeline"))
    entries = unit_timeline(db_url, "CAH-CMG", 2021)
    assert [int(row[0]) for row in timeline[1:]] == [e.seq for e in entries]  # oldest first, newest last
    assert timeline[-1][4] == "appraise" and timeline[-1][3] == "Thẩm định"
    assert timeline[-1][2] == f"Thiếu tá Mai Hồng Linh ({APPRAISER})"  # who, by name and code
    assert "tiêu chí thay đổi" in timeline[-1][8]


def test_the_published_ranking_has_each_group_with_its_charts(db_url: str, dashboard: Browser, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    give_login(db_url, "pv05.focal")
    browser = dashboard()
    log_in(browser, "pv05.focal")  # published results are for every unit to see
    page = browser.get("/cycles/2021/ranking")
    assert page.status_code == 200 and 'id="ranking"' in page.text
    report = read_ranking(db_url, 2021)
    assert page.text.count('class="group"') == len(report.groups) == 3
    assert page.text.count("<svg") == 2 * len(report.groups)  # classes and field averages of each group
    for group in report.groups:
        rows = rows_of(browser.get(f"/cycles/2021/ranking?format=csv&table=ranking-{group.group}"))
        assert rows[0][:4] == ["Hạng", "Mã đơn vị", "Tên đơn vị", "Chỉ số (%)"]
        assert [(r[0], r[1], r[3], r[4]) for r in rows[1:]] == [
            (str(u.rank), u.unit, vn_number(u.index), u.class_name) for u in group.units
        ]
    book = load_workbook(io.BytesIO(browser.get("/cycles/2021/ranking?format=xlsx").content))
    assert len(book.sheetnames) == 3 * len(report.groups)
    assert browser.get("/cycles/2021/ranking?version=7").status_code == 404


def test_the_audit_search_filters_pages_exports_and_verifies_the_chain(
    db_url: str, dashboard: Browser, tmp_path: Path
) -> None:
    published_2021(db_url, tmp_path)
    give_login(db_url, APPRAISER)
    browser = dashboard()
    log_in(browser, APPRAISER)
    everything = browser.get("/audit")
    total = int(str(scalar(db_url, "SELECT COUNT(*) FROM audit_event")))
    assert f"{total} events; page 1/" in everything.text and everything.text.count("<tr>") == 50 + 1
    one_unit = browser.get("/audit", params={"unit": "CAH-CMG"})
    count = int(str(scalar(db_url, "SELECT COUNT(*) FROM audit_event WHERE unit_code = 'CAH-CMG'")))
    assert f"{count} events; page 1/1." in one_unit.text
    rows = rows_of(browser.get("/audit", params={"unit": "CAH-CMG", "format": "csv", "table": "events"}))
    assert len(rows) - 1 == count and {r[6] for r in rows[1:]} == {"CAH-CMG"}
    assert [int(r[0]) for r in rows[1:]] == sorted((int(r[0]) for r in rows[1:]), reverse=True)  # newest first
    published = rows_of(browser.get("/audit", params={"trigger": "publish", "actor": COORDINATOR, "format": "csv"}))
    publish_events = scalar(
        db_url, "SELECT COUNT(*) FROM audit_event WHERE trigger = 'publish' AND actor = :a", a=COORDINATOR
    )
    assert len(published) - 1 == publish_events == 44 + 2  # each unit, the cycle, the publication itself
    assert {r[2] for r in published[1:]} == {f"Đại úy Trần Công Lực ({COORDINATOR})"}  # the person's name and code
    on_day = rows_of(browser.get("/audit", params={"from": "04/09/2021", "to": "04/09/2021", "format": "csv"}))
    assert {r[1][:10] for r in on_day[1:]} == {"04/09/2021"} and {r[4] for r in on_day[1:]} == {"appraise"}
    assert "không phải là ngày" in browser.get("/audit", params={"from": "hôm qua"}).text
    second = browser.get("/audit", params={"page": "2"})
    assert f"page 2/{-(-total // 50)}" in second.text
    verified = browser.get("/audit/verify")
    assert 'data-ok="1"' in verified.text and f"The log is intact: {total} events" in verified.text
    with write_session(get_engine(db_url)) as session:
        from sqlalchemy import text

        session.execute(text("UPDATE audit_event SET reason = 'sửa lén' WHERE seq = 3"))
    broken = browser.get("/audit/verify")
    assert 'data-ok="0"' in broken.text and "event #3 was changed after it was written" in broken.text


def test_an_events_details_read_the_vietnamese_way_on_the_page() -> None:
    """The audit page's details: Vietnamese names for the payload's keys, a decimal comma, dd/mm/yyyy, local
    time; what a person typed stays as typed."""
    from cchc.flows.web.audit import payload_text

    text = payload_text(
        {
            "source": "web",
            "rows": 1,
            "points": "0.50",
            "issued_on": "2021-06-30",
            "expires_at": "2021-08-10T01:02:03.000000Z",
            "file": "=1+2 kế hoạch.pdf",
            "changed": {"1.1.1": ["0.50", "0.95"]},
        }
    )
    assert text == (
        "nguồn: trên trang web; số dòng: 1; điểm: 0,50; ngày ban hành: 30/06/2021; hết hạn: 10/08/2021 08:02; "
        "tệp: =1+2 kế hoạch.pdf; 1 tiêu chí thay đổi: 1.1.1 0,50→0,95"
    )

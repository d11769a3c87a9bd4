"""The whole cycle played by the people themselves in Debian's chromium (Playwright), each logged in as
themselves: the unit's focal officer fills its grid (some rows typed, the rest by uploading the workbook),
attaches a PDF, submits, withdraws, corrects and submits again; a commune fills its two rows; an appraiser
of another unit lowers a score with a comment and asks for a supplement on two rows; the unit answers one
with a file and one with an explanation; the appraiser re-appraises; the coordinator publishes; the unit
sees its result and sends its remediation plan. No CLI command and no flow call is made for any unit-side or
appraiser-side step; the other 43 units (background) and the cycle's phase changes are moved by flows as the
coordinator. Screenshots under .screenshots/ (sqlite-cycle-*.png, pg-cycle-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Clock, give_login, serving
from factories import (
    APPRAISER,
    COORDINATOR,
    DIRECTOR,
    OUTSIDE_APPRAISER,
    at,
    fill_workbook,
    import_rows,
    open_2021,
    rows_for,
    scalar,
)
from sqlalchemy import text
from test_browser import _log_in, _shot

from cchc.flows.appraisal import appraise_flow
from cchc.flows.awards import awards_flow
from cchc.flows.cycle import advance_cycle_flow
from cchc.flows.params import AdvanceParams, AppraiseParams, AwardsParams, SubmitParams
from cchc.flows.submission import change_units, submit_flow
from cchc.flows.web.app import create_app
from cchc.flows.web.settings import DashboardSettings
from cchc.models.db import get_engine, read_session

pytestmark = pytest.mark.usefixtures("prefect_harness")
UNIT, FOCAL, COMMUNE, COMMUNE_HEAD = "CAH-CMG", "cmg.focal", "CAH-CMG-X-EAPOK", "cmg-x-eapok.head"
TYPED = ("1.1.1", "1.1.2")  # typed in the grid; the commune's two rows are 3.3.2 and 8.4.2; the rest by workbook
COMMUNE_ROWS = ("3.3.2", "8.4.2")
GRID = f"/cycles/2021/units/{UNIT}/self-assessment"
APPRAISAL = f"/cycles/2021/units/{UNIT}/appraisal"


@pytest.fixture
def cycle(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Clock, dict[str, list[str]]]]:
    """The 2021 cycle in self-assessment with every other unit's report in (background); the dashboard served
    on loopback with a clock the test moves; CAH-CMG's rows (a weak unit: 60 % of the usual scores)."""
    org = open_2021(db_url)
    others = [u.code for u in org.units if u.group and u.code != UNIT]
    import_rows(db_url, tmp_path / "others.csv", rows_for(org, others))
    submit_flow(SubmitParams(year=2021, units=others, database_url=db_url, actor=COORDINATOR, at=at("25/08/2021")))
    rows = {r[1]: r for r in rows_for(org, [UNIT])}
    for r in rows.values():
        if r[2] not in ("", "KAD"):
            r[2] = str(round(float(r[2]) * 0.6, 2))
    give_login(db_url, FOCAL, COMMUNE_HEAD, APPRAISER, COORDINATOR)
    clock = Clock(at("10/08/2021"))
    # what a Vietnamese province's people see (the suite otherwise reads English, tests/conftest.py): the
    # screenshots show the Vietnamese pages
    with serving(create_app(db_url, settings=DashboardSettings(language="vi"), clock=clock)) as base:
        yield base, clock, rows


def _person(browser: object, base: str, who: str) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN", accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _log_in(page, base, who)
    page.wait_for_selector("#tasks-page")
    return page


def _back(page: object, base: str, who: str, path: str) -> None:
    """A day or weeks later (the clock moved, the session has ended): log in again and open the page."""
    _log_in(page, base, who)
    page.wait_for_selector("#tasks-page")  # type: ignore[attr-defined]
    page.goto(f"{base}{path}")  # type: ignore[attr-defined]


def _row(page: object, code: str) -> object:
    return page.locator(f'tr.row[data-code="{code}"]')  # type: ignore[attr-defined]


def _type_row(page: object, code: str, row: list[str]) -> None:
    """Type a row as a person does (metric or score, evidence, note), leaving each field with Tab: the
    page saves the row by itself."""
    line = _row(page, code)
    _, _, score, evidence, note, metric = row
    if line.locator(f'input[name="{code}.metric"]').count():  # type: ignore[attr-defined]
        line.locator(f'input[name="{code}.metric"]').fill(metric)  # type: ignore[attr-defined]
    elif score == "KAD":
        line.locator(f'input[name="{code}.not_applicable"]').check()  # type: ignore[attr-defined]
    else:
        line.locator(f'input[name="{code}.score"]').fill(score.replace(".", ","))  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{code}.evidence"]').fill(evidence)  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{code}.note"]').fill(note or "Đã thực hiện")  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{code}.note"]').press("Tab")  # type: ignore[attr-defined]
    _saved(page, code)


def _saved(page: object, code: str) -> None:
    status = _row(page, code).locator(".row-status")  # type: ignore[attr-defined]
    status.filter(has_text="Đã lưu").wait_for(timeout=15_000)


def _attach(page: object, code: str, reference: str, file: Path) -> None:
    line = _row(page, code)
    line.locator("details.attach summary").click()  # type: ignore[attr-defined]
    line.locator(f'input[form="upload-{code}"][name="reference"]').fill(reference)  # type: ignore[attr-defined]
    line.locator(f'input[form="upload-{code}"][name="file"]').set_input_files(str(file))  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        line.locator(f'button[form="upload-{code}"]').click()  # type: ignore[attr-defined]
    page.wait_for_selector("#flash")  # type: ignore[attr-defined]


def _click(page: object, selector: str) -> str:
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click(selector)  # type: ignore[attr-defined]
    return str(page.locator("#flash").inner_text()) if page.locator("#flash").count() else ""  # type: ignore[attr-defined]


def _state(url: str) -> str:
    return str(scalar(url, f"SELECT a.state FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = '{UNIT}'"))


def test_the_whole_cycle_by_the_people_themselves(
    cycle: tuple[str, Clock, dict[str, list[str]]], browser: object, db_url: str, tmp_path: Path
) -> None:
    base, clock, rows = cycle
    pdf = tmp_path / "ke-hoach-cchc.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    # the focal officer: what they owe, the grid, two contributors' rows given to a commune
    focal = _person(browser, base, FOCAL)
    _shot(focal, "cycle-01-focal-tasks", db_url)
    with focal.expect_navigation():  # type: ignore[attr-defined]
        focal.click('tr[data-phase="submission"] a.task-link')  # type: ignore[attr-defined]
    assert focal.url.endswith(GRID)  # type: ignore[attr-defined]
    focal.select_option("#assign-member", COMMUNE)  # type: ignore[attr-defined]
    focal.fill("#assign-criteria", ", ".join(COMMUNE_ROWS))  # type: ignore[attr-defined]
    focal.fill("#assign-due", "20/08/2021")  # type: ignore[attr-defined]
    assert "Đã giao 3.3.2, 8.4.2" in _click(focal, "#assign")

    # the commune's head fills its two rows, and sees no other
    commune = _person(browser, base, COMMUNE_HEAD)
    with commune.expect_navigation():  # type: ignore[attr-defined]
        commune.click('tr[data-phase="contribution"] a.task-link')  # type: ignore[attr-defined]
    assert commune.locator("tr.row").count() == 2  # type: ignore[attr-defined]
    for code in COMMUNE_ROWS:
        _type_row(commune, code, rows[code])
    _shot(commune, "cycle-02-commune-rows", db_url)

    # the focal officer types two rows, attaches a PDF, and fills the rest through the workbook
    focal.reload()  # type: ignore[attr-defined]
    for code in TYPED:
        _type_row(focal, code, rows[code])
    _attach(focal, TYPED[0], "91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC năm 2021", pdf)
    assert "Đã lưu tệp ke-hoach-cchc.pdf" in focal.locator("#flash").inner_text()  # type: ignore[attr-defined]
    with focal.expect_download() as download:  # type: ignore[attr-defined]
        focal.click("#workbook-download")  # type: ignore[attr-defined]
    book = tmp_path / "tu-danh-gia.xlsx"
    download.value.save_as(str(book))
    rest = {c: r for c, r in rows.items() if c not in TYPED + COMMUNE_ROWS}
    filled = fill_workbook(book, rest, tmp_path / "da-dien.xlsx")
    focal.set_input_files("#workbook-file", str(filled))  # type: ignore[attr-defined]
    assert "Đã nhập da-dien.xlsx" in _click(focal, "#workbook-upload")
    assert focal.locator("#filled").inner_text() == focal.locator("#total").inner_text()  # type: ignore[attr-defined]
    assert scalar(db_url, "SELECT count(*) FROM score WHERE supplied_by = :c", c=COMMUNE) == 2  # still the commune's
    _shot(focal, "cycle-03-grid-filled", db_url)

    # submit, withdraw (rút lại), correct, submit again
    clock.moment = at("20/08/2021", "10:00")
    _back(focal, base, FOCAL, GRID)
    assert "Đã gửi báo cáo" in _click(focal, "#submit") and _state(db_url) == "submitted"
    assert "Đã rút lại" in _click(focal, "#withdraw") and _state(db_url) == "self_assess"
    corrected = list(rows[TYPED[1]])
    corrected[4] = "Sửa sau khi rút lại"
    _type_row(focal, TYPED[1], corrected)
    assert "Đã gửi báo cáo" in _click(focal, "#submit") and _state(db_url) == "submitted"

    # the coordinator moves the cycle to appraisal (a phase change, by flow)
    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("31/08/2021")))
    clock.moment = at("06/09/2021")

    # an appraiser of another unit: the queue, the grid, one score lowered with a comment, the appraisal done,
    # a supplement asked on two rows
    appraiser = _person(browser, base, APPRAISER)
    with appraiser.expect_navigation():  # type: ignore[attr-defined]
        appraiser.click(f'tr[data-phase="appraisal"][data-unit="{UNIT}"] a.task-link')  # type: ignore[attr-defined]
    assert appraiser.url.endswith(APPRAISAL)  # type: ignore[attr-defined]
    lowered = TYPED[1]
    line = _row(appraiser, lowered)
    line.locator(f'input[name="{lowered}.ascore"]').fill("0")  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{lowered}.anote"]').fill("Sản phẩm chưa đầy đủ so với kế hoạch")  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{lowered}.anote"]').press("Tab")  # type: ignore[attr-defined]
    _saved(appraiser, lowered)
    assert "Đã thẩm định CAH-CMG (lần 1)" in _click(appraiser, "#finish")
    for code in TYPED:
        appraiser.check(f'input[form="supplement-form"][value="{code}"]')  # type: ignore[attr-defined]
    appraiser.fill("#supplement-note", "Bổ sung kế hoạch đã ký và giải trình sản phẩm")  # type: ignore[attr-defined]
    appraiser.fill("#supplement-due", "10/09/2021")  # type: ignore[attr-defined]
    assert "Đã yêu cầu CAH-CMG bổ sung" in _click(appraiser, "#request-supplement")
    assert _state(db_url) == "supplement_requested"
    _shot(appraiser, "cycle-04-appraiser-grid", db_url)

    # the unit answers: a file on one row, an explanation on the other, and sends the supplement
    clock.moment = at("08/09/2021")
    _back(focal, base, FOCAL, GRID)
    assert "Bổ sung kế hoạch đã ký" in focal.locator("#supplement-request").inner_text()  # type: ignore[attr-defined]
    signed = tmp_path / "ke-hoach-da-ky.pdf"
    signed.write_bytes(pdf.read_bytes() + b"%signed\n")
    _attach(focal, TYPED[0], "95/KH-CAH ngày 02/7/2021 Kế hoạch đã ký", signed)
    line = _row(focal, TYPED[1])
    line.locator(f'textarea[name="{TYPED[1]}.explanation"]').fill("Sản phẩm hoàn thành tháng 12, báo cáo kèm theo")  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{TYPED[1]}.explanation"]').press("Tab")  # type: ignore[attr-defined]
    _saved(focal, TYPED[1])
    _shot(focal, "cycle-05-supplement-answered", db_url)
    assert "Đã gửi phần bổ sung" in _click(focal, "#submit_supplement") and _state(db_url) == "supplemented"

    # the appraiser sees what changed and re-appraises only that
    _back(appraiser, base, APPRAISER, APPRAISAL)
    changed = appraiser.locator('tr.row[data-changed="1"]')  # type: ignore[attr-defined]
    assert sorted(changed.nth(i).get_attribute("data-code") for i in range(changed.count())) == sorted(TYPED)
    line = _row(appraiser, TYPED[1])
    assert "Sản phẩm hoàn thành tháng 12" in line.inner_text()  # type: ignore[attr-defined]
    line.locator(f'input[name="{TYPED[1]}.ascore"]').fill("0,25")  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{TYPED[1]}.anote"]').fill("Chấp nhận một phần giải trình")  # type: ignore[attr-defined]
    line.locator(f'textarea[name="{TYPED[1]}.anote"]').press("Tab")  # type: ignore[attr-defined]
    _saved(appraiser, TYPED[1])
    assert "Đã thẩm định lại CAH-CMG: 1 tiêu chí thay đổi" in _click(appraiser, "#finish")

    # background: the other units appraised and closed by flows; then the coordinator publishes in the browser
    others = [u for (u,) in _codes(db_url) if u not in (UNIT, "PV01")]
    for units, who in ((others, APPRAISER), (["PV01"], OUTSIDE_APPRAISER)):
        appraise_flow(AppraiseParams(year=2021, units=units, database_url=db_url, actor=who, at=at("07/09/2021")))
    change_units(db_url, 2021, "skip_supplement", [], APPRAISER, at("09/09/2021"), states=["appraised"])
    clock.moment = at("10/12/2021")
    coordinator = _person(browser, base, COORDINATOR)
    coordinator.goto(f"{base}/cycles/2021")  # type: ignore[attr-defined]
    with coordinator.expect_navigation():  # type: ignore[attr-defined]
        coordinator.click("#publish")  # type: ignore[attr-defined]
    coordinator.locator("#job-status.done").wait_for(timeout=120_000)  # type: ignore[attr-defined]
    _shot(coordinator, "cycle-06-published", db_url)
    assert _state(db_url) == "published"

    # awards and the move to remediation (the Director's and the coordinator's steps, by flow); the unit sees
    # its result and sends its remediation plan
    awards_flow(AwardsParams(year=2021, database_url=db_url, actor=DIRECTOR, at=at("15/12/2021")))
    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("20/12/2021")))
    clock.moment = at("05/01/2022")
    _back(focal, base, FOCAL, "/")
    assert focal.locator('tr[data-phase="remediation"]').count() == 1  # type: ignore[attr-defined]
    with focal.expect_navigation():  # type: ignore[attr-defined]
        focal.click('tr[data-phase="remediation"] a.task-link')  # type: ignore[attr-defined]
    assert "Kết quả công bố lần 1" in focal.locator("#unit-state").inner_text()  # type: ignore[attr-defined]
    focal.fill('#document-remediation input[name="ref"]', "12/KH-CAH ngày 05/01/2022 Kế hoạch khắc phục")  # type: ignore[attr-defined]
    assert "Đã ghi nhận văn bản" in _click(focal, "#document-remediation button")
    _shot(focal, "cycle-07-remediation-sent", db_url)
    assert scalar(db_url, "SELECT state FROM follow_up WHERE kind = 'remediation'") == "received"

    # the audit trail names each person for each step
    actors = dict(_events(db_url))
    assert actors["assign"] == FOCAL and actors["withdraw"] == FOCAL and actors["submit"] == FOCAL
    assert actors["submit_supplement"] == FOCAL and actors["receive"] == FOCAL
    assert actors["appraiser_scores"] == APPRAISER and actors["request_supplement"] == APPRAISER
    assert actors["reappraise"] == APPRAISER and actors["add_file"] == FOCAL
    assert COMMUNE_HEAD in {a for t, a in _events(db_url) if t == "self_assessment_import"}
    appraised = scalar(
        db_url,
        "SELECT s.appraised_points FROM score s JOIN criterion c ON c.id = s.criterion_id JOIN assessment a "
        "ON a.id = s.assessment_id JOIN unit u ON u.id = a.unit_id WHERE u.code = :u AND c.code = :c",
        u=UNIT,
        c=TYPED[1],
    )
    assert appraised == 25  # hundredths of a point: 0,25


def _codes(url: str) -> list[tuple[str]]:
    with read_session(get_engine(url)) as session:
        return [
            (str(c),)
            for (c,) in session.execute(
                text("SELECT u.code FROM assessment a JOIN unit u ON u.id = a.unit_id ORDER BY u.code")
            )
        ]


def _events(url: str) -> list[tuple[str, str]]:
    """(trigger, actor) of the unit's events, oldest first (the last of each trigger wins in a dict)."""
    with read_session(get_engine(url)) as session:
        return [
            (str(t), str(a))
            for t, a in session.execute(
                text("SELECT trigger, actor FROM audit_event WHERE unit_code LIKE :u ORDER BY seq"),
                {"u": f"{UNIT}%"},
            )
        ]

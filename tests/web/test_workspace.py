"""Every party does its own part in the browser: the unit fills its grid, attaches evidence, submits and
withdraws; a commune fills its rows; an appraiser scores beside the evidence and asks for a supplement;
each through the flows and guards of the CLI, audited under the person's name, refused in one sentence."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from conftest import Clock, csrf_of, give_login, log_in, post_form
from factories import APPRAISER, at, fingerprint, open_2021, scalar, submitted_2021
from starlette.testclient import TestClient

from cchc.flows.contributors import assign
from cchc.flows.web.app import create_app
from cchc.flows.web.settings import DashboardSettings

Browser = Callable[[], TestClient]
GRID = "/cycles/2021/units/CAH-CMG/self-assessment"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def logged_in(dashboard: Browser, who: str) -> TestClient:
    client = dashboard()
    assert log_in(client, who).status_code == 303
    return client


def cmg_focal_in_self_assessment(db_url: str, dashboard: Browser, clock: Clock) -> TestClient:
    """The 2021 cycle in self-assessment on 10/08/2021, logins for CAH-CMG's focal officer, an appraiser and
    another unit's focal officer, and the first of them logged in."""
    open_2021(db_url)
    give_login(db_url, "cmg.focal", APPRAISER, "bmt.focal")
    clock.moment = at("10/08/2021")
    return logged_in(dashboard, "cmg.focal")


def first_rows(page: str) -> list[str]:
    return re.findall(r'<tr id="row-([0-9.]+)"', page)


def test_after_login_a_focal_officer_sees_what_they_owe_with_a_button_to_do_it(
    db_url: str, dashboard: Browser, clock: Clock
) -> None:
    client = cmg_focal_in_self_assessment(db_url, dashboard, clock)
    home = client.get("/")
    assert home.status_code == 200 and 'id="tasks"' in home.text
    assert 'data-phase="submission" data-unit="CAH-CMG"' in home.text
    assert f'href="{GRID}"' in home.text and "days left" in home.text


def test_a_focal_officer_saves_a_row_with_its_button_and_a_refused_row_keeps_what_was_typed(
    db_url: str, dashboard: Browser, clock: Clock
) -> None:
    client = cmg_focal_in_self_assessment(db_url, dashboard, clock)
    page = client.get(GRID)
    assert page.status_code == 200 and 'Scored <strong id="filled">0</strong>/<span id="total">91</span>' in page.text
    code = first_rows(page.text)[0]
    token = csrf_of(page)
    saved = client.post(
        GRID,
        data={
            "csrf_token": token,
            "save": code,
            f"{code}.score": "0,5",
            f"{code}.evidence": "91/KH-CAH ngày 30/6/2021",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith(f"#row-{code}")
    after = client.get(GRID)
    assert (
        "Đã lưu 1 dòng" in after.text
        and 'Scored <strong id="filled">1</strong>/<span id="total">91</span>' in after.text
    )
    assert scalar(db_url, "SELECT actor FROM audit_event ORDER BY seq DESC LIMIT 1") == "cmg.focal"
    before = fingerprint(db_url)
    refused = client.post(
        GRID, data={"csrf_token": token, "save": code, f"{code}.score": "7", f"{code}.note": "gõ dở <b>đậm</b>"}
    )
    assert refused.status_code == 422 and f"Sub-criterion {code}, self-score: 7 is outside" in refused.text
    assert 'value="7"' in refused.text and "gõ dở &lt;b&gt;đậm&lt;/b&gt;" in refused.text
    assert fingerprint(db_url) == before
    # the page's autosave gets JSON
    answer = client.post(
        GRID,
        data={
            "csrf_token": token,
            "save": code,
            f"{code}.score": "0,25",
            f"{code}.evidence": "91/KH-CAH ngày 30/6/2021",
        },
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 200 and answer.json()["ok"] and answer.json()["filled"] == 1


def test_submit_is_refused_with_the_guards_reason_and_withdraw_works_before_appraisal(
    db_url: str, dashboard: Browser, clock: Clock, tmp_path: Path
) -> None:
    client = cmg_focal_in_self_assessment(db_url, dashboard, clock)
    page = client.get(GRID)
    assert "Not yet possible:" in page.text and "have no self-score" in page.text
    refused = post_form(client, GRID, f"{GRID}/submit")
    assert refused.status_code == 303
    assert "have no self-score" in client.get(GRID).text
    assert scalar(
        db_url, "SELECT state FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-CMG'"
    ) == ("self_assess")


def test_an_evidence_file_is_attached_to_a_row_and_opened_by_an_appraiser_but_not_by_another_unit(
    db_url: str, dashboard: Browser, clock: Clock
) -> None:
    client = cmg_focal_in_self_assessment(db_url, dashboard, clock)
    page = client.get(GRID)
    code = first_rows(page.text)[0]
    token = csrf_of(page)
    client.post(GRID, data={"csrf_token": token, "save": code, f"{code}.score": "0,5", f"{code}.evidence": ""})
    sent = client.post(
        "/cycles/2021/units/CAH-CMG/evidence",
        data={"csrf_token": token, "criterion": code, "reference": "91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC"},
        files={"file": ("ke-hoach.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 303
    after = client.get(GRID)
    assert "Đã lưu tệp ke-hoach.pdf" in after.text and "Đã ghi vào tài liệu kiểm chứng" in after.text
    (link,) = re.findall(r'href="(/cycles/2021/units/CAH-CMG/files/[0-9a-f]{64})"', after.text)
    appraiser = logged_in(dashboard, APPRAISER)
    opened = appraiser.get(link)
    assert opened.status_code == 200 and opened.content == PDF and opened.headers["content-type"] == "application/pdf"
    assert opened.headers["content-disposition"].startswith("inline")
    other = logged_in(dashboard, "bmt.focal")
    assert other.get(link).status_code == 403
    assert other.get(GRID).status_code == 403
    # a file of a kind the settings do not allow is refused in one sentence, nothing kept
    before = fingerprint(db_url)
    client.post(
        "/cycles/2021/units/CAH-CMG/evidence",
        data={"csrf_token": token, "criterion": code, "reference": "92/KH-CAH ngày 30/6/2021"},
        files={"file": ("virus.exe", b"MZ", "application/octet-stream")},
    )
    assert "not a document or scan" in client.get(GRID).text and fingerprint(db_url) == before


def test_a_commune_head_lands_on_its_two_rows_and_cannot_touch_another(
    db_url: str, dashboard: Browser, clock: Clock
) -> None:
    open_2021(db_url)
    assign(
        db_url, 2021, "CAH-CMG", "CAH-CMG-X-EAPOK", ["8.4.2", "3.3.2"], at("20/08/2021"), "cmg.focal", at("01/08/2021")
    )
    give_login(db_url, "cmg-x-eapok.head")
    clock.moment = at("10/08/2021")
    client = logged_in(dashboard, "cmg-x-eapok.head")
    home = client.get("/")
    assert home.status_code == 200 and 'data-phase="contribution"' in home.text and f'href="{GRID}"' in home.text
    page = client.get(GRID)
    assert first_rows(page.text) == ["3.3.2", "8.4.2"]
    before = fingerprint(db_url)
    refused = client.post(GRID, data={"csrf_token": csrf_of(page), "save": "1.1.1", "1.1.1.score": "0"})
    assert refused.status_code == 422 and "1.1.1 is not open to this import" in refused.text
    assert fingerprint(db_url) == before
    saved = client.post(GRID, data={"csrf_token": csrf_of(page), "save": "3.3.2", "3.3.2.metric": "45/200"})
    assert saved.status_code == 303
    assert scalar(db_url, "SELECT supplied_by FROM score WHERE supplied_by <> ''") == "CAH-CMG-X-EAPOK"


def test_an_appraiser_scores_with_a_comment_and_asks_a_supplement_on_ticked_rows_never_for_their_own_unit(
    db_url: str, dashboard: Browser, clock: Clock, tmp_path: Path
) -> None:
    submitted_2021(db_url, tmp_path)
    give_login(db_url, APPRAISER, "cmg.focal")
    clock.moment = at("06/09/2021")
    appraiser = logged_in(dashboard, APPRAISER)
    home = appraiser.get("/")
    assert 'data-phase="appraisal" data-unit="CAH-CMG"' in home.text and 'data-unit="PV01"' not in home.text
    assert appraiser.get("/cycles/2021/units/PV01/appraisal").status_code == 403
    url = "/cycles/2021/units/CAH-CMG/appraisal"
    page = appraiser.get(url)
    assert page.status_code == 200 and "By the rules" in page.text
    code = first_rows(page.text)[0]
    token = csrf_of(page)
    assert appraiser.post(url, data={"csrf_token": token, "save": code, f"{code}.ascore": "0"}).status_code == 303
    assert "say why the appraised score differs" in appraiser.get(url).text
    appraiser.post(
        url, data={"csrf_token": token, "save": code, f"{code}.ascore": "0", f"{code}.anote": "Thiếu sản phẩm"}
    )
    assert appraiser.post(f"{url}/finish", data={"csrf_token": token}).status_code == 303
    finished = appraiser.get(url)
    assert "Đã thẩm định CAH-CMG (lần 1)" in finished.text
    asked = appraiser.post(
        f"{url}/supplement",
        data={"csrf_token": token, "criteria": [code, "1.1.2"], "note": "Bổ sung kế hoạch đã ký", "due": "10/09/2021"},
    )
    assert asked.status_code == 303
    assert scalar(
        db_url, "SELECT supplement_criteria FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-CMG'"
    ) == (f"{code},1.1.2")
    # the unit sees the request and only the named rows open
    unit = logged_in(dashboard, "cmg.focal")
    grid = unit.get(GRID)
    assert "Bổ sung kế hoạch đã ký" in grid.text and 'id="submit_supplement"' in grid.text
    editable = re.findall(r'<tr id="row-([0-9.]+)"[^>]*data-editable="1"', grid.text)
    assert editable == [code, "1.1.2"]


def test_the_pages_speak_vietnamese_by_default(db_url: str, clock: Clock) -> None:
    """The suite reads messages in English (tests/conftest.py); a province's dashboard speaks Vietnamese."""
    open_2021(db_url)
    give_login(db_url, "cmg.focal")
    clock.moment = at("10/08/2021")
    app = create_app(db_url, settings=DashboardSettings(language="vi"), clock=clock)
    with TestClient(app, follow_redirects=False) as client:
        assert log_in(client, "cmg.focal").status_code == 303
        page = client.get(GRID)
        why = re.search(r'id="submit-why">([^<]*)<', page.text)
        moves = page.text[page.text.index('id="moves"') :][:1500]
        assert why is not None and "còn 91 tiêu chí thành phần chưa có điểm tự chấm" in why.group(1), moves
        code = first_rows(page.text)[0]
        refused = client.post(GRID, data={"csrf_token": csrf_of(page), "save": code, f"{code}.score": "7"})
        assert refused.status_code == 422 and f"Tiêu chí {code}, điểm tự chấm: 7 nằm ngoài khoảng" in refused.text
    app.state.dashboard.jobs.shutdown()


def test_withdraw_is_refused_once_appraisal_has_started_in_one_sentence_and_nothing_is_written(
    db_url: str, dashboard: Browser, clock: Clock, tmp_path: Path
) -> None:
    submitted_2021(db_url, tmp_path)  # every unit reported; the cycle moved to appraisal on 31/08
    give_login(db_url, "cmg.focal")
    clock.moment = at("02/09/2021")
    client = logged_in(dashboard, "cmg.focal")
    page = client.get(GRID)
    assert 'id="withdraw"' in page.text and "can no longer be withdrawn" in page.text  # said before it is tried
    before = fingerprint(db_url)
    assert client.post(f"{GRID}/withdraw", data={"csrf_token": csrf_of(page)}).status_code == 303
    after = client.get(GRID)
    assert "appraisal of the 2021 cycle has started: the submission can no longer be withdrawn" in after.text
    assert fingerprint(db_url) == before
    # and a save is refused the same way: the rows are locked while the report is with the authority
    code = first_rows(page.text)[0]
    refused = client.post(GRID, data={"csrf_token": csrf_of(after), "save": code, f"{code}.score": "0"})
    assert refused.status_code == 422 and "scores are entered in self_assess" in refused.text
    assert "withdraw the submission first" not in refused.text  # no longer possible: not offered as the way out
    assert fingerprint(db_url) == before


def test_the_unit_sends_its_plan_with_the_signed_file_and_a_refused_file_records_nothing(
    db_url: str, dashboard: Browser, clock: Clock
) -> None:
    client = cmg_focal_in_self_assessment(db_url, dashboard, clock)
    page = client.get("/cycles/2021/units/CAH-CMG")
    assert 'id="document-plan"' in page.text and 'enctype="multipart/form-data"' in page.text
    token = csrf_of(page)
    # a file of a kind the settings refuse: the plan is not recorded either
    before = fingerprint(db_url)
    client.post(
        "/cycles/2021/units/CAH-CMG/documents",
        data={"csrf_token": token, "kind": "plan", "ref": "91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC"},
        files={"file": ("ke-hoach.exe", b"MZ", "application/octet-stream")},
    )
    assert "not a document or scan" in client.get("/cycles/2021/units/CAH-CMG").text
    assert fingerprint(db_url) == before
    sent = client.post(
        "/cycles/2021/units/CAH-CMG/documents",
        data={"csrf_token": token, "kind": "plan", "ref": "91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC"},
        files={"file": ("ke-hoach-da-ky.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 303
    after = client.get("/cycles/2021/units/CAH-CMG")
    assert "Đã ghi nhận kế hoạch CCHC" in after.text and "Đã lưu tệp ke-hoach-da-ky.pdf" in after.text
    (link,) = re.findall(r'href="(/cycles/2021/units/CAH-CMG/documents/[0-9a-f]{64})"', after.text)
    assert scalar(db_url, "SELECT plan_ref FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-CMG'")
    assert scalar(db_url, "SELECT added_by FROM document_file") == "cmg.focal"
    assert scalar(db_url, "SELECT actor FROM audit_event WHERE trigger = 'document_file'") == "cmg.focal"
    opened = logged_in(dashboard, APPRAISER).get(link)
    assert (
        opened.status_code == 200
        and opened.content == PDF
        and opened.headers["content-disposition"].startswith("inline")
    )
    assert logged_in(dashboard, "bmt.focal").get(link).status_code == 403  # another unit's person
    # the same file again is not kept twice
    client.post(
        "/cycles/2021/units/CAH-CMG/documents",
        data={"csrf_token": token, "kind": "plan", "ref": "91/KH-CAH ngày 30/6/2021 Kế hoạch CCHC"},
        files={"file": ("ke-hoach-da-ky.pdf", PDF, "application/pdf")},
    )
    assert scalar(db_url, "SELECT count(*) FROM document_file") == 1

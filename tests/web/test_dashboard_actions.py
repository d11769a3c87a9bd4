"""Actions from the dashboard: each is role-checked and CSRF-protected, calls the flow that owns it (which
audits it), and shows a refusal as one message. Long ones run in the background with a status to poll."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import Clock, csrf_of, give_login, log_in, mixed_2021, post_form, rows_of, wait_for_job
from factories import (
    APPRAISER,
    COORDINATOR,
    DIRECTOR,
    appraised_2021,
    at,
    event_count,
    open_2021,
    scalar,
    signing_links,
)

from cchc.flows.commitments import commitments_flow
from cchc.flows.params import CommitmentParams
from cchc.flows.submission import change_units

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.usefixtures("prefect_harness")
Browser = Callable[[], "TestClient"]


def _state(url: str, unit: str) -> str:
    return str(
        scalar(url, "SELECT a.state FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = :u", u=unit)
    )


def test_a_coordinator_runs_the_sweep_and_it_is_audited(db_url: str, dashboard: Browser, tmp_path: Path) -> None:
    mixed_2021(db_url, tmp_path)
    give_login(db_url, COORDINATOR, "pv05.head", APPRAISER)
    head = dashboard()
    log_in(head, "pv05.head")
    before = event_count(db_url)
    refused = post_form(head, "/cycles/2021/units/PV05", "/cycles/2021/sweep")
    assert refused.status_code == 403 and "Chỉ bộ phận điều phối chạy rà soát hạn" in refused.text
    assert event_count(db_url) == before

    coordinator = dashboard()
    log_in(coordinator, COORDINATOR)
    started = post_form(coordinator, "/cycles/2021", "/cycles/2021/sweep")
    assert started.status_code == 303 and started.headers["location"].startswith("/cycles/2021?job=")
    job = wait_for_job(coordinator, started.headers["location"])
    assert job["status"] == "done" and job["kind"] == "sweep", job
    assert "05/09/2021 09:00" in job["summary"] and "thư được xếp gửi" in job["summary"]
    page = coordinator.get(started.headers["location"])
    assert 'id="job"' in page.text and 'data-status="done"' in page.text
    job_id = started.headers["location"].rsplit("=", 1)[1]
    assert head.get(f"/jobs/{job_id}").status_code == 404  # not theirs to see

    ran = json.loads(
        str(scalar(db_url, "SELECT payload FROM audit_event WHERE trigger = 'sweep' AND actor = :a", a=COORDINATOR))
    )
    escalations = int(str(scalar(db_url, "SELECT COUNT(*) FROM audit_event WHERE trigger = 'escalate'")))
    assert escalations > 0 and ran["steps"] == escalations + int(
        str(scalar(db_url, "SELECT COUNT(*) FROM audit_event WHERE trigger = 'remind'"))
    )
    assert ran["as_of"].startswith("2021-09-05T02:00:00")  # 09:00 in Asia/Ho_Chi_Minh
    overdue = rows_of(coordinator.get("/cycles/2021?format=csv&table=overdue"))
    submission = [row for row in overdue[1:] if row[2].startswith("Báo cáo")]
    assert submission and {row[5] for row in submission} == {"3"}  # five days late: the top of the ladder
    assert all(row[6].startswith("Bậc 3/3") for row in submission)

    again = post_form(coordinator, "/cycles/2021", "/cycles/2021/sweep")
    assert "0 bước nhắc hạn/đôn đốc mới" in wait_for_job(coordinator, again.headers["location"])["summary"]


def test_an_appraiser_requests_a_supplement_and_a_refusal_is_one_message(
    db_url: str, dashboard: Browser, tmp_path: Path
) -> None:
    appraised_2021(db_url, tmp_path)
    give_login(db_url, APPRAISER)
    browser = dashboard()
    log_in(browser, APPRAISER)
    page = "/cycles/2021/units/CAH-CMG"
    asked = post_form(
        browser, page, f"{page}/supplement", note="Bổ sung văn bản kiểm chứng", criteria="1.1.1", due="15/09/2021"
    )
    assert asked.status_code == 303 and asked.headers["location"] == page
    shown = browser.get(page)
    assert 'id="flash" class="flash ok"' in shown.text and "Đã yêu cầu CAH-CMG bổ sung" in shown.text
    assert _state(db_url, "CAH-CMG") == "supplement_requested"
    assert scalar(db_url, "SELECT actor FROM audit_event WHERE trigger = 'request_supplement'") == APPRAISER
    assert "Bổ sung văn bản kiểm chứng (tiêu chí 1.1.1), hạn trước 15/09/2021 00:00" in shown.text

    own = post_form(browser, "/cycles/2021/units/PV01", "/cycles/2021/units/PV01/supplement", note="Bổ sung")
    refusal = browser.get(own.headers["location"])
    assert refusal.text.count('class="flash error"') == 1 and "cannot appraise their own unit" in refusal.text
    assert "Traceback" not in refusal.text and _state(db_url, "PV01") == "appraised"
    bad_day = post_form(browser, page, f"{page}/supplement", note="Bổ sung", due="mai")
    assert "không phải là ngày" in browser.get(bad_day.headers["location"]).text

    again = post_form(browser, page, "/cycles/2021/appraise", unit="CAH-CMG")
    assert again.headers["location"].startswith(f"{page}?job=")
    job = wait_for_job(browser, again.headers["location"])
    assert job["status"] == "failed" and "not waiting for appraisal" in job["error"]


def test_an_appraisal_and_the_publication_run_from_the_dashboard(
    db_url: str, dashboard: Browser, clock: Clock, tmp_path: Path
) -> None:
    appraised_2021(db_url, tmp_path)
    give_login(db_url, APPRAISER, COORDINATOR)
    appraiser = dashboard()
    log_in(appraiser, APPRAISER)
    rerun = post_form(appraiser, "/cycles/2021/units/CAH-CMG", "/cycles/2021/appraise", unit="CAH-CMG")
    job = wait_for_job(appraiser, rerun.headers["location"])
    assert job["status"] == "done" and "không thay đổi 1" in job["summary"]  # the same inputs: nothing new
    change_units(db_url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])

    clock.moment = at("10/12/2021")
    coordinator = dashboard()
    log_in(coordinator, COORDINATOR)
    published = post_form(coordinator, "/cycles/2021", "/cycles/2021/publish")
    job = wait_for_job(coordinator, published.headers["location"])
    assert job["status"] == "done" and job["summary"].startswith("Đã công bố kết quả kỳ 2021, lần 1: 44 đơn vị")
    assert scalar(db_url, "SELECT published_by FROM publication WHERE version = 1") == COORDINATOR
    assert coordinator.get("/cycles/2021/ranking").status_code == 200
    unchanged = post_form(coordinator, "/cycles/2021", "/cycles/2021/publish", reason="thử lại")
    assert "Không có gì thay đổi" in wait_for_job(coordinator, unchanged.headers["location"])["summary"]


def test_a_head_signs_their_commitment_from_the_single_use_link(db_url: str, dashboard: Browser, clock: Clock) -> None:
    open_2021(db_url, self_assessment=False)
    commitments_flow(CommitmentParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("25/06/2021")))
    link = next(iter(signing_links(db_url).values()))
    path = "/" + link.split("/", 3)[3]
    assert path.startswith("/commitments/sign/")
    clock.moment = at("26/06/2021")
    browser = dashboard()  # the link is enough: no login
    page = browser.get(path)
    assert page.status_code == 200 and 'id="sign"' in page.text and 'data-unit="CAT"' in page.text
    assert "Bộ trưởng Bộ Công an" in page.text and 'id="document"' in page.text
    assert browser.post(path, data={}).status_code == 403  # no CSRF token
    assert str(scalar(db_url, "SELECT state FROM commitment WHERE level = 0")) == "sent"
    signed = browser.post(path, data={"csrf_token": csrf_of(page)})
    assert signed.status_code == 200 and 'id="sign-done"' in signed.text
    assert scalar(db_url, "SELECT signed_by FROM commitment WHERE level = 0") == DIRECTOR
    assert scalar(db_url, "SELECT actor FROM audit_event WHERE trigger = 'sign'") == DIRECTOR
    used = browser.post(path, data={"csrf_token": csrf_of(page)})
    assert used.status_code == 400 and "not valid, or it was already used" in used.text
    assert browser.get(path).status_code == 404
    short = "/sign/" + path.rsplit("/", 1)[1]
    assert browser.get(short).status_code == 404  # the same link under /sign/: used up too

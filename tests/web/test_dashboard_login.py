"""Logins, sessions and CSRF: a person logs in with their own password, a session ends when it should,
and every form post carries the session's token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import PASSWORD, Clock, csrf_of, give_login, log_in
from factories import COORDINATOR, event_count, load_sample_org, scalar
from typer.testing import CliRunner

from cchc.flows.cli import app as cli
from cchc.flows.web.auth import set_password
from cchc.flows.web.settings import DashboardSettings, secret_key

if TYPE_CHECKING:
    from starlette.testclient import TestClient

Browser = Callable[[], "TestClient"]


def test_a_person_logs_in_with_their_password_and_out_again(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    assert browser.get("/cycles/2021").headers["location"] == "/login?next=%2Fcycles%2F2021"
    page = browser.get("/login")
    assert 'name="username"' in page.text and 'name="password"' in page.text and 'id="login-form"' in page.text
    done = log_in(browser, "pv01.coord1@dlk.cand.example", next_page="/audit")  # the e-mail works too
    assert done.status_code == 303 and done.headers["location"] == "/audit"
    audit = browser.get("/audit")
    assert audit.status_code == 200 and 'id="audit"' in audit.text and "Trần Công Lực" in audit.text
    token = csrf_of(audit)
    assert browser.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"
    assert browser.get("/audit").status_code == 303  # logged out


def test_a_wrong_password_or_an_unknown_name_is_refused_with_one_message(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    for username, password in ((COORDINATOR, "not the password"), ("nobody", PASSWORD), ("pv01.coord2", PASSWORD)):
        refused = log_in(browser, username, password)
        assert refused.status_code == 401
        assert refused.text.count('id="login-error"') == 1 and "Sai tên đăng nhập hoặc mật khẩu." in refused.text
        assert "Traceback" not in refused.text
    assert browser.get("/audit").status_code == 303
    stored = str(scalar(db_url, "SELECT password_hash FROM login"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_session_ends_after_30_idle_minutes(db_url: str, dashboard: Browser, clock: Clock) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    log_in(browser, COORDINATOR)
    clock.advance(minutes=29)
    assert browser.get("/audit").status_code == 200  # a request keeps the session alive
    clock.advance(minutes=29)
    assert browser.get("/audit").status_code == 200
    clock.advance(minutes=31)
    expired = browser.get("/audit")
    assert expired.status_code == 303 and "expired=1" in expired.headers["location"]
    assert "Your session has expired" in browser.get(expired.headers["location"]).text
    assert browser.get("/audit").status_code == 303  # the session is gone, not only refused once


def test_a_session_ends_8_hours_after_the_login_however_busy(db_url: str, dashboard: Browser, clock: Clock) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    log_in(browser, COORDINATOR)
    for _ in range(19):  # a request every 25 minutes, for 7 h 55
        clock.advance(minutes=25)
        assert browser.get("/audit").status_code == 200
    clock.advance(minutes=25)  # 8 h 20 after the login, 25 minutes after the last request
    ended = browser.get("/audit")
    assert ended.status_code == 303 and "expired=1" in ended.headers["location"]


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    log_in(browser, COORDINATOR)
    assert browser.get("/audit").status_code == 200
    set_password(db_url, COORDINATOR, "Một mật khẩu mới hẳn 2022", None)
    assert browser.get("/audit").status_code == 303


def test_a_web_process_trusts_who_a_person_is_for_a_few_seconds_but_never_an_ended_session(
    db_url: str, clock: Clock
) -> None:
    """Every page asks for its session's row (one lookup by primary key); who the person is (four queries) a
    process keeps for `session_recheck_seconds` (10 by default). A new password revokes the rows, so it ends
    the other sessions at their next request, within the time a process trusts who the person is."""
    from starlette.testclient import TestClient

    from cchc.flows.web.app import create_app

    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    app = create_app(db_url, settings=DashboardSettings(session_recheck_seconds=10), clock=clock)
    with TestClient(app, follow_redirects=False) as browser:
        log_in(browser, COORDINATOR)
        assert browser.get("/audit").status_code == 200
        set_password(db_url, COORDINATOR, "Một mật khẩu mới hẳn 2022", None)
        clock.advance(seconds=1)
        answer = browser.get("/audit")
        assert answer.status_code == 303 and "/login" in answer.headers["location"]  # ended at once
    app.state.dashboard.jobs.shutdown()


def test_a_post_without_the_csrf_token_is_refused(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    browser.get("/login")
    refused = browser.post("/login", data={"username": COORDINATOR, "password": PASSWORD, "next": "/"})
    assert refused.status_code == 403 and 'id="forbidden"' in refused.text and "CSRF" in refused.text
    forged = browser.post(
        "/login", data={"username": COORDINATOR, "password": PASSWORD, "next": "/", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    log_in(browser, COORDINATOR)
    before = event_count(db_url)
    posts = [r for r in browser.app.routes if "POST" in (getattr(r, "methods", None) or ())]  # type: ignore[attr-defined]
    assert len(posts) >= 8
    for route in posts:
        path = route.path.replace("{year:year}", "2021").replace("{code:code}", "CAH-CMG").replace("{token}", "x")
        answer = browser.post(path, data={"reason": "thử", "note": "thử", "unit": "CAH-CMG"})
        assert answer.status_code == 403, path
    assert event_count(db_url) == before  # nothing was done
    assert browser.get("/audit").status_code == 200  # and the session is still open


def test_login_set_takes_the_password_from_standard_input(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    runner = CliRunner()
    short = runner.invoke(cli, ["--database-url", db_url, "login", "set", "--person", "cmg.head"], input="ngắn\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    empty = runner.invoke(cli, ["--database-url", db_url, "login", "set", "--person", "cmg.head"], input="")
    assert empty.exit_code == 1 and "at least 10 characters" in empty.output
    unknown = runner.invoke(cli, ["--database-url", db_url, "login", "set", "--person", "nobody"], input=PASSWORD)
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    done = runner.invoke(cli, ["--database-url", db_url, "login", "set", "--person", "cmg.head"], input=PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert "cmg.head: dashboard password set" in done.output
    assert scalar(db_url, "SELECT COUNT(*) FROM audit_event WHERE trigger = 'set_login'") == 1
    assert log_in(dashboard(), "cmg.head").status_code == 303


def test_the_generated_secret_key_is_kept_and_reused(tmp_path: Path) -> None:
    settings = DashboardSettings(secret_key_file=tmp_path / "keys" / "dashboard.key")
    first = secret_key(settings)
    assert len(first) >= 32 and secret_key(settings) == first
    assert (tmp_path / "keys" / "dashboard.key").stat().st_mode & 0o777 == 0o600
    assert secret_key(DashboardSettings(secret_key="x" * 40)) == "x" * 40
    with pytest.raises(Exception, match="too short"):
        secret_key(DashboardSettings(secret_key="short"))

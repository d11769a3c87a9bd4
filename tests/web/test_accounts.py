"""Accounts for a province: a coordinator invites people by e-mail, a person chooses their password with the
link (once, before it expires), and "forgot password" sends a new link without telling who exists. The
links travel through the outbox sealed: the database never holds one in clear."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from conftest import PASSWORD, Clock, csrf_of, give_login, log_in, post_form
from factories import COORDINATOR, event_count, fingerprint, load_sample_org, scalar
from mailserver import MailServer
from sqlalchemy import select
from typer.testing import CliRunner

from cchc.flows.accounts import token_hash
from cchc.flows.cli import app as cli
from cchc.flows.notify import flush_batch
from cchc.models.db import get_engine, read_session
from cchc.notifications.sealing import key_file

if TYPE_CHECKING:
    from starlette.testclient import TestClient

Browser = Callable[[], "TestClient"]

TEAM = "PV01-PCQLKH"  # the coordinators' own team: its head, two coordinators, two appraisers
TEAM_PEOPLE = ["pv01-pcqlkh.head", "pv01.appr1", "pv01.appr2", "pv01.coord1", "pv01.coord2"]
LINK = re.compile(r"http://127\.0\.0\.1:8000/invite/([A-Za-z0-9_-]{43})")
NEW_PASSWORD = "Mật khẩu mới của tôi 2021"
FORGOT = "Nếu tài khoản tồn tại, một thư hướng dẫn đã được gửi"


def deliver(url: str, clock: Clock | None) -> int:
    """Send what the outbox holds, as `cchc notify flush` does (the flush task itself, on loopback SMTP), at
    the dashboard's moment (or now, for what the command line queued)."""
    sent, retry, dead, errors = flush_batch.fn(url, clock.moment if clock else None, 500)
    assert (retry, dead) == (0, 0), errors
    return int(sent)


def links_in(server: MailServer) -> dict[str, str]:
    """The link of each message received, by recipient; the text and the HTML part carry the same one."""
    found = {}
    for received in server.received:
        message = received.message
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        (token,) = LINK.findall(text)
        assert f'href="http://127.0.0.1:8000/invite/{token}"' in html
        found[received.recipients[0].split("@")[0]] = token
    return found


def every_value(url: str) -> str:
    """Every value of every row of every table, as text."""
    from sqlmodel import SQLModel

    with read_session(get_engine(url)) as session:
        return "\n".join(
            repr(tuple(row)) for table in SQLModel.metadata.sorted_tables for row in session.execute(select(table))
        )


def coordinator(url: str, dashboard: Browser) -> TestClient:
    load_sample_org(url)
    give_login(url, COORDINATOR)
    browser = dashboard()
    assert log_in(browser, COORDINATOR).status_code == 303
    return browser


def invite_team(url: str, dashboard: Browser, server: MailServer, clock: Clock) -> dict[str, str]:
    browser = coordinator(url, dashboard)
    done = post_form(browser, "/people", "/people/invite", unit=TEAM)
    assert done.status_code == 303 and done.headers["location"] == "/people"
    assert deliver(url, clock) == len(TEAM_PEOPLE)
    return links_in(server)


def choose(browser: TestClient, token: str, password: str = NEW_PASSWORD, again: str | None = None):  # type: ignore[no-untyped-def]
    return post_form(browser, f"/invite/{token}", f"/invite/{token}", password=password, password2=again or password)


def test_a_coordinator_invites_a_unit_and_everyone_of_it_receives_a_link(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    browser = coordinator(db_url, dashboard)
    people = browser.get("/people")
    assert people.status_code == 200 and 'id="nav-people"' in people.text and 'id="invite-unit"' in people.text
    before = event_count(db_url)
    done = post_form(browser, "/people", "/people/invite", unit=TEAM)
    assert done.status_code == 303
    assert "Đã gửi thư mời cho 5 người." in browser.get("/people").text
    assert event_count(db_url) == before + 5
    assert scalar(db_url, "SELECT count(*) FROM audit_event WHERE trigger = 'invitation_sent'") == 5
    assert deliver(db_url, clock) == 5
    assert sorted(links_in(mail_server)) == TEAM_PEOPLE
    message = mail_server.received[0].message
    assert message["Subject"] == "[Thư mời] Tài khoản bảng điều khiển Chỉ số CCHC"
    assert "12/09/2021 09:00" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # 7 days


def test_the_database_holds_neither_a_token_nor_a_link_in_clear(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    links = invite_team(db_url, dashboard, mail_server, clock)
    stored = every_value(db_url)
    assert "/invite/" not in stored
    for token in links.values():
        assert token not in stored
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE context LIKE '%\"sealed\"%'") == 5
    assert key_file_exists(), "the key that opens the sealed links is a file, outside the database"


def key_file_exists() -> bool:
    from cchc.config.settings import get_settings

    return key_file(get_settings()).is_file() and oct(key_file(get_settings()).stat().st_mode)[-3:] == "600"


def test_opening_the_link_and_choosing_a_password_logs_the_person_in(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    token = invite_team(db_url, dashboard, mail_server, clock)["pv01.coord2"]
    browser = dashboard()  # another browser: the invited person's
    page = browser.get(f"/invite/{token}")
    assert page.status_code == 200 and "Phạm Thu Phương" in page.text and 'id="invite-form"' in page.text
    done = choose(browser, token)
    assert done.status_code == 303 and done.headers["location"] == "/"
    people = browser.get("/people")  # logged in, as a coordinator
    assert people.status_code == 200 and 'data-code="pv01.coord2"' in people.text and "Đã đặt mật khẩu" in people.text
    assert scalar(db_url, "SELECT count(*) FROM audit_event WHERE trigger = 'invitation_used'") == 1
    assert scalar(db_url, "SELECT count(*) FROM audit_event WHERE trigger = 'set_login'") == 2  # and the coordinator's
    stored = str(scalar(db_url, "SELECT password_hash FROM login ORDER BY id DESC LIMIT 1"))
    assert stored.startswith("$argon2id$") and NEW_PASSWORD not in every_value(db_url)
    assert log_in(dashboard(), "pv01.coord2", NEW_PASSWORD).status_code == 303


def test_a_link_works_once(db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock) -> None:
    token = invite_team(db_url, dashboard, mail_server, clock)["pv01.appr1"]
    assert choose(dashboard(), token).status_code == 303
    before = fingerprint(db_url)
    again = dashboard()
    assert again.get(f"/invite/{token}").status_code == 410
    csrf = csrf_of(again.get("/forgot"))  # the link's page is gone: any page of the session gives its token
    other = "Một mật khẩu khác nữa 2021"
    refused = again.post(f"/invite/{token}", data={"password": other, "password2": other, "csrf_token": csrf})
    assert (
        refused.status_code == 410 and "đã được dùng" in refused.text and refused.text.count('id="message-text"') == 1
    )
    assert fingerprint(db_url) == before
    assert log_in(dashboard(), "pv01.appr1", "Một mật khẩu khác nữa 2021").status_code == 401


def test_an_expired_link_is_refused_in_one_sentence_and_nothing_is_written(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    token = invite_team(db_url, dashboard, mail_server, clock)["pv01.appr2"]
    browser = dashboard()
    csrf = csrf_of(browser.get(f"/invite/{token}"))  # opened in time…
    clock.advance(days=7, seconds=1)  # …and sent after invitation_days
    before = fingerprint(db_url)
    refused = browser.post(
        f"/invite/{token}", data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD, "csrf_token": csrf}
    )
    assert refused.status_code == 410
    (sentence,) = re.findall(r'<p id="message-text">([^<]*)</p>', refused.text)
    assert sentence == "Liên kết này đã hết hạn: hãy đề nghị bộ phận điều phối gửi thư mới."
    assert browser.get(f"/invite/{token}").status_code == 410
    assert fingerprint(db_url) == before


def test_an_unknown_link_is_no_page_and_writes_nothing(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    browser = dashboard()
    before = fingerprint(db_url)
    assert browser.get("/invite/" + "x" * 43).status_code == 404
    token = csrf_of(browser.get("/forgot"))
    refused = browser.post(
        "/invite/nope", data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 404 and "Liên kết này không đúng" in refused.text
    assert fingerprint(db_url) == before


def test_a_newer_invitation_revokes_the_older_one(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    browser = coordinator(db_url, dashboard)
    post_form(browser, "/people", "/people/invite", person="pv05.focal")
    post_form(browser, "/people", "/people/invite", person="pv05.focal@dlk.cand.example")  # the e-mail works too
    assert deliver(db_url, clock) == 2
    links = [LINK.findall(r.message.get_body(("plain",)).get_content())[0] for r in mail_server.received]  # type: ignore[union-attr]
    assert scalar(db_url, "SELECT count(*) FROM invitation WHERE revoked_at IS NOT NULL AND used_at IS NULL") == 1
    revoked = scalar(db_url, "SELECT token_hash FROM invitation WHERE revoked_at IS NOT NULL")
    # the two e-mails go out over several connections at once: which arrived first says nothing of which is older
    (first,) = (link for link in links if token_hash(link) == revoked)
    (second,) = (link for link in links if link != first)
    stale = dashboard().get(f"/invite/{first}")
    assert stale.status_code == 410 and "liên kết mới hơn" in stale.text
    assert choose(dashboard(), second).status_code == 303
    people = browser.get("/people").text
    row = re.search(r'<tr data-code="pv05.focal">.*?</tr>', people, re.S)
    assert row and "login-yes" in row.group(0) and "invitation-used" in row.group(0)


def test_the_two_passwords_must_match_and_be_long_enough(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    token = invite_team(db_url, dashboard, mail_server, clock)["pv01-pcqlkh.head"]
    browser = dashboard()
    before = fingerprint(db_url)
    different = choose(browser, token, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert different.status_code == 400 and "không giống nhau" in different.text
    short = choose(browser, token, "ngắn quá")
    assert short.status_code == 400 and "ít nhất 10 ký tự" in short.text
    assert fingerprint(db_url) == before
    assert choose(browser, token).status_code == 303  # the link still works


def test_someone_who_is_not_a_coordinator_cannot_invite(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, "pv05.head", "pv01.appr1")
    for who in ("pv05.head", "pv01.appr1"):
        browser = dashboard()
        log_in(browser, who)
        page = browser.get("/people")
        assert page.status_code == 403 and "Chỉ bộ phận điều phối mời người dùng" in page.text
        assert 'id="nav-people"' not in browser.get("/forgot").text
        before = fingerprint(db_url)
        token = csrf_of(browser.get("/forgot"))
        for fields in ({"unit": "PV05"}, {"all": "1"}, {"person": "pv05.focal"}):
            refused = browser.post("/people/invite", data={**fields, "csrf_token": token})
            assert refused.status_code == 403
        assert fingerprint(db_url) == before


def test_forgot_password_answers_the_same_for_an_unknown_name_and_queues_nothing(
    db_url: str, dashboard: Browser
) -> None:
    load_sample_org(db_url)
    browser = dashboard()
    assert 'href="/forgot"' in browser.get("/login").text
    before = fingerprint(db_url)
    unknown = post_form(browser, "/forgot", "/forgot", username="nobody@nowhere.example")
    assert unknown.status_code == 200 and FORGOT in unknown.text
    assert fingerprint(db_url) == before
    known = post_form(browser, "/forgot", "/forgot", username="cmg.focal")
    assert known.status_code == 200 and FORGOT in known.text
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert strip.sub("", known.text) == strip.sub("", unknown.text)
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE kind = 'invitation'") == 1
    post_form(browser, "/forgot", "/forgot", username="cmg.focal")  # asked again a moment later: no second mail
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE kind = 'invitation'") == 1


def test_a_reset_replaces_the_old_password(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    load_sample_org(db_url)
    give_login(db_url, "cmg.focal")
    old_session = dashboard()
    assert log_in(old_session, "cmg.focal").status_code == 303
    browser = dashboard()
    post_form(browser, "/forgot", "/forgot", username="cmg.focal@dlk.cand.example")
    assert deliver(db_url, clock) == 1
    message = mail_server.received[0].message
    assert message["Subject"] == "[Đặt lại mật khẩu] Bảng điều khiển Chỉ số CCHC"
    (token,) = links_in(mail_server).values()
    assert log_in(dashboard(), "cmg.focal").status_code == 303  # the old password works until the link is used
    assert 'data-purpose="reset"' in browser.get(f"/invite/{token}").text
    assert choose(browser, token).status_code == 303
    assert log_in(dashboard(), "cmg.focal", PASSWORD).status_code == 401
    assert log_in(dashboard(), "cmg.focal", NEW_PASSWORD).status_code == 303
    assert "expired=1" in old_session.get("/audit").headers["location"]  # a session of the old password ends


def test_a_sealed_link_without_its_key_is_never_sent(
    db_url: str, dashboard: Browser, mail_server: MailServer, clock: Clock
) -> None:
    from cchc.config.settings import get_settings

    browser = coordinator(db_url, dashboard)
    post_form(browser, "/people", "/people/invite", person="pv05.focal")
    key_file(get_settings()).unlink()  # as on a machine that does not share the key
    sent, _, dead, errors = flush_batch.fn(db_url, clock.moment, 10)
    assert (sent, dead) == (0, 1) and "outbox key" in errors[0]
    assert mail_server.received == []


def test_the_command_line_invites_and_refuses_whoever_is_not_a_coordinator(
    db_url: str, mail_server: MailServer
) -> None:
    load_sample_org(db_url)
    runner = CliRunner()
    base = ["--database-url", db_url, "login", "invite"]
    done = runner.invoke(cli, [*base, "--unit", "PV05", "--as", COORDINATOR])
    assert done.exit_code == 0 and "invited 3 people: pv05.deputy, pv05.focal, pv05.head" in done.output
    assert deliver(db_url, None) == 3 and len(links_in(mail_server)) == 3
    everyone = runner.invoke(cli, [*base, "--all", "--as", COORDINATOR])
    people = int(str(scalar(db_url, "SELECT count(*) FROM person WHERE active")))
    assert everyone.exit_code == 0 and f"invited {people} people" in everyone.output  # nobody has a login yet
    before = fingerprint(db_url)
    refused = runner.invoke(cli, [*base, "--person", "pv05.focal", "--as", "pv05.head"])
    assert refused.exit_code == 1 and "Chỉ bộ phận điều phối mời người dùng" in refused.output
    both = runner.invoke(cli, [*base, "--person", "pv05.focal", "--unit", "PV05", "--as", COORDINATOR])
    assert both.exit_code == 1 and "name one person (--person), one unit (--unit)" in both.output
    unknown = runner.invoke(cli, [*base, "--person", "nobody", "--as", COORDINATOR])
    assert unknown.exit_code == 1 and "nobody active with the code or e-mail 'nobody'" in unknown.output
    assert "Traceback" not in refused.output + both.output + unknown.output
    assert fingerprint(db_url) == before


@pytest.mark.parametrize("purpose", ["invite", "reset"])
def test_the_message_renders_in_both_languages(purpose: str) -> None:
    from datetime import UTC, datetime

    from cchc.notifications.render import render

    context = {
        "person_name": "Nguyễn Văn An",
        "unit_name": "Công an huyện Cư M'gar",
        "unit_code": "CAH-CMG",
        "due": datetime(2021, 9, 12, 2, 0, tzinfo=UTC),
        "authority": "Công an tỉnh Đắk Lắk",
        "purpose": purpose,
        "link": "http://127.0.0.1:8000/invite/abc",
    }
    subjects = {
        ("vi", "invite"): "[Thư mời] Tài khoản bảng điều khiển Chỉ số CCHC",
        ("vi", "reset"): "[Đặt lại mật khẩu] Bảng điều khiển Chỉ số CCHC",
        ("en", "invite"): "[Invitation] Your account on the PAR index dashboard",
        ("en", "reset"): "[Password reset] The PAR index dashboard",
    }
    for lang in ("vi", "en"):
        message = render("invitation", context, lang=lang)
        assert message.subject == subjects[lang, purpose]
        assert "http://127.0.0.1:8000/invite/abc" in message.text and "12/09/2021 09:00" in message.text
        assert 'href="http://127.0.0.1:8000/invite/abc"' in message.html and "Cư M&#39;gar" in message.html

"""Sessions as a bank would have them: a session is a row of the database, so a copied cookie opens nothing
after logout, a new password or a coordinator's revocation, in any web process; logins go through a throttle
shared by every process, per account and per address, and every failed login is in the audit trail (never
the password); a password easy to guess is refused in one Vietnamese sentence, wherever it is set."""

from __future__ import annotations

import base64
import json
import os
import pwd
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from conftest import PASSWORD, Clock, csrf_of, give_login, log_in, post_form
from factories import COORDINATOR, at, event_count, fingerprint, load_sample_org, scalar
from sqlalchemy import insert, select, text
from typer.testing import CliRunner

from cchc.flows.accounts import token_hash
from cchc.flows.cli import app as cli
from cchc.flows.web.app import create_app
from cchc.flows.web.auth import set_password
from cchc.flows.web.dashboard import COOKIE
from cchc.flows.web.settings import DashboardSettings
from cchc.models.audit import verify
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.i18n import speaking
from cchc.models.tables import Invitation, Person

if TYPE_CHECKING:
    from starlette.testclient import TestClient

Browser = Callable[[], "TestClient"]
FOCAL = "cmg.focal"
WRONG = "Sai tên đăng nhập hoặc mật khẩu."
LOCKED_VI = "Đăng nhập sai quá nhiều lần: tạm khóa đăng nhập đến {until} (giờ địa phương)."


@pytest.fixture
def app_of(db_url: str, clock: Clock) -> Iterator[Callable[..., TestClient]]:
    """Browsers on dashboards of the test's database (each app is one web process), Vietnamese by default;
    `settings` overrides DashboardSettings' fields. The apps share the session key, as the processes of
    `cchc dashboard --workers N` share theirs."""
    from starlette.testclient import TestClient

    opened: list[TestClient] = []

    def browser(**settings: object) -> TestClient:
        fields = {"language": "vi", "secret_key": "k" * 40, **settings}
        app = create_app(db_url, settings=DashboardSettings(**fields), clock=clock)  # type: ignore[arg-type]
        client = TestClient(app, follow_redirects=False)
        opened.append(client)
        return client

    yield browser
    for client in opened:
        client.close()
        client.app.state.dashboard.jobs.shutdown()  # type: ignore[attr-defined]


def copy_of(cookie_from: TestClient, into: TestClient) -> TestClient:
    """Another browser (or an attacker) given a copy of a session cookie."""
    into.cookies.set(COOKIE, str(cookie_from.cookies.get(COOKIE)))
    return into


def session_id(browser: TestClient) -> str:
    """The random id a session cookie carries (its payload is signed, not hidden)."""
    payload = str(browser.cookies.get(COOKIE)).split(".")[0]
    data: dict[str, str] = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return data["sid"]


def every_value(url: str) -> str:
    from sqlmodel import SQLModel

    with read_session(get_engine(url)) as session:
        return "\n".join(
            repr(tuple(row)) for table in SQLModel.metadata.sorted_tables for row in session.execute(select(table))
        )


def failed_logins(url: str) -> list[dict[str, object]]:
    with read_session(get_engine(url)) as session:
        rows = session.execute(
            text("SELECT actor, payload FROM audit_event WHERE trigger = 'login_failed' ORDER BY seq")
        ).all()
    return [{"actor": actor, **json.loads(payload)} for actor, payload in rows]


def logged_in(browser: TestClient) -> bool:
    """Whether the browser's session opens the pages (the home page of a database with no cycle yet is a
    refusal, not the login)."""
    return browser.get("/").status_code != 303


def logout(browser: TestClient) -> None:
    token = csrf_of(browser.get("/"))
    assert browser.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"


# --- the session is a row -----------------------------------------------------------------------------------


def test_a_copied_cookie_is_refused_after_logout(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    owner = dashboard()
    assert log_in(owner, COORDINATOR).status_code == 303
    thief = copy_of(owner, dashboard())
    assert thief.get("/audit").status_code == 200  # a copy works while the session is open (as any cookie's)
    logout(owner)
    refused = thief.get("/audit")
    assert refused.status_code == 303 and "expired=1" in refused.headers["location"]
    assert thief.get("/audit").status_code == 303
    assert scalar(db_url, "SELECT revoked_why FROM web_session") == "logout"


def test_a_session_row_keeps_only_the_digest_of_its_id_with_the_address_and_the_browser(
    db_url: str, dashboard: Browser
) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    log_in(browser, COORDINATOR)
    sid = session_id(browser)
    assert len(sid) >= 43  # 32 random bytes
    assert scalar(db_url, "SELECT id FROM web_session") == token_hash(sid)
    assert sid not in every_value(db_url)
    assert scalar(db_url, "SELECT address FROM web_session") == "testclient"
    assert scalar(db_url, "SELECT user_agent FROM web_session") == "testclient"
    assert scalar(db_url, "SELECT revoked_at FROM web_session") is None


def test_a_new_password_ends_every_session_at_once_in_every_web_process(
    db_url: str, app_of: Callable[..., TestClient], clock: Clock
) -> None:
    """Each process trusts who a person is (name, roles) for `session_recheck_seconds`, never whether their
    session still holds: the password changed in one place ends the old sessions on their next request."""
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    one, two = app_of(session_recheck_seconds=10), app_of(session_recheck_seconds=10)
    assert log_in(one, COORDINATOR).status_code == 303
    copy_of(one, two)
    assert one.get("/audit").status_code == 200 and two.get("/audit").status_code == 200
    set_password(db_url, COORDINATOR, "Một mật khẩu mới hẳn 2022", None)
    clock.advance(seconds=1)  # well within the 10 s each process trusts who the person is
    for browser in (one, two):
        ended = browser.get("/audit")
        assert ended.status_code == 303 and "expired=1" in ended.headers["location"]
    assert scalar(db_url, "SELECT revoked_why FROM web_session") == "password"
    payload = json.loads(
        str(scalar(db_url, "SELECT payload FROM audit_event WHERE trigger = 'set_login' ORDER BY seq DESC"))
    )
    assert payload["sessions_ended"] == 1
    assert log_in(one, COORDINATOR, "Một mật khẩu mới hẳn 2022").status_code == 303  # the new password works


def test_a_process_trusts_a_role_for_a_few_seconds_and_a_session_for_none(
    db_url: str, app_of: Callable[..., TestClient], clock: Clock
) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = app_of(session_recheck_seconds=10)
    log_in(browser, COORDINATOR)
    assert browser.get("/audit").status_code == 200
    with write_session(get_engine(db_url)) as session:
        session.execute(
            text(
                "DELETE FROM person_role WHERE role = 'coordinator' AND person_id = "
                "(SELECT id FROM person WHERE code = :code)"
            ),
            {"code": COORDINATOR},
        )
    clock.advance(seconds=9)
    assert browser.get("/audit").status_code == 200  # who the person is: trusted for 10 s
    clock.advance(seconds=2)
    assert browser.get("/audit").status_code == 403  # asked again
    with write_session(get_engine(db_url)) as session:
        session.execute(text("UPDATE person SET active = false WHERE code = :code"), {"code": COORDINATOR})
    gone = browser.get("/audit")  # the session's own row is read at every request: at once
    assert gone.status_code == 303 and "/login" in gone.headers["location"]


def test_the_last_seen_time_is_written_at_most_once_a_minute(db_url: str, dashboard: Browser, clock: Clock) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    log_in(browser, COORDINATOR)
    before = fingerprint(db_url)
    for _ in range(5):
        clock.advance(seconds=10)
        assert browser.get("/audit").status_code == 200
    assert fingerprint(db_url) == before  # 50 s of pages: nothing written
    clock.advance(seconds=15)
    assert browser.get("/audit").status_code == 200
    seen = scalar(db_url, "SELECT last_seen_at FROM web_session")
    assert seen is not None and fingerprint(db_url) != before


# --- the coordinator ends a person's sessions -----------------------------------------------------------------


def test_a_coordinator_ends_a_person_s_sessions_from_the_accounts_page(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR, FOCAL)
    coordinator, phone, laptop = dashboard(), dashboard(), dashboard()
    log_in(coordinator, COORDINATOR)
    log_in(phone, FOCAL)
    log_in(laptop, FOCAL)
    page = coordinator.get("/people")
    assert f'<tr data-code="{FOCAL}">' in page.text
    row = page.text.split(f'<tr data-code="{FOCAL}">')[1].split("</tr>")[0]
    assert 'data-sessions="2"' in row and 'action="/people/sessions"' in row
    before = event_count(db_url)
    done = post_form(coordinator, "/people", "/people/sessions", person=FOCAL)
    assert done.status_code == 303 and done.headers["location"] == "/people"
    assert "Ended 2 sessions of cmg.focal" in coordinator.get("/people").text
    for browser in (phone, laptop):
        assert not logged_in(browser)
    assert event_count(db_url) == before + 1
    actor, payload = (
        scalar(db_url, "SELECT actor FROM audit_event ORDER BY seq DESC LIMIT 1"),
        json.loads(str(scalar(db_url, "SELECT payload FROM audit_event ORDER BY seq DESC LIMIT 1"))),
    )
    assert actor == COORDINATOR and payload == {"person": FOCAL, "sessions": 2}
    assert scalar(db_url, "SELECT trigger FROM audit_event ORDER BY seq DESC LIMIT 1") == "revoke_sessions"
    assert coordinator.get("/people").status_code == 200  # the coordinator's own session goes on
    assert log_in(phone, FOCAL).status_code == 303  # the person logs in again with their password


def test_only_a_coordinator_ends_sessions(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, "pv05.head", FOCAL)
    focal, head = dashboard(), dashboard()
    log_in(focal, FOCAL)
    log_in(head, "pv05.head")
    before = fingerprint(db_url)
    refused = head.post("/people/sessions", data={"person": FOCAL, "csrf_token": csrf_of(head.get("/forgot"))})
    assert refused.status_code == 403
    assert fingerprint(db_url) == before and logged_in(focal)


def test_the_command_line_ends_a_person_s_sessions(db_url: str, dashboard: Browser) -> None:
    load_sample_org(db_url)
    give_login(db_url, FOCAL)
    browser = dashboard()
    log_in(browser, FOCAL)
    runner = CliRunner()
    refused = runner.invoke(cli, ["--database-url", db_url, "login", "revoke", "--person", FOCAL, "--as", "pv05.head"])
    assert refused.exit_code == 1 and logged_in(browser)
    done = runner.invoke(cli, ["--database-url", db_url, "login", "revoke", "--person", FOCAL])
    assert done.exit_code == 0 and "cmg.focal: 1 session ended" in done.output, done.output
    assert not logged_in(browser)
    operator = pwd.getpwuid(os.getuid()).pw_name
    assert scalar(db_url, "SELECT actor FROM audit_event WHERE trigger = 'revoke_sessions'") == f"os:{operator}"


# --- the login throttle ---------------------------------------------------------------------------------------


def test_the_sixth_wrong_password_is_throttled_and_the_right_one_is_refused_during_the_lockout(
    db_url: str, app_of: Callable[..., TestClient], clock: Clock
) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = app_of()
    for attempt in range(4):  # the code and the e-mail are one account
        name = COORDINATOR if attempt % 2 else "pv01.coord1@dlk.cand.example"
        refused = log_in(browser, name, "một mật khẩu đoán thử")
        assert refused.status_code == 401 and WRONG in refused.text and "tạm khóa" not in refused.text
    fifth = log_in(browser, COORDINATOR, "một mật khẩu đoán thử")
    until = LOCKED_VI.format(until="05/09/2021 09:15")
    assert fifth.status_code == 401 and WRONG in fifth.text and until in fifth.text
    sixth = log_in(browser, COORDINATOR, "một mật khẩu đoán thử")
    assert sixth.status_code == 429 and until in sixth.text and sixth.text.count('id="login-error"') == 1
    assert sixth.headers["retry-after"] == "900"
    right = log_in(browser, COORDINATOR, PASSWORD)  # the right password, during the lockout: refused unchecked
    assert right.status_code == 429 and until in right.text
    assert browser.get("/audit").status_code == 303 and scalar(db_url, "SELECT count(*) FROM web_session") == 0
    clock.advance(minutes=7)
    assert log_in(browser, COORDINATOR, PASSWORD).status_code == 429
    assert log_in(app_of(), COORDINATOR, PASSWORD).status_code == 429  # any web process: the count is shared
    clock.advance(minutes=8)  # 15 minutes after the fifth failure
    assert log_in(browser, COORDINATOR, PASSWORD).status_code == 303
    assert scalar(db_url, "SELECT lockouts FROM login_throttle WHERE key LIKE 'person:%'") == 0  # starts again


def test_each_lockout_lasts_twice_the_one_before(db_url: str, app_of: Callable[..., TestClient], clock: Clock) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = app_of()
    for minutes, until in ((15, "05/09/2021 09:15"), (30, "05/09/2021 09:45"), (60, "05/09/2021 10:45")):
        for _ in range(5):
            last = log_in(browser, COORDINATOR, "sai mật khẩu rồi")
        assert LOCKED_VI.format(until=until) in last.text
        assert log_in(browser, COORDINATOR, PASSWORD).status_code == 429
        clock.advance(minutes=minutes)
    assert log_in(browser, COORDINATOR, PASSWORD).status_code == 303


def test_a_name_that_is_nobody_s_is_locked_the_same_way(db_url: str, app_of: Callable[..., TestClient]) -> None:
    """The answers do not tell which names exist: an unknown name is counted and locked as an account is."""
    load_sample_org(db_url)
    browser = app_of()
    answers = [log_in(browser, "nobody.here", "một mật khẩu đoán thử") for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert LOCKED_VI.format(until="05/09/2021 09:15") in answers[-1].text


def test_an_address_that_tries_many_accounts_is_locked_too(db_url: str, app_of: Callable[..., TestClient]) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR, FOCAL)
    browser = app_of(login_address_failures=8)
    people = ["pv05.head", "pv05.focal", "pv05.deputy", "cmg.head"]
    for n in range(8):  # two guesses each for four accounts: no account reaches its 5
        assert log_in(browser, people[n % 4], "một mật khẩu đoán thử").status_code == 401
    refused = log_in(browser, FOCAL, PASSWORD)  # another account, the right password, the same address
    assert refused.status_code == 429 and "tạm khóa đăng nhập đến" in refused.text
    assert scalar(db_url, "SELECT locked_until IS NOT NULL FROM login_throttle WHERE key = 'address:testclient'")


def test_parallel_guesses_check_no_more_passwords_than_the_limit(db_url: str) -> None:
    """Each attempt is counted before its password is checked: attempts in flight fill the account's window."""
    from cchc.flows.accounts import LoginLimits, LoginLocked, begin_login

    load_sample_org(db_url)
    limits = LoginLimits(5, 50, timedelta(minutes=15), timedelta(minutes=15), timedelta(hours=24))
    let_through, refused = 0, 0
    for _ in range(8):  # eight attempts begun, none finished yet
        try:
            begin_login(db_url, COORDINATOR, "10.0.0.1", "bot", at("05/09/2021"), limits)
            let_through += 1
        except LoginLocked:
            refused += 1
    assert (let_through, refused) == (5, 3)


def test_failed_logins_are_in_the_audit_trail_with_the_name_and_the_address_never_the_password(
    db_url: str, app_of: Callable[..., TestClient]
) -> None:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    browser = app_of()
    guesses = [f"đoán mật khẩu số {n}" for n in range(7)]
    for guess in guesses[:6]:
        log_in(browser, COORDINATOR, guess)
    log_in(browser, "nobody.here", guesses[6])
    events = failed_logins(db_url)
    checked = [e for e in events if e["outcome"] == "wrong password"]
    assert [e["username"] for e in checked] == [COORDINATOR] * 5 + ["nobody.here"]
    assert all(e["address"] == "testclient" and e["actor"] == "web:testclient" for e in events)
    assert checked[0]["person"] == COORDINATOR and checked[-1]["person"] is None
    assert checked[4]["locked_until"] and "locked_until" not in checked[3]
    refused = [e for e in events if e["outcome"] == "refused while locked"]
    assert len(refused) == 1  # the sixth attempt: the first refused during the lockout (the others write nothing)
    stored = every_value(db_url)
    assert not any(guess in stored for guess in guesses)
    with read_session(get_engine(db_url)) as session:
        assert verify(session).ok


# --- passwords easy to guess --------------------------------------------------------------------------------

COMMON = ["0000000000", "1234567890", "matkhau123", "cmg.head@dlk.cand.example", "cmg.head2021"]


@pytest.mark.parametrize("password", COMMON)
def test_login_set_refuses_a_password_easy_to_guess_in_vietnamese(db_url: str, password: str) -> None:
    load_sample_org(db_url)
    before = fingerprint(db_url)
    with speaking("vi"):
        done = CliRunner().invoke(
            cli, ["--database-url", db_url, "login", "set", "--person", "cmg.head"], input=password + "\n"
        )
    assert done.exit_code == 1, done.output
    assert "mật khẩu" in done.output and ("quá dễ đoán" in done.output or "không được chứa" in done.output)
    assert "Traceback" not in done.output and fingerprint(db_url) == before


def test_login_set_refuses_the_person_s_own_code_in_english_too(db_url: str) -> None:
    load_sample_org(db_url)
    done = CliRunner().invoke(
        cli, ["--database-url", db_url, "login", "set", "--person", "cmg.head"], input="cmg.head-cmg.head\n"
    )
    assert done.exit_code == 1 and "must not contain the person's own code" in done.output


def test_login_set_without_as_records_the_operating_system_user(db_url: str) -> None:
    load_sample_org(db_url)
    done = CliRunner().invoke(
        cli, ["--database-url", db_url, "login", "set", "--person", "cmg.head"], input=PASSWORD + "\n"
    )
    assert done.exit_code == 0, done.output
    operator = pwd.getpwuid(os.getuid()).pw_name
    actor = scalar(db_url, "SELECT actor FROM audit_event WHERE trigger = 'set_login'")
    payload = json.loads(str(scalar(db_url, "SELECT payload FROM audit_event WHERE trigger = 'set_login'")))
    assert actor == f"os:{operator}" and payload["os_user"] == operator and payload["person"] == "cmg.head"
    with_as = CliRunner().invoke(
        cli,
        ["--database-url", db_url, "login", "set", "--person", "cmg.head", "--as", COORDINATOR],
        input="Một mật khẩu mới hẳn 2022\n",
    )
    assert with_as.exit_code == 0, with_as.output
    last = json.loads(
        str(scalar(db_url, "SELECT payload FROM audit_event WHERE trigger = 'set_login' ORDER BY seq DESC"))
    )
    assert scalar(db_url, "SELECT actor FROM audit_event ORDER BY seq DESC LIMIT 1") == COORDINATOR
    assert last["os_user"] == operator  # who ran the command is noted even when it acts for a person


def invitation_for(url: str, code: str) -> str:
    """An open invitation link for a person (the token, as the e-mail would carry it)."""
    token = "t" * 43
    with write_session(get_engine(url)) as session:
        person_id = session.execute(select(Person.id).where(Person.code == code)).scalar_one()
        session.execute(
            insert(Invitation).values(
                person_id=person_id,
                purpose="invite",
                token_hash=token_hash(token),
                created_at=at("01/09/2021"),
                created_by=COORDINATOR,
                expires_at=at("08/09/2021"),
            )
        )
    return token


@pytest.mark.parametrize(
    ("password", "sentence"),
    [
        ("0000000000", "quá dễ đoán"),
        ("1234567890", "quá dễ đoán"),
        ("matkhau123", "quá dễ đoán"),
        ("cmg.focal@dlk.cand.example", "không được chứa mã cán bộ"),
    ],
)
def test_the_invitation_form_refuses_a_password_easy_to_guess(
    db_url: str, app_of: Callable[..., TestClient], password: str, sentence: str
) -> None:
    load_sample_org(db_url)
    token = invitation_for(db_url, FOCAL)
    browser = app_of()
    before = fingerprint(db_url)
    refused = post_form(browser, f"/invite/{token}", f"/invite/{token}", password=password, password2=password)
    assert refused.status_code == 400 and sentence in refused.text and refused.text.count('id="invite-error"') == 1
    assert fingerprint(db_url) == before
    chosen = post_form(browser, f"/invite/{token}", f"/invite/{token}", password=PASSWORD, password2=PASSWORD)
    assert chosen.status_code == 303 and logged_in(browser)  # logged in, with a session row
    assert scalar(db_url, "SELECT count(*) FROM web_session WHERE revoked_at IS NULL") == 1

"""Property-based: whatever is posted to the dashboard's forms (fields missing, repeated, huge, files where
text is wanted, any Unicode, a bad CSRF token), the answer is the action done or one refusal on the page —
a 4xx page, or a redirect to a page (or a background job) saying it in one sentence — never a 500 nor a
traceback, and a refused form leaves every table as it was."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest
from conftest import PASSWORD, csrf_of, give_login, log_in, wait_for_job
from factories import APPRAISER, COORDINATOR, appraised_2021, fingerprint, fuzz, load_sample_org, open_2021
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from cchc.models.audit import verify
from cchc.models.db import get_engine, read_session

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.usefixtures("prefect_harness")
Browser = Callable[[], "TestClient"]
FUZZ = fuzz(max_examples=20)
# What must never reach a page: a traceback, an exception's class or module, SQL, Python's repr of an object.
LEAK = re.compile(
    r"Traceback|\b[A-Z]\w*(Error|Exception)\b|\b(sqlalchemy|psycopg|sqlite3|starlette)\.|\[SQL:|"
    r"UploadFile\(|Lỗi không mong đợi|Lỗi cơ sở dữ liệu"
)
MESSAGE = re.compile(r'id="(message-text|login-error|flash)"[^>]*>(.*?)</p>', re.S)
UPLOAD = object()  # a file posted where the form has a text field


def message_of(page: httpx.Response) -> str:
    """The one message a page shows (its refusal, or the flash of the last action)."""
    found = MESSAGE.findall(page.text)
    assert len(found) == 1, (page.status_code, page.text[-2000:])
    text = str(found[0][1]).strip()
    assert text and not LEAK.search(text), text
    return text


def post(browser: TestClient, path: str, fields: dict[str, Any]) -> httpx.Response:
    """Post a form as a browser does: urlencoded, or multipart when a file is in it. A field given a list is
    repeated, and a field given None is left out."""
    data: dict[str, list[str]] = {}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            if one is UPLOAD:
                files.append((name, ("bang-diem.csv", b"unit,criterion,score\n", "text/csv")))
            elif one is not None:
                data.setdefault(name, []).append(one)
    return browser.post(path, data=data, files=files or None)


def outside_logins(url: str) -> str:
    """The fingerprint of every row but a login's own records: the sessions, the login throttle's counts, and
    the audit events of failed logins (with the chain's head they move)."""
    from sqlmodel import SQLModel

    digest = hashlib.sha256()
    with read_session(get_engine(url)) as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in ("web_session", "login_throttle", "audit_head"):
                continue
            query = select(table).order_by(*table.primary_key.columns)
            if table.name == "audit_event":
                query = query.where(table.c.trigger != "login_failed")
            rows = session.execute(query).all()
            digest.update(f"{table.name} {len(rows)} {rows!r}\n".encode())
    return digest.hexdigest()


def refused_or_done(
    url: str, browser: TestClient, answer: httpx.Response, before: str, written: Callable[[str], str] = fingerprint
) -> bool:
    """The answer to a posted form is the work done, or one refusal and nothing written (as `written` sees
    it). True when done."""
    assert answer.status_code != 500 and not LEAK.search(answer.text), answer.text[-2000:]
    if answer.status_code == 413:  # Starlette's own answer to a body over MAX_BODY, before any route
        assert answer.text == "Content Too Large"
        return False
    if answer.status_code in (400, 401, 403, 404, 405, 429):  # 429: the login throttle's lockout
        message_of(answer)
        assert written(url) == before, f"refused ({answer.status_code}), yet something was written"
        return False
    assert answer.status_code == 303, (answer.status_code, answer.text[-2000:])
    location = answer.headers["location"]
    assert location.startswith("/") and not location.startswith("//"), f"sent away to {location}"
    if "job=" in location:
        job = wait_for_job(browser, location)
        if job["status"] == "done":
            return True
        assert job["error"].strip() and not LEAK.search(job["error"]), job
        assert fingerprint(url) == before, f"the job failed, yet something was written: {job['error']}"
        return False
    shown = browser.get(location)
    assert shown.status_code != 500 and not LEAK.search(shown.text), shown.text[-2000:]
    if 'id="flash"' not in shown.text:
        return True  # a login, a logout
    kind = re.search(r'id="flash" class="flash (\w+)"', shown.text)
    message_of(shown)
    if kind and kind.group(1) == "error":
        assert fingerprint(url) == before, "refused, yet something was written"
        return False
    return True


# --- what is posted ----------------------------------------------------------------------------------

EDGES = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "dòng 1\r\ndòng 2",
    "x" * 5000,
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "'; DROP TABLE unit; --",
    "[/]",
    "\u202eđảo chiều",
    "\ufeff",
    "😀",
    "../../etc/passwd",
    "%00",
    unicodedata.normalize("NFD", "Bổ sung văn bản kiểm chứng"),
    "Bổ sung văn bản kiểm chứng",
]
text = st.one_of(st.sampled_from(EDGES), st.text(st.characters(exclude_categories=["Cs"]), max_size=30))
field = st.one_of(st.none(), text, st.lists(text, min_size=2, max_size=3), st.just(UPLOAD))
CSRF_CHOICES = ["the page's"] * 4 + ["none", "empty", "wrong", "a file"]  # mostly past the CSRF check


def token(choice: str, right: str) -> Any:
    return {"the page's": right, "none": None, "empty": "", "wrong": right[:-1] + "x", "a file": UPLOAD}[choice]


# --- logging in and out -------------------------------------------------------------------------------


@pytest.fixture
def people(db_url: str) -> str:
    load_sample_org(db_url)
    give_login(db_url, COORDINATOR)
    return db_url


@FUZZ
@given(
    username=st.one_of(st.sampled_from([COORDINATOR, "pv01.coord1@dlk.cand.example", "nobody"]), field),
    password=st.one_of(st.sampled_from([PASSWORD, unicodedata.normalize("NFD", PASSWORD), "sai"]), field),
    back=st.one_of(
        st.sampled_from(["/audit", "//evil.example/", "https://evil.example/", "/\\evil", "javascript:"]), field
    ),
    csrf=st.sampled_from(CSRF_CHOICES),
    out=st.sampled_from(CSRF_CHOICES),
)
@example(username="a\x00b", password="x", back="/", csrf="the page's", out="none")  # 500 on PostgreSQL (NUL)
@example(username=COORDINATOR, password=PASSWORD, back="//evil.example/", csrf="the page's", out="wrong")
def test_the_login_and_logout_forms_refuse_anything_but_the_right_password_in_one_message(
    people: str, dashboard: Browser, username: Any, password: Any, back: Any, csrf: str, out: str
) -> None:
    browser = dashboard()
    before = outside_logins(people)
    right = csrf_of(browser.get("/login"))
    fields = {"username": username, "password": password, "next": back, "csrf_token": token(csrf, right)}
    answer = post(browser, "/login", fields)
    logged_in = refused_or_done(people, browser, answer, before, outside_logins)
    assert outside_logins(people) == before  # logging in writes nothing but its session, its count, its event
    if logged_in:
        right = csrf_of(browser.get("/audit"))
        logout = post(browser, "/logout", {"csrf_token": token(out, right)})
        refused_or_done(people, browser, logout, before, outside_logins)
    with read_session(get_engine(people)) as session:
        assert verify(session).ok  # the failed logins' events are links of the one chain


# --- the actions of the staff -----------------------------------------------------------------------------


@pytest.fixture
def staff(db_url: str, tmp_path: Path, dashboard: Browser) -> dict[str, TestClient]:
    """The 2021 cycle appraised, with a coordinator and an appraiser logged in."""
    appraised_2021(db_url, tmp_path)
    give_login(db_url, COORDINATOR, APPRAISER)
    browsers = {}
    for who in (COORDINATOR, APPRAISER):
        browsers[who] = dashboard()
        log_in(browsers[who], who)
    return browsers


ACTIONS = {
    "sweep": ("/cycles/{year}/sweep", []),
    "appraise": ("/cycles/{year}/appraise", ["unit"]),
    "publish": ("/cycles/{year}/publish", ["reason"]),
    "supplement": ("/cycles/{year}/units/{code}/supplement", ["note", "criteria", "due"]),
}
YEARS = ["2021"] * 5 + ["2020", "0", "99999999999999999999", "２０２１", "-1", "abc"]
CODES = ["CAH-CMG"] * 5 + ["PV01", "PV05", "XYZ", "cah-cmg", "%00", "CAH-CMG%0A", "..", "x" * 300]
values = {
    "unit": st.one_of(st.sampled_from(["", "CAH-CMG", "PV01", "XYZ"]), field),
    "reason": field,
    "note": st.one_of(st.just("Bổ sung văn bản kiểm chứng"), field),
    "criteria": st.one_of(st.sampled_from(["1.1.1", "1.1.1, 1.1.2", "9.9.9", "1.1;x"]), field),
    "due": st.one_of(st.sampled_from(["15/09/2021", "01/01/0001", "31/12/9999", "2021-09-15 17:00", "mai"]), field),
}


@FUZZ
@given(
    action=st.sampled_from(sorted(ACTIONS)),
    who=st.sampled_from([COORDINATOR, APPRAISER]),
    year=st.sampled_from(YEARS),
    code=st.sampled_from(CODES),
    csrf=st.sampled_from(CSRF_CHOICES),
    given_fields=st.fixed_dictionaries(values),
)
@example(
    action="supplement",
    who=APPRAISER,
    year="2021",
    code="CAH-CMG",
    csrf="the page's",
    given_fields={"note": "Bổ sung văn bản kiểm chứng", "criteria": "1.1.1", "due": "15/09/2021"},
)
@example(  # overflowed on its way to UTC: the page said "Lỗi không mong đợi (OverflowError)"
    action="supplement",
    who=APPRAISER,
    year="2021",
    code="PV05",
    csrf="the page's",
    given_fields={"note": "Bổ sung", "criteria": "1.1.1", "due": "01/01/0001"},
)
@example(  # a NUL: refused by PostgreSQL in the middle of the request (a database error on the page)
    action="supplement",
    who=APPRAISER,
    year="2021",
    code="PV05",
    csrf="the page's",
    given_fields={"note": "Bổ sung\x00", "criteria": "1.1.1", "due": ""},
)
@example(  # a file where the text of a field is wanted: the page showed Python's repr of the upload
    action="supplement",
    who=APPRAISER,
    year="2021",
    code="PV05",
    csrf="the page's",
    given_fields={"note": "Bổ sung", "criteria": UPLOAD, "due": ""},
)
def test_an_action_form_does_the_work_or_refuses_it_in_one_message(
    db_url: str,
    staff: dict[str, TestClient],
    action: str,
    who: str,
    year: str,
    code: str,
    csrf: str,
    given_fields: dict[str, Any],
) -> None:
    path, names = ACTIONS[action]
    fields = {name: given_fields.get(name) for name in names}  # the action's own fields, each maybe missing
    browser = staff[who]
    before = fingerprint(db_url)
    right = csrf_of(browser.get("/audit"))
    fields["csrf_token"] = token(csrf, right)
    answer = post(browser, path.format(year=year, code=code), fields)
    refused_or_done(db_url, browser, answer, before)


# --- a head's signing link ----------------------------------------------------------------------------------


@FUZZ
@given(
    link=st.one_of(st.sampled_from(["", "x", "x" * 5000, "%00", "..", "a%2Fb"]), text.map(lambda t: quote(t, safe=""))),
    prefix=st.sampled_from(["/sign/", "/commitments/sign/"]),
    csrf=st.sampled_from(CSRF_CHOICES),
    extra=field,
)
def test_a_signing_link_form_refuses_a_link_that_is_not_one_in_one_message(
    people: str, dashboard: Browser, link: str, prefix: str, csrf: str, extra: Any
) -> None:
    browser = dashboard()
    before = fingerprint(people)
    right = csrf_of(browser.get("/login"))
    answer = post(browser, prefix + link, {"csrf_token": token(csrf, right), "confirm": extra})
    assert not refused_or_done(people, browser, answer, before)


# --- the audit trail's search form (GET) ---------------------------------------------------------------------


@FUZZ
@given(
    query=st.fixed_dictionaries(
        {},
        optional={
            "unit": text,
            "actor": text,
            "trigger": st.one_of(st.sampled_from(["sweep", "set_login", "submit"]), text),
            "from": st.one_of(st.sampled_from(["01/06/2021", "31/12/9999", "01/01/0001", "2021-06-01"]), text),
            "to": st.one_of(st.sampled_from(["31/12/9999", "01/01/1", "30/02/2021"]), text),
            "page": st.one_of(st.sampled_from(["2", "0", "99999999999999999999", "-1"]), text),
            "format": st.sampled_from(["csv", "xlsx", "pdf", ""]),
            "table": st.one_of(st.just("events"), text),
        },
    ),
    verify=st.booleans(),
)
@example(query={"to": "31/12/9999"}, verify=False)  # the day after it overflowed: was a 500
@example(query={"unit": "a\x00b"}, verify=False)  # a NUL: a 500 on PostgreSQL
def test_the_audit_search_shows_what_matches_or_one_message(
    people: str, dashboard: Browser, query: dict[str, str], verify: bool
) -> None:
    browser = dashboard()
    log_in(browser, COORDINATOR)
    before = fingerprint(people)
    answer = browser.get("/audit/verify" if verify else "/audit", params=query)
    assert answer.status_code in (200, 400, 404), (answer.status_code, answer.text[-2000:])
    assert not LEAK.search(answer.text) or answer.headers["content-type"].startswith(("text/csv", "application/vnd"))
    if answer.status_code != 200:
        message_of(answer)
    assert fingerprint(people) == before


# --- what no form sends, but anyone can -----------------------------------------------------------------------


def test_a_body_larger_than_a_form_is_refused_in_one_message(people: str, dashboard: Browser) -> None:
    browser = dashboard()
    before = fingerprint(people)
    right = csrf_of(browser.get("/login"))
    answer = post(browser, "/login", {"username": "x" * (2 * 1024 * 1024), "password": "x", "csrf_token": right})
    assert answer.status_code == 413
    assert not refused_or_done(people, browser, answer, before)


def test_a_page_address_out_of_range_is_no_page_rather_than_a_server_error(db_url: str, dashboard: Browser) -> None:
    """Found by the fuzz of the forms: a year or a version no database stores, or a NUL in a unit's code,
    failed in the database (a 500) instead of being no page."""
    open_2021(db_url)
    give_login(db_url, COORDINATOR)
    browser = dashboard()
    log_in(browser, COORDINATOR)
    for path in (
        "/cycles/99999999999999999999",
        "/cycles/99999999999999999999/units/CAH-CMG",
        "/cycles/2021/units/%00",
        "/cycles/2021/ranking?version=99999999999999999999",
        "/units/CAH-CMG?year=99999999999999999999",
    ):
        answer = browser.get(path, follow_redirects=True)
        assert answer.status_code == 404, path
        message_of(answer)

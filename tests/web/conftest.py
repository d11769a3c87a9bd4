"""The dashboard's fixtures: the app on each test's database, with a clock the test moves, and helpers to
log in and to post a form the way a browser does (with the page's CSRF token)."""

from __future__ import annotations

import csv
import io
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import COORDINATOR, at, import_rows, open_2021, rows_for

from cchc.flows.params import SubmitParams
from cchc.flows.submission import submit_flow
from cchc.flows.web.app import create_app
from cchc.flows.web.auth import set_password
from cchc.flows.web.settings import DashboardSettings

with warnings.catch_warnings():  # Starlette would rather have httpx2; httpx is the pinned client here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

PASSWORD = "Mật khẩu đủ dài 2021"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    """The dashboard's "now", moved by the test."""

    moment: datetime

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(at("05/09/2021", "09:00"))


@pytest.fixture
def dashboard(db_url: str, clock: Clock) -> Iterator[Callable[[], TestClient]]:
    """Make a browser (a TestClient with its own cookies) on one dashboard app of the test's database."""
    app = create_app(db_url, settings=DashboardSettings(session_idle_minutes=30, session_max_hours=8), clock=clock)
    clients: list[TestClient] = []

    def browser() -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        return client

    yield browser
    for client in clients:
        client.close()
    app.state.dashboard.jobs.shutdown()


def give_login(url: str, *codes: str) -> None:
    for code in codes:
        set_password(url, code, PASSWORD, None, at("01/07/2021"))


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD, next_page: str = "/") -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login", data={"username": username, "password": password, "next": next_page, "csrf_token": csrf_of(page)}
    )


def post_form(client: TestClient, page: str, action: str, **fields: Any) -> httpx.Response:
    """Open `page` and post a form of it to `action` with the page's CSRF token, as a browser would."""
    token = csrf_of(client.get(page))
    return client.post(action, data={**fields, "csrf_token": token})


def wait_for_job(client: TestClient, location: str, timeout: float = 180) -> dict[str, Any]:
    """Poll the job a redirect points at (…?job=ID) until it is finished; its JSON."""
    job_id = location.rsplit("job=", 1)[1]
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if job["finished"]:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s"
        time.sleep(0.2)


def rows_of(answer: httpx.Response) -> list[list[str]]:
    """A CSV export: UTF-8 with a byte-order mark (for Excel), as rows."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def mixed_2021(url: str, tmp_path: Path) -> None:
    """The 2021 cycle in self-assessment: PV05 and PV11 reported on 25/08, CAH-CMG is still editing, and the
    other units never began."""
    org = open_2021(url)
    import_rows(url, tmp_path / "self.csv", rows_for(org, ["PV05", "PV11", "CAH-CMG"]))
    submit_flow(
        SubmitParams(year=2021, units=["PV05", "PV11"], database_url=url, actor=COORDINATOR, at=at("25/08/2021"))
    )


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's chromium, headless, driven by Playwright (which never downloads a browser of its own)."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, FLAGS

    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt-get install chromium)"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; its base URL. Stopped after."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the dashboard did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.state.dashboard.jobs.shutdown()

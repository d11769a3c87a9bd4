"""The dashboard in a real browser: Debian's headless chromium, driven by Playwright (which never
downloads a browser of its own), against the app served by uvicorn on loopback. A coordinator logs in,
opens the overview, follows a unit to its timeline; a unit's head cannot open another unit's page. Every
step saves a screenshot (under .screenshots/ of the checkout, or CCHC_SCREENSHOTS)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, give_login, mixed_2021, serving
from factories import at

from cchc.flows.web.app import create_app
from cchc.flows.web.settings import DashboardSettings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("CCHC_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".screenshots"))
FLAGS = [  # PLATFORM.md: headless as root on a closed network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The dashboard of a cycle in self-assessment, served on loopback; its base URL."""
    mixed_2021(db_url, tmp_path)
    give_login(db_url, "pv01.coord1", "cmg.head")
    settings = DashboardSettings(language="vi")  # a Vietnamese province's dashboard, in the screenshots too
    with serving(create_app(db_url, settings=settings, clock=lambda: at("05/09/2021", "09:00"))) as base:
        yield base


def _shot(page: object, name: str, db_url: str) -> None:
    backend = "pg" if db_url.startswith("postgresql") else "sqlite"
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{backend}-{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    assert path.stat().st_size > 1000


def _log_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("#login-submit")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def test_a_coordinator_follows_a_unit_from_the_overview_to_its_timeline(
    served: str, browser: object, db_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")  # type: ignore[attr-defined]
    page.goto(f"{served}/")
    assert "/login" in page.url  # nobody sees anything before logging in
    _shot(page, "1-login", db_url)
    _log_in(page, served, "pv01.coord1")
    page.wait_for_selector("#tasks-page")  # the first page: what the coordinator owes and chases
    page.click("#nav-overview")
    page.wait_for_selector("#overview")
    assert page.locator("#states").is_visible()
    assert "Cư M'gar" in page.content() or "CAH-CMG" in page.content()
    _shot(page, "2-overview", db_url)
    page.click("a[href*='/units/CAH-CMG']")
    page.wait_for_selector("#timeline")
    assert "/units/CAH-CMG" in page.url
    timeline = page.locator("#timeline").inner_text()
    assert "self_assessment_import" in timeline or "Nhập" in timeline or "tự đánh giá" in timeline.lower()
    _shot(page, "3-unit-timeline", db_url)


def test_a_units_head_sees_its_own_unit_and_not_another(served: str, browser: object, db_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    _log_in(page, served, "cmg.head")
    own = page.goto(f"{served}/cycles/2021/units/CAH-CMG")
    assert own is not None and own.status == 200
    page.wait_for_selector("#timeline")
    _shot(page, "4-head-own-unit", db_url)
    other = page.goto(f"{served}/cycles/2021/units/PK20")
    assert other is not None and other.status == 403
    assert "PK20" not in page.locator("main").inner_text() or "không" in page.content().lower()
    _shot(page, "5-head-other-unit-refused", db_url)

"""`cchc demo`: one whole cycle of the sample organisation (Công an tỉnh Đắk Lắk, 2021) through the
Prefect flows, on a fresh SQLite file, ending with the published ranking per group.

The story follows DOMAIN.md's 2021 calendar with a simulated clock: plans by 15/7, self-assessment
reported before 31/8 (three units late, one withdraws to correct its file), appraisal (PV01's own
appraisers may not appraise it), supplements before 08/9, bonus and penalty items, publication on
10/12 against the 2020 results, awards from the published index only.

The story (who acts, who is late, the calendar) is in `story.py`, its chapters in `chapters.py`, and the
synthetic self-assessments (also the benchmarks' national-scale data) in `synthetic.py`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rich.markup import escape
from sqlalchemy.engine import make_url

from cchc.config.settings import get_settings
from cchc.flows.demo import chapters
from cchc.flows.demo.story import at, step
from cchc.flows.display import console, print_ranking
from cchc.flows.notify import flush_flow
from cchc.flows.params import FlushParams
from cchc.flows.passwords import set_password
from cchc.flows.ranking import read_ranking
from cchc.models.db import get_engine
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.migrate import upgrade
from cchc.notifications.sink import LoopbackMailbox


def _fresh_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise UserError("the demo writes a fresh SQLite file; give a sqlite:/// URL (or none)")
    database = parsed.database
    if not database or database == ":memory:":
        raise UserError("the demo needs a SQLite file, not an in-memory database")
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)


def run_demo(url: str) -> None:
    _fresh_database(url)
    upgrade(get_engine(url))
    work = Path(tempfile.mkdtemp(prefix="cchc-demo-"))
    console.print(f"[bold]cchc demo[/bold]: the 2021 cycle of the sample organisation, in {escape(url)}", markup=True)
    console.print(f"[dim]generated files: {escape(str(work))}[/dim]", markup=True)
    mailbox = LoopbackMailbox(work / "mail").start()
    saved = _demo_settings(mailbox, work)
    demo = chapters.Demo(url, work, get_settings())
    chapters.organisation(demo)
    chapters.plans_and_commitments(demo)
    chapters.self_assessment(demo)
    chapters.appraisal(demo)
    chapters.publication(demo)
    chapters.remediation(demo)
    final = flush_flow(FlushParams(database_url=url, at=at("13/04/2022", "11:00")))
    mailbox.stop()
    _restore_settings(saved)
    step(
        f"notices of supplements, publication, awards and remediation: {final.sent} e-mails; "
        f"{mailbox.count} e-mails in all reached the demo's loopback mailbox ({work / 'mail'}, one .eml each)"
    )
    console.print(
        f"\nTry: cchc --database-url {url} audit log --unit CAH-EHL  |  cycle status --year 2021  |  notify status\n"
    )
    print_ranking(read_ranking(url, 2021))
    _browser_logins(url)


DEMO_PASSWORD = "demo-cchc-2021"  # the demo's people only: a real province invites its people (`login invite`)
DEMO_LOGINS = (
    ("pv01.coord1", "bộ phận điều phối: tổng quan, rà soát hạn, công bố"),
    ("pv01.appr1", "thẩm định viên: hàng đợi và bảng thẩm định"),
    ("ehl.focal", "cán bộ đầu mối CAH-EHL: bảng tự đánh giá, văn bản của đơn vị"),
    ("gd", "Giám đốc: kết quả, nhật ký kiểm toán"),
)


def _browser_logins(url: str) -> None:
    """Give four of the demo's people a password, and say where to log in to see the cycle in the browser."""
    for code, _ in DEMO_LOGINS:
        set_password(url, code, DEMO_PASSWORD, None, at("13/04/2022", "11:00"))
    console.print(
        "\n"
        + tr(
            "See it in the browser: cchc --database-url {url} dashboard, then http://127.0.0.1:8000/ "
            "(password {password!r} for each of):",
            url=url,
            password=DEMO_PASSWORD,
        ),
        markup=False,
    )
    for code, what in DEMO_LOGINS:
        console.print(f"  {code:<12} {what}", markup=False)


def _demo_settings(mailbox: LoopbackMailbox, work: Path) -> dict[str, str | None]:
    """The demo's e-mail goes to its own loopback mailbox and its documents to its own store (the
    settings come from the environment); the previous values are given back at the end."""
    demo = {
        "CCHC_SMTP_HOST": "127.0.0.1",
        "CCHC_SMTP_PORT": str(mailbox.port),
        "CCHC_SMTP_SECURITY": "none",
        "CCHC_STORE_DIR": str(work / "store"),
    }
    saved = {key: os.environ.get(key) for key in demo}
    os.environ.update(demo)
    get_settings.cache_clear()
    return saved


def _restore_settings(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()

"""Notices of units that have no one of their own to write to: one digest per coordinator, not one e-mail
per unit; the same cause run again queues nothing new."""

from __future__ import annotations

import pytest
from factories import at, open_2021, scalar
from mailserver import MailServer
from sqlalchemy import bindparam, select, text
from sqlmodel import col

from cchc.flows.notices import notify_units
from cchc.flows.notify import flush_flow
from cchc.flows.params import FlushParams
from cchc.models.db import get_engine, write_session
from cchc.models.tables import Cycle

pytestmark = pytest.mark.usefixtures("prefect_harness")
KEY = "award:2021:test"
COORDINATORS = ("pv01.coord1", "pv01.coord2")


def _without_people(url: str, codes: list[str]) -> None:
    with get_engine(url).begin() as conn:
        sql = text("UPDATE person SET active = :no WHERE unit_id IN (SELECT id FROM unit WHERE code IN :codes)")
        conn.execute(sql.bindparams(bindparam("codes", expanding=True)), {"no": False, "codes": codes})


def _notify(url: str, codes: list[str]) -> int:
    with write_session(get_engine(url)) as session:
        cycle = session.execute(select(Cycle).where(col(Cycle.year) == 2021)).scalar_one()
        rows = session.execute(text("SELECT id, code, name FROM unit ORDER BY code")).tuples()
        units = [(int(i), str(c), str(n)) for i, c, n in rows if c in codes]
        return notify_units(
            session,
            cycle,
            "award_notice",
            KEY,
            units,
            at("10/12/2021"),
            context={code: {"award_name": f"Giấy khen {code}"} for code in codes},
        )


def _keys(url: str) -> list[str]:
    with get_engine(url).connect() as conn:
        return sorted(conn.execute(text("SELECT dedupe_key FROM outbox ORDER BY dedupe_key")).scalars())


def _assessed(url: str) -> list[str]:
    org = open_2021(url, self_assessment=False)
    return [u.code for u in org.units if u.group and u.kind == "district"]


def test_units_without_people_come_to_each_coordinator_as_one_digest(db_url: str, mail_server: MailServer) -> None:
    units = _assessed(db_url)
    orphans, staffed = units[:3], units[3:5]
    _without_people(db_url, orphans)
    queued = _notify(db_url, orphans + staffed)
    keys = _keys(db_url)
    staffed_keys = [k for k in keys if any(f":{code}:" in k for code in staffed)]
    assert len(staffed_keys) == 4  # each staffed unit: its focal officer and its head, as before
    assert [k for k in keys if k not in staffed_keys] == [f"{KEY}:digest:{c}" for c in COORDINATORS]
    assert queued == len(keys) == 6  # not 3 units × 2 coordinators

    summary = flush_flow(FlushParams(database_url=db_url, at=at("10/12/2021", "10:00")))
    assert (summary.sent, summary.retry, summary.dead) == (6, 0, 0)
    coordinator = scalar(db_url, "SELECT email FROM person WHERE code = :c", c=COORDINATORS[0])
    [digest] = [r.message for r in mail_server.received if r.recipients == [coordinator]]
    assert digest["Subject"] == (
        "[Tổng hợp] Chỉ số CCHC năm 2021: 3 thông báo của các đơn vị chưa có người nhận thư"
    )  # the messages' language is CCHC_MAIL_LANG: Vietnamese by default
    plain = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for code in orphans:
        name = scalar(db_url, "SELECT name FROM unit WHERE code = :c", c=code)
        link = f"http://127.0.0.1:8000/units/{code}?year=2021"
        assert f"- {name} ({code}): [Khen thưởng] {name}: Giấy khen {code} (Chỉ số CCHC năm 2021)" in plain
        assert link in plain and f'href="{link}' in html
    for code in staffed:
        assert code not in plain


def test_the_same_cause_again_queues_nothing_new(db_url: str) -> None:
    units = _assessed(db_url)
    orphans = units[:3]
    _without_people(db_url, orphans)
    first = _notify(db_url, orphans + units[3:4])
    keys = _keys(db_url)
    assert first == len(keys) == 2 + len(COORDINATORS)
    assert _notify(db_url, orphans + units[3:4]) == 0
    assert _keys(db_url) == keys


def test_a_single_unit_without_people_keeps_its_own_notice_and_key(db_url: str) -> None:
    units = _assessed(db_url)
    _without_people(db_url, units[:1])
    assert _notify(db_url, units[:1]) == len(COORDINATORS)
    assert _keys(db_url) == [f"{KEY}:{units[0]}:{c}" for c in COORDINATORS]
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE kind = 'award_notice'") == len(COORDINATORS)

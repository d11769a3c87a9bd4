"""E-mail through a real SMTP server on loopback (aiosmtpd): delivered, readable, never lost, never twice."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from factories import COORDINATOR, at, open_2021, scalar
from mailserver import MailServer
from sqlalchemy import text

from cchc.flows.deadlines import register_plan
from cchc.flows.notify import SentRecorder, flush_flow
from cchc.flows.params import FlushParams, SweepParams
from cchc.flows.sweep import sweep_flow
from cchc.models.db import get_engine, write_session
from cchc.notifications.outbox import Queued, queue
from cchc.notifications.sender import Delivery

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _queue_reminders(url: str, day: str = "24/08/2021") -> int:
    org = open_2021(url)
    for unit in org.units:
        if unit.group:
            register_plan(url, 2021, unit.code, f"01/KH-{unit.code}", COORDINATOR, at("05/07/2021"))
    return sweep_flow(SweepParams(year=2021, database_url=url, at=at(day, "08:00"))).messages


def _flush(url: str, day: str = "24/08/2021", time: str = "08:05"):  # type: ignore[no-untyped-def]
    return flush_flow(FlushParams(database_url=url, at=at(day, time)))


def test_queued_reminders_arrive_and_read_right(db_url: str, mail_server: MailServer) -> None:
    queued = _queue_reminders(db_url)
    assert queued == 88  # 44 units × (focal officer, head)
    summary = _flush(db_url)
    assert (summary.sent, summary.retry, summary.dead) == (88, 0, 0)
    assert len(mail_server.received) == 88 and len(set(mail_server.message_ids())) == 88
    cmg = next(r for r in mail_server.received if r.recipients == ["cmg.focal@dlk.cand.example"])
    message = cmg.message
    assert message["Subject"] == (
        "[Nhắc việc] Công an huyện Cư M'gar: còn 7 ngày để báo cáo kết quả tự đánh giá, chấm điểm kèm tài liệu "
        "kiểm chứng (hạn 31/08/2021 00:00)"
    )
    assert message["From"].addresses[0].display_name == "Hệ thống CCHC"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    person = scalar(db_url, "SELECT full_name FROM person WHERE code = 'cmg.focal'")
    assert f"Kính gửi đồng chí {person}," in text and f"<strong>{person}</strong>" in html
    assert "http://127.0.0.1:8000/units/CAH-CMG?year=2021&task=submission" in text  # straight to the grid
    assert "trước 31/08/2021 00:00" in text
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE status = 'sent'") == 88
    assert _flush(db_url, time="09:00").sent == 0  # nothing is sent twice


def test_a_server_that_is_down_loses_nothing_and_duplicates_nothing(db_url: str, mail_server: MailServer) -> None:
    _queue_reminders(db_url)
    mail_server.stop()
    down = _flush(db_url)
    assert (down.sent, down.dead) == (0, 0) and down.retry == 88
    assert "ConnectionRefused" in " ".join(down.errors) or "connect" in " ".join(down.errors).lower()
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE status = 'pending' AND attempts = 1") == 88
    assert _flush(db_url, time="08:05").retry == 0  # not due again before its backoff (30 s)
    mail_server.start()
    later = _flush(db_url, time="09:00")
    assert later.sent == 88
    assert (
        sorted(mail_server.message_ids()) == sorted(set(mail_server.message_ids())) and len(mail_server.received) == 88
    )


def test_the_server_stopped_in_the_middle_of_a_batch_then_started_again(
    db_url: str, mail_server: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue_reminders(db_url)
    mail_server.stop_before = 30  # the 30th message never gets an answer: the server goes away
    first = _flush(db_url)
    assert first.sent >= 29 - 8 and first.sent + first.retry == 88 and first.dead == 0
    delivered = len(mail_server.received)
    assert delivered == first.sent
    mail_server.start()
    second = _flush(db_url, time="09:00")
    assert second.sent == first.retry
    ids = mail_server.message_ids()
    assert len(ids) == 88 and len(set(ids)) == 88  # every message exactly once
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE status = 'sent'") == 88


def test_a_permanent_refusal_goes_to_the_dead_letters_and_a_temporary_one_is_retried(
    db_url: str, mail_server: MailServer
) -> None:
    _queue_reminders(db_url)
    mail_server.refuse.add("cmg.focal@dlk.cand.example")
    mail_server.defer.add("cmg.head@dlk.cand.example")
    summary = _flush(db_url)
    assert (summary.sent, summary.retry, summary.dead) == (86, 1, 1)
    dead = scalar(db_url, "SELECT last_error FROM outbox WHERE status = 'dead'")
    assert "550" in str(dead)
    mail_server.defer.clear()
    assert _flush(db_url, time="09:00").sent == 1
    from typer.testing import CliRunner

    from cchc.flows.cli import app

    result = CliRunner().invoke(app, ["--database-url", db_url, "notify", "status"])
    assert result.exit_code == 0 and "dead 1" in result.output and "cmg.focal@dlk.cand.example" in result.output


def test_a_message_gives_up_after_its_attempts_are_used(db_url: str, mail_server: MailServer) -> None:
    from cchc.config.settings import get_settings

    _queue_reminders(db_url)
    mail_server.defer.add("cmg.head@dlk.cand.example")
    moment = at("24/08/2021", "08:05")
    for _ in range(get_settings().mail_max_attempts):
        flush_flow(FlushParams(database_url=db_url, at=moment))
        moment += timedelta(days=1)
    assert scalar(db_url, "SELECT status FROM outbox WHERE to_email = 'cmg.head@dlk.cand.example'") == "dead"
    assert "gave up after" in str(scalar(db_url, "SELECT last_error FROM outbox WHERE status = 'dead'"))


def test_two_flushes_at_once_send_each_message_once(db_url: str, mail_server: MailServer) -> None:
    _queue_reminders(db_url)
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                flush_flow(FlushParams(database_url=db_url, at=at("24/08/2021", "08:05"))).sent
            )
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 88
    ids = mail_server.message_ids()
    assert len(ids) == 88 and len(set(ids)) == 88


class WatchingServer(MailServer):
    """Before accepting each message, counts those it accepted that the outbox has not recorded as sent: the
    ones a crash of the sender at that instant would leave in doubt."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.most_in_doubt = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recorded = int(scalar(self.url, "SELECT count(*) FROM outbox WHERE status = 'sent'"))  # type: ignore[call-overload]
        self.most_in_doubt = max(self.most_in_doubt, len(self.received) - recorded)
        return await super().handle_DATA(server, session, envelope)


def test_at_any_instant_at_most_the_recorders_limit_and_one_reply_per_connection_are_in_doubt(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cchc.config.settings import get_settings

    _queue_reminders(db_url)
    server = WatchingServer(db_url).start()
    try:
        monkeypatch.setenv("CCHC_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CCHC_SMTP_PORT", str(server.port))
        monkeypatch.setenv("CCHC_MAIL_CONCURRENCY", "4")
        get_settings.cache_clear()
        assert _flush(db_url).sent == 88
    finally:
        server.stop()
        get_settings.cache_clear()
    assert len(server.received) == 88
    assert 0 < server.most_in_doubt <= 4 + 4  # SentRecorder's limit (the connections) + a reply on each


def _one_queued(url: str, count: int) -> list[int]:
    with write_session(get_engine(url)) as session:
        queue(
            session,
            [Queued(f"t:{i}", "reminder", f"p{i}@x.example", "P", "{}") for i in range(count)],
            at("24/08/2021"),
        )
    return [int(i) for i in get_engine(url).connect().execute(text("SELECT id FROM outbox ORDER BY id")).scalars()]


def _recorded_within(url: str, ids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if scalar(url, "SELECT count(*) FROM outbox WHERE status = 'sent'") == len(ids):
            return True
        time.sleep(0.01)
    return False


def test_the_recorder_commits_when_its_limit_waits_without_waiting_out_the_window(db_url: str) -> None:
    ids = _one_queued(db_url, 4)
    with SentRecorder(get_engine(db_url), at("24/08/2021"), 8, limit=4, window=60) as recorder:
        for key in ids:
            recorder.accepted(Delivery(key, "sent"))
        assert _recorded_within(db_url, ids, 10)  # long before the 60 s window
        assert recorder.commits == 1


def test_the_recorder_commits_a_lone_message_once_it_waited_the_window(db_url: str) -> None:
    ids = _one_queued(db_url, 1)
    with SentRecorder(get_engine(db_url), at("24/08/2021"), 8, limit=8, window=0.05) as recorder:
        recorder.accepted(Delivery(ids[0], "sent"))
        assert _recorded_within(db_url, ids, 10)  # the sending goes on: nobody closes the recorder
        assert recorder.commits == 1

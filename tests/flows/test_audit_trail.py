"""The audit trail catches an edited, a deleted (in the middle or at the end) and an inserted event."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import open_2021, scalar
from sqlalchemy import text
from typer.testing import CliRunner

from cchc.flows.auditlog import unit_timeline, verify_chain
from cchc.flows.cli import app
from cchc.models.audit import verify
from cchc.models.db import get_engine, read_session

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _tamper(url: str, sql: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text(sql))


def test_an_untouched_trail_verifies(db_url: str) -> None:
    open_2021(db_url)
    result = verify_chain(db_url)
    assert result.ok and result.events == scalar(db_url, "SELECT count(*) FROM audit_event") and result.problems == []


@pytest.mark.parametrize(
    ("tampering", "message"),
    [
        ("UPDATE audit_event SET reason = 'khác' WHERE seq = 5", "event #5 was changed after it was written"),
        ("UPDATE audit_event SET payload = '{}' WHERE seq = 7", "event #7 was changed after it was written"),
        ("UPDATE audit_event SET actor = 'gd' WHERE seq = 3", "event #3 was changed"),
        ("DELETE FROM audit_event WHERE seq = 10", "event #10 is missing: deleted from the trail"),
        ("DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)", "the end of the trail was deleted"),
    ],
)
def test_tampering_is_detected_and_named(db_url: str, tampering: str, message: str) -> None:
    open_2021(db_url)
    _tamper(db_url, tampering)
    result = verify_chain(db_url)
    assert not result.ok
    assert any(message in p for p in result.problems), result.problems


def test_audit_verify_exits_non_zero_on_a_broken_chain(db_url: str) -> None:
    open_2021(db_url)
    runner = CliRunner()
    ok = runner.invoke(app, ["--database-url", db_url, "audit", "verify"])
    assert ok.exit_code == 0 and "audit trail intact" in ok.output
    _tamper(db_url, "UPDATE audit_event SET to_state = 'published' WHERE seq = 4")
    broken = runner.invoke(app, ["--database-url", db_url, "audit", "verify"])
    assert broken.exit_code == 1 and "event #4 was changed" in broken.output and "Traceback" not in broken.output


def test_a_units_timeline_lists_its_events_in_order(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)
    entries = unit_timeline(db_url, "CAH-CMG")
    assert [(e.trigger, e.from_state, e.to_state) for e in entries] == [
        ("open", None, "plan"),
        ("begin_self_assessment", "plan", "self_assess"),
    ]
    assert entries[0].actor == "pv01.coord1"


def test_one_event_hashed_by_the_database_is_the_event_python_would_hash(db_url: str) -> None:
    """On PostgreSQL one event is appended in one statement, hashed by sha256() over the canonical text
    (models/audit.py); whatever a person typed, the stored hash is the one Python computes, and the chain
    goes on from it."""
    from datetime import UTC, datetime

    from cchc.models.audit import EVENT_COLUMNS, Event, EventDraft, append, event_hash
    from cchc.models.db import read_session, write_session
    from cchc.models.tables import AuditEvent

    open_2021(db_url)
    typed = 'Giải trình: "thiếu" \\ văn bản\n=1+2 @x %(n)s %s 😀 ngày 30/6/2021 — Đắk Lắk'
    drafts = [
        EventDraft(
            kind="score",
            trigger=Event.self_assessment_import,
            actor="cmg.focal",
            at=datetime(2021, 8, 10, 1, 2, 3, 456789, tzinfo=UTC),
            cycle_year=2021,
            unit_code="CAH-CMG",
            reason=typed,
            payload={"note": typed, "n": 1},
        )
    ]
    with write_session(get_engine(db_url)) as session:
        seq = append(session, drafts)
    with read_session(get_engine(db_url)) as session:
        event = session.get(AuditEvent, seq)
        assert event is not None
        stored = {c: getattr(event, c) for c in EVENT_COLUMNS}
    assert stored["reason"] == typed and stored["hash"] == event_hash(stored["prev_hash"], seq, stored)
    assert scalar(db_url, "SELECT seq FROM audit_head") == seq
    result = verify_chain(db_url)
    assert result.ok and result.head_seq == seq


def test_a_chain_recomputed_from_a_proved_event_catches_what_came_after_and_a_changed_anchor(db_url: str) -> None:
    open_2021(db_url)
    seq, hash_ = 5, str(scalar(db_url, "SELECT hash FROM audit_event WHERE seq = 5"))
    with read_session(get_engine(db_url)) as session:
        whole, from_five = verify(session), verify(session, since=(seq, hash_))
    assert whole.ok and from_five.ok and from_five.events == whole.events and from_five.head_hash == whole.head_hash
    _tamper(db_url, "UPDATE audit_event SET reason = 'khác' WHERE seq = 8")
    with read_session(get_engine(db_url)) as session:
        assert "event #8 was changed after it was written" in verify(session, since=(seq, hash_)).problems[0]
        moved = verify(session, since=(seq, "0" * 64))
    assert not moved.ok and "event #5 is not the one proved before" in moved.problems[0]

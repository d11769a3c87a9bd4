"""Issue 15 (the trail proves the state): rows edited directly in the database, a trail cut short with its
head moved back, and a trail rewritten with every later hash recomputed all verified as "intact" before.
Now `audit verify` replays the events against the tables and checks the head against signed checkpoints
kept outside the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import open_2021, published_2021, scalar
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cchc.config.settings import get_settings
from cchc.flows.auditcheck import check_tables, verify_all, write_checkpoint
from cchc.flows.cli import app
from cchc.models import attest
from cchc.models.audit import HASHED_COLUMNS, event_hash
from cchc.models.db import get_engine, write_session
from cchc.models.tables import AuditEvent, AuditHead

pytestmark = pytest.mark.usefixtures("prefect_harness")

CMG = (
    "(SELECT a.id FROM assessment a JOIN unit u ON u.id = a.unit_id JOIN cycle c ON c.id = a.cycle_id "
    "WHERE u.code = 'CAH-CMG' AND c.year = 2021)"
)


def _sql(url: str, *statements: str) -> None:
    with get_engine(url).begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


# Each attack: the edit, what verify names, and the edit that puts the row back.
ATTACKS = [
    (
        "a published index, class and rank",
        f"UPDATE result SET index_pct = 9990, class_code = 'xuat_sac', rank = 1 WHERE assessment_id = {CMG}",
        ["CAH-CMG (2021, publication 1): index 99,90", "publication 1 of 2021: its results are not those published"],
    ),
    (
        "an appraised score +0,50",
        f"UPDATE score SET appraised_points = appraised_points + 50 WHERE assessment_id = {CMG} AND criterion_id = "
        f"(SELECT min(criterion_id) FROM score WHERE assessment_id = {CMG} AND appraised_points IS NOT NULL)",
        ["CAH-CMG (2021): the appraisal differs from what event #"],
    ),
    (
        "a self-score under the head's submission",
        f"UPDATE score SET note = note || ' (sửa)' WHERE assessment_id = {CMG} AND criterion_id = "
        f"(SELECT min(criterion_id) FROM score WHERE assessment_id = {CMG})",
        ["CAH-CMG (2021): the self-assessment differs from what event #"],
    ),
    (
        "an assessment's state",
        f"UPDATE assessment SET state = 'awarded' WHERE id = {CMG}",
        ["CAH-CMG (2021): the assessment is '", "' in the table, but '", "' after event #"],
    ),
    (
        "a bonus added",
        f"INSERT INTO adjustment (assessment_id, item_code, kind, points, reason, actor, at, revoked) "
        f"VALUES ({CMG}, 'B9', 'bonus', 500, 'x', 'gd', '2021-12-01 00:00:00', false)",
        ["CAH-CMG (2021): the bonus or penalty B9 is bonus 5,00 in the table, absent by the trail"],
    ),
]


def test_every_row_edited_outside_cchc_is_caught_and_named(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    report = verify_all(db_url)
    assert report.ok, report.problems
    assert report.tables.assessments == 44 and report.tables.scores >= 88 and report.tables.publications == 1
    assert report.checkpoints, "the publication wrote a signed checkpoint beside the store"
    engine = get_engine(db_url)
    for what, attack, named in ATTACKS:
        with engine.connect() as conn:  # the attack runs in a transaction that is rolled back afterwards
            with conn.begin() as tx:
                conn.execute(text(attack))
                with Session(bind=conn) as session:
                    problems = check_tables(session).problems
                tx.rollback()
        for line in named:
            assert any(line in p for p in problems), (what, problems)
    assert verify_all(db_url).ok


def _checkpoint_file(url: str, tmp_path: Path) -> Path:
    checkpoint = write_checkpoint(url, "kiểm tra")
    kept = tmp_path / "outside.json"
    kept.write_text(json.dumps(checkpoint.document), encoding="utf-8")
    return kept


def test_a_trail_cut_short_with_its_head_moved_back_is_caught_by_a_checkpoint(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)  # the chain's own tests need no publication
    outside = _checkpoint_file(db_url, tmp_path)
    head = int(scalar(db_url, "SELECT seq FROM audit_head"))  # type: ignore[call-overload]
    _sql(
        db_url,
        f"DELETE FROM audit_event WHERE seq > {head - 3}",
        f"UPDATE audit_head SET seq = {head - 3}, hash = (SELECT hash FROM audit_event WHERE seq = {head - 3})",
    )
    report = verify_all(db_url, against=str(outside))
    assert report.chain.ok  # the chain alone cannot tell
    cut = f"the checkpoint names event #{head}, the trail ends at #{head - 3}: events were deleted"
    assert any(cut in p and "outside.json" in p for p in report.problems), report.problems
    assert any(cut in p and "checkpoint-" in p for p in report.problems), "the checkpoint kept beside the store"
    by_hash = verify_all(db_url, against=json.loads(outside.read_text())["hash"]).problems
    assert any("no event of the trail has the hash" in p for p in by_hash)


def test_a_trail_rewritten_with_recomputed_hashes_is_caught_by_a_checkpoint(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)  # the chain's own tests need no publication
    outside = _checkpoint_file(db_url, tmp_path)

    with write_session(
        get_engine(db_url)
    ) as session:  # rewrite #30 and every later hash, as one with the database could
        events = session.query(AuditEvent).filter(AuditEvent.seq >= 30).order_by(AuditEvent.seq).all()
        prev = events[0].prev_hash
        events[0].reason = "sửa lại"
        for event in events:
            event.prev_hash = prev
            event.hash = prev = event_hash(prev, event.seq, {c: getattr(event, c) for c in HASHED_COLUMNS})
        head = session.get(AuditHead, 1)
        assert head is not None
        head.hash = prev
    report = verify_all(db_url, against=str(outside))
    assert report.chain.ok
    assert any("the trail was rewritten" in p for p in report.problems), report.problems


def test_a_checkpoint_signed_by_another_key_is_not_trusted(db_url: str, tmp_path: Path) -> None:

    open_2021(db_url)  # the chain's own tests need no publication
    genuine = json.loads(_checkpoint_file(db_url, tmp_path).read_text())
    forged = attest.signed(
        {k: v for k, v in genuine.items() if k not in ("key", "signature")}, Ed25519PrivateKey.generate()
    )
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged), encoding="utf-8")
    assert any("cannot be trusted" in p for p in verify_all(db_url, against=str(path)).problems)
    altered = {**genuine, "seq": genuine["seq"] - 1}
    path.write_text(json.dumps(altered), encoding="utf-8")
    assert any("altered after it was signed" in p for p in verify_all(db_url, against=str(path)).problems)
    public = attest.public_text(attest.load_or_create(get_settings().signing_key_path, create=False).public_key())
    given = verify_all(db_url, against=str(tmp_path / "outside.json"), public=public)
    assert given.ok, given.problems


def test_audit_verify_prints_the_whole_head_and_checkpoint_prints_what_to_keep(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)  # the chain's own tests need no publication
    runner = CliRunner()
    head = str(scalar(db_url, "SELECT hash FROM audit_head"))
    ok = runner.invoke(app, ["--database-url", db_url, "audit", "verify"])
    assert ok.exit_code == 0 and head in ok.output and "the tables agree with the trail" in ok.output, ok.output
    out = tmp_path / "cp.json"
    taken = runner.invoke(app, ["--database-url", db_url, "audit", "checkpoint", "--out", str(out)])
    assert taken.exit_code == 0 and json.loads(out.read_text())["hash"] == head
    key = runner.invoke(app, ["--database-url", db_url, "audit", "key"])
    assert key.exit_code == 0 and key.output.startswith("ed25519:")
    _sql(db_url, f"UPDATE assessment SET state = 'submitted' WHERE id = {CMG}")
    broken = runner.invoke(app, ["--database-url", db_url, "audit", "verify", "--against", str(out)])
    assert broken.exit_code == 1 and "CAH-CMG (2021): the assessment is" in broken.output, broken.output
    assert "Traceback" not in broken.output

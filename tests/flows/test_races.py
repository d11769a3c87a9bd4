"""Races: two people acting on the same assessment at the same moment, and the optimistic version check
that stops a move made on stale facts; two sweeps at once never queue anything twice."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from factories import (
    APPRAISER,
    COORDINATOR,
    DIRECTOR,
    appraised_2021,
    at,
    event_count,
    import_rows,
    open_2021,
    published_2021,
    rows_for,
    scalar,
    write_rows,
)

import cchc.flows.appraisal as appraisal
from cchc.flows.appraisal import adjust
from cchc.flows.lookup import cycle_of
from cchc.flows.params import PublishParams, SubmitParams, SweepParams
from cchc.flows.publication import publish_flow
from cchc.flows.selfassessment import take_rows, unit_slots
from cchc.flows.submission import change_units, submit_flow
from cchc.flows.sweep import sweep_flow
from cchc.models.db import get_engine, write_session
from cchc.models.errors import UserError
from cchc.models.people import resolve_actor
from cchc.models.scoresheet import open_table
from cchc.states.workflow import ConcurrentChange, fire_assessments, load_facts

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _at_once(*calls: object) -> list[object]:
    """Run the calls in threads released together; each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_reopenings_of_one_published_result_at_once_one_wins_the_other_is_told(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    before = event_count(db_url)

    def reopen(reason: str):  # type: ignore[no-untyped-def]
        return lambda: change_units(db_url, 2021, "reopen", ["CAH-CMG"], DIRECTOR, at("15/12/2021"), reason=reason)

    for _ in range(3):  # several rounds: whichever interleaving happens, the outcome is the same
        outcomes = _at_once(reopen("Khiếu nại điểm 1.1.2"), reopen("Khiếu nại điểm 2.1.1"))
        moved = [o for o in outcomes if not isinstance(o, Exception) and o.moved]  # type: ignore[attr-defined]
        told = [
            str(o) if isinstance(o, Exception) else o.refused[0]  # type: ignore[attr-defined]
            for o in outcomes
            if isinstance(o, Exception) or not o.moved  # type: ignore[attr-defined]
        ]
        assert len(moved) <= 1 and len(moved) + len(told) == 2
        for message in told:
            assert "changed while this was being done" in message or "not allowed" in message or "cannot" in message
        assert all(isinstance(o, UserError | ConcurrentChange) for o in outcomes if isinstance(o, Exception))
    assert event_count(db_url) == before + 1  # one reopening, one event, whatever the interleaving
    assert scalar(
        db_url, "SELECT state FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-CMG'"
    ) in (
        "appraised",
        "supplemented",
    )


def test_a_move_made_on_facts_someone_else_changed_meanwhile_writes_nothing(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    engine = get_engine(db_url)
    with write_session(engine) as session:
        stale = [f for f in load_facts(session, cycle_of(session, 2021)) if f.unit_code == "CAH-CMG"]
        session.rollback()  # let the other person in (SQLite takes the write lock up front)
    change_units(db_url, 2021, "reopen", ["CAH-CMG"], DIRECTOR, at("15/12/2021"), reason="Khiếu nại điểm 1.1.2")
    before = event_count(db_url)
    with pytest.raises(ConcurrentChange, match="changed while this was being done; nothing was written"):
        with write_session(engine) as session:
            director = resolve_actor(session, DIRECTOR)
            fire_assessments(session, "reopen", stale, director, at("15/12/2021"), reason="Khiếu nại điểm 2.1.1")
    assert event_count(db_url) == before


def test_two_sweeps_at_once_queue_each_step_once(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)  # nobody reports: on 01/09 every unit is due its first escalation
    sweeps = _at_once(
        *(
            lambda: sweep_flow(SweepParams(year=2021, database_url=db_url, at=at("01/09/2021", "08:00")))
            for _ in range(2)
        )
    )
    lines = [line for s in sweeps for line in s.lines]  # type: ignore[attr-defined]
    assert lines and len({(x.unit, x.phase, x.step) for x in lines}) == len(lines)
    assert scalar(db_url, "SELECT count(*) FROM chase_step") == len(lines)
    assert scalar(db_url, "SELECT count(*) FROM outbox") == scalar(
        db_url, "SELECT count(DISTINCT dedupe_key) FROM outbox"
    )


def test_an_import_that_read_a_unit_before_its_head_submitted_writes_nothing_after_the_submission(
    db_url: str, tmp_path: Path
) -> None:
    """Issue 15 (no lost update): the import reads CAH-CMG in self-assessment, the head submits meanwhile,
    then the import writes. On PostgreSQL the submission commits in between and the import is told, writing
    nothing; on SQLite the import's write lock makes the submission wait for it. Either way the trail never
    shows an import after the submission it would have changed."""

    org = open_2021(db_url)
    import_rows(db_url, tmp_path / "self.csv", rows_for(org, ["CAH-CMG"]))
    second = write_rows(tmp_path / "again.csv", rows_for(org, ["CAH-CMG"], quality=0.8))
    engine = get_engine(db_url)
    postgres = engine.dialect.name == "postgresql"
    submitted: list[object] = []

    def head_submits() -> None:
        submitted.append(
            submit_flow(
                SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor=COORDINATOR, at=at("25/08/2021"))
            )
        )

    head = threading.Thread(target=head_submits)
    outcome: Exception | None = None
    try:
        with write_session(engine) as session:
            cycle = cycle_of(session, 2021)
            actor = resolve_actor(session, COORDINATOR)
            units = unit_slots(session, cycle, actor, at("25/08/2021"))
            assert units["CAH-CMG"].state == "self_assess"
            head.start()
            head.join(timeout=None if postgres else 1.0)
            assert bool(submitted) == postgres  # SQLite: the head waits for the import's write lock
            take_rows(session, cycle, actor, units, open_table(second), at("25/08/2021"))
    except ConcurrentChange as exc:
        outcome = exc
    head.join()
    state = scalar(db_url, "SELECT state FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-CMG'")
    assert state == "submitted"
    order = [
        str(t)
        for t in get_engine(db_url)
        .connect()
        .exec_driver_sql(
            "SELECT trigger FROM audit_event WHERE unit_code = 'CAH-CMG' AND trigger IN "
            "('submit', 'self_assessment_import') ORDER BY seq"
        )
        .scalars()
    ]
    assert order[-1] == "submit"  # nothing was imported after the submission
    assert order == ["self_assessment_import", "submit"]
    if postgres:
        assert outcome is not None and "CAH-CMG" in str(outcome) and "nothing was written" in str(outcome)
    else:
        assert outcome is None  # written first, then submitted: the submission carries it


def test_a_bonus_granted_while_the_results_are_published_is_never_lost(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15 (no lost update): the appraiser grants CAH-CMG a bonus, reading it in `supplemented`; the
    coordinator publishes meanwhile. Before, the bonus was written after a publication that left it out.
    Now, on PostgreSQL, the grant finds the unit published at write time and writes nothing; on SQLite the
    publication waits for the grant and includes it."""

    appraised_2021(db_url, tmp_path)
    change_units(db_url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
    postgres = get_engine(db_url).dialect.name == "postgresql"
    published: list[object] = []
    publisher = threading.Thread(
        target=lambda: published.append(
            publish_flow(PublishParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("10/12/2021")))
        )
    )
    framework_of = appraisal.stored_framework

    def publish_meanwhile(session, framework_id):  # type: ignore[no-untyped-def]
        if not publisher.is_alive() and not published:
            publisher.start()
            publisher.join(timeout=None if postgres else 1.0)
            assert bool(published) == postgres  # SQLite: the publication waits for the grant's write lock
        return framework_of(session, framework_id)

    monkeypatch.setattr(appraisal, "stored_framework", publish_meanwhile)
    outcome: Exception | None = None
    try:
        adjust(db_url, 2021, "CAH-CMG", "B1", "đúng hạn", APPRAISER, at("10/09/2021"))
    except ConcurrentChange as exc:
        outcome = exc
    publisher.join()
    granted = scalar(db_url, "SELECT count(*) FROM adjustment")
    bonus = scalar(
        db_url,
        "SELECT r.bonus FROM result r JOIN unit u ON u.id = r.unit_id WHERE u.code = 'CAH-CMG'",
    )
    if postgres:
        assert outcome is not None and "CAH-CMG" in str(outcome) and granted == 0 and bonus == 0
    else:
        assert outcome is None and granted == 1 and bonus == 200  # the publication saw the bonus

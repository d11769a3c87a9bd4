"""The deadline sweep: reminders, then each escalation step, in order, each once; extensions; lateness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import APPRAISER, COORDINATOR, at, event_count, import_rows, open_2021, rows_for, scalar

from cchc.flows.appraisal import adjust
from cchc.flows.deadlines import extend, register_plan
from cchc.flows.params import SubmitParams, SweepParams
from cchc.flows.submission import change_units, submit_flow
from cchc.flows.sweep import sweep_flow
from cchc.models.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _sweep(url: str, day: str, time: str = "08:00"):  # type: ignore[no-untyped-def]
    return sweep_flow(SweepParams(year=2021, database_url=url, at=at(day, time)))


def _steps(summary, unit: str, phase: str = "submission") -> list[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    return [(line.step, line.to) for line in summary.lines if line.unit == unit and line.phase == phase]


def _plans_in(url: str, org) -> None:  # type: ignore[no-untyped-def]
    for unit in org.units:
        if unit.group:
            register_plan(url, 2021, unit.code, f"01/KH-{unit.code} ngày 05/07/2021", COORDINATOR, at("05/07/2021"))


def test_reminders_then_each_escalation_step_in_order_each_once(db_url: str) -> None:
    org = open_2021(db_url)
    _plans_in(db_url, org)
    timeline = {
        "23/08/2021": [],
        "24/08/2021": [("remind-7", ["cmg.focal", "cmg.head"])],
        "25/08/2021": [],
        "28/08/2021": [("remind-3", ["cmg.focal", "cmg.head"])],
        "30/08/2021": [("remind-1", ["cmg.focal", "cmg.head"])],
        "31/08/2021": [("escalate-1", ["cmg.focal", "cmg.head"])],
        "01/09/2021": [],
        "02/09/2021": [("escalate-2", ["gd", "pv01.coord1", "pv01.coord2"])],
        "04/09/2021": [],
        "05/09/2021": [("escalate-3", ["gd", "pgd1", "pgd2"])],
        "20/09/2021": [],
    }
    for day, expected in timeline.items():
        first = _sweep(db_url, day)
        assert _steps(first, "CAH-CMG") == expected, day
        again = _sweep(db_url, day, "17:00")
        assert again.lines == [] and again.messages == 0, day
    assert scalar(db_url, "SELECT count(*) FROM chase_step WHERE unit_code = 'CAH-CMG'") == 6
    assert scalar(db_url, "SELECT count(*) FROM audit_event WHERE unit_code = 'CAH-CMG' AND trigger = 'escalate'") == 3
    # every step of every unit was queued to its people, and only once
    assert scalar(db_url, "SELECT count(*) FROM outbox") == scalar(db_url, "SELECT sum(recipients) FROM chase_step")
    assert scalar(db_url, "SELECT count(DISTINCT dedupe_key) FROM outbox") == scalar(
        db_url, "SELECT count(*) FROM outbox"
    )


def test_a_sweep_that_did_not_run_for_days_sends_the_latest_reminder_only(db_url: str) -> None:
    org = open_2021(db_url)
    _plans_in(db_url, org)
    summary = _sweep(db_url, "30/08/2021")
    assert _steps(summary, "CAH-CMG") == [("remind-1", ["cmg.focal", "cmg.head"])]
    late = _sweep(db_url, "06/09/2021")
    assert [step for step, _ in _steps(late, "CAH-CMG")] == ["escalate-1", "escalate-2", "escalate-3"]


def test_a_unit_that_reports_is_no_longer_chased(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    _plans_in(db_url, org)
    import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"]))
    submit_flow(SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor="cmg.focal", at=at("29/08/2021")))
    summary = _sweep(db_url, "31/08/2021")
    assert _steps(summary, "CAH-CMG") == []
    assert len({line.unit for line in summary.lines}) == 43


def test_units_without_their_plan_are_chased_for_it(db_url: str) -> None:
    open_2021(db_url)
    register_plan(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", "cmg.focal", at("30/06/2021"))
    summary = _sweep(db_url, "08/07/2021")
    planned = {line.unit for line in summary.lines if line.phase == "plan"}
    assert "CAH-CMG" not in planned and len(planned) == 43
    assert register_plan(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", "cmg.focal") is False
    with pytest.raises(UserError, match="is neither the head"):
        register_plan(db_url, 2021, "CAH-BMT", "1/KH", "cmg.focal")


def test_an_extension_moves_the_ladder_and_keeps_the_timeliness_bonus(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    _plans_in(db_url, org)
    _sweep(db_url, "30/08/2021")
    with pytest.raises(UserError, match="needs a reason"):
        extend(db_url, 2021, "CAH-EHL", "submission", at("04/09/2021", "00:00"), " ", COORDINATOR)
    with pytest.raises(UserError, match="only a coordinator"):
        extend(db_url, 2021, "CAH-EHL", "submission", at("04/09/2021", "00:00"), "x", "ehl.head")
    done = extend(
        db_url,
        2021,
        "CAH-EHL",
        "submission",
        at("04/09/2021", "00:00"),
        "Mất điện diện rộng",
        COORDINATOR,
        at("30/08/2021", "10:00"),
    )
    assert done.before == at("31/08/2021", "00:00") and done.after == at("04/09/2021", "00:00")
    with pytest.raises(UserError, match="an extension moves it later"):
        extend(db_url, 2021, "CAH-EHL", "submission", at("01/09/2021", "00:00"), "x", COORDINATOR)
    on_the_day = _sweep(db_url, "31/08/2021")
    assert _steps(on_the_day, "CAH-EHL") == [("remind-7", ["ehl.focal", "ehl.head"])]  # the new deadline's ladder
    assert _steps(on_the_day, "CAH-CMG")[0][0] == "escalate-1"
    payload = json.loads(str(scalar(db_url, "SELECT payload FROM audit_event WHERE trigger = 'extend'")))
    assert payload["phase"] == "submission" and payload["after"].startswith("2021-09-03T17:00")
    import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-EHL"]))
    submitted = submit_flow(
        SubmitParams(year=2021, units=["CAH-EHL"], database_url=db_url, actor="ehl.focal", at=at("02/09/2021"))
    )
    assert submitted.late == []


def test_a_supplement_request_is_mailed_and_chased_until_it_is_answered(db_url: str, tmp_path: Path) -> None:
    from factories import appraised_2021

    appraised_2021(db_url, tmp_path)
    before = scalar(db_url, "SELECT count(*) FROM outbox")
    change_units(
        db_url,
        2021,
        "request_supplement",
        ["CAH-CMG"],
        APPRAISER,
        at("05/09/2021"),
        reason="Bổ sung kế hoạch CCHC",
        criteria=["1.1.1"],
    )
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE kind = 'supplement_request'") == 2
    assert scalar(db_url, "SELECT count(*) FROM outbox") == int(str(before)) + 2
    summary = _sweep(db_url, "07/09/2021")
    assert _steps(summary, "CAH-CMG", "supplement") == [("remind-1", ["cmg.focal", "cmg.head"])]
    change_units(db_url, 2021, "submit_supplement", ["CAH-CMG"], "cmg.focal", at("07/09/2021", "10:00"))
    assert _steps(_sweep(db_url, "08/09/2021"), "CAH-CMG", "supplement") == []


def test_sweeping_changes_nothing_but_steps_messages_and_events(db_url: str) -> None:
    org = open_2021(db_url)
    _plans_in(db_url, org)
    states = scalar(db_url, "SELECT group_concat(state) FROM assessment") if db_url.startswith("sqlite") else None
    events = event_count(db_url)
    summary = _sweep(db_url, "31/08/2021")
    assert event_count(db_url) == events + len(summary.lines)
    if states is not None:
        assert scalar(db_url, "SELECT group_concat(state) FROM assessment") == states


def test_a_late_unit_has_no_timeliness_bonus(db_url: str, tmp_path: Path) -> None:
    from factories import appraised_2021

    appraised_2021(db_url, tmp_path, late=("CAH-EHL",))
    with pytest.raises(UserError, match="requires reporting on time"):
        adjust(db_url, 2021, "CAH-EHL", "B1", "x", APPRAISER, at("08/09/2021"))

"""Opening a cycle and moving its phases, through the Prefect flows."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import COORDINATOR, at, event_count, load_sample_org, open_2021, scalar

from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
from cchc.flows.params import AdvanceParams, OpenCycleParams
from cchc.models.datafile import DataFileError
from cchc.models.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_opening_a_cycle_creates_one_assessment_per_assessed_unit_in_plan(db_url: str) -> None:
    load_sample_org(db_url)
    summary = open_cycle_flow(OpenCycleParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("25/06/2021")))
    assert summary.created and summary.assessments == 44 and len(summary.assessments_added) == 44
    assert scalar(db_url, "SELECT count(*) FROM assessment WHERE state = 'plan'") == 44
    assert scalar(db_url, "SELECT count(*) FROM framework") == 3
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM criterion c JOIN framework f ON f.id = c.framework_id "
            "WHERE f.code = 'cah-2021' AND c.level = 'sub'",
        )
        == 91
    )
    # the submission deadline "before 31/08/2021" is the start of that day in Asia/Ho_Chi_Minh
    due = scalar(db_url, "SELECT due_at FROM deadline WHERE phase = 'submission'")
    assert str(due).startswith("2021-08-30 17:00")


def test_opening_the_same_cycle_again_changes_nothing_and_records_nothing(db_url: str) -> None:
    open_2021(db_url, self_assessment=False)
    before = event_count(db_url)
    summary = open_cycle_flow(OpenCycleParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("26/06/2021")))
    assert not summary.created and summary.assessments_added == []
    assert event_count(db_url) == before
    assert scalar(db_url, "SELECT count(*) FROM assessment") == 44


def test_a_calendar_edited_after_opening_is_refused(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url, self_assessment=False)
    from cchc.config.settings import get_settings

    edited = tmp_path / "2021.yaml"
    edited.write_text(
        (get_settings().config_dir / "cycles" / "2021.yaml").read_text().replace("31/08/2021", "01/09/2021")
    )
    with pytest.raises(UserError, match="already open with a different calendar"):
        open_cycle_flow(OpenCycleParams(year=2021, calendar_path=str(edited), database_url=db_url, actor=COORDINATOR))


def test_a_broken_calendar_is_refused_with_the_entry_named(db_url: str, tmp_path: Path) -> None:
    load_sample_org(db_url)
    bad = tmp_path / "2021.yaml"
    bad.write_text(
        "year: 2021\nauthority: CAT\ntitle: x\nframeworks: {cah: cah-2021}\ndeadlines: {submision: 31/08/2021}\n"
    )
    with pytest.raises(DataFileError, match="deadlines: unknown key 'submision'"):
        open_cycle_flow(OpenCycleParams(year=2021, calendar_path=str(bad), database_url=db_url, actor=COORDINATOR))
    assert scalar(db_url, "SELECT count(*) FROM cycle") == 0


def test_only_a_coordinator_or_the_leadership_opens_a_cycle(db_url: str) -> None:
    load_sample_org(db_url)
    with pytest.raises(UserError, match="only a coordinator"):
        open_cycle_flow(OpenCycleParams(year=2021, database_url=db_url, actor="cmg.head"))
    assert scalar(db_url, "SELECT count(*) FROM cycle") == 0


def test_advancing_to_self_assessment_moves_every_unit(db_url: str) -> None:
    open_2021(db_url)
    assert scalar(db_url, "SELECT phase FROM cycle WHERE year = 2021") == "self_assessment"
    assert scalar(db_url, "SELECT count(*) FROM assessment WHERE state = 'self_assess'") == 44
    assert scalar(db_url, "SELECT count(*) FROM audit_event WHERE trigger = 'begin_self_assessment'") == 45


def test_appraisal_cannot_start_before_the_deadline_while_units_have_not_submitted(db_url: str) -> None:
    open_2021(db_url)
    with pytest.raises(Exception, match="44 units have not submitted"):
        advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("30/08/2021")))
    summary = advance_cycle_flow(
        AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("31/08/2021", "00:00"))
    )
    assert (summary.from_phase, summary.to_phase) == ("self_assessment", "appraisal")


def test_publication_is_not_a_phase_advance(db_url: str) -> None:
    open_2021(db_url)
    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("31/08/2021")))
    with pytest.raises(UserError, match="cchc publish"):
        advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("01/09/2021")))

"""Awards come from the published index only; the head rule; idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import (
    APPRAISER,
    COORDINATOR,
    DIRECTOR,
    OUTSIDE_APPRAISER,
    at,
    event_count,
    import_rows,
    open_2021,
    rows_for,
    scalar,
)

from cchc.flows.appraisal import appraise_flow
from cchc.flows.awards import awards_flow
from cchc.flows.cycle import advance_cycle_flow
from cchc.flows.params import AdvanceParams, AppraiseParams, AwardsParams, PublishParams, SubmitParams
from cchc.flows.publication import publish_flow
from cchc.flows.ranking import read_ranking
from cchc.flows.submission import change_units, submit_flow
from cchc.models.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _cycle_with_a_weak_and_an_overrated_unit(url: str, tmp_path: Path) -> None:
    """PK20 is weak (Hoàn thành nhiệm vụ); CAH-MDR scores itself full marks without evidence."""
    org = open_2021(url)
    rows = rows_for(org)
    for r in rows:
        if r[0] == "PK20" and r[2] not in ("", "KAD"):
            r[2] = str(round(float(r[2]) * 0.6, 2))
        if r[0] == "CAH-MDR":
            r[3] = ""
    import_rows(url, tmp_path / "s.csv", rows)
    submit_flow(SubmitParams(year=2021, units=[], database_url=url, actor=COORDINATOR, at=at("25/08/2021")))
    advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("31/08/2021")))
    appraise_flow(AppraiseParams(year=2021, database_url=url, actor=APPRAISER, at=at("04/09/2021")))
    appraise_flow(
        AppraiseParams(year=2021, units=["PV01"], database_url=url, actor=OUTSIDE_APPRAISER, at=at("04/09/2021"))
    )
    change_units(url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])


def test_awards_wait_for_publication(db_url: str, tmp_path: Path) -> None:
    _cycle_with_a_weak_and_an_overrated_unit(db_url, tmp_path)
    with pytest.raises(UserError, match="awards come from published results only"):
        awards_flow(AwardsParams(year=2021, database_url=db_url, actor=DIRECTOR))


def test_awards_follow_the_published_index_and_never_the_self_scores(db_url: str, tmp_path: Path) -> None:
    _cycle_with_a_weak_and_an_overrated_unit(db_url, tmp_path)
    publish_flow(PublishParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("10/12/2021")))
    # CAH-MDR's self-assessment is excellent; its published index is not (no evidence → 0 at appraisal)
    self_total = scalar(
        db_url, "SELECT r.self_total FROM result r JOIN unit u ON u.id = r.unit_id WHERE u.code = 'CAH-MDR'"
    )
    assert int(str(self_total)) >= 9000  # hundredths: a self-total of at least 90 points
    summary = awards_flow(AwardsParams(year=2021, database_url=db_url, actor=DIRECTOR, at=at("10/12/2021")))
    published = {u.unit: u for g in read_ranking(db_url, 2021).groups for u in g.units}
    certificates = {a.unit for a in summary.awards if a.rule == "excellent_certificate"}
    assert certificates == {code for code, u in published.items() if u.class_code == "xuat_sac"}
    assert "CAH-MDR" not in certificates and published["CAH-MDR"].class_code != "xuat_sac"
    leaders = {a.unit for a in summary.awards if a.rule == "group_leader"}
    assert leaders == {code for code, u in published.items() if u.rank == 1}
    heads = [a for a in summary.awards if a.kind == "head"]
    assert {(a.unit, a.outcome, a.person) for a in heads} == {
        ("PK20", "not_considered", "pk20.head"),
        ("CAH-MDR", "not_considered", "mdr.head"),
    }
    assert published["PK20"].class_code == "hoan_thanh"
    assert published["CAH-MDR"].class_code == "chua_hoan_thanh"
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM assessment WHERE state = 'awarded' AND cycle_id = "
            "(SELECT id FROM cycle WHERE year = 2021)",
        )
        == 44
    )
    assert scalar(db_url, "SELECT phase FROM cycle WHERE year = 2021") == "awards"


def test_running_awards_again_adds_nothing(db_url: str, tmp_path: Path) -> None:
    _cycle_with_a_weak_and_an_overrated_unit(db_url, tmp_path)
    publish_flow(PublishParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("10/12/2021")))
    first = awards_flow(AwardsParams(year=2021, database_url=db_url, actor=DIRECTOR, at=at("10/12/2021")))
    before = event_count(db_url)
    again = awards_flow(AwardsParams(year=2021, database_url=db_url, actor=DIRECTOR, at=at("11/12/2021")))
    assert again.added == 0 and again.awards == first.awards
    assert event_count(db_url) == before

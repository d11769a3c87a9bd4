"""Publication: index, class and rank in group; versions; corrections; the timeliness bonus; last year."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from factories import (
    APPRAISER,
    COORDINATOR,
    DIRECTOR,
    appraised_2021,
    at,
    event_count,
    published_2021,
    scalar,
    write_rows,
)

from config.settings import get_settings
from flows.appraisal import adjust, appraise_flow
from flows.history import import_results
from flows.params import AppraiseParams, PublishParams
from flows.publication import publish_flow, read_ranking
from flows.runtime import UserError
from flows.selfassessment import change_units
from models.scoring import index_pct

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _publish(url: str, actor: str = COORDINATOR, reason: str = "", when: str = "10/12/2021"):  # type: ignore[no-untyped-def]
    return publish_flow(PublishParams(year=2021, database_url=url, actor=actor, reason=reason, at=at(when)))


def test_the_published_ranking_follows_the_rules_in_every_group(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    report = read_ranking(db_url, 2021)
    assert [g.group for g in report.groups] == ["tthc", "ktthc", "cah"]
    assert [g.stats.count for g in report.groups] == [6, 23, 15]
    for group in report.groups:
        indexes = [u.index for u in group.units]
        assert indexes == sorted(indexes, reverse=True)
        assert group.units[0].rank == 1
        for u in group.units:
            assert u.index == index_pct(u.appraised_total, u.bonus, u.penalty, u.applicable_max)
            expected = (
                "xuat_sac"
                if u.index >= 95
                else "tot"
                if u.index >= 80
                else "kha"
                if u.index >= 70
                else "hoan_thanh"
                if u.index >= 50
                else "chua_hoan_thanh"
            )
            assert u.class_code == expected
        assert sum(group.stats.by_class.values()) == group.stats.count
        assert group.stats.average == (sum(indexes) / len(indexes)).quantize(Decimal("0.01"))
    assert scalar(db_url, "SELECT count(*) FROM assessment WHERE state = 'published'") == 44
    assert scalar(db_url, "SELECT phase FROM cycle WHERE year = 2021") == "published"


def test_publishing_again_with_nothing_changed_writes_nothing(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    before = event_count(db_url)
    summary = _publish(db_url, when="11/12/2021")
    assert not summary.new_version and summary.version == 1
    assert event_count(db_url) == before
    assert scalar(db_url, "SELECT count(*) FROM publication") == 1


def test_publication_waits_for_every_unit_and_only_the_authority_publishes(db_url: str, tmp_path: Path) -> None:
    appraised_2021(db_url, tmp_path)
    with pytest.raises(UserError, match=r"not every assessment is ready to publish \(44 appraised\)"):
        _publish(db_url)
    change_units(db_url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
    with pytest.raises(UserError, match="only the authority publishes"):
        _publish(db_url, actor="cmg.head")
    assert scalar(db_url, "SELECT count(*) FROM publication") == 0
    assert _publish(db_url).version == 1


def test_a_correction_republishes_a_new_version_and_the_old_one_stays_readable(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    first = {u.unit: u.index for g in read_ranking(db_url, 2021).groups for u in g.units}
    refused = change_units(db_url, 2021, "reopen", ["CAH-CMG"], COORDINATOR, at("15/12/2021"), reason="sai sót")
    assert "only the authority's head or a deputy may reopen" in refused.refused[0]
    refused = change_units(db_url, 2021, "reopen", ["CAH-CMG"], DIRECTOR, at("15/12/2021"))
    assert "a reason (note) is required" in refused.refused[0]
    change_units(db_url, 2021, "reopen", ["CAH-CMG"], DIRECTOR, at("15/12/2021"), reason="Khiếu nại điểm 1.1.2")
    corrections = write_rows(
        tmp_path / "c.csv",
        [["CAH-CMG", "1.1.2", "0", "Không có kế hoạch"]],
        header=["unit", "criterion", "score", "note"],
    )
    appraise_flow(
        AppraiseParams(
            year=2021, scores_path=str(corrections), database_url=db_url, actor=APPRAISER, at=at("16/12/2021")
        )
    )
    with pytest.raises(UserError, match="a correction republishes with a reason"):
        _publish(db_url, when="17/12/2021")
    summary = _publish(db_url, reason="Điều chỉnh sau khiếu nại", when="17/12/2021")
    assert summary.new_version and summary.version == 2 and summary.units_published == ["CAH-CMG"]
    second = {u.unit: u.index for g in read_ranking(db_url, 2021).groups for u in g.units}
    assert second["CAH-CMG"] < first["CAH-CMG"]
    old = {u.unit: u.index for g in read_ranking(db_url, 2021, version=1).groups for u in g.units}
    assert old == first
    assert scalar(db_url, "SELECT count(*) FROM publication WHERE current") == 1


def test_a_late_unit_gets_no_timeliness_bonus_even_if_one_was_recorded(db_url: str, tmp_path: Path) -> None:
    appraised_2021(db_url, tmp_path, late=("CAH-EHL",))
    adjust(db_url, 2021, "CAH-CMG", "B1", "đúng hạn, chính xác", APPRAISER, at("08/09/2021"))
    # a B1 that reached the table by another way (e.g. before a rule changed) is still withheld at publication
    aid = scalar(db_url, "SELECT a.id FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-EHL'")
    from sqlalchemy import insert

    from models.db import get_engine, write_session
    from models.tables import Adjustment

    with write_session(get_engine(db_url)) as session:
        session.execute(
            insert(Adjustment).values(
                assessment_id=aid,
                item_code="B1",
                kind="bonus",
                points=Decimal(2),
                reason="x",
                actor="x",
                at=at("08/09/2021"),
            )
        )
    change_units(db_url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
    _publish(db_url)
    units = {u.unit: u for g in read_ranking(db_url, 2021).groups for u in g.units}
    assert units["CAH-CMG"].bonus == 2 and units["CAH-CMG"].on_time
    assert units["CAH-EHL"].bonus == 0 and not units["CAH-EHL"].on_time


def test_this_year_is_compared_with_last_years_published_results(db_url: str, tmp_path: Path) -> None:
    from factories import open_2021

    open_2021(db_url, self_assessment=False)
    import_results(db_url, 2020, get_settings().config_dir / "samples" / "results-2020.csv", COORDINATOR)
    assert (
        import_results(db_url, 2020, get_settings().config_dir / "samples" / "results-2020.csv", COORDINATOR).created
        is False
    )
    from factories import OUTSIDE_APPRAISER, import_rows, rows_for, sample_org

    from flows.cycle import advance_cycle_flow
    from flows.params import AdvanceParams, SubmitParams
    from flows.selfassessment import submit_flow

    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("15/07/2021")))
    import_rows(db_url, tmp_path / "s.csv", rows_for(sample_org()))
    submit_flow(SubmitParams(year=2021, units=[], database_url=db_url, actor=COORDINATOR, at=at("25/08/2021")))
    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("31/08/2021")))
    appraise_flow(AppraiseParams(year=2021, database_url=db_url, actor=APPRAISER, at=at("04/09/2021")))
    appraise_flow(
        AppraiseParams(year=2021, units=["PV01"], database_url=db_url, actor=OUTSIDE_APPRAISER, at=at("04/09/2021"))
    )
    change_units(db_url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
    _publish(db_url)
    cah = next(g for g in read_ranking(db_url, 2021).groups if g.group == "cah")
    bmt = next(u for u in cah.units if u.unit == "CAH-BMT")
    assert bmt.prev_index == Decimal("97.64")
    assert bmt.index_change == bmt.index - Decimal("97.64")
    assert bmt.rank_change == bmt.prev_rank - bmt.rank  # type: ignore[operator]

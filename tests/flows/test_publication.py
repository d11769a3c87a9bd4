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

from cchc.config.settings import get_settings
from cchc.flows.appraisal import adjust, appraise_flow
from cchc.flows.history import import_results
from cchc.flows.params import AppraiseParams, PublishParams
from cchc.flows.publication import publish_flow
from cchc.flows.ranking import read_ranking
from cchc.flows.submission import change_units
from cchc.models.errors import UserError
from cchc.models.scoring import index_pct

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

    from cchc.models.db import get_engine, write_session
    from cchc.models.tables import Adjustment

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

    from cchc.flows.cycle import advance_cycle_flow
    from cchc.flows.params import AdvanceParams, SubmitParams
    from cchc.flows.submission import submit_flow

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


# --- a province built from constructed scores -----------------------------------------------------

# Đắk Lắk's 2021 figures (seed 004): per group, how many units in each class and the group's average;
# Cư M'gar leads the district police with 98,12 %; 6 of the 8 fields average over 90 %.
DAK_LAK_2021 = {
    "tthc": ({"xuat_sac": 5, "tot": 1}, Decimal("96.16")),
    "ktthc": ({"xuat_sac": 4, "tot": 17, "kha": 2}, Decimal("90.41")),
    "cah": ({"xuat_sac": 7, "tot": 8}, Decimal("94.33")),
}
TARGETS = {
    "tthc": [Decimal(v) for v in ("98.00", "97.50", "97.20", "96.80", "96.46", "91.00")],
    "ktthc": [Decimal(v) for v in ("97.00", "96.50", "96.00", "95.50", "76.00", "74.50")]
    + [Decimal("90.82") + Decimal(i - 8) / 2 for i in range(16)]
    + [Decimal("90.81") + Decimal(16 - 8) / 2],
    "cah": [Decimal(v) for v in ("98.12", "97.80", "97.00", "96.50", "96.00", "95.60", "95.10")]
    + [Decimal(v) for v in ("94.90", "94.00", "93.20", "92.50", "91.80", "91.00", "90.40", "91.03")],
}
# Where a unit loses its points: mostly administrative procedures (field 3) and e-government (field 7).
LOSS_WEIGHTS = {"3": Decimal("0.35"), "7": Decimal("0.45")}


def _constructed_rows(group: str, unit: str, target: Decimal) -> list[list[str]]:
    """A unit's complete self-assessment worth exactly `target` points of 100, all with evidence."""
    from factories import framework

    fw = framework(group)
    scores: dict[str, Decimal] = {}
    rows: dict[str, list[str]] = {}
    for sub in fw.subcriteria:
        metric = ""
        if sub.measured:
            assert sub.metric is not None
            per_item = sub.metric.per_item
            metric = str(int(-(-sub.max_points // per_item))) if per_item else "100/100"  # full marks
        else:
            scores[sub.code] = sub.max_points
        rows[sub.code] = [unit, sub.code, "", "91/KH-CAH ngày 30/06/2021", "", metric]
    deficit = fw.total_points - target
    others = [f.code for f in fw.fields if f.code not in LOSS_WEIGHTS]
    plan = [(code, (deficit * share).quantize(Decimal("0.01"))) for code, share in LOSS_WEIGHTS.items()]
    plan += [
        (code, (deficit * (1 - sum(LOSS_WEIGHTS.values())) / len(others)).quantize(Decimal("0.01"))) for code in others
    ]
    left = deficit - sum(share for _, share in plan)  # what rounding left over, taken with the rest below
    for field_code, share in plan + [(f.code, Decimal(0)) for f in fw.fields]:  # a second pass takes what is left
        take = share + left
        for sub in reversed([s for s in fw.subcriteria if s.field_code == field_code and not s.measured]):
            cut = min(take, scores[sub.code])
            scores[sub.code] -= cut
            take -= cut
        left = take
    assert left == 0 and sum(scores.values()) == target - sum(s.max_points for s in fw.subcriteria if s.measured)
    for code, points in scores.items():
        rows[code][2] = str(points)
    return list(rows.values())


def test_a_province_built_from_constructed_scores_has_the_dak_lak_2021_figures(db_url: str, tmp_path: Path) -> None:
    from factories import import_rows, open_2021

    from cchc.flows.cycle import advance_cycle_flow
    from cchc.flows.params import AdvanceParams, SubmitParams
    from cchc.flows.submission import submit_flow

    org = open_2021(db_url)
    rows: list[list[str]] = []
    for group, targets in TARGETS.items():
        units = sorted(u.code for u in org.units if u.group == group)
        if group == "cah":
            units.remove("CAH-CMG")
            units.insert(0, "CAH-CMG")
        assert len(units) == len(targets)
        for unit, target in zip(units, targets, strict=True):
            rows += _constructed_rows(group, unit, target)
    import_rows(db_url, tmp_path / "province.csv", rows)
    submit_flow(SubmitParams(year=2021, units=[], database_url=db_url, actor=COORDINATOR, at=at("25/08/2021")))
    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("31/08/2021")))
    appraise_flow(AppraiseParams(year=2021, database_url=db_url, actor=APPRAISER, at=at("04/09/2021")))
    from factories import OUTSIDE_APPRAISER

    appraise_flow(
        AppraiseParams(year=2021, units=["PV01"], database_url=db_url, actor=OUTSIDE_APPRAISER, at=at("04/09/2021"))
    )
    change_units(db_url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
    _publish(db_url)
    report = read_ranking(db_url, 2021)
    for group in report.groups:
        classes, average = DAK_LAK_2021[group.group]
        assert {c: n for c, n in group.stats.by_class.items() if n} == classes, group.group
        assert group.stats.average == average, group.group
    cah = next(g for g in report.groups if g.group == "cah")
    assert (cah.stats.best_unit, cah.stats.best_index) == ("CAH-CMG", Decimal("98.12"))
    assert cah.units[0].unit == "CAH-CMG" and cah.units[0].rank == 1
    assert cah.stats.fields_over_90 == 6 and len(cah.stats.field_averages) == 8
    assert all(cah.stats.field_averages[f] <= 90 for f in ("3", "7"))

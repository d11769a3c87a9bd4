"""Appraisal: the no-evidence rule, independence, determinism, versions with their diff, supplements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import (
    APPRAISER,
    COORDINATOR,
    OUTSIDE_APPRAISER,
    appraised_2021,
    at,
    event_count,
    import_rows,
    open_2021,
    rows_for,
    scalar,
    submitted_2021,
    write_rows,
)

from cchc.flows.appraisal import adjust, appraise_flow
from cchc.flows.params import AppraiseParams, SubmitParams
from cchc.flows.submission import change_units, submit_flow
from cchc.models.errors import UserError
from cchc.models.scoresheet import SheetError
from cchc.models.types import from_hundredths

pytestmark = pytest.mark.usefixtures("prefect_harness")

SCORE = (
    "SELECT s.{col} FROM score s JOIN criterion c ON c.id = s.criterion_id JOIN assessment a ON a.id = s.assessment_id "
    "JOIN unit u ON u.id = a.unit_id WHERE u.code = :unit AND c.code = :code"
)


def _appraise(url: str, actor: str = APPRAISER, when: str = "04/09/2021", **kw: object):  # type: ignore[no-untyped-def]
    return appraise_flow(AppraiseParams(year=2021, database_url=url, actor=actor, at=at(when), **kw))


def _payload(url: str, unit: str, trigger: str) -> dict:  # type: ignore[type-arg]
    return json.loads(
        str(
            scalar(
                url,
                "SELECT payload FROM audit_event WHERE unit_code = :u AND trigger = :t ORDER BY seq DESC LIMIT 1",
                u=unit,
                t=trigger,
            )
        )
    )


def test_a_sub_criterion_without_evidence_is_appraised_zero_and_the_diff_says_why(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org, ["CAH-CMG"])
    first = rows[0]
    first[2], first[3] = "1.00", ""
    import_rows(db_url, tmp_path / "s.csv", rows)
    submit_flow(SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor="cmg.focal", at=at("25/08/2021")))
    with pytest.raises(UserError, match="name the units to withdraw"):
        change_units(db_url, 2021, "withdraw", [], COORDINATOR, at("26/08/2021"))
    from cchc.flows.cycle import advance_cycle_flow
    from cchc.flows.params import AdvanceParams

    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("31/08/2021")))
    summary = _appraise(db_url, units=["CAH-CMG"])
    assert summary.appraised == ["CAH-CMG"]
    assert scalar(db_url, SCORE.format(col="appraised_points"), unit="CAH-CMG", code="1.1.1") == 0
    assert _payload(db_url, "CAH-CMG", "appraise")["changed"]["1.1.1"] == {
        "self": "1.00",
        "appraised": "0.00",
        "rule": "no_evidence",
    }


def test_appraising_again_with_the_same_inputs_changes_nothing_and_records_nothing(db_url: str, tmp_path: Path) -> None:
    appraised_2021(db_url, tmp_path)
    before = event_count(db_url)
    scores = scalar(db_url, "SELECT sum(appraised_points) FROM score")
    again = _appraise(db_url, when="05/09/2021")
    assert again.appraised == [] and again.reappraised == [] and again.changed_scores == 0
    assert len(again.unchanged) == 43
    assert event_count(db_url) == before
    assert scalar(db_url, "SELECT sum(appraised_points) FROM score") == scores


def test_nobody_appraises_their_own_unit(db_url: str, tmp_path: Path) -> None:
    submitted_2021(db_url, tmp_path)
    summary = _appraise(db_url)
    assert "PV01" not in summary.appraised and len(summary.appraised) == 43
    assert any("belongs to PV01 and cannot appraise their own unit" in r for r in summary.refused)
    assert (
        scalar(db_url, "SELECT a.state FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'PV01'")
        == "submitted"
    )
    other = _appraise(db_url, actor=OUTSIDE_APPRAISER, units=["PV01"])
    assert other.appraised == ["PV01"]


def test_only_appraisers_appraise(db_url: str, tmp_path: Path) -> None:
    submitted_2021(db_url, tmp_path)
    summary = _appraise(db_url, actor=COORDINATOR, units=["CAH-CMG"])
    assert summary.appraised == [] and "is not an appraiser" in summary.refused[0]


def test_an_appraisers_correction_gives_a_new_version_with_its_diff(db_url: str, tmp_path: Path) -> None:
    appraised_2021(db_url, tmp_path)
    before = scalar(db_url, SCORE.format(col="appraised_points"), unit="CAH-CMG", code="1.1.2")
    corrections = write_rows(
        tmp_path / "tham-dinh.csv",
        [["CAH-CMG", "1.1.2", "0.25", "Chưa đủ tài liệu"]],
        header=["unit", "criterion", "score", "note"],
    )
    summary = _appraise(db_url, when="06/09/2021", scores_path=str(corrections))
    assert summary.reappraised == ["CAH-CMG"] and summary.changed_scores == 1
    payload = _payload(db_url, "CAH-CMG", "reappraise")
    assert payload["changed"] == {
        "1.1.2": {"before": str(from_hundredths(before)), "after": "0.25", "rule": "appraiser"}
    }
    assert (
        scalar(
            db_url,
            "SELECT appraisal_version FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.code = 'CAH-CMG'",
        )
        == 2
    )
    assert scalar(db_url, "SELECT actor FROM audit_event WHERE trigger = 'reappraise'") == APPRAISER
    # the same file again: nothing more
    again = _appraise(db_url, when="07/09/2021", scores_path=str(corrections))
    assert again.reappraised == [] and again.changed_scores == 0


def test_an_appraisers_file_touching_their_own_unit_is_refused_whole(db_url: str, tmp_path: Path) -> None:
    appraised_2021(db_url, tmp_path)
    before = event_count(db_url)
    corrections = write_rows(
        tmp_path / "t.csv",
        [["CAH-CMG", "1.1.2", "0.25", "x"], ["PV01", "1.1.1", "0", "y"]],
        header=["unit", "criterion", "score", "note"],
    )
    with pytest.raises(SheetError, match="line 3, column unit: .*cannot appraise their own unit"):
        _appraise(db_url, when="06/09/2021", scores_path=str(corrections))
    assert event_count(db_url) == before
    assert scalar(db_url, "SELECT count(*) FROM score WHERE appraiser_points IS NOT NULL") == 0


def test_a_supplement_reopens_only_the_named_criteria_and_is_appraised_again(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org)
    cmg = [r for r in rows if r[0] == "CAH-CMG"]
    cmg[0][3] = ""  # 1.1.1 without evidence → 0 at appraisal
    import_rows(db_url, tmp_path / "s.csv", rows)
    submit_flow(SubmitParams(year=2021, units=[], database_url=db_url, actor=COORDINATOR, at=at("25/08/2021")))
    from cchc.flows.cycle import advance_cycle_flow
    from cchc.flows.params import AdvanceParams

    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("31/08/2021")))
    _appraise(db_url, units=["CAH-CMG"])
    refused = change_units(db_url, 2021, "request_supplement", ["CAH-CMG"], APPRAISER, at("05/09/2021"))
    assert "a reason (note) is required" in refused.refused[0]
    change_units(
        db_url,
        2021,
        "request_supplement",
        ["CAH-CMG"],
        APPRAISER,
        at("05/09/2021"),
        reason="Bổ sung tài liệu kiểm chứng tiêu chí 1.1.1",
        criteria=["1.1.1"],
    )
    with pytest.raises(SheetError, match=r"is not open to this import for CAH-CMG \(open now: 1.1.1\)"):
        import_rows(db_url, tmp_path / "b.csv", [cmg[1]], when="06/09/2021")
    cmg[0][3] = "15/BC-CAH ngày 20/08/2021"
    import_rows(db_url, tmp_path / "b.csv", [cmg[0]], when="06/09/2021")
    change_units(db_url, 2021, "submit_supplement", ["CAH-CMG"], "cmg.focal", at("06/09/2021"))
    summary = _appraise(db_url, units=["CAH-CMG"], when="09/09/2021")
    assert summary.reappraised == ["CAH-CMG"]
    assert _payload(db_url, "CAH-CMG", "reappraise")["changed"]["1.1.1"]["before"] == "0.00"
    assert scalar(db_url, SCORE.format(col="appraised_points"), unit="CAH-CMG", code="1.1.1") == scalar(
        db_url, SCORE.format(col="self_points"), unit="CAH-CMG", code="1.1.1"
    )


def test_the_timeliness_bonus_is_refused_for_a_late_submission(db_url: str, tmp_path: Path) -> None:
    appraised_2021(db_url, tmp_path, late=("CAH-EHL",))
    with pytest.raises(UserError, match="B1 requires reporting on time"):
        adjust(db_url, 2021, "CAH-EHL", "B1", "đúng hạn", APPRAISER, at("10/09/2021"))
    done = adjust(db_url, 2021, "CAH-CMG", "B1", "đúng hạn", APPRAISER, at("10/09/2021"))
    assert done.done and "+2.00" in done.message
    again = adjust(db_url, 2021, "CAH-CMG", "B1", "đúng hạn", APPRAISER, at("10/09/2021"))
    assert not again.done
    with pytest.raises(UserError, match="is not a bonus or penalty item"):
        adjust(db_url, 2021, "CAH-CMG", "B9", "x", APPRAISER, at("10/09/2021"))
    with pytest.raises(UserError, match="a reason is required"):
        adjust(db_url, 2021, "CAH-CMG", "P1", " ", APPRAISER, at("10/09/2021"))
    with pytest.raises(UserError, match="does not act for the authority"):
        adjust(db_url, 2021, "CAH-CMG", "B2", "x", "cmg.head", at("10/09/2021"))

"""Remediation after publication: who owes a plan (class, or a tagged field below 75 % — exactly), the
breakthrough registration of every unit, the sweep chasing both, units answering; award decisions."""

from __future__ import annotations

import json
from decimal import Decimal
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
    write_rows,
)
from sqlalchemy import text

from cchc.flows.appraisal import appraise_flow
from cchc.flows.awards import awards_flow, decide_award, read_awards
from cchc.flows.cycle import advance_cycle_flow
from cchc.flows.params import AdvanceParams, AppraiseParams, AwardsParams, PublishParams, SubmitParams, SweepParams
from cchc.flows.publication import publish_flow
from cchc.flows.ranking import read_ranking
from cchc.flows.remediation import read_follow_ups, receive_follow_up, require_again
from cchc.flows.submission import change_units, submit_flow
from cchc.flows.sweep import sweep_flow
from cchc.models.db import get_engine, read_session
from cchc.models.errors import UserError
from cchc.models.types import from_hundredths

pytestmark = pytest.mark.usefixtures("prefect_harness")

EXACTLY_75 = "CAH-CMG"  # field 3 (Cải cách TTHC, max 14): 10,50 points = 75,00 % → no plan
JUST_BELOW = "CAH-EHL"  # 10,49 points = 74,93 % → a plan
WEAK = "PK20"  # rated Hoàn thành nhiệm vụ → a plan


def _field(url: str, unit: str, field: str) -> list[tuple[str, Decimal, Decimal, bool]]:
    """(sub-criterion, appraised points, maximum, measured) of one field of a unit's assessment."""
    with read_session(get_engine(url)) as session:
        rows = session.execute(
            text(
                "SELECT c.code, s.appraised_points, c.max_points, c.method FROM score s "
                "JOIN criterion c ON c.id = s.criterion_id JOIN assessment a ON a.id = s.assessment_id "
                "JOIN unit u ON u.id = a.unit_id WHERE u.code = :unit AND c.field_code = :field "
                "AND c.level = 'sub' ORDER BY c.position"
            ),
            {"unit": unit, "field": field},
        ).all()
    return [(code, from_hundredths(p or 0), from_hundredths(m), method != "judged") for code, p, m, method in rows]


def _corrections_to(url: str, unit: str, field: str, target: Decimal) -> list[list[str]]:
    """Appraisal corrections of judged sub-criteria that bring a unit's field to `target` points."""
    rows = _field(url, unit, field)
    delta = target - sum(p for _, p, _, _ in rows)
    out = []
    for code, points, maximum, measured in rows:
        if measured or delta == 0:
            continue
        new = min(maximum, max(Decimal(0), points + delta))
        if new != points:
            out.append([unit, code, str(new), "Điều chỉnh theo hồ sơ"])
            delta -= new - points
    assert delta == 0, f"cannot bring {unit} field {field} to {target}"
    return out


def _remediation_phase(url: str, tmp_path: Path) -> None:
    org = open_2021(url)
    rows = rows_for(org)
    for r in rows:
        if r[0] == WEAK and r[2] not in ("", "KAD"):
            r[2] = str(round(float(r[2]) * 0.6, 2))
    import_rows(url, tmp_path / "s.csv", rows)
    submit_flow(SubmitParams(year=2021, units=[], database_url=url, actor=COORDINATOR, at=at("25/08/2021")))
    advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("31/08/2021")))
    appraise_flow(AppraiseParams(year=2021, database_url=url, actor=APPRAISER, at=at("04/09/2021")))
    appraise_flow(
        AppraiseParams(year=2021, units=["PV01"], database_url=url, actor=OUTSIDE_APPRAISER, at=at("04/09/2021"))
    )
    fixes = _corrections_to(url, EXACTLY_75, "3", Decimal("10.50")) + _corrections_to(
        url, JUST_BELOW, "3", Decimal("10.49")
    )
    path = write_rows(tmp_path / "fix.csv", fixes, header=["unit", "criterion", "score", "note"])
    appraise_flow(
        AppraiseParams(year=2021, scores_path=str(path), database_url=url, actor=APPRAISER, at=at("05/09/2021"))
    )
    change_units(url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
    publish_flow(PublishParams(year=2021, database_url=url, actor=COORDINATOR, at=at("10/12/2021")))
    awards_flow(AwardsParams(year=2021, database_url=url, actor=DIRECTOR, at=at("15/12/2021")))
    summary = advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("20/12/2021")))
    assert summary.to_phase == "remediation"


def _owed(url: str, kind: str = "remediation") -> dict[str, list[str]]:
    return {r.unit: r.reasons for r in read_follow_ups(url, 2021) if r.kind == kind and r.state != "waived"}


def test_units_owe_a_plan_by_class_or_a_field_below_75_percent_and_75_exactly_is_enough(
    db_url: str, tmp_path: Path
) -> None:
    _remediation_phase(db_url, tmp_path)
    published = {u.unit: u for g in read_ranking(db_url, 2021).groups for u in g.units}
    owed = _owed(db_url)
    weak = {code for code, u in published.items() if u.class_code in ("hoan_thanh", "chua_hoan_thanh")}
    assert WEAK in weak and weak <= owed.keys()
    assert any("xếp loại Hoàn thành nhiệm vụ" in r for r in owed[WEAK])
    assert EXACTLY_75 not in owed
    assert owed[JUST_BELOW] == [
        "lĩnh vực 3 (Cải cách thủ tục hành chính) đạt 10,49/14,00 điểm, 74,93 % — dưới 75 % số điểm tối đa"
    ]
    # every unit registers next year's breakthrough work; both are due before 11/04/2022 (local)
    follow_ups = read_follow_ups(db_url, 2021)
    assert len([r for r in follow_ups if r.kind == "breakthrough"]) == 44
    assert {r.due_at for r in follow_ups} == {at("11/04/2022", "00:00")}
    # the units were told why and by when, once each
    messages = scalar(db_url, "SELECT count(DISTINCT unit_code) FROM outbox WHERE kind = 'remediation_request'")
    assert messages == len(owed)
    body = json.loads(
        str(scalar(db_url, "SELECT context FROM outbox WHERE kind = 'remediation_request' AND unit_code = :u", u=WEAK))
    )
    assert body["reasons"] == owed[WEAK]


def test_the_sweep_chases_what_is_owed_until_the_unit_sends_it(db_url: str, tmp_path: Path) -> None:
    _remediation_phase(db_url, tmp_path)
    with pytest.raises(UserError, match="is not a document reference"):
        receive_follow_up(db_url, 2021, WEAK, "remediation", "kế hoạch khắc phục", "", "pk20.head")
    with pytest.raises(UserError, match="is neither the head, a deputy or the focal officer of PK20"):
        receive_follow_up(db_url, 2021, WEAK, "remediation", "12/KH-PK20 ngày 05/04/2022", "", "cmg.head")
    assert receive_follow_up(db_url, 2021, WEAK, "remediation", "12/KH-PK20 ngày 05/04/2022", "", "pk20.head")
    assert not receive_follow_up(db_url, 2021, WEAK, "remediation", "12/KH-PK20 ngày 05/04/2022", "", "pk20.head")
    summary = sweep_flow(SweepParams(year=2021, database_url=db_url, at=at("12/04/2022", "08:00")))
    chased = {(line.unit, line.phase) for line in summary.lines}
    assert (JUST_BELOW, "remediation") in chased and (WEAK, "remediation") not in chased
    assert (WEAK, "breakthrough") in chased and len({u for u, p in chased if p == "breakthrough"}) == 44
    again = sweep_flow(SweepParams(year=2021, database_url=db_url, at=at("12/04/2022", "09:00")))
    assert again.lines == []
    received = {r.unit: r for r in read_follow_ups(db_url, 2021) if r.kind == "remediation"}[WEAK]
    assert (received.state, received.ref, received.received_by) == (
        "received",
        "12/KH-PK20 ngày 05/04/2022",
        "pk20.head",
    )


def test_requiring_again_under_changed_rules_adds_updates_and_waives(db_url: str, tmp_path: Path) -> None:
    _remediation_phase(db_url, tmp_path)
    before = _owed(db_url)
    stricter = tmp_path / "rules.yaml"
    stricter.write_text(
        'classes: ["chua_hoan_thanh"]\nfield_tags: ["tthc"]\nbelow_pct: "76"\nbreakthrough: true\n', encoding="utf-8"
    )
    with pytest.raises(UserError, match="only a coordinator or the authority's leadership"):
        require_again(db_url, 2021, "cmg.head", str(stricter))
    summary = require_again(db_url, 2021, COORDINATOR, str(stricter), at("21/12/2021"))
    after = _owed(db_url)
    assert EXACTLY_75 in after and EXACTLY_75 in summary.required["remediation"]  # 75 % < 76 %
    assert WEAK not in after or WEAK in summary.updated
    assert set(summary.waived) == {u for u in before if u not in after}
    events = event_count(db_url)
    assert require_again(db_url, 2021, COORDINATOR, str(stricter), at("22/12/2021")).updated == []
    assert event_count(db_url) == events


def test_award_proposals_are_decided_by_the_authority_with_the_decision_document(db_url: str, tmp_path: Path) -> None:
    _remediation_phase(db_url, tmp_path)
    leader = next(a for a in read_awards(db_url, 2021) if a.rule == "group_leader")
    with pytest.raises(UserError, match="only the authority's head or a deputy decides awards"):
        decide_award(
            db_url, 2021, leader.unit, "group_leader", "approved", "125/QĐ-CAT ngày 30/9/2021", "", COORDINATOR
        )
    with pytest.raises(UserError, match=r"cannot reject award from state 'proposed': a reason \(note\) is required"):
        decide_award(db_url, 2021, leader.unit, "group_leader", "rejected", "125/QĐ-CAT ngày 30/9/2021", "", DIRECTOR)
    with pytest.raises(UserError, match="has no 'nonexistent' proposal"):
        decide_award(db_url, 2021, leader.unit, "nonexistent", "approved", "125/QĐ-CAT ngày 30/9/2021", "", DIRECTOR)
    assert decide_award(
        db_url, 2021, leader.unit, "group_leader", "approved", "125/QĐ-CAT ngày 30/9/2021", "", DIRECTOR
    )
    events = event_count(db_url)
    assert not decide_award(
        db_url, 2021, leader.unit, "group_leader", "approved", "125/QĐ-CAT ngày 30/9/2021", "", DIRECTOR
    )
    assert event_count(db_url) == events
    decided = next(a for a in read_awards(db_url, 2021) if a.unit == leader.unit and a.rule == "group_leader")
    assert decided.status == "approved"
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE kind = 'award_decision'") >= 1  # type: ignore[operator]
    assert (
        scalar(
            db_url, "SELECT count(*) FROM audit_event WHERE trigger = 'approve_award' AND unit_code = :u", u=leader.unit
        )
        == 1
    )

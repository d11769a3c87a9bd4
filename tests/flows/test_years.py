"""Years: next year's cycle carried forward from last year's; results compared across years."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from factories import COORDINATOR, at, published_2021, scalar

from cchc.config.settings import get_settings
from cchc.flows.cycle import open_cycle_flow
from cchc.flows.history import import_results
from cchc.flows.params import OpenCycleParams
from cchc.flows.ranking import read_ranking
from cchc.flows.years import compare_years
from cchc.models.calendar import carried_forward, shift_years
from cchc.models.datafile import read_yaml
from cchc.models.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_cycle_opens_from_last_years_with_the_same_units_and_every_date_a_year_later(
    db_url: str, tmp_path: Path
) -> None:
    published_2021(db_url, tmp_path)
    with pytest.raises(UserError, match="carried forward from an earlier year"):
        open_cycle_flow(OpenCycleParams(year=2021, from_year=2021, database_url=db_url, actor=COORDINATOR))
    summary = open_cycle_flow(
        OpenCycleParams(year=2022, from_year=2021, database_url=db_url, actor=COORDINATOR, at=at("20/06/2022"))
    )
    assert summary.created and summary.assessments == 44 and summary.phase == "planning"
    same_units = scalar(
        db_url,
        "SELECT count(*) FROM assessment a JOIN cycle c ON c.id = a.cycle_id "
        "JOIN assessment b ON b.unit_id = a.unit_id JOIN cycle d ON d.id = b.cycle_id "
        "WHERE c.year = 2022 AND d.year = 2021 AND a.group_code = b.group_code",
    )
    assert same_units == 44
    # no 2022 framework file ships: each group keeps its 2021 framework
    assert {g: text.split(" ")[0] for g, text in summary.frameworks.items()} == {
        "tthc": "cat-tthc-2021",
        "ktthc": "cat-ktthc-2021",
        "cah": "cah-2021",
    }
    assert scalar(db_url, "SELECT title FROM cycle WHERE year = 2022") == (
        "Xác định Chỉ số cải cách hành chính trong Công an tỉnh năm 2022"
    )
    assert scalar(db_url, "SELECT evidence_to FROM cycle WHERE year = 2022") in (date(2022, 8, 30), "2022-08-30")
    due = scalar(
        db_url,
        "SELECT d.due_at FROM deadline d JOIN cycle c ON c.id = d.cycle_id "
        "WHERE c.year = 2022 AND d.phase = 'submission' AND d.unit_id IS NULL AND d.group_code IS NULL",
    )
    assert str(due).startswith("2022-08-30 17:00")  # before 31/08/2022 begins in Asia/Ho_Chi_Minh


def test_carrying_forward_moves_dates_takes_next_frameworks_and_drops_last_years_exceptions() -> None:
    data = read_yaml(get_settings().config_dir / "cycles" / "2021.yaml")
    data["overrides"] = [{"phase": "submission", "unit": "PK20", "before": "05/09/2021", "reason": "x"}]
    carried = carried_forward(data, 2021, 2022, lambda code: code == "cah-2022")
    assert carried["deadlines"]["remediation"] == "11/04/2023"
    assert carried["evidence_window"] == {"from": "01/08/2021", "to": "30/08/2022"}
    assert carried["frameworks"] == {"tthc": "cat-tthc-2021", "ktthc": "cat-ktthc-2021", "cah": "cah-2022"}
    assert "overrides" not in carried and "plan_ref" not in carried
    assert any("năm 2022" in t for t in carried["commitments"]["targets"])
    assert data["deadlines"]["remediation"] == "11/04/2022"  # last year's document is untouched
    assert shift_years("29/02/2024 17:00", 1) == "28/02/2025 17:00"
    assert shift_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert shift_years("2021-08-31", 1) == "2022-08-31"


def test_results_compare_across_years(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    import_results(db_url, 2020, get_settings().config_dir / "samples" / "results-2020.csv", COORDINATOR)
    comparison = compare_years(db_url)
    assert comparison.years == [2020, 2021]
    now = {u.unit: u for g in read_ranking(db_url, 2021).groups for u in g.units}
    cmg = next(u for u in comparison.units if u.unit == "CAH-CMG")
    assert cmg.years[2021].index == now["CAH-CMG"].index and cmg.years[2021].rank == now["CAH-CMG"].rank
    assert cmg.years[2021].class_name in ("Xuất sắc", "Tốt", "Khá", "Hoàn thành nhiệm vụ", "Chưa hoàn thành nhiệm vụ")
    index_change, places = cmg.change(2020, 2021)
    assert index_change == cmg.years[2021].index - cmg.years[2020].index
    assert places == cmg.years[2020].rank - cmg.years[2021].rank
    assert isinstance(index_change, Decimal)
    only = compare_years(db_url, [2021], "CAH-CMG")
    assert [u.unit for u in only.units] == ["CAH-CMG"] and list(only.units[0].years) == [2021]
    with pytest.raises(UserError, match="no published results for 2019"):
        compare_years(db_url, [2019, 2021])

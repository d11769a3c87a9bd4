"""Long work reports its progress: an import by rows, a sweep by items, a publication by stages."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import COORDINATOR, appraised_2021, at, import_rows, open_2021, rows_for

from cchc.flows import progress
from cchc.flows.params import PublishParams, SweepParams
from cchc.flows.publication import publish_flow
from cchc.flows.submission import change_units
from cchc.flows.sweep import sweep_flow

pytestmark = pytest.mark.usefixtures("prefect_harness")


class Recorder:
    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None, int]] = []

    def step(self, label: str, total: int | None) -> None:
        self.stages.append((label, total, 0))

    def advance(self, amount: int) -> None:
        label, total, done = self.stages[-1]
        self.stages[-1] = (label, total, done + amount)


def test_an_import_a_sweep_and_a_publication_report_their_progress(db_url: str, tmp_path: Path) -> None:
    org = open_2021(db_url)
    rows = rows_for(org)
    with progress.watching(Recorder()) as seen:
        import_rows(db_url, tmp_path / "s.csv", rows)
        sweep_flow(SweepParams(year=2021, database_url=db_url, at=at("01/09/2021", "08:00")))
    (label, total, done), (sweep_label, items, swept) = seen.stages  # type: ignore[attr-defined]
    assert label == "s.csv: kiểm tra và ghi" and total == len(rows)
    assert done == len(rows) // 2_000 * 2_000  # reported every 2,000 rows
    assert sweep_label == "Rà soát hạn" and items is not None and swept == items > 0
    progress.step("nobody listens")  # without a watcher, reporting does nothing
    progress.advance(5)


def test_a_publication_reports_its_four_stages(db_url: str, tmp_path: Path) -> None:
    appraised_2021(db_url, tmp_path)
    change_units(db_url, 2021, "skip_supplement", [], "pv01.appr1", at("08/09/2021"), states=["appraised"])
    with progress.watching(Recorder()) as seen:
        publish_flow(PublishParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("10/12/2021")))
    assert [(total, done) for _, total, done in seen.stages] == [(4, 4)]  # type: ignore[attr-defined]

"""`cchc demo`, the README's main job, runs the whole story and leaves a consistent database."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from factories import scalar

from cchc.flows.demo import run_demo

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_demo_runs_the_whole_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(url)
    out = capsys.readouterr().out
    assert "chain intact" in out and "BROKEN" not in out
    assert "See it in the browser: cchc --database-url" in out and "ehl.focal" in out
    assert scalar(url, "SELECT count(*) FROM login") == 4
    for group in ("(6 đơn vị)", "(23 đơn vị)", "(15 đơn vị)"):
        assert group in out
    assert "refused as it should be: B1 requires reporting on time" in out
    # every unit published; the commune supplied its criteria; a document's file is kept
    published = (
        "SELECT count(*) FROM result r JOIN publication p ON p.id = r.publication_id "
        "JOIN cycle c ON c.id = p.cycle_id WHERE c.year = 2021 AND p.current"
    )
    assert scalar(url, published) == 44
    assert scalar(url, "SELECT count(*) FROM score WHERE supplied_by = 'CAH-EHL-X-EARAL'") == 2
    assert scalar(url, "SELECT count(*) FROM evidence_file") == 1
    # the inspector's comment from the appraisal workbook is kept with the score
    assert scalar(url, "SELECT count(*) FROM score WHERE appraisal_note = 'Sản phẩm chưa đầy đủ so với kế hoạch'") == 1
    # the loopback mailbox received the messages, each one saved
    mails = list(tmp_path.glob("cchc-demo-*/mail/*.eml"))
    assert len(mails) > 400
    # the year closes: one unit weak in administrative procedures owes a remediation plan and is chased for
    # it; every unit registers next year's breakthrough work; the group leaders' praise is decided
    assert scalar(url, "SELECT count(*) FROM follow_up WHERE kind = 'breakthrough'") == 44
    owed = "SELECT u.code FROM follow_up f JOIN unit u ON u.id = f.unit_id WHERE f.kind = 'remediation'"
    assert scalar(url, owed) == "CAH-BHO"
    assert scalar(url, "SELECT count(*) FROM chase_step WHERE item_kind = 'follow_up' AND unit_code = 'CAH-BHO'") >= 3
    assert scalar(url, "SELECT count(*) FROM award WHERE status = 'approved'") == 3
    assert scalar(url, "SELECT phase FROM cycle WHERE year = 2021") == "remediation"

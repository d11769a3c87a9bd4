"""Heads' responsibility commitments: the cascade, the signing rules, documents that change, the chase."""

from __future__ import annotations

import json
import re
import tarfile
from datetime import date
from pathlib import Path

import pytest
from factories import COORDINATOR, DIRECTOR, at, load_sample_org, open_2021, scalar, signing_links, write_rows
from office import convert

from cchc.flows.backup import backup
from cchc.flows.commitments import commitments_flow
from cchc.flows.params import CommitmentParams, SweepParams
from cchc.flows.signing import decline, document, record_paper, renew_link, sign, status
from cchc.flows.sweep import sweep_flow
from cchc.models.db import get_engine
from cchc.models.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_harness")
OF_UNIT = "FROM commitment c JOIN unit u ON u.id = c.unit_id WHERE u.code = :u"


def _prepare(url: str, when: str = "25/06/2021"):  # type: ignore[no-untyped-def]
    return commitments_flow(CommitmentParams(year=2021, database_url=url, actor=COORDINATOR, at=at(when)))


def _state(url: str, unit: str) -> str:
    return str(
        scalar(url, "SELECT c.state FROM commitment c JOIN unit u ON u.id = c.unit_id WHERE u.code = :u", u=unit)
    )


def test_commitments_cascade_top_down(db_url: str) -> None:
    open_2021(db_url, self_assessment=False)
    summary = _prepare(db_url)
    assert summary.total == 133 and summary.sent == ["CAT"]
    assert _state(db_url, "CAH-CMG") == "drafted"
    with pytest.raises(UserError, match="not a move of this state"):
        sign(db_url, 2021, "cmg.head", unit="CAH-CMG", at=at("26/06/2021"))
    director = sign(db_url, 2021, DIRECTOR, unit="CAT", at=at("26/06/2021"))
    assert director.capacity == "head" and len(director.sent) == 44 and "CAH-CMG" in director.sent
    assert _state(db_url, "CAH-CMG-TH") == "drafted"  # its counterpart (the district head) has not signed
    district = sign(db_url, 2021, "cmg.head", unit="CAH-CMG", at=at("28/06/2021"))
    assert sorted(district.sent) == [
        "CAH-CMG-CSGT",
        "CAH-CMG-QLHC",
        "CAH-CMG-TH",
        "CAH-CMG-X-CUSUE",
        "CAH-CMG-X-EAKIET",
        "CAH-CMG-X-EAPOK",
        "CAH-CMG-X-QUANGPHU",
    ]
    assert scalar(db_url, "SELECT count(*) FROM outbox WHERE kind = 'commitment_request'") == 1 + 44 + 7
    lines = {line.unit: line for line in status(db_url, 2021, at("29/06/2021"))}
    assert lines["CAH-CMG"].signed_by == "cmg.head" and lines["CAT"].level == 0 and lines["CAH-CMG-TH"].level == 2
    assert lines["CAT"].counterpart == "Bộ trưởng Bộ Công an"


def test_only_the_head_signs_and_a_deputy_only_where_there_is_no_head(db_url: str) -> None:
    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    sign(db_url, 2021, DIRECTOR, unit="CAT", at=at("26/06/2021"))
    for wrong in ("cmg.deputy", "cmg.focal", COORDINATOR, "bmt.head"):
        with pytest.raises(UserError, match="does not lead CAH-CMG: only its head signs"):
            sign(db_url, 2021, wrong, unit="CAH-CMG", at=at("27/06/2021"))
    assert _state(db_url, "CAH-CMG") == "sent"
    sign(db_url, 2021, "esu.head", unit="CAH-ESU", at=at("27/06/2021"))
    deputy = scalar(
        db_url,
        "SELECT p.code FROM person p JOIN unit u ON u.id = p.unit_id JOIN person_role r "
        "ON r.person_id = p.id WHERE u.code = 'CAH-ESU-QLHC' AND r.role = 'deputy'",
    )
    acting = sign(db_url, 2021, str(deputy), unit="CAH-ESU-QLHC", at=at("28/06/2021"))
    assert acting.capacity == "acting" and acting.notified == ["esu.head"]
    notice = scalar(db_url, "SELECT context FROM outbox WHERE kind = 'acting_signature_notice'")
    assert json.loads(str(notice))["sha256"] == acting.sha256
    assert (
        scalar(db_url, "SELECT to_email FROM outbox WHERE kind = 'acting_signature_notice'")
        == "esu.head@dlk.cand.example"
    )
    event = json.loads(
        str(scalar(db_url, "SELECT payload FROM audit_event WHERE unit_code = 'CAH-ESU-QLHC' AND trigger = 'sign'"))
    )
    assert event == {"capacity": "acting", "sha256": acting.sha256, "doc_version": 1}


def test_a_document_changed_after_signing_must_be_signed_again(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    sign(db_url, 2021, DIRECTOR, unit="CAT", at=at("26/06/2021"))
    first = sign(db_url, 2021, "cmg.head", unit="CAH-CMG", at=at("27/06/2021"))
    again = _prepare(db_url, "28/06/2021")
    assert again.drafted == [] and again.revised == [] and again.sent == []  # same documents: nothing to do
    from cchc.config.settings import get_settings

    text = (get_settings().config_dir / "org" / "daklak.yaml").read_text(encoding="utf-8")
    name = re.search(r'code: "cmg.head", name: "([^"]+)"', text)
    assert name is not None
    changed = tmp_path / "org.yaml"
    changed.write_text(text.replace(name.group(1), "Thượng tá Hoàng Văn Mới"), encoding="utf-8")
    load_sample_org  # noqa: B018  (the same loader, another file)
    from cchc.flows.lookup import actor_for
    from cchc.flows.org import read_org, write_org
    from cchc.models.db import get_engine, write_session

    with write_session(get_engine(db_url)) as session:
        write_org(session, read_org(changed), actor_for(session, None, task="test"), at("29/06/2021"), "org.yaml")
    revised = _prepare(db_url, "30/06/2021")
    assert "CAH-CMG" in revised.revised and "CAH-CMG" in revised.sent  # its counterpart signed: sent again
    assert _state(db_url, "CAH-CMG") == "sent"
    second = sign(db_url, 2021, "cmg.head", unit="CAH-CMG", at=at("30/06/2021", "15:00"))
    assert second.sha256 != first.sha256
    lines = {line.unit: line for line in status(db_url, 2021)}
    assert lines["CAH-CMG"].doc_version == 2 and lines["CAH-CMG"].state == "signed"
    revise = json.loads(
        str(scalar(db_url, "SELECT payload FROM audit_event WHERE unit_code = 'CAH-CMG' AND trigger = 'revise'"))
    )
    assert revise["before"] == first.sha256 and revise["docx_sha256"] == second.sha256
    name_, data = document(db_url, 2021, "CAH-CMG", ".html")
    assert name_ == "cam-ket-CAH-CMG-2021-v2.html" and "Thượng tá Hoàng Văn Mới" in data.decode("utf-8")


def test_the_single_use_link_signs_once(db_url: str) -> None:
    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    link = next(iter(signing_links(db_url).values()))
    token = link.rsplit("/", 1)[1]
    done = sign(db_url, 2021, None, token=token, at=at("26/06/2021"))
    assert done.unit == "CAT" and done.capacity == "head"
    assert (
        scalar(db_url, "SELECT signed_by FROM commitment c JOIN unit u ON u.id = c.unit_id WHERE u.code = 'CAT'")
        == "gd"
    )
    with pytest.raises(UserError, match="not valid, or it was already used"):
        sign(db_url, 2021, None, token=token, at=at("26/06/2021", "10:00"))
    with pytest.raises(UserError, match="not valid"):
        sign(db_url, 2021, None, token="made-up", at=at("26/06/2021"))


def test_an_unsigned_commitment_is_reminded_then_escalated(db_url: str) -> None:
    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    sign(db_url, 2021, DIRECTOR, unit="CAT", at=at("26/06/2021"))
    steps = {}
    for day in ("03/07/2021", "07/07/2021", "09/07/2021", "10/07/2021", "12/07/2021", "15/07/2021", "16/07/2021"):
        summary = sweep_flow(SweepParams(year=2021, database_url=db_url, at=at(day, "08:00")))
        steps[day] = [
            (line.step, line.to) for line in summary.lines if line.unit == "CAH-CMG" and line.phase == "commitment"
        ]
    assert steps == {
        "03/07/2021": [("remind-7", ["cmg.focal", "cmg.head"])],
        "07/07/2021": [("remind-3", ["cmg.focal", "cmg.head"])],
        "09/07/2021": [("remind-1", ["cmg.focal", "cmg.head"])],
        "10/07/2021": [("escalate-1", ["cmg.focal", "cmg.head"])],
        "12/07/2021": [("escalate-2", ["gd", "pv01.coord1", "pv01.coord2"])],
        "15/07/2021": [("escalate-3", ["gd", "pgd1", "pgd2"])],
        "16/07/2021": [],
    }


def test_a_paper_signature_is_recorded_with_its_scan(db_url: str, tmp_path: Path, file_store: Path) -> None:
    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    scan = tmp_path / "cam-ket.pdf"
    scan.write_bytes(b"%PDF-1.4 scanned\n%%EOF\n")
    with pytest.raises(UserError, match="only a coordinator or the authority's leadership records a paper"):
        record_paper(db_url, 2021, "CAT", scan, date(2021, 6, 26), "cmg.head")
    with pytest.raises(UserError, match="a scan is a PDF or an image"):
        record_paper(db_url, 2021, "CAT", write_rows(tmp_path / "x.csv", []), date(2021, 6, 26), COORDINATOR)
    done = record_paper(db_url, 2021, "CAT", scan, date(2021, 6, 26), COORDINATOR, at("27/06/2021"))
    assert done.capacity == "paper" and len(done.sent) == 44
    digest = scalar(db_url, f"SELECT scan_sha256 {OF_UNIT}", u="CAT")
    assert len(list(file_store.rglob(f"{digest}.pdf"))) == 1


def test_a_head_may_decline_with_a_reason(db_url: str) -> None:
    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    sign(db_url, 2021, DIRECTOR, unit="CAT", at=at("26/06/2021"))
    with pytest.raises(UserError, match="a reason"):
        decline(db_url, 2021, "CAH-CMG", " ", "cmg.head")
    decline(db_url, 2021, "CAH-CMG", "Chỉ tiêu bưu chính chưa phù hợp", "cmg.head", at("27/06/2021"))
    assert _state(db_url, "CAH-CMG") == "declined"


def test_the_documents_open_in_libreoffice_with_their_vietnamese_text(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    name, data = document(db_url, 2021, "CAH-CMG", ".docx")
    docx = tmp_path / name
    docx.write_bytes(data)
    convert(docx, "txt:Text (encoded):UTF8", tmp_path)
    text = (tmp_path / docx.with_suffix(".txt").name).read_text(encoding="utf-8-sig")
    assert "BẢN CAM KẾT TRÁCH NHIỆM CỦA NGƯỜI ĐỨNG ĐẦU" in text
    assert "Công an huyện Cư M'gar".upper() in text
    assert "Công tác chỉ đạo điều hành CCHC" in text
    assert "Chỉ số CCHC năm 2021 của đơn vị đạt từ 90 % trở lên" in text
    html = document(db_url, 2021, "CAH-CMG", ".html")[1].decode("utf-8")
    assert "<h1>BẢN CAM KẾT TRÁCH NHIỆM CỦA NGƯỜI ĐỨNG ĐẦU</h1>" in html


def test_a_cycle_may_make_self_assessment_wait_for_the_signature(db_url: str, tmp_path: Path) -> None:
    from factories import import_rows, rows_for

    from cchc.config.settings import get_settings
    from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
    from cchc.flows.params import AdvanceParams, OpenCycleParams, SubmitParams
    from cchc.flows.submission import submit_flow
    from cchc.models.scoresheet import SheetError

    org = load_sample_org(db_url)
    calendar = tmp_path / "2021.yaml"
    calendar.write_text(
        (get_settings().config_dir / "cycles" / "2021.yaml")
        .read_text(encoding="utf-8")
        .replace("block_self_assessment: false", "block_self_assessment: true"),
        encoding="utf-8",
    )
    open_cycle_flow(
        OpenCycleParams(
            year=2021, calendar_path=str(calendar), database_url=db_url, actor=COORDINATOR, at=at("25/06/2021")
        )
    )
    advance_cycle_flow(AdvanceParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("15/07/2021")))
    _prepare(db_url)
    with pytest.raises(SheetError, match="the head of CAH-CMG has not signed the responsibility commitment"):
        import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"]))
    sign(db_url, 2021, DIRECTOR, unit="CAT", at=at("26/06/2021"))
    sign(db_url, 2021, "cmg.head", unit="CAH-CMG", at=at("27/06/2021"))
    import_rows(db_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG"]))
    done = submit_flow(
        SubmitParams(year=2021, units=["CAH-CMG"], database_url=db_url, actor="cmg.focal", at=at("25/08/2021"))
    )
    assert done.moved == ["CAH-CMG"]


def test_no_usable_signing_link_rests_in_the_outbox_or_in_a_backup(db_url: str, tmp_path: Path) -> None:
    """Issue 15 (bearer secrets): a link taken from the outbox or a backup signed the Director's commitment
    without a login for 60 days. Now the outbox holds the link sealed (the key is a file outside the
    database), a backup holds no link, and a link lasts `signing_link_days` (14)."""

    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    stored = " ".join(
        str(c) for c in get_engine(db_url).connect().exec_driver_sql("SELECT context FROM outbox").scalars()
    )
    assert "/commitments/sign/" not in stored and '"sealed"' in stored
    archive = tmp_path / "backup.tar.gz"
    backup(db_url, archive)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is None or b"/commitments/sign/" not in handle.read(), member.name
    links = signing_links(db_url)
    token = links["CAT"].rsplit("/", 1)[1]
    assert all(token not in str(v) for v in get_engine(db_url).connect().exec_driver_sql("SELECT * FROM commitment"))
    with pytest.raises(UserError, match="expired"):
        sign(db_url, 2021, None, token=token, at=at("10/07/2021"))  # 15 days later


def test_a_coordinator_renews_or_revokes_a_signing_link_and_the_old_one_stops_working(db_url: str) -> None:

    open_2021(db_url, self_assessment=False)
    _prepare(db_url)
    old = signing_links(db_url)["CAT"].rsplit("/", 1)[1]
    assert renew_link(db_url, 2021, "CAT", COORDINATOR, at("27/06/2021")) == [DIRECTOR]
    with pytest.raises(UserError, match="not valid"):
        sign(db_url, 2021, None, token=old, at=at("27/06/2021"))
    new = [link for unit, link in signing_links(db_url).items() if unit == "CAT"][-1].rsplit("/", 1)[1]
    renew_link(db_url, 2021, "CAT", COORDINATOR, at("27/06/2021", "10:00"), revoke=True)
    with pytest.raises(UserError, match="not valid"):
        sign(db_url, 2021, None, token=new, at=at("27/06/2021", "11:00"))
    triggers = list(
        get_engine(db_url)
        .connect()
        .exec_driver_sql("SELECT trigger FROM audit_event WHERE unit_code = 'CAT' AND kind = 'commitment' ORDER BY seq")
        .scalars()
    )
    assert triggers[-2:] == ["renew_link", "revoke_link"]
    with pytest.raises(UserError, match="cannot renew|prepares commitments|not allowed|may not"):
        renew_link(db_url, 2021, "CAT", "cmg.focal", at("27/06/2021"))

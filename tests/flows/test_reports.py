"""Reports: the published ranking and the progress report for leadership, as workbooks that open in
LibreOffice with the published figures, and as HTML pages whose charts are real SVG images drawn to scale
and whose numbers read the Vietnamese way; written whole or not at all from the command line."""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from factories import COORDINATOR, TZ, at, import_rows, open_2021, published_2021, rows_for, scalar
from mailserver import MailServer
from office import convert
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from cchc.flows.cli import app
from cchc.flows.deadlines import extend, register_plan
from cchc.flows.notify import flush_flow
from cchc.flows.params import FlushParams, SubmitParams, SweepParams
from cchc.flows.ranking import read_ranking
from cchc.flows.reports import write_atomically, write_ranking
from cchc.flows.reports.html import progress_html, ranking_html
from cchc.flows.reports.progress import ProgressReport, read_progress
from cchc.flows.reports.ranking import read_ranking_document
from cchc.flows.reports.xlsx import progress_xlsx
from cchc.flows.submission import submit_flow
from cchc.flows.sweep import sweep_flow
from cchc.models.charts import PLOT_HEIGHT
from cchc.models.db import get_engine, write_session

pytestmark = pytest.mark.usefixtures("prefect_harness")

SVG = "{http://www.w3.org/2000/svg}"
runner = CliRunner()


def _svgs(page: str) -> list[ET.Element]:
    """Every inline chart of a page, parsed as XML (a malformed one fails here)."""
    found = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    charts = [ET.fromstring(svg) for svg in found]
    assert all(chart.tag == f"{SVG}svg" for chart in charts)
    return charts


def _bars(chart: ET.Element) -> list[float]:
    return [float(rect.attrib["height"]) for rect in chart.iter(f"{SVG}rect") if rect.get("class") == "bar"]


def _title(chart: ET.Element) -> str:
    element = chart.find(f"{SVG}title")
    assert element is not None and element.text
    return element.text


def _drawn_to_scale(heights: list[float], values: list[Decimal], maximum: Decimal | None = None) -> None:
    """Each bar's height is its value's share of one scale (the axis maximum when given)."""
    assert len(heights) == len(values)
    assert all(h >= 0 for h in heights) and max(heights) <= PLOT_HEIGHT
    if maximum is None:
        tallest = max(range(len(values)), key=lambda i: values[i])
        scale = heights[tallest] / float(values[tallest])
    else:
        scale = PLOT_HEIGHT / float(maximum)
    for height, value in zip(heights, values, strict=True):
        assert height == pytest.approx(float(value) * scale, abs=0.01), (height, value)


def _visible_text(page: str) -> str:
    """What a reader sees: no style sheet, no markup, entities resolved."""
    body = re.sub(r"<style\b.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _vn(value: Decimal) -> str:
    """94.75 as a Vietnamese reader writes it (values below 1000 here)."""
    return f"{value:.2f}".replace(".", ",")


class _Rows(HTMLParser):
    """The table rows of a page that name a unit (class and data-unit), with their cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[str]]] = []
        self._cells: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-unit"):
            self.rows.append((found.get("class") or "", found["data-unit"] or "", []))
            self._cells = self.rows[-1][2]
        elif tag == "td" and self._cells is not None:
            self._cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._cells = None

    def handle_data(self, data: str) -> None:
        if self._cells:
            self._cells[-1] += data


def _rows(page: str, kind: str) -> dict[str, list[str]]:
    parser = _Rows()
    parser.feed(page)
    return {unit: cells for cls, unit, cells in parser.rows if cls == kind}


# --- the published ranking ------------------------------------------------------------------------


def test_the_ranking_workbook_opens_in_libreoffice_with_the_published_figures(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    path = tmp_path / "xep-hang.xlsx"
    written = write_ranking(db_url, 2021, None, path)
    assert written.path == path and "3 nhóm, 44 đơn vị" in written.summary
    report = read_ranking(db_url, 2021)

    book = load_workbook(path)
    assert book.sheetnames == ["Nhóm 1 - TTHC", "Nhóm 2 - KTTHC", "Nhóm 3 - CAH", "Lĩnh vực"]
    cah = book["Nhóm 3 - CAH"]
    assert cah["A1"].value == "Chỉ số cải cách hành chính năm 2021 — Công an các huyện, thị xã, thành phố"
    assert (
        cah["A2"].value
        == "Công bố lần 1 ngày 10/12/2021, người công bố: "
        + str(scalar(db_url, "SELECT full_name FROM person WHERE code = :c", c=COORDINATOR))
        + f" ({COORDINATOR})"
    )
    assert [c.value for c in cah[4]][:5] == ["Hạng", "Mã đơn vị", "Tên đơn vị", "Chỉ số (%)", "Xếp loại"]
    index_cell = cah["D5"]
    assert index_cell.data_type == "n" and index_cell.number_format == "0.00"  # a number, shown with 2 decimals
    assert all(len(book[name]._charts) >= 1 for name in book.sheetnames)  # class charts; field-average charts

    # every sheet (-1), each cell as shown (its number format), UTF-8
    convert(path, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1", tmp_path)
    for position, group in enumerate(report.groups, 1):
        sheet = tmp_path / f"xep-hang-Nhóm {position} - {group.group.upper()}.csv"
        table = list(csv.reader(io.StringIO(sheet.read_text(encoding="utf-8"))))
        by_code = {row[1]: row for row in table[4:] if len(row) > 3 and row[1]}
        for unit in group.units:
            row = by_code[unit.unit]
            assert (int(row[0]), row[2], Decimal(row[3]), row[4]) == (unit.rank, unit.name, unit.index, unit.class_name)
            assert re.fullmatch(r"\d+\.\d\d", row[3])  # shown with two decimals, as the format says
        average = next(row for row in table if row[1:2] == ["Chỉ số trung bình (%)"])
        assert Decimal(average[3]) == group.stats.average
    fields = list(csv.reader(io.StringIO((tmp_path / "xep-hang-Lĩnh vực.csv").read_text(encoding="utf-8"))))
    at_cmg = next(i for i, row in enumerate(fields) if row[0] == "CAH-CMG")
    header = next(row for row in reversed(fields[:at_cmg]) if row[:2] == ["Mã đơn vị", "Tên đơn vị"])
    average = next(row for row in fields[at_cmg:] if row[1:2] == ["Trung bình nhóm"])
    cah = report.groups[2]
    for code in cah.field_names:
        stored = scalar(
            db_url,
            "SELECT f.pct FROM field_result f JOIN result r ON r.assessment_id = f.assessment_id "
            "AND r.publication_id = f.publication_id JOIN unit u ON u.id = r.unit_id "
            "WHERE u.code = 'CAH-CMG' AND f.field_code = :field",
            field=code,
        )
        column = header.index(f"Lĩnh vực {code}")
        assert Decimal(fields[at_cmg][column]) == Decimal(int(str(stored))) / 100
        assert Decimal(average[column]) == cah.stats.field_averages[code]


def test_the_ranking_page_draws_its_charts_to_scale_in_vietnamese_numbers(db_url: str, tmp_path: Path) -> None:
    published_2021(db_url, tmp_path)
    with write_session(get_engine(db_url)) as session:  # a name with markup is shown, never obeyed
        session.execute(text("UPDATE unit SET name = 'Công an huyện Cư M''gar <script>' WHERE code = 'CAH-CMG'"))
    doc = read_ranking_document(db_url, 2021)
    page = ranking_html(doc)
    assert ranking_html(read_ranking_document(db_url, 2021)) == page  # the same publication, the same bytes
    assert unicodedata.is_normalized("NFC", page)
    assert "<script>" not in page and "Cư M&#39;gar &lt;script&gt;" in page
    report = doc.report

    charts = _svgs(page)
    assert len(charts) == 2 * len(report.groups) + sum(g.stats.count for g in report.groups)
    by_title = {_title(chart): chart for chart in charts}
    for group in report.groups:
        classes = by_title[f"Xếp loại — {group.name}"]
        _drawn_to_scale(_bars(classes), [Decimal(n) for n in group.stats.by_class.values()])
        averages = by_title[f"Chỉ số trung bình từng lĩnh vực — {group.name}"]
        _drawn_to_scale(_bars(averages), [group.stats.field_averages[f] for f in group.field_names], Decimal(100))
    cah = report.groups[2]
    cmg = by_title["CAH-CMG: từng lĩnh vực so với trung bình nhóm (%)"]
    stored = [
        Decimal(int(str(v))) / 100
        for v in (
            scalar(
                db_url,
                "SELECT f.pct FROM field_result f JOIN result r ON r.assessment_id = f.assessment_id "
                "AND r.publication_id = f.publication_id JOIN unit u ON u.id = r.unit_id "
                "WHERE u.code = 'CAH-CMG' AND f.field_code = :field",
                field=code,
            )
            for code in cah.field_names
        )
    ]
    heights = _bars(cmg)  # the unit's bar then the group's, field by field
    _drawn_to_scale(heights[0::2], stored, Decimal(100))
    _drawn_to_scale(heights[1::2], [cah.stats.field_averages[f] for f in cah.field_names], Decimal(100))
    for chart in charts:
        labels = [t.text or "" for t in chart.iter(f"{SVG}text") if t.get("class") == "value"]
        assert labels and all(re.fullmatch(r"\d+(,\d\d)?", label) for label in labels)

    visible = _visible_text(page)
    assert not re.search(r"\d\.\d{1,2}(?!\d)", visible)  # no 94.75 anywhere a reader looks
    assert "Công bố lần 1 ngày 10/12/2021" in visible
    for group in report.groups:
        assert f"Chỉ số trung bình của nhóm: {_vn(group.stats.average)} %" in " ".join(visible.split())
        for unit in group.units:
            assert _vn(unit.index) in visible


# --- the progress report --------------------------------------------------------------------------


def _late_province(url: str, tmp_path: Path) -> None:
    """Everyone reports on 25/08/2021 but three district police units: CAH-BMT reports a day late (after
    the first escalation), CAH-EHL was given until 03/09 and is chased on that ladder, CAH-CMG never reports.
    The sweep runs on 30/08, 31/08, 02/09 and 05/09 at 08:00."""
    org = open_2021(url)
    for unit in org.units:
        if unit.group:
            register_plan(url, 2021, unit.code, f"01/KH-{unit.code} ngày 05/07/2021", COORDINATOR, at("05/07/2021"))
    import_rows(url, tmp_path / "self.csv", rows_for(org))
    slow = ("CAH-BMT", "CAH-EHL", "CAH-CMG")
    on_time = [u.code for u in org.units if u.group and u.code not in slow]
    submit_flow(SubmitParams(year=2021, units=on_time, database_url=url, actor=COORDINATOR, at=at("25/08/2021")))
    extend(
        url,
        2021,
        "CAH-EHL",
        "submission",
        at("03/09/2021", "00:00"),
        "Mất điện diện rộng",
        COORDINATOR,
        at("29/08/2021"),
    )
    for day in ("30/08/2021", "31/08/2021", "02/09/2021", "05/09/2021"):
        sweep_flow(SweepParams(year=2021, database_url=url, at=at(day, "08:00")))
        if day == "31/08/2021":
            submit_flow(
                SubmitParams(year=2021, units=["CAH-BMT"], database_url=url, actor=COORDINATOR, at=at("01/09/2021"))
            )


def test_the_progress_report_lists_who_is_late_and_how_far_they_were_escalated(
    db_url: str, tmp_path: Path, mail_server: MailServer
) -> None:
    _late_province(db_url, tmp_path)
    flush_flow(FlushParams(database_url=db_url, at=at("05/09/2021", "08:05")))
    deputy = "pgd1@dlk.cand.example"  # of the authority's leadership, told at the third rung only
    subjects = [str(r.message["Subject"]) for r in mail_server.received if r.recipients == [deputy]]
    assert any("Cư M'gar" in s for s in subjects) and not any("Ea H'leo" in s for s in subjects)

    report = read_progress(db_url, 2021, "q3")
    assert report.title == "Báo cáo quý III/2021"
    assert report.as_of == datetime(2021, 9, 30, 23, 59, 59, tzinfo=TZ)
    assert report.as_of_text == "hết ngày 30/09/2021"
    overdue = {(o.unit, o.phase): o for o in report.overdue}
    assert set(overdue) == {("CAH-CMG", "submission"), ("CAH-EHL", "submission")}
    assert sorted(report.status.overdue) == ["CAH-CMG", "CAH-EHL"]  # the same units cycle status names
    cmg, ehl = overdue["CAH-CMG", "submission"], overdue["CAH-EHL", "submission"]
    assert cmg.chased is not None and ehl.chased is not None
    assert (cmg.chased.step, cmg.chased.step_at, cmg.days_late) == (3, at("05/09/2021", "08:00"), 30)
    assert (ehl.chased.step, ehl.due_at, ehl.days_late) == (2, at("03/09/2021", "00:00"), 27)
    assert [(late.unit, late.days_late) for late in report.late] == [("CAH-BMT", 1)]
    assert [(c.unit, c.step, still_open) for c, still_open in report.escalated] == [
        ("CAH-CMG", 3, True),
        ("CAH-EHL", 2, True),
        ("CAH-BMT", 1, False),
    ]

    book = load_workbook(io.BytesIO(progress_xlsx(report)))
    assert book.sheetnames == ["Tổng quan", "Đơn vị chậm", "Đôn đốc"]
    assert book["Tổng quan"]["A3"].value == "Số liệu tính đến hết ngày 30/09/2021 (giờ Việt Nam)"
    late_sheet = {row[1]: row for row in book["Đơn vị chậm"].iter_rows(min_row=6, values_only=True) if row[1]}
    assert (late_sheet["CAH-CMG"][5], late_sheet["CAH-CMG"][7]) == (30, 3)
    assert str(late_sheet["CAH-CMG"][8]).startswith("Bậc 3/3 (quá hạn 5 ngày): lãnh đạo cơ quan")
    assert late_sheet["CAH-EHL"][7] == 2 and late_sheet["CAH-EHL"][4] == datetime(2021, 9, 3)  # local wall time
    assert late_sheet["CAH-BMT"][5] == 1  # the late table: a day late
    escalations = {row[1]: row for row in book["Đôn đốc"].iter_rows(min_row=6, values_only=True) if row[1]}
    assert {code: (row[5], row[10]) for code, row in escalations.items()} == {
        "CAH-CMG": (3, "Chưa hoàn thành"),
        "CAH-EHL": (2, "Chưa hoàn thành"),
        "CAH-BMT": (1, "Đã hoàn thành"),
    }

    page = progress_html(report)
    assert page == progress_html(read_progress(db_url, 2021, "q3"))
    visible = " ".join(_visible_text(page).split())
    assert "Báo cáo quý III/2021" in visible and "Số liệu tính đến hết ngày 30/09/2021" in visible
    rows = _rows(page, "overdue")
    assert {unit: (cells[7], cells[8].split(":")[0]) for unit, cells in rows.items()} == {
        "CAH-CMG": ("3", "Bậc 3/3 (quá hạn 5 ngày)"),
        "CAH-EHL": ("2", "Bậc 2/3 (quá hạn 2 ngày)"),
    }
    assert rows["CAH-CMG"][4] == "31/08/2021 00:00" and rows["CAH-CMG"][9] == "05/09/2021 08:00"
    assert list(_rows(page, "late")) == ["CAH-BMT"]
    assert {unit: cells[10] for unit, cells in _rows(page, "escalated").items()}["CAH-BMT"] == "Đã hoàn thành"
    (chart,) = _svgs(page)
    counts = report.status.counts
    states = ["plan", "self_assess", "submitted", "appraised", "supplement_requested", "supplemented"]
    states += ["published", "awarded"]
    values = [Decimal(counts[group][state]) for state in states for group in counts]  # state by state, each group
    _drawn_to_scale(_bars(chart), values)
    assert sum(values) == 44 and counts["cah"]["self_assess"] == 2


def test_the_progress_report_shows_the_cycle_as_it_stood_at_the_end_of_the_period(db_url: str, tmp_path: Path) -> None:
    _late_province(db_url, tmp_path)
    first_half = read_progress(db_url, 2021, "h1")
    assert first_half.title == "Báo cáo 6 tháng đầu năm 2021"
    assert first_half.as_of == datetime(2021, 6, 30, 23, 59, 59, tzinfo=TZ)
    assert first_half.overdue == [] and first_half.escalated == []  # nothing was due or chased by then
    on_demand = read_progress(db_url, 2021, "now", at=at("01/09/2021", "12:00"))
    assert (on_demand.title, on_demand.as_of) == ("Báo cáo đột xuất", at("01/09/2021", "12:00"))
    assert [(c.unit, c.step) for c, _ in on_demand.escalated] == [("CAH-CMG", 1), ("CAH-BMT", 1)]
    assert [o.unit for o in on_demand.overdue] == ["CAH-CMG"]  # CAH-EHL's extended deadline had not come
    running = read_progress(db_url, 2021, "q4", at=at("15/10/2021"))  # a quarter not over: up to now
    assert (running.title, running.as_of, running.as_of_text) == (
        "Báo cáo quý IV/2021",
        at("15/10/2021"),
        "15/10/2021 09:00",
    )
    assert isinstance(running, ProgressReport) and running.period_end == datetime(2021, 12, 31, 23, 59, 59, tzinfo=TZ)


# --- the command line -----------------------------------------------------------------------------


def cchc(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", url, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_reports_are_written_from_the_command_line_by_their_suffix(db_url: str, tmp_path: Path) -> None:
    open_2021(db_url)
    out = tmp_path / "out"
    out.mkdir()
    code, said = cchc(db_url, "report", "progress", "--year", "2021", "--period", "q3", str(out / "tien-do.html"))
    assert code == 0 and said.strip().splitlines() == [  # no unit sent its plan or its self-assessment: 44 + 44
        f"wrote {out / 'tien-do.html'}: Báo cáo quý III/2021 (đến hết ngày 30/09/2021): 88 việc quá hạn, 0 việc đã "
        "đôn đốc sau hạn, 0 đơn vị báo cáo muộn"
    ]
    assert (out / "tien-do.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    code, said = cchc(db_url, "report", "progress", "--year", "2021", "--period", "Q3", str(out / "tien-do.xlsx"))
    assert code == 0 and load_workbook(out / "tien-do.xlsx").sheetnames[0] == "Tổng quan"
    assert sorted(p.name for p in out.iterdir()) == ["tien-do.html", "tien-do.xlsx"]  # no temporary file left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "ranking", "--year", "2021", "{out}/xep-hang.pdf"], "{out}/xep-hang.pdf: a report is written as"),
        (["report", "progress", "--period", "q3", "{out}/tien-do.csv"], "{out}/tien-do.csv: a report is written as"),
        (["report", "progress", "--period", "q5", "{out}/tien-do.html"], "--period: 'q5' is not a period"),
        (["report", "ranking", "--year", "2021", "{out}/xep-hang.xlsx"], "the 2021 cycle has not been published"),
        (["report", "ranking", "{out}/none/xep-hang.html"], "{out}/none: no such directory"),
    ],
)
def test_a_report_that_cannot_be_written_is_one_error_line_and_no_file(
    db_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    open_2021(db_url, self_assessment=False)
    out = tmp_path / "out"
    out.mkdir()
    code, said = cchc(db_url, *(a.format(out=out) for a in args))
    assert code == 1
    assert len(said.strip().splitlines()) == 1 and message.format(out=out) in said
    assert list(out.iterdir()) == []


def test_a_failed_write_leaves_the_previous_report_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "xep-hang.html"
    target.write_text("bản cũ", encoding="utf-8")

    def refuse(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("cchc.flows.reports.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"new")
    assert target.read_text(encoding="utf-8") == "bản cũ" and [p.name for p in tmp_path.iterdir()] == [target.name]
    monkeypatch.undo()
    write_atomically(target, "bản mới".encode())
    assert target.read_text(encoding="utf-8") == "bản mới" and [p.name for p in tmp_path.iterdir()] == [target.name]

"""Reading what a user hands over stays bounded (issue 15, "bounded parsing"): a YAML alias bomb, a CSV of
hundreds of thousands of lines, a workbook whose one cell sits at XFD1048576 or whose declared size is the
whole sheet, a workbook part that declares XML entities. Each is read in bounded time and memory, or refused
in one line that names the file (and the line or the cell)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hostile import (
    ENTITY_BOMB,
    FAR_CELL,
    ONE_ENTITY,
    SHEET,
    WORKBOOK,
    alias_bomb,
    alias_bomb_org,
    declared,
    patched,
    text_cell,
    unit_workbook,
    with_cells,
    with_doctype,
    within_cpu_seconds,
    write,
)

from cchc.config import CONFIG_DIR
from cchc.models import awards, remediation
from cchc.models.calendar import load_calendar
from cchc.models.datafile import MAX_ALIASED_NODES, DataFileError, read_yaml
from cchc.models.framework import framework_path, load_framework
from cchc.models.i18n import speaking, tr
from cchc.models.org import load_org
from cchc.models.scoresheet import Sheet, SheetError, SubSlot, UnitSlot, iter_self_assessment, open_table
from cchc.models.workbook import MAX_COLUMNS, MAX_ROWS, read_rows

FRAMEWORK = load_framework(framework_path(CONFIG_DIR, "cah-2021"))


def one_line(refused: pytest.ExceptionInfo[Exception]) -> str:
    text = str(refused.value)
    assert "\n" not in text and "Traceback" not in text and "Error" not in text, text
    return text


# --- YAML --------------------------------------------------------------------------------------------------

LOADERS: dict[str, Callable[[Path], Any]] = {
    "read_yaml": read_yaml,
    "organisation": load_org,
    "framework": load_framework,
    "calendar": lambda path: load_calendar(path, ZoneInfo("Asia/Ho_Chi_Minh")),
    "awards rules": awards.load_rules,
    "remediation rules": remediation.load_rules,
}


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
@pytest.mark.parametrize("bomb", [alias_bomb_org(), alias_bomb()], ids=["units' children", "lists"])
def test_a_billion_laughs_is_refused_at_once_in_one_vietnamese_line(
    tmp_path: Path, loader: Callable[[Path], Any], bomb: str
) -> None:
    path = write(tmp_path / "to-chuc.yaml", bomb)
    started = time.process_time()
    with speaking("vi"), within_cpu_seconds(10), pytest.raises(DataFileError) as refused:
        loader(path)
    assert time.process_time() - started < 2
    text = one_line(refused)
    assert text.startswith(f"{path}: dòng ") and "bí danh" in text and str(MAX_ALIASED_NODES) in text, text


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "org.yaml", "units:\n  - &a {code: A, name: A, kind: team, children: [*a]}\n")
    with speaking("vi"), pytest.raises(DataFileError) as refused:
        load_org(path)
    assert one_line(refused) == (
        f"{path}: dòng 2, cột 50: bí danh *a thay cho một mục chứa chính nó; tệp dữ liệu không thể tự chứa chính mình"
    )


def test_entries_nested_thousands_deep_are_refused_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "org.yaml", "units: " + "[" * 20_000 + "]" * 20_000 + "\n")
    with speaking("vi"), pytest.raises(DataFileError) as refused:
        read_yaml(path)
    assert one_line(refused) == f"{path}: các mục lồng nhau quá sâu, không đọc được"


def test_aliases_that_share_a_little_are_read_as_the_safe_loader_reads_them(tmp_path: Path) -> None:
    text = "roles: &focal [focal, coordinator]\npeople:\n" + "".join(
        f"  - {{code: p{i}, roles: *focal}}\n" for i in range(2_000)
    )
    path = write(tmp_path / "people.yaml", text)
    assert read_yaml(path) == yaml.safe_load(text)


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_data_file_reads_as_before(path: Path) -> None:
    assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


# --- CSV ---------------------------------------------------------------------------------------------------

UNITS = {f"CAH-{i:05d}": UnitSlot(i, 1, "self_assess") for i in range(1, 2_501)}
SUBS = {1: {s.code: SubSlot(j, s) for j, s in enumerate(FRAMEWORK.subcriteria, 1)}}
JUDGED = [s for s in FRAMEWORK.subcriteria if not s.measured]  # 84 sub-criteria scored without a figure


def long_csv(path: Path, units: int = 2_400, bad_line: int | None = None) -> Path:
    """A self-assessment of `units` units × 84 judged sub-criteria (201,601 lines for 2,400), every row good;
    `bad_line` holds a byte that is not UTF-8."""
    with path.open("wb") as out:
        out.write(b"unit,criterion,score,evidence,note\n")
        line = 1
        for i in range(1, units + 1):
            for sub in JUDGED:
                line += 1
                note = b"\xff" if line == bad_line else "Đạt".encode()
                out.write(f"CAH-{i:05d},{sub.code},0,91/KH-CAH ngày 30/6/2021,".encode() + note + b"\n")
    return path


def peak_while(read: Callable[[], int]) -> tuple[int, int]:
    """What `read` returned and the most memory it held at once (tracemalloc, bytes), the message catalogue
    being read beforehand (once per process, about 1 MiB)."""
    tr("and {n} more", n=0)
    tracemalloc.start()
    try:
        count = read()
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_long_csv_is_read_a_line_at_a_time(tmp_path: Path) -> None:
    path = long_csv(tmp_path / "tu-cham.csv")
    size = path.stat().st_size  # about 11 MB
    rows, peak = peak_while(lambda: sum(1 for _ in open_table(path).rows))
    assert rows == 2_400 * 84
    assert peak < size / 20, f"{peak / 2**20:.1f} MiB held to read a {size / 2**20:.1f} MiB file"  # was 7× the file


def test_a_long_self_assessment_is_checked_in_memory_that_does_not_grow_with_its_rows(tmp_path: Path) -> None:
    path = long_csv(tmp_path / "tu-cham.csv")
    size = path.stat().st_size
    sheet = Sheet()
    rows, peak = peak_while(lambda: sum(1 for _ in iter_self_assessment(open_table(path), UNITS, SUBS, sheet)))
    assert rows == 2_400 * 84 and sheet.problems == []
    assert peak < size / 10, f"{peak / 2**20:.1f} MiB held to check a {size / 2**20:.1f} MiB file"


def test_a_byte_that_is_not_utf8_deep_in_a_long_csv_is_named_by_its_line(tmp_path: Path) -> None:
    path = long_csv(tmp_path / "tu-cham.csv", units=1_200, bad_line=100_001)
    with speaking("vi"), pytest.raises(SheetError) as refused:
        sum(1 for _ in iter_self_assessment(open_table(path), UNITS, SUBS, Sheet()))
    assert one_line(refused) == (
        f"1 lỗi; chưa ghi gì: {path} dòng 100001: không phải văn bản UTF-8 (hãy lưu bảng dạng 'CSV UTF-8')"
    )


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_a_csv_reads_with_any_line_break_and_quoted_breaks_inside_a_cell(tmp_path: Path, newline: str) -> None:
    lines = ["unit;criterion;score;note", 'CAH-00001;1.1.1;0,5;"hai', 'dòng"', "CAH-00001;1.1.2;1;Đạt"]
    path = write(tmp_path / "s.csv", "\ufeff" + newline.join(lines) + newline)
    table = open_table(path)
    assert [(line, record) for line, record in table.rows] == [
        (3, ["CAH-00001", "1.1.1", "0,5", f"hai{newline}dòng"]),
        (4, ["CAH-00001", "1.1.2", "1", "Đạt"]),
    ]


def test_a_csv_in_decomposed_unicode_is_read_composed(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "unit,criterion,score,note\nCAH-00001,1.1.1,1,Đa\u0323t\n")
    assert [record for _, record in open_table(path).rows] == [["CAH-00001", "1.1.1", "1", "Đạt"]]


# --- workbooks ---------------------------------------------------------------------------------------------


def read_all(path: Path) -> list[tuple[int, list[str]]]:
    with within_cpu_seconds(20):
        return list(open_table(path).rows)


FAR = {
    "a value at XFD1048576": (with_cells(unit_workbook(), FAR_CELL), "Tự đánh giá!XFD1048576", "cột BL"),
    "a value at XFD1048576, the whole sheet declared": (
        declared(with_cells(unit_workbook(), FAR_CELL), "A1:XFD1048576"),
        "Tự đánh giá!XFD1048576",
        "cột BL",
    ),
    "a value at A1048576, the whole sheet declared": (
        declared(with_cells(unit_workbook(), text_cell("A1048576", "x")), "A1:XFD1048576"),
        "Tự đánh giá!A1048576",
        f"dòng {MAX_ROWS}",
    ),
    "a value just beyond the columns read": (
        with_cells(unit_workbook(), text_cell("BM200", "x")),
        "Tự đánh giá!BM200",
        "cột BL",
    ),
}


@pytest.mark.parametrize(("data", "cell", "bound"), FAR.values(), ids=FAR.keys())
def test_a_value_beyond_the_sheet_s_bounds_is_refused_by_its_cell_at_once(
    tmp_path: Path, data: bytes, cell: str, bound: str
) -> None:
    path = write(tmp_path / "tu-danh-gia.xlsx", data)
    assert len(data) < 20_000
    started = time.process_time()
    with speaking("vi"), pytest.raises(SheetError) as refused:
        read_all(path)
    assert time.process_time() - started < 3  # was about an hour of a core
    text = one_line(refused)
    assert text.startswith(f"1 lỗi; chưa ghi gì: tu-danh-gia.xlsx: {cell}: ") and bound in text, text


def test_the_declared_size_of_a_sheet_is_not_taken_at_its_word(tmp_path: Path) -> None:
    plain = read_all(write(tmp_path / "a.xlsx", unit_workbook()))
    started = time.process_time()
    whole = read_all(write(tmp_path / "b.xlsx", declared(unit_workbook(), "A1:XFD1048576")))
    assert time.process_time() - started < 3
    assert len(plain) == len(whole) == 133  # the rows under the header (row 4)
    assert [cells[:12] for _, cells in whole] == [cells for _, cells in plain]
    assert max(len(cells) for _, cells in whole) <= MAX_COLUMNS


def test_cells_formatted_but_empty_far_beyond_the_table_are_passed_over(tmp_path: Path) -> None:
    styled = "".join(f'<row r="{r}"><c r="XFD{r}" s="1"/></row>' for r in (140, 141))
    rows = read_all(write(tmp_path / "a.xlsx", with_cells(unit_workbook(), styled)))
    assert [(n, set(cells)) for n, cells in rows[-2:]] == [(140, {""}), (141, {""})]
    assert max(len(cells) for _, cells in rows) <= MAX_COLUMNS


def test_rows_formatted_far_beyond_the_table_are_refused_before_they_take_long(tmp_path: Path) -> None:
    styled = "".join(f'<row r="{r}"><c r="XFD{r}" s="1"/></row>' for r in range(140, 400))
    path = write(tmp_path / "a.xlsx", with_cells(unit_workbook(), styled))
    with speaking("vi"), pytest.raises(SheetError) as refused:
        read_all(path)
    assert "a.xlsx: trang Tự đánh giá có các dòng được định dạng quá xa sau cột BL" in one_line(refused)


DOCTYPES = {
    "entity bomb in the sheet": (with_doctype(unit_workbook(), SHEET, ENTITY_BOMB, b"&h;"), SHEET),
    "one entity in the sheet": (with_doctype(unit_workbook(), SHEET, ONE_ENTITY, b"&unit;"), SHEET),
    "a DOCTYPE in the workbook part": (with_doctype(unit_workbook(), WORKBOOK, ONE_ENTITY), WORKBOOK),
    "a DOCTYPE in the content types": (
        with_doctype(unit_workbook(), "[Content_Types].xml", b"<!DOCTYPE Types>"),
        "[Content_Types].xml",
    ),
}


@pytest.mark.parametrize(("data", "part"), DOCTYPES.values(), ids=DOCTYPES.keys())
def test_a_workbook_part_that_declares_xml_entities_is_refused_naming_the_file(
    tmp_path: Path, data: bytes, part: str
) -> None:
    path = write(tmp_path / "bang-diem.xlsx", data)
    with speaking("vi"), pytest.raises(SheetError) as refused:
        read_all(path)
    assert one_line(refused) == (
        "1 lỗi; chưa ghi gì: tệp bang-diem.xlsx không phải là bảng tính Excel (.xlsx) hợp lệ: phần "
        f"{part} khai báo DOCTYPE hoặc thực thể XML, điều mà bảng tính Excel không bao giờ có"
    )


def test_a_sheet_that_breaks_off_halfway_is_refused_in_one_line(tmp_path: Path) -> None:
    data = patched(unit_workbook(), SHEET, lambda xml: xml[: xml.index(b'<row r="60"')] + b"<row r=")
    path = write(tmp_path / "bang-diem.xlsx", data)
    with speaking("vi"), pytest.raises(SheetError) as refused:
        read_all(path)
    text = one_line(refused)
    assert text.startswith(
        "1 lỗi; chưa ghi gì: tệp bang-diem.xlsx không phải là bảng tính Excel (.xlsx) hợp lệ: trang Tự đánh giá "
        "không phải XML hợp lệ (dòng 1, cột "
    ), text


def test_read_rows_still_takes_the_bytes_of_a_workbook() -> None:
    title, rows = read_rows(unit_workbook(), "x.xlsx")
    assert title == "Tự đánh giá" and sum(1 for _ in rows) == 137


@pytest.mark.parametrize("name", ["bang-diem", "bang-diem.xlsx.part", "bang-diem.XLSX"])
def test_a_workbook_is_known_by_its_content_whatever_its_name(tmp_path: Path, name: str) -> None:
    assert len(read_all(write(tmp_path / name, unit_workbook()))) == 133

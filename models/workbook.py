"""The Appendix IV workbook (Phụ lục IV) people already use, written and read with openpyxl.

One sheet: the framework tree (fields and criteria as section rows, sub-criteria as rows to fill), with
the maximum and the scoring method; the columns a unit fills (self-score, metric, not applicable,
evidence, note) are the only unlocked cells, and each score cell only takes a number from 0 to its
maximum. The appraisal workbook adds what the appraiser sees (the appraisal the rules give, and why) and
what they fill (their own score and comment).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from cchc.models.cells import as_data, put, xlsx_value
from cchc.models.errors import UserError
from cchc.models.framework import FrameworkDef, SubCriterion
from cchc.models.i18n import tr

SELF_SHEET = "Tự đánh giá"
APPRAISAL_SHEET = "Thẩm định"
METHOD_NAMES = {"judged": "Thẩm định", "threshold": "Ngưỡng", "proportional": "Tỷ lệ", "count": "Đếm"}
HEADER_ROW = 4
EDITABLE = PatternFill("solid", fgColor="FFF8DC")
SECTION = PatternFill("solid", fgColor="DDE7F0")


@dataclass(frozen=True)
class Column:
    key: str  # the canonical name the importer knows it by
    title: str  # Vietnamese header
    width: int
    editable: bool = False


SELF_COLUMNS = (
    Column("unit", "Mã đơn vị", 12),
    Column("criterion", "Mã tiêu chí", 11),
    Column("name", "Nội dung tiêu chí", 60),
    Column("max", "Điểm tối đa", 10),
    Column("method", "Cách chấm", 22),
    Column("score", "Điểm tự đánh giá", 12, editable=True),
    Column("metric", "Số liệu", 12, editable=True),
    Column("not_applicable", "Không áp dụng", 10, editable=True),
    Column("evidence", "Tài liệu kiểm chứng", 48, editable=True),
    Column("note", "Ghi chú", 30, editable=True),
    Column("explanation", "Giải trình", 30, editable=True),
    Column("supplied_by", "Đơn vị cung cấp", 16),
)
APPRAISAL_COLUMNS = (
    Column("unit", "Mã đơn vị", 12),
    Column("criterion", "Mã tiêu chí", 11),
    Column("name", "Nội dung tiêu chí", 50),
    Column("max", "Điểm tối đa", 10),
    Column("method", "Cách chấm", 18),
    Column("self", "Điểm tự đánh giá", 12),
    Column("metric", "Số liệu", 12),
    Column("not_applicable", "Không áp dụng", 10),
    Column("evidence", "Tài liệu kiểm chứng", 40),
    Column("unit_note", "Ghi chú của đơn vị", 24),
    Column("proposed", "Điểm theo quy tắc", 12),
    Column("rule", "Căn cứ", 22),
    Column("score", "Điểm thẩm định", 12, editable=True),
    Column("note", "Nhận xét của thẩm định", 36, editable=True),
)
RULE_NAMES = {
    "not_applicable": "Không áp dụng",
    "no_evidence": "Không có tài liệu kiểm chứng: 0 điểm",
    "measured": "Tính từ số liệu",
    "no_metric": "Thiếu số liệu: 0 điểm",
    "appraiser": "Theo thẩm định viên",
    "accepted": "Chấp nhận điểm tự đánh giá",
    "unscored": "Chưa chấm: 0 điểm",
}


def _plain(value: Decimal) -> str:
    """0.50 → "0,5"; 20.00 → "20" (Vietnamese decimal comma, no trailing zeros)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def method_text(sub: SubCriterion) -> str:
    metric = sub.metric
    if metric is None:
        return METHOD_NAMES["judged"]
    if sub.method == "threshold" and metric.threshold is not None:
        return f"Ngưỡng: từ {_plain(metric.threshold * 100)} % trở lên → đủ điểm"
    if sub.method == "proportional" and metric.target is not None:
        return f"Tỷ lệ so với {_plain(metric.target * 100)} %"
    if sub.method == "count" and metric.per_item is not None:
        return f"Đếm: {_plain(metric.per_item)} điểm mỗi tin, bài, việc"
    return METHOD_NAMES.get(sub.method, sub.method)


@dataclass
class RowValues:
    """What a sub-criterion row shows beyond the framework (empty for a blank workbook)."""

    score: Decimal | None = None
    metric: str | None = None
    not_applicable: bool = False
    evidence: str = ""
    note: str = ""
    explanation: str = ""
    supplied_by: str = ""
    proposed: Decimal | None = None
    rule: str = ""
    appraiser_score: Decimal | None = None
    appraiser_note: str = ""


@dataclass
class SheetSpec:
    unit_code: str
    unit_name: str
    year: int
    framework: FrameworkDef
    codes: frozenset[str] | None = None  # the sub-criteria this workbook covers (None = all)
    values: dict[str, RowValues] = field(default_factory=dict)
    subtitle: str = ""


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _write(spec: SheetSpec, columns: Sequence[Column], title: str, sheet_name: str, appraisal: bool) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_name
    sheet["A1"] = title
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = spec.subtitle
    sheet["A2"].font = Font(italic=True)
    for i, column in enumerate(columns, 1):
        cell = sheet.cell(row=HEADER_ROW, column=i, value=column.title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=4)
    index = {c.key: i for i, c in enumerate(columns, 1)}
    validations: dict[Decimal, DataValidation] = {}
    na = DataValidation(
        type="list",
        formula1='"x"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Không áp dụng",
        error='Ghi "x" nếu tiêu chí không áp dụng cho đơn vị',
    )
    sheet.add_data_validation(na)
    row = HEADER_ROW
    for f in spec.framework.fields:
        criteria = [c for c in f.criteria if spec.codes is None or any(s.code in spec.codes for s in c.subcriteria)]
        if not criteria:
            continue
        row += 1
        _section(sheet, row, index, f.code, f.name, f.max_points, bold=True)
        for c in criteria:
            row += 1
            _section(sheet, row, index, c.code, c.name, c.max_points, bold=False)
            for sub in c.subcriteria:
                if spec.codes is not None and sub.code not in spec.codes:
                    continue
                row += 1
                values = spec.values.get(sub.code, RowValues())
                cells: dict[str, Any] = {
                    "unit": spec.unit_code,
                    "criterion": sub.code,
                    "name": sub.name,
                    "max": _number(sub.max_points),
                    "method": method_text(sub),
                    "score": _number(values.appraiser_score if appraisal else values.score),
                    "self": _number(values.score),
                    "metric": values.metric,
                    "not_applicable": "x" if values.not_applicable else None,
                    "evidence": values.evidence or None,
                    "note": (values.appraiser_note if appraisal else values.note) or None,
                    "unit_note": values.note or None,
                    "explanation": values.explanation or None,
                    "supplied_by": values.supplied_by or None,
                    "proposed": _number(values.proposed),
                    "rule": RULE_NAMES.get(values.rule, values.rule) or None,
                }
                for column in columns:
                    cell = put(sheet, row, index[column.key], cells.get(column.key))  # a unit's text: data
                    cell.alignment = Alignment(
                        wrap_text=column.key in ("name", "evidence", "note", "explanation"), vertical="top"
                    )
                    if column.editable:
                        cell.protection = Protection(locked=False)
                        cell.fill = EDITABLE
                score_cell = sheet.cell(row=row, column=index["score"]).coordinate
                validation = validations.get(sub.max_points)
                if validation is None:
                    validation = validations[sub.max_points] = DataValidation(
                        type="decimal",
                        operator="between",
                        formula1="0",
                        formula2=str(sub.max_points),
                        allow_blank=True,
                        showErrorMessage=True,
                        errorTitle="Điểm không hợp lệ",
                        error=f"Điểm là một số từ 0 đến {sub.max_points}",
                    )
                    sheet.add_data_validation(validation)
                validation.add(score_cell)
                if not appraisal:
                    na.add(sheet.cell(row=row, column=index["not_applicable"]).coordinate)
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    book.properties.creator = "cchc"
    book.properties.created = book.properties.modified = datetime(spec.year, 1, 1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _section(sheet: Any, row: int, index: dict[str, int], code: str, name: str, points: Decimal, bold: bool) -> None:
    for key, value in (("criterion", code), ("name", name), ("max", float(points))):
        cell = sheet.cell(row=row, column=index[key], value=value)
        cell.font = Font(bold=True, italic=not bold)
    for column in range(1, len(index) + 1):
        sheet.cell(row=row, column=column).fill = SECTION


def self_assessment_workbook(spec: SheetSpec) -> bytes:
    """The workbook a unit (or a contributor) fills in."""
    title = f"BẢNG TỰ ĐÁNH GIÁ CHỈ SỐ CCHC NĂM {spec.year} — {spec.unit_name} ({spec.unit_code})"
    return _write(spec, SELF_COLUMNS, title, SELF_SHEET, appraisal=False)


def appraisal_workbook(spec: SheetSpec) -> bytes:
    """The workbook an appraiser fills in for a submitted unit."""
    title = f"BẢNG THẨM ĐỊNH CHỈ SỐ CCHC NĂM {spec.year} — {spec.unit_name} ({spec.unit_code})"
    return _write(spec, APPRAISAL_COLUMNS, title, APPRAISAL_SHEET, appraisal=True)


def fill_in(data: bytes, values: Mapping[str, Mapping[str, object]]) -> bytes:
    """The workbook as a person leaves it after typing into its yellow cells: ``values`` maps a
    sub-criterion's code to {column key: value}; only editable columns can be filled."""
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    titles = [cell.value for cell in sheet[HEADER_ROW]]
    columns = {c.title: c for c in (APPRAISAL_COLUMNS if sheet.title == APPRAISAL_SHEET else SELF_COLUMNS)}
    editable = {columns[str(t)].key: i for i, t in enumerate(titles) if str(t) in columns and columns[str(t)].editable}
    criterion = titles.index("Mã tiêu chí")
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        if row[0].value is None or row[criterion].value not in values:
            continue
        for key, value in values[str(row[criterion].value)].items():
            if key not in editable:
                raise KeyError(f"{key!r} is not a column one fills in")
            row[editable[key]].value = xlsx_value(value)
            as_data(row[editable[key]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading --------------------------------------------------------------------------------------


# The bounds of a sheet that is read. A sheet's declared size (<dimension ref="A1:XFD1048576"/>) is the file's
# word, not its cells, and openpyxl pads every row it hands over to that width (or to the row's last cell):
# a 5 KB file with one cell at XFD1048576 becomes 16,384 × 1,048,576 cells, an hour of a core. The size is
# ignored; a cell with a value beyond these bounds is refused, by its name; cells formatted but empty beyond
# them are passed over, up to MAX_FAR_CELLS in all.
MAX_COLUMNS = 64  # the appraisal workbook has 14 columns; a person may add a few of their own
MAX_ROWS = 100_000  # a unit's workbook has about 130 rows; a table this long is imported as CSV
MAX_FAR_CELLS = 1_000_000
PROLOG_BYTES = 1 << 20  # what a workbook part may hold before its first element (an XML declaration, a comment)


class WorkbookError(UserError, ValueError):
    """A file that is not a workbook that can be read, or a sheet that goes beyond the bounds read."""


def _not_a_workbook(name: str, why: str) -> WorkbookError:
    return WorkbookError(tr("{name}: is not an Excel workbook (.xlsx) that can be read ({why})", name=name, why=why))


class _Prolog(Exception):
    """What the start of a workbook part was found to be (a DOCTYPE; or its first element: the prolog is over)."""

    def __init__(self, doctype: bool) -> None:
        self.doctype = doctype


def _declares_doctype(part: IO[bytes]) -> bool:
    """Whether an XML part declares a DOCTYPE (where XML entities are declared) before its first element.
    A workbook part never has one (Office Open XML forbids it); expat expands the entities of one (within its
    amplification limits) and lxml leaves them out: either way the cells would not be what the file shows.
    Only the prolog is read (expat stops at the first element); a part that is not XML is not this check's
    concern (openpyxl refuses it if it is read at all)."""
    parser = expat.ParserCreate()

    def doctype(*_: object) -> None:
        raise _Prolog(doctype=True)

    def element(*_: object) -> None:
        raise _Prolog(doctype=False)

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = element
    read = 0
    try:
        while read <= PROLOG_BYTES and (chunk := part.read(1 << 16)):
            read += len(chunk)
            parser.Parse(chunk, False)
    except _Prolog as found:
        return found.doctype
    except expat.ExpatError:
        return False
    return read > PROLOG_BYTES  # a prolog this long hides something


def _refuse_doctype(source: Path | bytes, name: str) -> None:
    """A workbook whose XML parts declare a DOCTYPE is refused, naming the part."""
    try:
        archive = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip archive: load_workbook says so
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(info) as part:
                    refused = _declares_doctype(part)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
                continue  # a damaged part: load_workbook names the file if the part is needed
            if refused:
                raise _not_a_workbook(
                    name, tr("its part {part} declares a DOCTYPE or XML entities", part=info.filename)
                )


def cell_text(value: Any) -> str:
    """A cell as the text a person typed: 1.5 stays "1.5", 2.0 becomes "2", a date dd/mm/yyyy."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "x" if value else ""
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def read_rows(data: bytes | Path, name: str) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    """The first sheet's name and its rows as (row number, cell texts), from the header row on. Read a row
    at a time, within MAX_ROWS × MAX_COLUMNS: a cell with a value beyond them raises WorkbookError naming it
    (Sheet!XFD1048576) when its row is reached."""
    _refuse_doctype(data, name)
    # An open file, not its name: openpyxl refuses a name that does not end in .xlsx, and people's files do not
    # always (the content decides, as for the bytes of an upload).
    source: IO[bytes] = data.open("rb") if isinstance(data, Path) else io.BytesIO(data)
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except zipfile.BadZipFile:
        source.close()
        raise _not_a_workbook(name, tr("it is not a zip archive, as an .xlsx file is")) from None
    except ParseError as exc:
        source.close()
        raise _not_a_workbook(name, _bad_xml(exc)) from None
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        source.close()
        raise _not_a_workbook(name, tr("its content is not that of a workbook")) from None
    sheet = book.worksheets[0] if book.worksheets else None
    if sheet is None:
        book.close()
        source.close()
        raise WorkbookError(tr("{name}: has no sheet", name=name))
    declared = sheet.max_column
    width = declared if isinstance(declared, int) and declared <= MAX_COLUMNS else 0
    sheet.reset_dimensions()
    title = sheet.title

    def beyond(cell: str, why: str) -> WorkbookError:
        return WorkbookError(f"{name}: {title}!{cell}: {why}")

    def rows() -> Iterator[tuple[int, list[str]]]:
        far = 0  # empty cells passed over beyond MAX_COLUMNS
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                if not values:  # a row the file does not have
                    if number <= MAX_ROWS:
                        yield number, [""] * width
                    continue
                if len(values) > MAX_COLUMNS:
                    column = next((i for i in range(MAX_COLUMNS, len(values)) if values[i] is not None), None)
                    if column is not None:
                        raise beyond(
                            f"{get_column_letter(column + 1)}{number}",
                            tr(
                                "the sheet is read up to column {column}: move what is written here into the table",
                                column=get_column_letter(MAX_COLUMNS),
                            ),
                        )
                    far += len(values) - MAX_COLUMNS
                    if far > MAX_FAR_CELLS:
                        raise WorkbookError(
                            tr(
                                "{name}: {sheet} has rows formatted far beyond column {column}: copy the table "
                                "into a new workbook",
                                name=name,
                                sheet=title,
                                column=get_column_letter(MAX_COLUMNS),
                            )
                        )
                    values = values[:MAX_COLUMNS]
                if number > MAX_ROWS:
                    column = next((i for i, v in enumerate(values) if v is not None), None)
                    if column is not None:
                        raise beyond(
                            f"{get_column_letter(column + 1)}{number}",
                            tr(
                                "a workbook is read up to row {row}: import a table this long as CSV",
                                row=MAX_ROWS,
                            ),
                        )
                    continue
                cells = [cell_text(v) for v in values]
                yield number, cells + [""] * (width - len(cells))
        except WorkbookError:
            raise
        except ParseError as exc:
            raise _not_a_workbook(name, _bad_xml(exc, title)) from None
        except Exception:  # noqa: BLE001 - as above, met while the sheet's rows are read
            raise _not_a_workbook(name, tr("its sheet {sheet} cannot be read", sheet=title)) from None
        finally:
            book.close()
            source.close()

    return title, rows()


def _bad_xml(exc: ParseError, sheet: str | None = None) -> str:
    line, column = getattr(exc, "position", (0, 0))
    if sheet is None:
        return tr("a part of it is not well-formed XML (line {line}, column {column})", line=line, column=column)
    return tr(
        "its sheet {sheet} is not well-formed XML (line {line}, column {column})", sheet=sheet, line=line, column=column
    )

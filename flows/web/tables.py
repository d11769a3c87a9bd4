"""The tables a page shows, and the same tables as CSV (UTF-8 with BOM, for Excel) and xlsx.

A page builds its tables once; the HTML, the CSV and the workbook are three renderings of the same rows,
so an export always has exactly what the page shows (and the rows a long page leaves out).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from cchc.models.cells import as_data, csv_text, xlsx_value
from cchc.models.formats import local_time, vn_number

Cell = str | int | Decimal | datetime | date | bool | None

BOM = "\ufeff"
HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Table:
    """A titled table: Vietnamese headers and typed cells (formatted only when shown or exported)."""

    key: str  # its name in an export link: ?format=csv&table=KEY
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    unit_column: int | None = None  # a column of unit codes, linked to each unit's page
    limit: int | None = None  # rows shown on the page; the exports have them all
    links: list[tuple[str, int | None] | None] = field(default_factory=list)  # per row: (unit, year) of its page
    total: int | None = None  # how many rows there are, when only those shown were built

    def add(self, row: list[Cell], unit: str | None = None, *, year: int | None = None) -> None:
        """Add a row whose unit cell links to that unit's page (of `year`, else the page's year)."""
        self.links.extend([None] * (len(self.rows) - len(self.links)))
        self.rows.append(row)
        self.links.append((unit, year) if unit else None)

    def link(self, index: int) -> tuple[str, int | None] | None:
        return self.links[index] if index < len(self.links) else None

    @property
    def shown(self) -> list[list[Cell]]:
        return self.rows if self.limit is None else self.rows[: self.limit]

    @property
    def left_out(self) -> int:
        return (len(self.rows) if self.total is None else self.total) - len(self.shown)


def cell_text(value: Cell, timezone: str) -> str:
    """A cell the Vietnamese way: 94,75; 31/08/2021 08:00 (local time); Có/Không; — for nothing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, Decimal):
        return vn_number(value)
    if isinstance(value, datetime):
        return local_time(value, timezone)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def to_csv(table: Table, timezone: str) -> bytes:
    """The table as CSV: a byte-order mark (so that Excel reads UTF-8), the headers, every row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_text(h) for h in table.headers])
    for row in table.rows:  # a text as typed is neutralised; a number ("-0,20") is a number
        writer.writerow([csv_text(value) if isinstance(value, str) else cell_text(value, timezone) for value in row])
    return (BOM + out.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[Table], timezone: str) -> bytes:
    """The tables as a workbook, one sheet each: numbers as numbers (two decimals), times in local time."""
    book = Workbook()
    book.remove(book.active)
    zone = ZoneInfo(timezone)
    used: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, used))
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
        widths = [len(h) for h in table.headers]
        for row in table.rows:
            sheet.append([xlsx_value(_xlsx_value(value, zone)) for value in row])
            for cell in sheet[sheet.max_row]:
                as_data(cell)
            for i, value in enumerate(row):
                widths[i] = max(widths[i], len(cell_text(value, timezone)))
        for number, row_cells in enumerate(sheet.iter_rows(min_row=2), start=2):
            for cell, value in zip(row_cells, table.rows[number - 2], strict=False):
                cell.number_format = _number_format(value)
        for i, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = min(60, max(8, width + 2))
        sheet.freeze_panes = "A2"
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _xlsx_value(value: Cell, zone: ZoneInfo) -> object:
    if isinstance(value, datetime):  # a spreadsheet has no time zones: the local wall time
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, bool):
        return "Có" if value else "Không"
    return value


def _number_format(value: Cell) -> str:
    if isinstance(value, datetime):
        return "dd/mm/yyyy hh:mm"
    if isinstance(value, date):
        return "dd/mm/yyyy"
    if isinstance(value, Decimal):
        return "0.00"
    return "General"


def _sheet_name(title: str, used: set[str]) -> str:
    """A sheet name Excel accepts (≤ 31 characters, none of []:*?/\\), unique in the workbook."""
    base = SHEET_UNSAFE.sub(" ", title).strip()[:31] or "Bảng"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name

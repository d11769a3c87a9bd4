"""Text a person typed, written into a spreadsheet as data, never as something it runs (issue 15, item 3).

OWASP's CSV injection advice: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a
formula to Excel and LibreOffice. In CSV such a text gets a leading `'` (shown, but never run); in xlsx it
is written as a string cell (openpyxl would otherwise store it as a formula), so the workbook's round trip
keeps it exactly. The control characters that xlsx cannot hold are written as `\\x07`: a text a unit
stored never makes its workbook impossible to export. Every export path writes text through these.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A CSV field a spreadsheet shows and never runs."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def xlsx_value(value: Any) -> Any:
    """A value as an xlsx cell can hold it: a text's control characters written out (`\\x07`)."""
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        return ILLEGAL_CHARACTERS_RE.sub(lambda found: f"\\x{ord(found.group()):02x}", value)
    return value


def as_data(cell: Any) -> Any:
    """A cell openpyxl took for a formula (its text starts with `=`) made a plain string again."""
    if cell.data_type == "f":
        cell.data_type = "s"
    return cell


def put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write a value a person may have typed into a cell, as data."""
    return as_data(sheet.cell(row=row, column=column, value=xlsx_value(value)))

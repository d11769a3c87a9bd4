"""Exports are safe to open: what a person typed is data in every CSV and xlsx (models/cells.py)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from cchc.flows.web.tables import Table, to_csv, to_xlsx
from cchc.models.cells import csv_text


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@x", "\tx", "\rx"])
def test_a_text_a_spreadsheet_would_run_gets_the_owasp_quote_in_csv(text: str) -> None:
    assert csv_text(text) == "'" + text
    assert csv_text("Kế hoạch =1+2") == "Kế hoạch =1+2"  # only a leading trigger matters


def test_the_dashboards_csv_and_xlsx_neutralise_typed_text_and_keep_numbers() -> None:
    table = Table("t", "Bảng", ["Đơn vị", "Ghi chú", "Chênh lệch"])
    table.add(["CAH-CMG", '=HYPERLINK("http://x","bấm")', Decimal("-0.20")])
    table.add(["CAH-BMT", "chuông\x07", Decimal("1.5")])
    rows = list(csv.reader(io.StringIO(to_csv(table, "Asia/Ho_Chi_Minh").decode("utf-8-sig"))))
    assert rows[1] == ["CAH-CMG", '\'=HYPERLINK("http://x","bấm")', "-0,20"]  # the number is not quoted
    sheet = load_workbook(io.BytesIO(to_xlsx([table], "Asia/Ho_Chi_Minh"))).active
    note = sheet["B2"]
    assert note.value == '=HYPERLINK("http://x","bấm")' and note.data_type == "s"
    assert sheet["C2"].value == -0.2 and sheet["B3"].value == "chuông\\x07"

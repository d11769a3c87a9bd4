"""Property-based: whatever a CSV or a workbook holds, the import takes it whole or refuses it whole with
a SheetError (or a UserError) — never another exception, never a half-written state."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from factories import COORDINATOR, at, fill_workbook, fuzz, open_2021, rows_for, sample_org, scalar
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from cchc.flows.params import ImportParams
from cchc.flows.selfassessment import import_self_assessment
from cchc.flows.workbooks import export_self_assessment
from cchc.models.errors import UserError
from cchc.models.scoresheet import SheetError

pytestmark = pytest.mark.usefixtures("prefect_harness")
FUZZ = fuzz(max_examples=60)
UNITS = ["CAH-CMG", "CAH-BMT", "PV01", "XYZ", "", "cah-cmg", "CAH-CMG "]
CODES = ["1.1.1", "1.1.2", "3.3.2", "8.4.2", "1.1", "1", "9.9.9", "", "1.1.1.1"]
SCORES = ["0", "0.5", "0,5", "1", "1.5", "-1", "KAD", "x", "", "1e3", "NaN", "0.125", "２"]
EVIDENCE = ["", "91/KH-CAH ngày 30/6/2021", "91/KH-CAH", "1/KH-X ngày 31/12/2030", "a;b", "Kế hoạch"]
METRICS = ["", "45/200", "3", "5/0", "-1", "1.5", "abc"]
HEADERS = [
    "unit,criterion,score,evidence,note,metric",
    "unit,criterion,score",
    "Đơn vị,Tiêu chí,Điểm tự đánh giá,Tài liệu kiểm chứng,Ghi chú,Số liệu,Không áp dụng",
    "unit,unit,criterion,score",
    "criterion,score",
    "",
]


def _state(url: str) -> tuple[object, ...]:
    return tuple(scalar(url, f"SELECT count(*) FROM {table}") for table in ("score", "audit_event", "evidence"))


def _attempt(url: str, path: Path) -> None:
    before = _state(url)
    try:
        import_self_assessment.fn(
            ImportParams(path=str(path), year=2021, database_url=url, actor=COORDINATOR, at=at("20/08/2021"))
        )
    except (SheetError, UserError) as refused:
        assert str(refused).strip() and "Traceback" not in str(refused)
        assert _state(url) == before, "a refused import wrote something"


field = st.one_of(
    st.sampled_from(UNITS + CODES + SCORES + EVIDENCE + METRICS),
    st.text(max_size=12),
    st.text(alphabet='",;\n\r x', max_size=6),
)
rows = st.lists(st.lists(field, min_size=0, max_size=8), max_size=12)


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    body=rows,
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]),
)
def test_any_csv_is_taken_whole_or_refused_whole(
    db_url: str, tmp_path: Path, header: str, body: list[list[str]], delimiter: str, encoding: str
) -> None:
    if not _state(db_url)[1]:
        open_2021(db_url)
    text = "\n".join([header.replace(",", delimiter), *(delimiter.join(r) for r in body)])
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    _attempt(db_url, path)


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_bytes_are_refused_in_one_message(db_url: str, tmp_path: Path, data: bytes, suffix: str) -> None:
    if not _state(db_url)[1]:
        open_2021(db_url)
    path = tmp_path / f"bytes{suffix}"
    path.write_bytes(data)
    _attempt(db_url, path)


cell = st.one_of(
    st.none(),
    st.sampled_from(UNITS + CODES + SCORES + EVIDENCE + METRICS),
    st.integers(min_value=-5, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=date(1900, 1, 1)),
    st.datetimes(min_value=datetime(1900, 1, 1)),
    st.text(max_size=20),
)


@FUZZ
@given(
    changes=st.lists(st.tuples(st.integers(1, 100), st.integers(1, 14), cell), max_size=15),
    cut=st.one_of(st.none(), st.integers(0, 20000)),
)
def test_any_edit_of_the_workbook_is_taken_whole_or_refused_whole(
    db_url: str, tmp_path: Path, changes: list[tuple[int, int, object]], cut: int | None
) -> None:
    if not _state(db_url)[1]:
        open_2021(db_url)
    filled = tmp_path / "filled.xlsx"
    if not filled.exists():
        export_self_assessment(db_url, 2021, "CAH-CMG", tmp_path / "blank.xlsx")
        rows = {r[1]: r for r in rows_for(sample_org(), ["CAH-CMG"])}
        fill_workbook(tmp_path / "blank.xlsx", rows, filled)
    book = load_workbook(filled)
    sheet = book.active
    assert sheet is not None
    for row, column, value in changes:
        try:
            sheet.cell(row=row, column=column).value = value  # type: ignore[assignment]
        except (ValueError, TypeError, IllegalCharacterError):
            continue  # a value openpyxl itself will not put in a cell
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    path = tmp_path / "edited.xlsx"
    path.write_bytes(data[:cut] if cut is not None else data)
    _attempt(db_url, path)

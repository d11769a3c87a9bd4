"""Text and number helpers (models/text.py) and the column types (models/types.py)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from cchc.models.text import canonical, nfc, one_line, parse_decimal
from cchc.models.types import InexactPoints, Points, UTCDateTime, from_hundredths, to_hundredths

D = Decimal
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SQLITE = sqlite.dialect()
POSTGRESQL = postgresql.psycopg.dialect()


# --- parse_decimal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1,5", "1.5"),
        ("1.5", "1.5"),
        (" 2 ", "2"),
        ("94,75", "94.75"),
        ("-0,25", "-0.25"),
        ("1\u00a0000", "1000"),
        (3, "3"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (D("2.50"), "2.50"),
    ],
)
def test_a_decimal_is_read_with_a_point_or_a_comma(value, expected):
    result = parse_decimal(value)
    assert isinstance(result, Decimal)
    assert result == D(expected)


def test_a_float_is_read_as_it_is_written_not_as_its_binary_value():
    assert str(parse_decimal(0.1)) == "0.1"


@pytest.mark.parametrize("value", ["abc", "1,5,6", "1,5.6", "NaN", "nan", "inf", "-Infinity", "", True, False, None])
def test_what_is_not_a_finite_number_is_refused(value):
    with pytest.raises(ValueError):
        parse_decimal(value)


def test_a_float_infinity_is_refused():
    with pytest.raises(ValueError, match="finite"):
        parse_decimal(float("inf"))


# --- text -----------------------------------------------------------------------------------------


def test_nfc_composes_a_decomposed_name():
    decomposed = unicodedata.normalize("NFD", "Đắk Lắk")
    assert decomposed != "Đắk Lắk"
    assert nfc(decomposed) == unicodedata.normalize("NFC", "Đắk Lắk")
    assert unicodedata.is_normalized("NFC", nfc(decomposed))


def test_nfc_strips_surrounding_blanks():
    assert nfc("  Phòng Tham mưu \n") == "Phòng Tham mưu"


def test_one_line_keeps_a_single_line():
    assert one_line(" Phòng Tham mưu ") == "Phòng Tham mưu"


@pytest.mark.parametrize("text", ["Phòng\r\nTham mưu", "Phòng\nTham mưu", "Phòng\rTham mưu", "a\x00b", "a\x1bb"])
def test_one_line_refuses_a_line_break_or_a_control_character(text):
    with pytest.raises(ValueError, match="line break or a control character"):
        one_line(text)


def test_canonical_json_sorts_keys_and_has_no_spaces():
    assert canonical({"b": 1, "a": [2, 3]}) == '{"a":[2,3],"b":1}'


def test_canonical_json_is_stable_whatever_the_order_of_insertion():
    assert canonical({"unit": "PV01", "score": D("1.50")}) == canonical({"score": D("1.50"), "unit": "PV01"})


def test_canonical_json_writes_decimals_as_strings_and_keeps_their_places():
    assert canonical({"points": D("1.50")}) == '{"points":"1.50"}'


def test_canonical_json_keeps_vietnamese_letters():
    assert canonical({"name": "Đắk Lắk"}) == '{"name":"Đắk Lắk"}'


def test_canonical_json_writes_dates_and_sets():
    value = {"at": datetime(2021, 8, 30, 17, 0, tzinfo=UTC), "day": date(2021, 8, 31), "codes": {"b", "a"}}
    assert canonical(value) == '{"at":"2021-08-30T17:00:00+00:00","codes":["a","b"],"day":"2021-08-31"}'


def test_canonical_json_refuses_what_it_cannot_write():
    with pytest.raises(TypeError):
        canonical({"x": object()})


# --- points as hundredths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "hundredths"),
    [("1.50", 150), ("1.5", 150), ("0", 0), ("100", 10000), ("-2.00", -200), ("0.01", 1)],
)
def test_points_are_stored_as_exact_hundredths(points, hundredths):
    assert to_hundredths(D(points)) == hundredths


@pytest.mark.parametrize("points", ["0.125", "94.995", "0.001"])
def test_points_finer_than_a_hundredth_are_refused(points):
    with pytest.raises(InexactPoints, match="more than two decimals"):
        to_hundredths(D(points))


def test_hundredths_come_back_with_two_decimals():
    assert from_hundredths(150) == D("1.50")
    assert str(from_hundredths(150)) == "1.50"
    assert str(from_hundredths(0)) == "0.00"
    assert str(from_hundredths(10000)) == "100.00"


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
def test_the_points_column_round_trips_exactly(dialect):
    column = Points()
    stored = column.process_bind_param(D("94.75"), dialect)
    assert stored == 9475
    assert str(column.process_result_value(stored, dialect)) == "94.75"


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
def test_the_points_column_refuses_inexact_points_and_keeps_none(dialect):
    column = Points()
    with pytest.raises(InexactPoints):
        column.process_bind_param(D("0.125"), dialect)
    assert column.process_bind_param(None, dialect) is None
    assert column.process_result_value(None, dialect) is None


# --- UTC datetimes --------------------------------------------------------------------------------

LOCAL_MIDNIGHT = datetime(2021, 8, 31, 0, 0, tzinfo=TZ)


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
@pytest.mark.parametrize("value", [datetime(2021, 8, 31, 0, 0), date(2021, 8, 31), "2021-08-31T00:00:00+07:00"])
def test_a_datetime_column_refuses_what_is_not_an_aware_datetime(value, dialect):
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(value, dialect)


def test_an_aware_local_time_is_stored_as_naive_utc_on_sqlite():
    stored = UTCDateTime().process_bind_param(LOCAL_MIDNIGHT, SQLITE)
    assert stored == datetime(2021, 8, 30, 17, 0)
    assert stored.tzinfo is None


def test_an_aware_local_time_is_stored_as_utc_on_postgresql():
    stored = UTCDateTime().process_bind_param(LOCAL_MIDNIGHT, POSTGRESQL)
    assert stored == datetime(2021, 8, 30, 17, 0, tzinfo=UTC)
    assert stored.tzinfo == UTC


def test_a_naive_value_read_from_sqlite_comes_back_as_aware_utc():
    read = UTCDateTime().process_result_value(datetime(2021, 8, 30, 17, 0), SQLITE)
    assert read == LOCAL_MIDNIGHT
    assert read.tzinfo == UTC


def test_an_aware_value_read_from_postgresql_comes_back_in_utc():
    read = UTCDateTime().process_result_value(
        datetime(2021, 8, 31, 2, 0, tzinfo=timezone(timedelta(hours=9))), POSTGRESQL
    )
    assert read == datetime(2021, 8, 30, 17, 0, tzinfo=UTC)
    assert read.tzinfo == UTC


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
def test_a_datetime_round_trips_to_the_same_instant(dialect):
    column = UTCDateTime()
    read = column.process_result_value(column.process_bind_param(LOCAL_MIDNIGHT, dialect), dialect)
    assert read == LOCAL_MIDNIGHT
    assert read.utcoffset() == timedelta(0)


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
def test_a_datetime_column_keeps_none(dialect):
    assert UTCDateTime().process_bind_param(None, dialect) is None
    assert UTCDateTime().process_result_value(None, dialect) is None

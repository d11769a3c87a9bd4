"""A cycle's calendar as data (models/calendar.py): dates written the Vietnamese way, in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cchc.config import CONFIG_DIR
from cchc.models.calendar import (
    OutOfRange,
    calendar_path,
    load_calendar,
    parse_calendar,
    parse_local_date,
    parse_local_instant,
)
from cchc.models.datafile import DataFileError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def calendar_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "year": 2021,
        "authority": "CAT",
        "title": "Xác định Chỉ số CCHC năm 2021",
        "plan_ref": "181/KH-CAT",
        "evidence_window": {"from": "01/08/2020", "to": "30/08/2021"},
        "frameworks": {"cah": "cah-2021"},
        "deadlines": {"plan": "15/07/2021", "submission": "31/08/2021", "supplement": "08/09/2021"},
    }
    data.update(overrides)
    return data


def a_problem(data: Any, *words: str) -> str:
    with pytest.raises(DataFileError) as refused:
        parse_calendar(data, TZ, path="2021.yaml")
    matching = [p for p in refused.value.problems if all(w in p for w in words)]
    assert matching, f"no problem mentions {words}: {refused.value.problems}"
    return matching[0]


# --- the shipped 2021 cycle -----------------------------------------------------------------------


def test_the_2021_cycle_loads():
    calendar = load_calendar(calendar_path(CONFIG_DIR, 2021), TZ)
    assert (calendar.year, calendar.authority, calendar.plan_ref) == (2021, "CAT", "181/KH-CAT")
    assert calendar.frameworks == {"tthc": "cat-tthc-2021", "ktthc": "cat-ktthc-2021", "cah": "cah-2021"}
    assert (calendar.evidence_from, calendar.evidence_to) == (date(2020, 8, 1), date(2021, 8, 30))
    assert list(calendar.deadlines) == [
        "plan",
        "submission",
        "supplement",
        "awards",
        "remediation",
        "breakthrough",
        "commitment",
    ]
    assert calendar.deadlines["breakthrough"] == calendar.deadlines["remediation"]
    assert calendar.deadlines["commitment"] == datetime(2021, 7, 10, 0, 0, tzinfo=TZ)
    assert calendar.commitments.counterpart == "Bộ trưởng Bộ Công an" and calendar.commitments.depth == 2
    assert len(calendar.commitments.targets) == 5 and not calendar.commitments.block_self_assessment
    assert [s.after_days for s in calendar.chase.escalation] == [0, 2, 5]
    assert len(calendar.sha256) == 64


def test_the_2021_submission_deadline_is_the_moment_31_august_begins_in_vietnam():
    calendar = load_calendar(calendar_path(CONFIG_DIR, 2021), TZ)
    due = calendar.deadlines["submission"]
    assert due == datetime(2021, 8, 31, 0, 0, tzinfo=TZ)
    assert due == datetime(2021, 8, 30, 17, 0, tzinfo=UTC)
    assert due.tzinfo == UTC


def test_every_2021_deadline_is_an_instant_in_utc():
    calendar = load_calendar(calendar_path(CONFIG_DIR, 2021), TZ)
    assert calendar.deadlines["supplement"] == datetime(2021, 9, 7, 17, 0, tzinfo=UTC)
    assert all(
        due.utcoffset() is not None and due.utcoffset().total_seconds() == 0 for due in calendar.deadlines.values()
    )


# --- dates and instants ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["31/08/2021", "2021-08-31", " 31/08/2021 ", date(2021, 8, 31)])
def test_a_date_alone_means_the_moment_that_day_begins_in_vietnam(text):
    assert parse_local_instant(text, TZ) == datetime(2021, 8, 30, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2021-08-31 17:30", "31/08/2021 17:30", datetime(2021, 8, 31, 17, 30)])
def test_a_date_and_time_is_local_time(text):
    assert parse_local_instant(text, TZ) == datetime(2021, 8, 31, 10, 30, tzinfo=UTC)


def test_an_aware_datetime_keeps_its_own_zone():
    assert parse_local_instant(datetime(2021, 8, 31, 0, 0, tzinfo=UTC), TZ) == datetime(2021, 8, 31, tzinfo=UTC)


@pytest.mark.parametrize("text", ["31.08.2021", "hôm qua", "31/02/2021", "2021-13-01", ""])
def test_a_text_that_is_not_a_date_is_refused(text):
    with pytest.raises(ValueError, match="is not a date"):
        parse_local_date(text)


@pytest.mark.parametrize(
    "value",
    ["01/01/0001", "31/12/9999 23:59", "1899-12-31 23:59", "01/01/3000", datetime(9999, 12, 31, 23, 0, tzinfo=UTC)],
)
def test_a_moment_outside_the_years_cycles_run_in_is_refused(value):
    """Found by the fuzz of the command line: 01/01/0001 overflowed on its way to UTC, and an extension to
    31/12/9999 was taken and then broke every sweep (the escalation ladder counts days past it)."""
    with pytest.raises(OutOfRange, match="is outside the years 1900 to 2999"):
        parse_local_instant(value, TZ)


@pytest.mark.parametrize("text", ["31/8/2021", "2021-8-31"])
def test_a_date_without_leading_zeros_is_still_a_date(text):
    assert parse_local_date(text) == date(2021, 8, 31)


def test_a_date_written_either_way_is_the_same_date():
    assert parse_local_date("08/09/2021") == parse_local_date("2021-09-08") == date(2021, 9, 8)


# --- what is refused ------------------------------------------------------------------------------


def test_deadlines_out_of_order_are_refused():
    data = calendar_data(deadlines={"plan": "15/07/2021", "submission": "08/09/2021", "supplement": "31/08/2021"})
    a_problem(data, "deadlines", "should follow the order plan, submission, supplement")


def test_deadlines_in_order_with_gaps_are_accepted():
    data = calendar_data(deadlines={"submission": "31/08/2021", "awards": "01/10/2021"})
    assert list(parse_calendar(data, TZ).deadlines) == ["submission", "awards"]


def test_an_evidence_window_that_ends_before_it_begins_is_refused():
    data = calendar_data(evidence_window={"from": "30/08/2021", "to": "01/08/2020"})
    a_problem(data, "evidence_window", "'from' 30/08/2021 is after 'to' 01/08/2020")


def test_an_unknown_deadline_is_refused():
    data = calendar_data(deadlines={"plan": "15/07/2021", "sumbission": "31/08/2021"})
    a_problem(data, "deadlines", "unknown key 'sumbission'")


def test_a_deadline_that_is_not_a_date_is_refused():
    data = calendar_data(deadlines={"submission": "cuối tháng 8"})
    a_problem(data, "deadlines", "'submission'", "is not a date")


def test_a_calendar_without_frameworks_is_refused():
    a_problem(calendar_data(frameworks={}), "'frameworks' should map each group code to a framework code")


def test_a_calendar_that_is_not_a_mapping_is_refused():
    a_problem("2021", "should be a mapping of keys")


# --- chasing, overrides and commitments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("chasing", "words"),
    [
        ({"reminders": [7, 0]}, ("reminders", "at least 1 day before")),
        ({"reminders": "7"}, ("reminders", "list of days")),
        ({"remind": ["boss"]}, ("remind", "unknown recipient 'boss'")),
        ({"escalation": [{"after_days": 2, "to": ["head"]}, {"after_days": 1, "to": ["head"]}]}, ("later and later",)),
        ({"escalation": [{"after_days": -1, "to": ["head"]}]}, ("escalation #1", "0 or more days")),
        ({"reminder": [7]}, ("chasing", "unknown key 'reminder'")),
    ],
)
def test_a_chasing_policy_that_does_not_make_sense_is_refused(chasing: dict[str, Any], words: tuple[str, ...]) -> None:
    a_problem(calendar_data(chasing=chasing), *words)


def test_a_custom_chasing_policy_is_read() -> None:
    calendar = parse_calendar(
        calendar_data(
            chasing={
                "reminders": [1, 5],
                "remind": ["focal"],
                "escalation": [{"after_days": 1, "to": ["superior_head"]}],
            }
        ),
        TZ,
    )
    assert calendar.chase.reminders == (5, 1) and calendar.chase.remind == ("focal",)
    assert [(s.number, s.after_days, s.to) for s in calendar.chase.escalation] == [(1, 1, ("superior_head",))]


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"phase": "submission", "before": "02/09/2021"}, ("overrides #1", "either 'group' or 'unit'")),
        ({"phase": "submission", "group": "cah", "unit": "X", "before": "02/09/2021"}, ("either 'group' or 'unit'",)),
        ({"phase": "nap", "group": "cah", "before": "02/09/2021"}, ("unknown phase 'nap'",)),
        ({"phase": "submission", "group": "cah", "before": "mai"}, ("'before'", "not a date")),
    ],
)
def test_an_override_that_does_not_make_sense_is_refused(override: dict[str, Any], words: tuple[str, ...]) -> None:
    a_problem(calendar_data(overrides=[override]), *words)


def test_an_override_of_a_group_is_read_as_an_instant() -> None:
    calendar = parse_calendar(
        calendar_data(overrides=[{"phase": "submission", "group": "cah", "before": "02/09/2021", "reason": "bão"}]),
        TZ,
    )
    (override,) = calendar.overrides
    assert (override.phase, override.group, override.unit, override.reason) == ("submission", "cah", None, "bão")
    assert override.due_at == datetime(2021, 9, 2, 0, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    ("commitments", "words"),
    [
        ({"depth": 9}, ("'depth' 9",)),
        ({"block_self_assessment": "yes"}, ("block_self_assessment", "true or false")),
        ({"signer": "x"}, ("commitments", "unknown key 'signer'")),
    ],
)
def test_a_commitments_policy_that_does_not_make_sense_is_refused(
    commitments: dict[str, Any], words: tuple[str, ...]
) -> None:
    a_problem(calendar_data(commitments=commitments), *words)

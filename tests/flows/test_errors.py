"""One sentence for every failure, the same for the command line, the dashboard and its jobs."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError

from cchc.flows.errors import describe, expected
from cchc.models.datafile import DataFileError
from cchc.models.errors import UserError
from cchc.states.machine import TransitionNotAllowed
from cchc.states.workflow import ConcurrentChange

DETAILS = "chạy lại với --debug để xem chi tiết"


def test_a_domain_exception_is_shown_as_its_own_sentence() -> None:
    refusal = TransitionNotAllowed("submit", "self_assess", "2 applicable sub-criteria have no self-score", "PV01")
    for exc in (
        UserError("cannot do that"),
        refusal,
        ConcurrentChange("changed meanwhile"),
        DataFileError("org.yaml", ["unit X: no name"]),
    ):
        assert describe(exc, details=DETAILS) == str(exc)
        assert expected(exc)


def test_a_conflict_in_the_database_says_the_work_may_already_be_done() -> None:
    exc = IntegrityError("INSERT …", {}, sqlite3.IntegrityError("UNIQUE constraint failed: chase_step.key"))
    text = describe(exc, details=DETAILS)
    assert text.startswith("Cơ sở dữ liệu từ chối thay đổi") and "UNIQUE" not in text and expected(exc)


def test_a_database_that_fails_is_named_by_its_first_line_only() -> None:
    exc = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked\n(background)"))
    assert describe(exc, details=DETAILS) == "Lỗi cơ sở dữ liệu: database is locked"


def test_a_file_the_system_refuses_is_named_with_why() -> None:
    exc = PermissionError(13, "Permission denied", "/srv/cchc/report.xlsx")
    assert describe(exc, details=DETAILS) == "/srv/cchc/report.xlsx: permission denied" and expected(exc)


def test_an_unexpected_failure_says_where_its_details_are() -> None:
    exc = ZeroDivisionError("division by zero")
    assert describe(exc, details=DETAILS) == f"Lỗi không mong đợi (ZeroDivisionError: division by zero); {DETAILS}."
    assert not expected(exc)

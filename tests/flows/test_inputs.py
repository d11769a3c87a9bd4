"""What a person types is read once for the CLI and the dashboard: moments, days, codes, files to write."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cchc.flows import inputs
from cchc.models.errors import UserError


def test_a_day_alone_means_before_that_day_begins_in_vietnam() -> None:
    assert inputs.moment("31/08/2021", "--due") == datetime(2021, 8, 30, 17, 0, tzinfo=UTC)
    assert inputs.moment(" 31/08/2021 08:00 ", "--due") == datetime(2021, 8, 31, 1, 0, tzinfo=UTC)
    assert inputs.moment("2021-08-31 08:00", "--due") == datetime(2021, 8, 31, 1, 0, tzinfo=UTC)


def test_an_iso_moment_keeps_its_own_offset() -> None:
    assert inputs.moment("2021-08-31T08:00+00:00", "--as-of") == datetime(2021, 8, 31, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["hôm qua", "31/02/2021", "", "2021-13-01"])
def test_what_is_not_a_moment_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(UserError, match=r"^Hạn: .* không phải là ngày hay giờ \(viết 31/08/2021"):
        inputs.moment(typed, "Hạn")


def test_a_moment_outside_the_years_cycles_run_in_is_refused_naming_the_field() -> None:
    with pytest.raises(UserError, match=r"^--until: "):
        inputs.moment("31/12/9999 23:59", "--until")


def test_a_day_is_read_within_the_years_cycles_run_in() -> None:
    assert inputs.day("09/03/2021", "--signed-on") == date(2021, 3, 9)
    with pytest.raises(UserError, match=r"^--signed-on: '3021-01-01' không nằm trong các năm 1900–2999$"):
        inputs.day("3021-01-01", "--signed-on")
    with pytest.raises(UserError, match=r"^Từ ngày: 'mai' không phải là ngày \(viết 31/08/2021\)$"):
        inputs.day("mai", "Từ ngày")


def test_codes_are_split_on_commas_and_semicolons_once_each_in_the_order_typed() -> None:
    assert inputs.codes(" 3.3.1, 3.3.2;3.3.1, ,") == ["3.3.1", "3.3.2"]
    assert inputs.codes(["CAH-CMG", "PV01,PV02", "CAH-CMG"]) == ["CAH-CMG", "PV01", "PV02"]
    assert inputs.codes([]) == [] and inputs.codes("") == []


def test_codes_typed_in_decomposed_unicode_are_normalised() -> None:
    decomposed = "CAH-E\u0302"  # Ê typed as E + combining circumflex
    assert inputs.codes(decomposed) == ["CAH-\u00ca"]


def test_a_file_to_write_needs_an_existing_directory_and_is_not_one(tmp_path: Path) -> None:
    assert inputs.target_file(tmp_path / "out.xlsx") == tmp_path / "out.xlsx"
    with pytest.raises(UserError, match="no such directory"):
        inputs.target_file(tmp_path / "missing" / "out.xlsx")
    with pytest.raises(UserError, match="is a directory"):
        inputs.target_file(tmp_path)

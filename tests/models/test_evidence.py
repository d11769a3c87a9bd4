"""Evidence references as units write them (models/evidence.py)."""

from __future__ import annotations

from datetime import date

import pytest

from cchc.models.evidence import BadReference, outside_window, parse_reference, parse_references


@pytest.mark.parametrize(
    ("text", "symbol", "issued", "title"),
    [
        ("91/KH-CAH ngày 30/6/2021", "91/KH-CAH", date(2021, 6, 30), ""),
        (
            "23/KH-CAH ngày 25/02/2021 Kế hoạch thực hiện CCHC",
            "23/KH-CAH",
            date(2021, 2, 25),
            "Kế hoạch thực hiện CCHC",
        ),
        ("Số 24/TB-PV01, ngày 10/3/2021", "24/TB-PV01", date(2021, 3, 10), ""),
        ("5/QĐ-CAT ngày 01/02/2021: Quyết định kiện toàn", "5/QĐ-CAT", date(2021, 2, 1), "Quyết định kiện toàn"),
        ("181/KH-CAT 25/6/2021", "181/KH-CAT", date(2021, 6, 25), ""),
    ],
)
def test_a_reference_reads_as_number_type_issuer_and_date(text: str, symbol: str, issued: date, title: str) -> None:
    ref = parse_reference(text)
    assert (ref.symbol, ref.issued_on, ref.title) == (symbol, issued, title)


def test_its_parts_are_named() -> None:
    ref = parse_reference("91/KH-CAH ngày 30/6/2021")
    assert (ref.number, ref.doc_type, ref.issuer, ref.kind) == ("91", "KH", "CAH", "kế hoạch")
    assert str(ref) == "91/KH-CAH ngày 30/06/2021"


def test_a_cell_lists_several_references() -> None:
    refs = parse_references("181/KH-CAT ngày 25/6/2021; 70/KH-CAT ngày 17/3/2021\n91/CAH-TH ngày 12/3/2021")
    assert [r.symbol for r in refs] == ["181/KH-CAT", "70/KH-CAT", "91/CAH-TH"]
    assert parse_references("  ;  ") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Kế hoạch năm", "is not a document reference"),
        ("91/KH-CAH", "has no date"),
        ("91/KH-CAH ngày 31/2/2021", "31/2/2021 is not a date"),
        ("KH-CAH ngày 30/6/2021", "is not a document reference"),
    ],
)
def test_what_does_not_read_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(BadReference, match=message):
        parse_reference(text)


def test_the_evidence_window_includes_both_ends() -> None:
    refs = parse_references(
        "1/KH-X ngày 01/08/2020; 2/KH-X ngày 30/08/2021; 3/KH-X ngày 31/07/2020; 4/KH-X ngày 31/08/2021"
    )
    late = outside_window(refs, date(2020, 8, 1), date(2021, 8, 30))
    assert [r.number for r in late] == ["3", "4"]
    assert outside_window(refs, None, None) == []

"""Rendering notifications: Vietnamese and English, autoescaped HTML, one-line subjects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cchc.notifications.render import KINDS, LANGUAGES, render

BASE = {
    "person_name": "Nguyễn Văn An",
    "unit_name": "Công an huyện Cư M'gar",
    "unit_code": "CAH-CMG",
    "phase_label": "báo cáo kết quả tự đánh giá",
    "due": datetime(2021, 8, 30, 17, 0, tzinfo=UTC),
    "days_left": 3,
    "days_late": 2,
    "step": 2,
    "responsible": ["Trần B", "Lê C"],
    "note": "Bổ sung tài liệu kiểm chứng tiêu chí 1.1.1",
    "criteria": ["1.1.1", "2.3.4"],
    "superior_name": "Đại tá Trần Minh Khoa",
    "index": "94.75",
    "class_name": "Tốt",
    "rank": 3,
    "group_size": 15,
    "group_name": "Công an các huyện",
    "version": 1,
    "reasons": ["Chỉ số lĩnh vực Cải cách TTHC dưới 75 %"],
    "award_name": "Giấy khen của Giám đốc",
    "approved": True,
    "decision_ref": "125/QĐ-CAT ngày 30/09/2021",
    "signer_name": "Thiếu tá Lê Văn Phó",
    "signed_at": datetime(2021, 7, 1, 3, 0, tzinfo=UTC),
    "sha256": "ab" * 32,
    "year": 2021,
    "authority": "Công an tỉnh Đắk Lắk",
    "link": "http://127.0.0.1:8000/units/CAH-CMG?year=2021",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kind_renders_in_both_languages(kind: str, lang: str) -> None:
    message = render(kind, BASE, lang=lang)
    assert message.subject and "\n" not in message.subject and "\r" not in message.subject
    assert "Công an huyện Cư M'gar" in message.text
    assert "Công an huyện Cư M&#39;gar" in message.html
    assert BASE["link"] in message.text and f'href="{BASE["link"]}"' in message.html
    assert message.html.lstrip().startswith("<!DOCTYPE html>")


def test_dates_are_local_and_written_the_vietnamese_way() -> None:
    message = render("reminder", BASE)
    assert "31/08/2021 00:00" in message.subject  # 17:00 UTC is midnight in Asia/Ho_Chi_Minh
    assert "còn 3 ngày" in message.text


def test_numbers_use_a_decimal_comma() -> None:
    assert "94,75 %" in render("publication_notice", BASE).subject


def test_markup_in_a_name_or_a_note_is_escaped_in_html() -> None:
    hostile = {**BASE, "unit_name": "<script>alert(1)</script>", "note": '<img src=x onerror="y">'}
    message = render("supplement_request", hostile)
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<img" not in message.html and "&lt;img" in message.html


def test_line_breaks_in_a_name_cannot_reach_the_subject() -> None:
    hostile = {**BASE, "unit_name": "X\r\nBcc: victim@example.org\r\n"}
    message = render("reminder", hostile)
    assert "\r" not in message.subject and "\n" not in message.subject
    assert "Bcc: victim@example.org" in message.subject  # harmless text inside the one line


def test_an_instant_stored_as_json_text_renders_the_same() -> None:
    as_text = {**BASE, "due": BASE["due"].isoformat()}  # type: ignore[attr-defined]
    assert render("reminder", as_text).subject == render("reminder", BASE).subject


def test_an_unknown_kind_or_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notification kind"):
        render("spam", BASE)
    with pytest.raises(ValueError, match="unknown language"):
        render("reminder", BASE, lang="fr")


def test_a_missing_value_is_an_error_not_an_empty_hole() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        render("reminder", {k: v for k, v in BASE.items() if k != "unit_name"})

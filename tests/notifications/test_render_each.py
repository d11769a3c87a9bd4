"""One content rendered once for several recipients reads exactly as if rendered for each; the digest of
the notices of several units, in both languages."""

from __future__ import annotations

import pytest
from test_render import BASE

from cchc.notifications.render import DIGEST, KINDS, LANGUAGES, render, render_each, templates

NAMES = ["Nguyễn Văn An", 'Lê "Bình" <b>&amp;</b>', "Trần\nThị  Cúc", "Ông Ảnh"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_rendering_once_for_several_people_reads_as_rendering_for_each(kind: str, lang: str) -> None:
    expected = [render(kind, {**BASE, "person_name": name}, lang=lang) for name in NAMES]
    assert render_each(kind, BASE, NAMES, lang=lang) == expected


def test_a_name_that_cannot_take_the_marks_place_is_rendered_on_its_own() -> None:
    names = ["", "\u0301An", "Bình"]  # empty (a template may test it); starting with a combining accent
    assert render_each("reminder", BASE, names) == [render("reminder", {**BASE, "person_name": name}) for name in names]


def test_the_compiled_templates_are_kept() -> None:
    assert templates("reminder", "vi") is templates("reminder", "vi")
    with pytest.raises(ValueError, match="unknown notification kind"):
        templates("nothing", "vi")


DIGEST_CONTEXT = {
    "notice": "award_notice",
    "year": 2021,
    "authority": "Công an tỉnh Đắk Lắk",
    "units": [
        {**BASE, "unit_name": "Công an huyện Cư M'gar", "unit_code": "CAH-CMG", "award_name": "Giấy khen"},
        {
            **BASE,
            "unit_name": "Công an xã <Ea Tul>",
            "unit_code": "CAX-ETU",
            "award_name": "Bằng khen",
            "link": "http://127.0.0.1:8000/units/CAX-ETU?year=2021",
        },
    ],
    "person_name": "Nguyễn Văn An",
}


@pytest.mark.parametrize(
    ("lang", "subject", "line"),
    [
        (
            "vi",
            "[Tổng hợp] Chỉ số CCHC năm 2021: 2 thông báo của các đơn vị chưa có người nhận thư",
            "- Công an xã <Ea Tul> (CAX-ETU): [Khen thưởng] Công an xã <Ea Tul>: Bằng khen (Chỉ số CCHC năm 2021)",
        ),
        (
            "en",
            "[Digest] 2021 PAR index: 2 notices of units that have no recipient",
            "- Công an xã <Ea Tul> (CAX-ETU): [Award] Công an xã <Ea Tul>: Bằng khen (2021 PAR index)",
        ),
    ],
)
def test_a_digest_lists_each_unit_with_its_notice_and_link(lang: str, subject: str, line: str) -> None:
    message = render(DIGEST, DIGEST_CONTEXT, lang=lang)
    assert message.subject == subject
    assert line in message.text
    assert "http://127.0.0.1:8000/units/CAX-ETU?year=2021" in message.text
    assert 'href="http://127.0.0.1:8000/units/CAX-ETU?year=2021"' in message.html
    assert "Công an xã &lt;Ea Tul&gt;" in message.html and "<Ea Tul>" not in message.html
    assert "Công an huyện Cư M&#39;gar" in message.html


def test_a_digest_of_an_unknown_kind_of_notice_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notification kind"):
        render(DIGEST, {**DIGEST_CONTEXT, "notice": "nothing"})

"""One message catalogue: every message the code raises has its Vietnamese words, with the same
placeholders, and the people of the cycle read Vietnamese unless the setting says English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from cchc.models.i18n import LOCALE_DIR, speaking, tr, translations
from cchc.models.scoresheet import SheetError

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"tr": None, "N_": None, "trn": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}")


def _messages() -> dict[str, str]:
    """Every message of the code (its msgid) and where it is."""
    found: dict[str, str] = {}
    for folder in ("config", "flows", "models", "notifications", "states"):
        for filename, lineno, message, _, _ in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            for msgid in message if isinstance(message, tuple) else (message,):
                found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def _catalog() -> dict[str, str]:
    with (LOCALE_DIR / "vi" / "LC_MESSAGES" / "cchc.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    out: dict[str, str] = {}
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in ids:
            out[msgid] = strings[0] if strings else ""
    return out


def test_every_message_of_the_code_has_its_vietnamese_words_with_the_same_placeholders() -> None:
    messages, catalog = _messages(), _catalog()
    assert len(messages) > 80
    missing = {m: where for m, where in messages.items() if not catalog.get(m)}
    assert missing == {}, "run `make messages` and translate these in models/locale/vi/LC_MESSAGES/cchc.po"
    for msgid, text in catalog.items():
        if msgid in messages:
            assert set(PLACEHOLDER.findall(text)) <= set(PLACEHOLDER.findall(msgid)), msgid


def test_a_refusal_reads_in_vietnamese_by_default_and_in_english_by_setting() -> None:
    with speaking("vi"):
        assert tr("{unit} is not a unit of the {year} cycle", unit="PV05", year=2021) == (
            "PV05 không phải đơn vị của kỳ đánh giá 2021"
        )
        assert str(SheetError(["x"])).startswith("1 lỗi; chưa ghi gì:")
    with speaking("en"):
        assert tr("{unit} is not a unit of the {year} cycle", unit="PV05", year=2021) == (
            "PV05 is not a unit of the 2021 cycle"
        )
        assert str(SheetError(["x", "y"])).startswith("2 problems; nothing was written:")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_catalogue_is_read_once_per_language(lang: str) -> None:
    assert translations(lang) is translations(lang)

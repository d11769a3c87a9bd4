"""One message catalogue: every message the code raises has its Vietnamese words, with the same
placeholders, and the people of the cycle read Vietnamese unless the setting says English."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from cchc.models.i18n import LOCALE_DIR, speaking, tr, translations
from cchc.models.scoresheet import SheetError

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "tr": None, "N_": None, "trn": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}|%\((\w+)\)[sd]")  # tr's {name}; the templates' %(name)s


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    """What `make messages` reads (babel.cfg): the code, and the dashboard's page templates."""
    with (ROOT / "babel.cfg").open() as handle:
        return parse_mapping_cfg(handle)


def _messages() -> dict[str, str]:
    """Every message of the code and of the page templates (its msgid) and where it is."""
    found: dict[str, str] = {}
    method_map, options_map = _mapping()
    for folder in ("config", "flows", "models", "notifications", "states"):
        for filename, lineno, message, _, _ in extract_from_dir(
            ROOT / folder, method_map=method_map, options_map=options_map, keywords=KEYWORDS
        ):
            for msgid in message if isinstance(message, tuple) else (message,):
                found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def _catalog() -> dict[str, str]:
    """The Vietnamese words of every msgid (a fuzzy guess of `pybabel update` counts as none: it is not read)."""
    with (LOCALE_DIR / "vi" / "LC_MESSAGES" / "cchc.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    out: dict[str, str] = {}
    for m in catalog:
        if not m.id or m.fuzzy:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in ids:
            out[msgid] = strings[0] if strings else ""
    return out


def test_every_message_of_the_code_has_its_vietnamese_words_with_the_same_placeholders() -> None:
    messages, catalog = _messages(), _catalog()
    assert len(messages) > 80
    assert any("web/templates/" in where for where in messages.values())
    missing = {m: where for m, where in messages.items() if not catalog.get(m)}
    assert missing == {}, "run `make messages` and translate these in models/locale/vi/LC_MESSAGES/cchc.po"
    for msgid, text in catalog.items():
        if msgid in messages:
            assert set(PLACEHOLDER.findall(text)) <= set(PLACEHOLDER.findall(msgid)), msgid


def test_a_translation_is_not_left_as_a_fuzzy_guess() -> None:
    """`pybabel update` guesses the words of a new message from a similar one and marks them fuzzy; a fuzzy
    entry is never read (the page would show the English): a translator confirms or rewrites it."""
    with (LOCALE_DIR / "vi" / "LC_MESSAGES" / "cchc.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    assert [m.id for m in catalog if m.id and m.fuzzy] == []


def test_the_vietnamese_words_are_composed_unicode() -> None:
    """One spelling of each letter (NFC), as typed on a Vietnamese keyboard and stored in the database."""
    for msgid, text in _catalog().items():
        assert unicodedata.normalize("NFC", text) == text, msgid


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

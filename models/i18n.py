"""The people's language: one message catalogue (gettext, in Babel's PO format), Vietnamese by default.

A message is written once, in English, where it is raised (`tr("{unit} is not a unit of this cycle",
unit=code)`: the English text is the catalogue's key) and translated in `models/locale/vi/LC_MESSAGES/
cchc.po`. `tr` answers in the language of the moment: the web sets the request's (`speaking`), everything
else speaks `CCHC_LANGUAGE` (vi, or en). The dashboard's page templates are written in English as well,
their text in `_()` (Jinja2's i18n extension, answered by `gettext` and `ngettext` below). The catalogue
is read with Babel when first needed (no compiled .mo file to keep in step); `make messages` extracts
every `tr(...)` of the code and every `_()` of the templates (babel.cfg) into the catalogue's template and
updates the PO files, and a test refuses a message that has no Vietnamese translation or whose
placeholders differ.

Babel rather than hand-written dictionaries: it is the ecosystem's standard for gettext catalogues (PO
files that translators' tools open, plural forms, extraction from the source).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from cchc.config.settings import get_settings

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "cchc"
LANGUAGES = ("vi", "en")

_spoken: ContextVar[str | None] = ContextVar("cchc_language", default=None)


def language() -> str:
    """The language of the moment: the one a request or a command set, else the setting (vi by default)."""
    return _spoken.get() or get_settings().language


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Speak `lang` inside the block (None: the setting's)."""
    token = _spoken.set(lang if lang in LANGUAGES else None)
    try:
        yield
    finally:
        _spoken.reset(token)


@lru_cache(maxsize=4)
def translations(lang: str) -> NullTranslations:
    """The catalogue of a language (English is the messages themselves)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def tr(message: str, **values: Any) -> str:
    """`message` in the language of the moment, its {placeholders} filled with `values`."""
    text = translations(language()).gettext(message)
    return text.format(**values) if values else text


def trn(singular: str, plural: str, n: int, **values: Any) -> str:
    """A message with a count: `n` chooses the form (Vietnamese has one; English two)."""
    text = translations(language()).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def gettext(message: str) -> str:
    """`message` in the language of the moment, as written: the dashboard's templates call it through Jinja2's
    i18n extension (newstyle), which fills their %(placeholders)s and escapes the values."""
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count `n`, in the language of the moment (for the templates, as above)."""
    return translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it here (a table of labels translated where it
    is shown, with `tr(label)`)."""
    return message

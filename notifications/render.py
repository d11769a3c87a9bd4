"""Rendering a notification is a pure function of a template and data (no I/O, no clock).

Each kind has a `.txt` template (its first line is the subject, the rest the plain-text part) and an
`.html` template (autoescaped). A name or note containing markup is escaped in HTML; a subject never
carries a line break, so no value can inject a header.

The compiled templates are kept (one environment per time zone, its two templates per kind and language):
asking the environment on every message costs a file `stat` and a quarter of the rendering. Several
recipients of one message content (the head and the focal officer of a step) are rendered once, with a
mark where the person's name goes, and addressed to each (`render_each`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import escape

from cchc.models.formats import local_time, vn_number
from cchc.models.text import collapse_lines

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = (
    "reminder",
    "escalation",
    "supplement_request",
    "commitment_request",
    "publication_notice",
    "remediation_request",
    "breakthrough_request",
    "award_notice",
    "award_decision",
    "acting_signature_notice",
    "invitation",  # a single-use link to choose a dashboard password (purpose: invite | reset)
)
# One message gathering, for one person, the notices of several units that have no one of their own to write
# to (they fall back to the coordinators): its context holds the kind of those notices ("notice") and each
# unit's own context ("units"); each unit is listed with the subject its own notice would have, and its link.
DIGEST = "unit_digest"
LANGUAGES = ("vi", "en")
MULTILINE = frozenset({"note"})  # the only values that may span lines (in the body, never in a header)
PERSON = "person_name"  # the recipient's name, the one value that differs between recipients of a content
_MARK = "\ue000\ue001"  # private-use characters: no filter, escaping or line collapsing changes them


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _instant(value: datetime | str) -> datetime:
    """Contexts stored as JSON carry instants as ISO strings."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@lru_cache(maxsize=4)
def environment(timezone: str = "Asia/Ho_Chi_Minh") -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        auto_reload=False,  # a template (and the layout it extends) is read once per process, never stat'ed again
    )
    env.filters["vn_datetime"] = lambda value: local_time(_instant(value), timezone)
    env.filters["vn_date"] = lambda value: local_time(_instant(value), timezone, with_time=False)
    env.filters["vn_number"] = lambda value: vn_number(Decimal(str(value)))
    return env


@lru_cache(maxsize=128)
def templates(kind: str, lang: str = "vi", timezone: str = "Asia/Ho_Chi_Minh") -> tuple[Template, Template]:
    """The compiled (text, HTML) templates of `kind` in `lang`, kept for the life of the process."""
    if kind not in KINDS and kind != DIGEST:
        raise ValueError(f"unknown notification kind {kind!r} (expected one of {', '.join(KINDS)})")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (expected vi or en)")
    env = environment(timezone)
    return env.get_template(f"{lang}/{kind}.txt"), env.get_template(f"{lang}/{kind}.html")


def render(kind: str, context: dict[str, Any], *, lang: str = "vi", timezone: str = "Asia/Ho_Chi_Minh") -> Rendered:
    """The subject, text and HTML of a notification of `kind` in `lang` (vi or en)."""
    text_template, html_template = templates(kind, lang, timezone)
    if kind == DIGEST:
        context = _digest(context, lang, timezone)
    context = {k: v if k in MULTILINE or not isinstance(v, str) else collapse_lines(v) for k, v in context.items()}
    text = text_template.render(context)
    first, _, body = text.partition("\n")
    subject = collapse_lines(first)
    html = html_template.render(context, subject=subject)
    return Rendered(subject=subject, text=body.lstrip("\n"), html=html)


def _digest(context: dict[str, Any], lang: str, timezone: str) -> dict[str, Any]:
    """A digest's context with each unit as the digest lists it: name, code, link and its notice's subject."""
    notice = context["notice"]
    if notice not in KINDS:
        raise ValueError(f"unknown notification kind {notice!r} in a digest")
    person = context.get(PERSON, "")
    units = [
        {
            "unit_name": collapse_lines(str(unit["unit_name"])),
            "unit_code": collapse_lines(str(unit["unit_code"])),
            "link": collapse_lines(str(unit["link"])),
            "title": render(notice, {**unit, PERSON: person}, lang=lang, timezone=timezone).subject,
        }
        for unit in context["units"]
    ]
    return {**context, "units": units}


def _addressable(name: str) -> bool:
    """A name that can take the mark's place as it is: not empty (a template may test it) and not
    starting with a combining character (NFC could join it to the character before)."""
    return bool(name) and not unicodedata.combining(name[0])


def render_each(
    kind: str, context: dict[str, Any], names: Sequence[str], *, lang: str = "vi", timezone: str = "Asia/Ho_Chi_Minh"
) -> list[Rendered]:
    """`render(kind, {**context, "person_name": name})` for each of `names`, rendering the content once: with
    a mark in the name's place, then the name (escaped in HTML) put where the mark is. A template that does
    more with the name than print it (the mark comes out changed) is rendered for each name."""
    clean = [collapse_lines(name) for name in names]
    if len(names) > 1 and all(map(_addressable, clean)):
        shared = render(kind, {**context, PERSON: _MARK}, lang=lang, timezone=timezone)
        whole = shared.subject + shared.text + shared.html
        if whole.count(_MARK[0]) == whole.count(_MARK[1]) == whole.count(_MARK):
            return [
                Rendered(
                    subject=shared.subject.replace(_MARK, name),
                    text=shared.text.replace(_MARK, name),
                    html=shared.html.replace(_MARK, str(escape(name))),
                )
                for name in clean
            ]
    return [render(kind, {**context, PERSON: name}, lang=lang, timezone=timezone) for name in names]

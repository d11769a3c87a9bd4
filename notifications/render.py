"""Rendering a notification is a pure function of a template and data (no I/O, no clock).

Each kind has a `.txt` template (its first line is the subject, the rest the plain-text part) and an
`.html` template (autoescaped). A name or note containing markup is escaped in HTML; a subject never
carries a line break, so no value can inject a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

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
LANGUAGES = ("vi", "en")
MULTILINE = frozenset({"note"})  # the only values that may span lines (in the body, never in a header)


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
    )
    env.filters["vn_datetime"] = lambda value: local_time(_instant(value), timezone)
    env.filters["vn_date"] = lambda value: local_time(_instant(value), timezone, with_time=False)
    env.filters["vn_number"] = lambda value: vn_number(Decimal(str(value)))
    return env


def render(kind: str, context: dict[str, Any], *, lang: str = "vi", timezone: str = "Asia/Ho_Chi_Minh") -> Rendered:
    """The subject, text and HTML of a notification of `kind` in `lang` (vi or en)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r} (expected one of {', '.join(KINDS)})")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (expected vi or en)")
    env = environment(timezone)
    context = {k: v if k in MULTILINE or not isinstance(v, str) else collapse_lines(v) for k, v in context.items()}
    text = env.get_template(f"{lang}/{kind}.txt").render(**context)
    first, _, body = text.partition("\n")
    subject = collapse_lines(first)
    html = env.get_template(f"{lang}/{kind}.html").render(**context, subject=subject)
    return Rendered(subject=subject, text=body.lstrip("\n"), html=html)

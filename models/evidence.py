"""Evidence references (tài liệu kiểm chứng) as units write them: "91/KH-CAH ngày 30/6/2021 Kế hoạch …".

A reference is a document number, its type and issuer ("KH" a plan, "CT" a directive, "TB" a notice,
"BC" a report, "QĐ" a decision, "CV" or an issuer code for an official letter), and always a date. A cell
may list several, separated by ";". Each must date from the cycle's evidence window.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from cchc.models.i18n import tr
from cchc.models.text import nfc

DOC_TYPES = {
    "KH": "kế hoạch",
    "CT": "chỉ thị",
    "TB": "thông báo",
    "BC": "báo cáo",
    "QĐ": "quyết định",
    "CV": "công văn",
    "KL": "kết luận",
    "HD": "hướng dẫn",
    "NQ": "nghị quyết",
    "QC": "quy chế",
    "TTr": "tờ trình",
    "BB": "biên bản",
}
_REF = re.compile(
    r"^(?:số\s*)?(?P<number>\d{1,6})/(?:(?P<year>\d{4})/)?(?P<type>[A-ZĐa-zđ]{1,6})-(?P<issuer>[A-ZĐ0-9][A-ZĐ0-9&.\-]{0,30})"
    r"(?:\s*,)?\s*(?:ngày\s*)?(?P<date>\d{1,2}/\d{1,2}/\d{4})?\s*(?:[,:–-]\s*)?(?P<title>.*)$",
    re.IGNORECASE,
)


class EvidenceRef(NamedTuple):
    number: str
    doc_type: str
    issuer: str
    issued_on: date
    title: str = ""

    @property
    def symbol(self) -> str:
        """The document's number and symbol as written on it, e.g. "91/KH-CAH"."""
        return f"{self.number}/{self.doc_type}-{self.issuer}"

    @property
    def kind(self) -> str:
        return DOC_TYPES.get(self.doc_type, "công văn")

    def __str__(self) -> str:
        return f"{self.symbol} ngày {self.issued_on:%d/%m/%Y}" + (f" {self.title}" if self.title else "")


class BadReference(ValueError):
    """A reference that does not read as number/TYPE-ISSUER with a date."""


def parse_reference(text: str, *, clean: bool = False) -> EvidenceRef:
    """One reference; BadReference says what is wrong with it. `clean`: the text is already NFC, on one
    line, with single spaces (as a cell the importer read)."""
    raw = text if clean else " ".join(nfc(text).split())
    match = _REF.match(raw)
    if not match:
        raise BadReference(tr("{raw!r} is not a document reference (write it like 91/KH-CAH ngày 30/6/2021)", raw=raw))
    if not match["date"]:
        raise BadReference(tr("{raw!r} has no date (a reference always has one: … ngày 30/6/2021)", raw=raw))
    day, month, year = (int(part) for part in match["date"].split("/"))
    try:
        issued = date(year, month, day)
    except ValueError:
        raise BadReference(tr("{raw!r}: {day} is not a date", raw=raw, day=match["date"])) from None
    doc_type = match["type"].upper() if match["type"].upper() != "TTR" else "TTr"
    return EvidenceRef(match["number"], doc_type, match["issuer"].upper(), issued, match["title"].strip())


@lru_cache(maxsize=65536)
def parse_references(cell: str) -> tuple[EvidenceRef, ...]:
    """Every reference of a cell ("a; b; c"); BadReference names the first that does not read. A unit
    cites the same documents over and over: the answers are cached."""
    parts = (" ".join(part.split()) for part in nfc(cell).replace("\n", ";").split(";"))
    return tuple(parse_reference(part, clean=True) for part in parts if part)


def outside_window(refs: Sequence[EvidenceRef], start: date | None, end: date | None) -> list[EvidenceRef]:
    """The references dated outside the evidence window [start, end]."""
    return [r for r in refs if (start and r.issued_on < start) or (end and r.issued_on > end)]

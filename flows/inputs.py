"""What a person types, read the same way by every edge (the CLI's options, the dashboard's forms): a
moment or a day in the configured zone (Asia/Ho_Chi_Minh), a list of codes, a file to write. Each refusal
is a UserError that names the field it was typed in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cchc.config.settings import get_settings
from cchc.models.calendar import EARLIEST, LATEST, OutOfRange, parse_local_date, parse_local_instant
from cchc.models.errors import UserError
from cchc.models.text import nfc


def moment(text: str, field: str) -> datetime:
    """A moment, as UTC: 31/08/2021 (before that day begins), 31/08/2021 08:00, 2021-08-31 08:00 (local
    time), or ISO 8601 with its offset; within the years cycles run in."""
    typed = text.strip()
    try:
        parsed: datetime | None = datetime.fromisoformat(typed)
    except ValueError:
        parsed = None
    aware = parsed if parsed is not None and parsed.tzinfo is not None else None
    try:
        return parse_local_instant(aware or typed, ZoneInfo(get_settings().timezone))
    except OutOfRange as exc:
        raise UserError(f"{field}: {exc}") from None
    except ValueError:
        raise UserError(
            f"{field}: {text!r} không phải là ngày hay giờ (viết 31/08/2021 hoặc 31/08/2021 08:00)"
        ) from None


def day(text: str, field: str) -> date:
    """A calendar day (31/08/2021 or 2021-08-31), within the years cycles run in."""
    try:
        found = parse_local_date(text.strip())
    except ValueError:
        raise UserError(f"{field}: {text!r} không phải là ngày (viết 31/08/2021)") from None
    if not EARLIEST <= found.year <= LATEST:
        raise UserError(f"{field}: {text!r} không nằm trong các năm {EARLIEST}–{LATEST}")
    return found


def codes(typed: str | Iterable[str]) -> list[str]:
    """Codes (units, sub-criteria) as typed: one text or several (a repeated option), each holding one or more
    separated by commas or semicolons; blanks dropped, each code once, in the order typed."""
    texts = [typed] if isinstance(typed, str) else list(typed)
    found = (nfc(part).strip() for text in texts for part in text.replace(";", ",").split(","))
    return list(dict.fromkeys(code for code in found if code))


def target_file(path: Path) -> Path:
    """A file to write, refused before any work when it cannot be: in a directory that does not exist, or a
    directory itself."""
    if not path.parent.is_dir():
        raise UserError(f"{path.parent}: no such directory")
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give the name of the file to write")
    return path

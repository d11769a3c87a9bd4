"""Text and number helpers shared by every loader: NFC on the way in, exact decimals, canonical JSON."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def nfc(value: str) -> str:
    """The NFC form of a text, stripped of surrounding blanks."""
    return unicodedata.normalize("NFC", value).strip()


def one_line(value: str) -> str:
    """NFC text that must fit on one line: CR, LF and other control characters are refused."""
    text = nfc(value)
    if "\n" in text or "\r" in text or _CONTROL.search(text):
        raise ValueError("contains a line break or a control character")
    return text


_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def collapse_lines(value: str) -> str:
    """NFC text on one line: line breaks and other control characters become single spaces (for subjects,
    display names and reasons typed on a command line)."""
    return " ".join(_BREAKS.sub(" ", unicodedata.normalize("NFC", value)).split())


def parse_decimal(value: Any) -> Decimal:
    """A Decimal from a string or number; a comma decimal ("1,5") is accepted. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:  # the common case, a plain number ("0.75"), without the clean-up below
            result = Decimal(value)
            if result.is_finite():
                return result
        except InvalidOperation:
            pass
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{value!r} is not a number")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()  # UTC in storage
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, UTF-8 text, decimals as strings): hashes are stable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def natural_key(code: str) -> tuple[tuple[int, int | str], ...]:
    """Codes in the order people read them: 1.2.10 after 1.2.9."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in code.replace("-", ".").split("."))

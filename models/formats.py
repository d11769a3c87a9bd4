"""How numbers and times are written for Vietnamese readers: 94,75 and 31/08/2021 08:00 (local time)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def vn_number(value: Decimal | int | None, places: int = 2) -> str:
    """94.75 → "94,75"; 1234.5 → "1.234,50" (decimal comma, dot for thousands)."""
    if value is None:
        return "—"
    text = f"{Decimal(value):,.{places}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def vn_signed(value: Decimal | int | None, places: int = 2) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0" if places == 0 else vn_number(Decimal(0), places)
    magnitude: Decimal | int = -value if value < 0 else value
    return ("+" if value > 0 else "−") + vn_number(magnitude, places)


def local_time(value: datetime | None, tz: str = DEFAULT_TZ, *, with_time: bool = True) -> str:
    """An aware instant as dd/mm/yyyy HH:MM in the given zone (Asia/Ho_Chi_Minh by default)."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(tz))
    return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")

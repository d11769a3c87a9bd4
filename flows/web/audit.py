"""The audit trail: events searched by unit, person, event and dates; the chain verified."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response

from cchc.config.settings import get_settings
from cchc.flows import inputs
from cchc.flows.auditcheck import verify_all
from cchc.flows.auditlog import describe_change
from cchc.flows.web import views
from cchc.flows.web.dashboard import Dashboard, _refuse_unreadable
from cchc.flows.web.tables import Table, cell_text
from cchc.models.db import get_engine, read_session
from cchc.models.formats import vn_number
from cchc.models.tables import AuditEvent, Person
from cchc.states.labels import STATE_LABELS, trigger_label

PAGE_SIZE = 50  # audit events per page


@dataclass(frozen=True)
class AuditFilter:
    unit: str = ""
    actor: str = ""
    trigger: str = ""
    start: date | None = None  # from this day (local time)
    end: date | None = None  # to this day, inclusive

    def conditions(self, timezone: str) -> list[ColumnElement[bool]]:
        zone = ZoneInfo(timezone)
        found: list[ColumnElement[bool]] = []
        if self.unit:
            found.append(col(AuditEvent.unit_code) == self.unit)
        if self.actor:
            found.append(col(AuditEvent.actor) == self.actor)
        if self.trigger:
            found.append(col(AuditEvent.trigger) == self.trigger)
        if self.start:
            found.append(col(AuditEvent.at) >= datetime.combine(self.start, time(0, 0), zone))
        if self.end:
            found.append(col(AuditEvent.at) < datetime.combine(self.end + timedelta(days=1), time(0, 0), zone))
        return found


@dataclass
class AuditPage:
    table: Table
    total: int
    page: int
    pages: int


def audit_events(
    database_url: str | None, wanted: AuditFilter, timezone: str, page: int = 1, page_size: int | None = PAGE_SIZE
) -> AuditPage:
    """The events that match, newest first: one page of them (or all, for an export) and how many match."""
    conditions = wanted.conditions(timezone)
    with read_session(get_engine(database_url)) as session:
        total = int(session.execute(select(func.count()).select_from(AuditEvent).where(*conditions)).scalar_one())
        pages = max(1, -(-total // page_size)) if page_size else 1
        page = min(max(1, page), pages)
        query = select(AuditEvent).where(*conditions).order_by(col(AuditEvent.seq).desc())
        if page_size:
            query = query.offset((page - 1) * page_size).limit(page_size)
        table = Table(
            "events",
            "Sự kiện trong nhật ký kiểm toán",
            [
                "Số",
                "Thời điểm",
                "Người thực hiện",
                "Sự kiện",
                "Mã sự kiện",
                "Năm",
                "Mã đơn vị",
                "Từ trạng thái",
                "Đến trạng thái",
                "Lý do",
                "Chi tiết",
            ],
            unit_column=6,
        )
        events = list(session.execute(query).scalars())
        names = actor_names(session, {e.actor for e in events})
        for e in events:
            table.add(
                [
                    e.seq,
                    e.at,
                    names.get(e.actor, e.actor),
                    trigger_label(e.trigger),
                    e.trigger,
                    str(e.cycle_year) if e.cycle_year else None,
                    e.unit_code,
                    STATE_LABELS.get(e.from_state or "", e.from_state),
                    STATE_LABELS.get(e.to_state or "", e.to_state),
                    e.reason,
                    payload_text(json.loads(e.payload)),
                ],
                e.unit_code if e.cycle_year else None,
                year=e.cycle_year,
            )
    return AuditPage(table, total, page, pages)


def actor_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Who acted, as an inspector reads it: "Nguyễn Văn An (cmg.focal)" for a person of the organisation;
    automated work ("system:sweep") and codes no longer in the organisation stay as recorded."""
    people = [c for c in codes if not c.startswith("system:")]
    if not people:
        return {}
    found = session.execute(select(col(Person.code), col(Person.full_name)).where(col(Person.code).in_(people)))
    return {code: f"{name} ({code})" for code, name in found.tuples()}


def audit_triggers(database_url: str | None) -> list[str]:
    with read_session(get_engine(database_url)) as session:
        return sorted(session.execute(select(col(AuditEvent.trigger)).distinct()).scalars())


# What an event's details are called on the page (the payload's own keys stay in the stored event and in
# `cchc audit`); a key not listed here is shown as it is stored.
PAYLOAD_LABELS = {
    "address": "địa chỉ",
    "locked_until": "khoá đăng nhập đến",
    "os_user": "tài khoản hệ điều hành",
    "scores": "mã băm bộ điểm",
    "sessions": "số phiên",
    "user_agent": "trình duyệt",
    "username": "tên đăng nhập",
    "acting": "quyền",
    "added": "dòng mới",
    "after": "sau",
    "before": "trước",
    "calendar": "lịch",
    "calendar_sha256": "SHA-256 của lịch",
    "capacity": "cương vị",
    "counterpart": "người liên quan",
    "deadlines": "các hạn",
    "digest": "mã băm",
    "doc_version": "phiên bản văn bản",
    "document": "văn bản",
    "docx_sha256": "SHA-256 bản Word",
    "due": "hạn",
    "expires_at": "hết hạn",
    "file": "tệp",
    "framework": "bộ tiêu chí",
    "frameworks": "các bộ tiêu chí",
    "group": "nhóm",
    "html_sha256": "SHA-256 bản HTML",
    "invitation": "lời mời",
    "issued_on": "ngày ban hành",
    "item": "nội dung",
    "kind": "loại",
    "name": "tên",
    "outcome": "kết quả",
    "person": "người",
    "phase": "giai đoạn",
    "points": "điểm",
    "publication_version": "lần công bố",
    "purpose": "mục đích",
    "ref": "văn bản",
    "rows": "số dòng",
    "rule": "quy tắc",
    "scan": "bản quét",
    "scan_sha256": "SHA-256 bản quét",
    "sha256": "SHA-256",
    "signed_on": "ngày ký",
    "size": "dung lượng (byte)",
    "source": "nguồn",
    "step": "bậc",
    "symbol": "số, ký hiệu",
    "to": "đến",
    "units": "các đơn vị",
    "version": "phiên bản",
}
PAYLOAD_VALUES = {"web": "trên trang web", "cli": "dòng lệnh"}  # the source of a change


def payload_text(payload: dict[str, Any]) -> str:
    """An event's details in one line, as the page shows them: the criteria an appraisal changed, and the
    short facts under their Vietnamese names (numbers with a decimal comma, dates as dd/mm/yyyy)."""
    parts: list[str] = []
    for key, value in payload.items():
        label = PAYLOAD_LABELS.get(key, key)
        if key == "changed" and isinstance(value, dict):
            changes = [describe_change(code, v, _points) for code, v in list(value.items())[:6]]
            more = ", …" if len(value) > 6 else ""
            parts.append(f"{len(value)} tiêu chí thay đổi" + (f": {', '.join(changes)}{more}" if changes else ""))
        elif isinstance(value, str | int | float | bool) or value is None:
            parts.append(f"{label}: {_fact(value)}")
        elif isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            parts.append(f"{label}: {', '.join(str(v) for v in value[:8])}" + (", …" if len(value) > 8 else ""))
    return "; ".join(parts)


def _fact(value: str | int | float | bool | None) -> str:
    """One fact of an event's details the Vietnamese way: Có/Không, 0,50, 30/06/2021, 10/08/2021 08:02."""
    if isinstance(value, bool) or value is None:
        return cell_text(value, "UTC")
    if isinstance(value, float):
        return vn_number(Decimal(str(value)))
    if isinstance(value, str):
        if DECIMAL.fullmatch(value):
            return vn_number(Decimal(value))
        try:
            if len(value) == 10:
                return date.fromisoformat(value).strftime("%d/%m/%Y")
            if len(value) > 18 and value[10] == "T":
                return cell_text(datetime.fromisoformat(value.replace("Z", "+00:00")), get_settings().timezone)
        except ValueError:
            pass
        return PAYLOAD_VALUES.get(value, value)
    return str(value)


DECIMAL = re.compile(r"-?\d+\.\d+")  # points kept as text in the details ("0.50")


def _points(value: Any) -> str:
    try:
        return vn_number(Decimal(str(value)))
    except ArithmeticError:
        return str(value)


def page(request: Request) -> Response:
    d = Dashboard.of(request)
    actor = d.require_all(request)
    params = request.query_params
    _refuse_unreadable(params.multi_items())
    wanted = AuditFilter(
        unit=params.get("unit", "").strip(),
        actor=params.get("actor", "").strip(),
        trigger=params.get("trigger", "").strip(),
        start=_day(params.get("from", ""), "Từ ngày"),
        end=_day(params.get("to", ""), "Đến ngày"),
    )
    exporting = bool(params.get("format"))
    page_number = int(params["page"]) if params.get("page", "").isdigit() else 1
    found = audit_events(d.database_url, wanted, d.timezone, page_number, None if exporting else PAGE_SIZE)
    exported = d.export(request, [found.table], "nhat-ky")
    if exported is not None:
        return exported
    verification = None
    if request.url.path.endswith("/verify"):
        verification = verify_all(d.database_url)
    return d.render(
        request,
        "audit.html",
        user=actor,
        years=views.cycle_years(d.database_url),
        found=found,
        wanted=wanted,
        raw={k: params.get(k, "") for k in ("unit", "actor", "trigger", "from", "to")},
        triggers=[(t, trigger_label(t)) for t in audit_triggers(d.database_url)],
        pages=_pages(request, found.page, found.pages),
        verification=verification,
    )


def _pages(request: Request, page: int, pages: int) -> list[tuple[str, str | None]]:
    """Page links: (label, href or None for the current page)."""
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    wanted = sorted({1, page - 2, page - 1, page, page + 1, page + 2, pages} & set(range(1, pages + 1)))
    links: list[tuple[str, str | None]] = []
    for n in wanted:
        links.append((str(n), None if n == page else f"{request.url.path}?{urlencode({**params, 'page': n})}"))
    return links


def _day(text: str, label: str) -> date | None:
    """A day typed in a search field (none when left empty)."""
    return inputs.day(text, label) if text.strip() else None

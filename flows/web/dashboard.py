"""What every page of the dashboard shares: the database, the settings, the clock, the templates and the
jobs; who is logged in, the CSRF check of a form, rendering a page, exporting its tables."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from cchc.config.settings import get_settings
from cchc.flows.accounts import SESSION_TOUCH, LiveSession, SessionLimits, live_session, touch_session
from cchc.flows.errors import describe, expected
from cchc.flows.web import access
from cchc.flows.web.jobs import Job, JobRunner
from cchc.flows.web.settings import DashboardSettings
from cchc.flows.web.tables import Cell, Table, cell_text, to_csv, to_xlsx
from cchc.models import i18n
from cchc.models.db import get_engine, read_session
from cchc.models.errors import UserError
from cchc.models.people import Actor, UnknownActor, resolve_actor

log = logging.getLogger("cchc.dashboard")


HERE = Path(__file__).resolve().parent


COOKIE = "cchc_session"
SID = "sid"  # the session cookie's key holding the session's random id (the database keeps only its SHA-256)


JOB_LABELS = {"queued": "Đang chờ", "running": "Đang chạy", "done": "Xong", "failed": "Không thành công"}


class LoginRequired(Exception):
    """No one is logged in (or the session ended): go to the login page, and come back after."""

    def __init__(self, back: str, expired: bool = False) -> None:
        super().__init__(back)
        self.back = back
        self.expired = expired


class Forbidden(Exception):
    """The person may not see this page or do this (403, with why)."""


def describe_error(exc: BaseException) -> str:
    """A failure as one clear sentence for the page (never a traceback); an unexpected one is logged whole."""
    if not expected(exc):
        log.error("unexpected failure", exc_info=exc)
    return describe(exc, details="chi tiết ở nhật ký của máy chủ")


class Dashboard:
    """The routes and what they share: the database, the settings, the clock, the templates, the jobs."""

    def __init__(self, database_url: str | None, settings: DashboardSettings, clock: Callable[[], datetime]) -> None:
        self.database_url = database_url
        self.settings = settings
        self.clock = clock
        self.timezone = get_settings().timezone
        self.jobs = JobRunner(clock, describe_error)
        self.session_limits = SessionLimits(
            timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_max_hours)
        )
        self.login_limits = settings.login_limits
        # who each logged-in person is (when asked, Actor: their name, roles and units), trusted for
        # `session_recheck_seconds`: a page costs four queries fewer. Whether the session itself is still good
        # (not revoked by a logout, a new password or a coordinator; the person active; within its limits) is
        # asked of the database at every request, one lookup by primary key.
        self._known: dict[str, tuple[float, Actor]] = {}
        self.templates = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(enabled_extensions=("html",), default=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
        )
        # The pages are written in English and read in the language of the request (models/i18n.py, one
        # catalogue): `_("… %(name)s …", name=x)` escapes what it fills in; `{% trans %}` blocks are trimmed.
        self.templates.policies["ext.i18n.trimmed"] = True
        self.templates.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.gettext, i18n.ngettext, newstyle=True
        )
        self.templates.globals.update(_=_page_gettext, gettext=_page_gettext, ngettext=_page_ngettext)
        self.templates.globals["language"] = i18n.language
        self.templates.filters["cell"] = lambda value: cell_text(value, self.timezone)
        self.templates.filters["kind"] = _cell_class
        self.templates.filters["when"] = lambda value: cell_text(value, self.timezone)

    def csrf(self, request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = request.session["csrf"] = secrets.token_urlsafe(32)
        return token

    async def form(self, request: Request, files: tuple[str, ...] = ()) -> FormData:
        """The posted form, once its CSRF token is the session's (else 403); only the named fields may be
        files (spooled to disk beyond 1 MiB by the multipart parser, never held whole in memory)."""
        form = await request.form()
        sent = form.get("csrf_token")
        expected = request.session.get("csrf")
        if not isinstance(sent, str) or not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
            raise Forbidden(
                "Biểu mẫu không hợp lệ hoặc đã cũ (thiếu mã chống giả mạo CSRF). Hãy tải lại trang và thử lại."
            )
        _refuse_unreadable([(k, v) for k, v in form.multi_items() if k not in files])
        return form

    def user(self, request: Request, db: Session | None = None) -> Actor | None:
        """Who is logged in, if anyone: the session of the cookie's id, asked of the database (revoked, too old
        or idle, or its person no longer active: it ends). An action that writes passes its own transaction
        (`db`), so that asking costs one statement there instead of a transaction of its own."""
        session = request.session
        token = session.get(SID)
        if not isinstance(token, str):
            if "user" in session:  # a cookie of the sessions before they were kept in the database
                self._expire(request)
            return None
        at = self.clock()
        if db is None:
            with read_session(get_engine(self.database_url)) as own:
                live, actor = self._live(request, own, token, at)
        else:
            live, actor = self._live(request, db, token, at)
        if at - live.last_seen_at >= SESSION_TOUCH:
            touch_session(self.database_url, token, at)
        return actor

    def _live(self, request: Request, db: Session, token: str, at: datetime) -> tuple[LiveSession, Actor]:
        moment = at.timestamp()
        live = live_session(db, token, at, self.session_limits)
        if live is None:
            self._expire(request)
        known = self._known.get(live.code)
        if known is not None and 0 <= moment - known[0] < self.settings.session_recheck_seconds:
            return live, known[1]
        try:
            actor = resolve_actor(db, live.code)
        except UnknownActor:
            self._known.pop(live.code, None)
            self._expire(request)
        if len(self._known) >= 20_000:
            self._known.clear()
        self._known[live.code] = (moment, actor)
        return live, actor

    def start(self, request: Request, token: str, code: str) -> None:
        """A new session in the cookie (its id) and a new CSRF token, at each login."""
        self.forget(code)  # who they are now, not who they were when last seen
        request.session.clear()
        request.session.update({SID: token, "csrf": secrets.token_urlsafe(32)})

    def forget(self, code: str) -> None:
        """Ask the database again about this person at their next request (after a change made here)."""
        self._known.pop(code, None)

    @staticmethod
    def address(request: Request) -> str:
        """Where a request comes from (the proxy's X-Forwarded-For when uvicorn trusts the proxy)."""
        return request.client.host if request.client else ""

    @staticmethod
    def user_agent(request: Request) -> str:
        return request.headers.get("user-agent", "")[:300]

    def _expire(self, request: Request) -> NoReturn:
        request.session.clear()
        raise LoginRequired(_back(request), expired=True)

    def require(self, request: Request, db: Session | None = None) -> Actor:
        actor = self.user(request, db)
        if actor is None:
            raise LoginRequired(_back(request))
        return actor

    def require_all(self, request: Request) -> Actor:
        """Someone who sees the whole cycle (the authority's staff)."""
        actor = self.require(request)
        if not access.sees_all(actor):
            raise Forbidden(
                f"{actor.name} chỉ xem được trang của đơn vị mình ({actor.unit_code}); trang này dành cho bộ phận "
                "điều phối, thẩm định và lãnh đạo cơ quan."
            )
        return actor

    def flash(self, request: Request, kind: str, text: str) -> None:
        request.session["flash"] = [kind, text]

    async def flash_outcome(self, request: Request, work: Callable[..., str], *args: Any) -> None:
        """Do a person's action in a worker thread and say on the next page what it did, or, in one
        sentence, why it was refused."""
        try:
            self.flash(request, "ok", await run_in_threadpool(work, *args))
        except Exception as exc:  # noqa: BLE001 - the edge: a refusal is one message on the page
            self.flash(request, "error", describe_error(exc))

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        actor: Actor | None = context.pop("user", None)
        years = context.pop("years", None)
        flash = request.session.pop("flash", None)
        page = {
            "user": actor,
            "sees_all": actor is not None and access.sees_all(actor),
            "roles": access.role_text(actor) if actor else "",
            "csrf": self.csrf(request),
            "flash": flash,
            "years": years or [],
            "nav_year": context.get("year") or (years[0] if years else None),
            "export": lambda fmt, key: _export_link(request, fmt, key),
            "job": None,
            "job_labels": JOB_LABELS,
            **context,
        }
        return HTMLResponse(self.templates.get_template(template).render(**page), status_code=status)

    def message(self, request: Request, title: str, text: str, status: int, user: Actor | None = None) -> HTMLResponse:
        return self.render(request, "message.html", status, title=title, text=text, http_status=status, user=user)

    def export(self, request: Request, tables: Sequence[Table], name: str) -> Response | None:
        """The export a page was asked for (`?format=csv|xlsx&table=KEY`), or None to show the page."""
        fmt = request.query_params.get("format")
        if not fmt:
            return None
        key = request.query_params.get("table")
        chosen = [t for t in tables if t.key == key] if key else list(tables)
        if not chosen:
            raise UserError(f"không có bảng {key!r} trên trang này")
        if fmt == "csv":
            table = chosen[0]
            return Response(
                to_csv(table, self.timezone),
                media_type="text/csv; charset=utf-8",
                headers={"content-disposition": _attachment(f"{name}-{table.key}.csv")},
            )
        if fmt == "xlsx":
            suffix = f"-{chosen[0].key}" if key else ""
            return Response(
                to_xlsx(chosen, self.timezone),
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"content-disposition": _attachment(f"{name}{suffix}.xlsx")},
            )
        raise UserError(f"không xuất được dạng {fmt!r}: chọn csv hoặc xlsx")

    def job_of(self, request: Request, actor: Actor) -> Job | None:
        job_id = request.query_params.get("job")
        job = self.jobs.get(job_id) if job_id else None
        return job if job is not None and (job.owner == actor.code or access.sees_all(actor)) else None

    @staticmethod
    def of(request: Request) -> Dashboard:
        """The dashboard a request is served by."""
        dashboard: Dashboard = request.app.state.dashboard
        return dashboard


@pass_eval_context
def _page_gettext(eval_ctx: EvalContext, message: str, /, **values: Any) -> str:
    """Jinja2's newstyle `_()` and `gettext()` without its three calls through the template's context for
    each (a unit's grid says a thousand): the words in the language of the moment, as Markup when the page
    escapes, their %(placeholders)s filled with the values (escaped)."""
    text = i18n.gettext(message)
    if not values and "%" not in text:
        return Markup(text) if eval_ctx.autoescape else text  # nothing to fill in (most of them)
    return (Markup(text) if eval_ctx.autoescape else text) % values


@pass_eval_context
def _page_ngettext(eval_ctx: EvalContext, singular: str, plural: str, n: int, /, **values: Any) -> str:
    """The same for a message with a count: `n` chooses the form and is %(num)s."""
    values.setdefault("num", n)
    text = i18n.ngettext(singular, plural, n)
    return (Markup(text) if eval_ctx.autoescape else text) % values


def _cell_class(value: Cell) -> str:
    """How a cell is laid out: numbers to the right, long texts wrapped, the rest on one line."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return "n"
    return "long" if isinstance(value, str) and len(value) > 40 else "short"


def _back(request: Request) -> str:
    """Where to come back to after logging in: this page (a GET), else the home page."""
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _attachment(name: str) -> str:
    """A download's header: the file name in plain letters, digits, dots and dashes."""
    return f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]+", "-", name)}"'


def _safe_back(value: str) -> str:
    """Only a path of this site (never another site's address)."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


def _export_link(request: Request, fmt: str, key: str) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in ("job", "page", "format", "table")}
    params.update({"format": fmt, "table": key})
    return f"{request.url.path}?{urlencode(params)}"


def _refuse_unreadable(fields: Sequence[tuple[str, Any]]) -> None:
    """A 400 naming the first field that is a file where text is wanted, or holds a control character (a NUL
    cannot even be stored in PostgreSQL); tabs and line breaks are text."""
    for name, value in fields:
        if not isinstance(value, str):
            raise HTTPException(400, f"Trường {name!r} nhận chữ, không nhận tệp.")
        bad = next((c for c in value if c < " " and c not in "\t\r\n" or c == "\x7f"), None)
        if bad is not None:
            raise HTTPException(400, f"Trường {name!r} có ký tự điều khiển {bad!r}; hãy gõ lại nội dung.")
